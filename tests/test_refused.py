"""Bad answers are refused by copier's validators, with a clear message, before any file is written."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, render, tool

CASES = [
    ({"project_name": "  "}, "project_name is required"),
    ({"package_name": "fast stats!"}, "is not a valid PEP 508 name"),
    ({"package_name": "-leading-dash"}, "is not a valid PEP 508 name"),
    ({"module_name": "3body"}, "is not a valid Python identifier"),
    ({"module_name": "fast-stats"}, "is not a valid Python identifier"),
    ({"module_name": "lambda"}, "is a Python keyword"),
    ({"module_name": "json"}, "would shadow the standard-library module"),
    ({"module_name": "asyncio"}, "would shadow the standard-library module"),
    ({"module_name": "numpy"}, "would shadow a dependency of the project"),
    ({"author_email": "not-an-address"}, "does not look like an email address"),
    ({"author_email": "two@@example.com"}, "does not look like an email address"),
    ({"url": "example.com"}, "must be empty or start with https://"),
    (
        {"bindings": "nanobind", "python_min": "3.9"},
        "nanobind 3 needs CPython 3.10 or newer, but python_min is 3.9",
    ),
    ({"python_min": "3.8"}, "Invalid choice"),
    ({"license": "GPL-3.0"}, "Invalid choice"),
    ({"manylinux": "manylinux1"}, "Invalid choice"),
]


@pytest.mark.parametrize(
    ("data", "message"),
    CASES,
    ids=[next(iter(d)) + "=" + next(iter(d.values())) for d, _ in CASES],
)
def test_copier_refuses(tmp_path: Path, data: dict[str, str], message: str) -> None:
    dest = tmp_path / "project"
    answers = {"project_name": "Fast Stats", **data}
    args = [
        arg for key, value in answers.items() for arg in ("--data", f"{key}={value}")
    ]
    proc = subprocess.run(
        [
            tool("copier"),
            "copy",
            "--vcs-ref",
            "HEAD",
            "--defaults",
            *args,
            str(ROOT),
            str(dest),
        ],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    assert message in proc.stderr
    assert not dest.exists() or not any(dest.iterdir())


def test_valid_names_are_accepted(tmp_path: Path) -> None:
    root = render(tmp_path / "p", project_name="My.Lib_2", module_name="_mylib2")
    assert (root / "src" / "_mylib2" / "__init__.py").is_file()
    assert 'name = "my-lib-2"' in (root / "pyproject.toml").read_text()
