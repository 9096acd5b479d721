"""Fast tier: render every combination of the choice answers and check the files (no build)."""

from __future__ import annotations

import itertools
import re
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import QUESTIONS, render, run, tool
from validate_pyproject import api as vpp

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def choices(name: str) -> list[str]:
    raw = QUESTIONS[name]["choices"]
    return list(raw.values()) if isinstance(raw, dict) else list(raw)


def refused(name: str, value: str) -> bool:
    """Whether the template refuses this answer today (e.g. modes not released yet)."""
    return name == "bindings" and value == "nanobind"


CHOICE_QUESTIONS = [name for name, q in QUESTIONS.items() if "choices" in q]
COMBINATIONS = [
    dict(zip(CHOICE_QUESTIONS, values))
    for values in itertools.product(*(choices(name) for name in CHOICE_QUESTIONS))
    if not any(refused(name, value) for name, value in zip(CHOICE_QUESTIONS, values))
]
# Free-text answers that stress quoting and line lengths in the generated files.
AWKWARD = {
    "project_name": 'The "Quoted" \\ Project',
    "package_name": "a-very-long-distribution-name-for-checking-line-lengths-in-files",
    "module_name": "a_very_long_import_name_for_checking_line_lengths_in_generated_files",
    "description": 'Says "hi" \\ with a backslash',
    "author_name": 'O\'Brien "Bob" Ñandú',
    "url": "https://example.com/project",
}
UNRENDERED = re.compile(r"{{|}}|{%|%}|{#|#}")


def combo_id(data: dict[str, Any]) -> str:
    return "-".join(str(v) for v in data.values())


@pytest.fixture(
    scope="module",
    params=[*COMBINATIONS, AWKWARD],
    ids=[*map(combo_id, COMBINATIONS), "awkward"],
)
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    data: dict[str, Any] = request.param
    return render(tmp_path_factory.mktemp("render") / "project", **data), data


def test_no_unrendered_jinja(project: tuple[Path, dict[str, Any]]) -> None:
    root, _ = project
    for path in root.rglob("*"):
        assert not UNRENDERED.search(str(path.relative_to(root))), path
        if path.is_file():
            assert path.suffix != ".jinja", path
            text = path.read_text(encoding="utf-8")
            match = UNRENDERED.search(text)
            assert match is None, (
                f"{path}: {text[max(match.start() - 40, 0) : match.end() + 40]!r}"
            )


def test_config_files_parse_and_pyproject_is_valid(
    project: tuple[Path, dict[str, Any]],
) -> None:
    root, data = project
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    vpp.Validator()(pyproject)
    assert (
        pyproject["project"]["requires-python"] == f">={data.get('python_min', '3.9')}"
    )
    assert pyproject["project"]["license"] == data.get("license", "MIT")
    for name in (".copier-answers.yml", ".clang-format"):
        assert yaml.safe_load((root / name).read_text(encoding="utf-8"))


def test_license_text_follows_choice(project: tuple[Path, dict[str, Any]]) -> None:
    root, data = project
    first_line = (root / "LICENSE").read_text(encoding="utf-8").strip().splitlines()[0]
    expected = {
        "MIT": "MIT License",
        "BSD-3-Clause": "BSD 3-Clause License",
        "Apache-2.0": "Apache License",
    }
    assert first_line.strip() == expected[data.get("license", "MIT")]


def test_lint_clean(project: tuple[Path, dict[str, Any]]) -> None:
    root, _ = project
    run(tool("ruff"), "check", "--no-cache", ".", cwd=root)
    run(tool("ruff"), "format", "--no-cache", "--check", ".", cwd=root)
    sources = sorted(root.glob("src/cpp/*.[ch]pp"))
    assert sources
    run(tool("clang-format"), "--dry-run", "--Werror", *sources, cwd=root)


def test_answers_file_records_every_answer(
    project: tuple[Path, dict[str, Any]],
) -> None:
    root, data = project
    answers = yaml.safe_load((root / ".copier-answers.yml").read_text(encoding="utf-8"))
    asked = {
        name
        for name, q in QUESTIONS.items()
        if name != "stable_abi" or answers.get("bindings") == "nanobind"
    }
    assert asked <= answers.keys()
    for name, value in data.items():
        assert answers[name] == value
    assert answers["_src_path"]
    assert answers["_commit"]
