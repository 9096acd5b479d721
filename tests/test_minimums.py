"""Slow tier (a uv resolve each): `nox -s minimums` resolves each requirement to the lowest version it allows.

The session installs its requirements with `uv pip install` and the arguments the
noxfile computes (LOWEST_DIRECT). These tests run the same command with `--dry-run` in an
empty venv of the session's CPython: uv then reports what it would install, which is what
the session tests. The slow test that runs the session itself is in tests/test_build.py.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from conftest import declared_floors, noxfile_values, render, run, tool
from packaging.version import Version

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def uv() -> Path:
    """uv from PyPI, as the session installs it (the template's tests install it too)."""
    return Path(tool("uv"))


def lowest_resolution(uv: Path, root: Path, tmp_path: Path) -> dict[str, Version]:
    """What the minimums session's `uv pip install` installs: {name: version}."""
    values = noxfile_values(root, "LOWEST_DIRECT", "PYTHONS")
    venv = tmp_path / "venv"
    run(uv, "venv", "--quiet", "--python", f"python{values['PYTHONS'][0]}", venv)
    output = run(
        uv, "pip", "install", "--dry-run", "--python", venv / "bin" / "python",
        *values["LOWEST_DIRECT"], cwd=root,
    )  # fmt: skip
    return {
        name: Version(version)
        for name, version in re.findall(r"^ \+ (\S+)==(\S+)$", output, re.MULTILINE)
    }


@pytest.mark.parametrize(
    "data",
    [{}, {"python_min": "3.9"}, {"bindings": "nanobind", "python_min": "3.10"}],
    ids=["defaults", "python-3.9", "nanobind"],
)
def test_minimums_resolves_each_floor(
    uv: Path, tmp_path: Path, data: dict[str, Any]
) -> None:
    root = render(tmp_path / "project", **data)
    floors = declared_floors(root)
    bindings = data.get("bindings", "pybind11")
    assert {"numpy", "pytest", "hypothesis", "scikit-build-core", bindings} <= set(
        floors
    )
    resolved = lowest_resolution(uv, root, tmp_path)
    # Every direct requirement at its floor: numpy at the first release with wheels for
    # the oldest CPython, although pybind11's build requirement on numpy has no floor.
    assert {name: resolved[name] for name in floors} == floors


def test_minimums_resolves_any_specifier(uv: Path, tmp_path: Path) -> None:
    """A range, a compatible release and markers: the old rewrite of ">=" into "==" left
    `~=` at the newest release and made `python_version >= '3.10'` mean `== '3.10'`."""
    root = render(tmp_path / "project")
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    numpy = re.search(r'dependencies = \["numpy>=([\d.]+)"\]', text)
    assert numpy, text
    test_group = '"hypothesis>=6.100",'
    assert test_group in text
    path.write_text(
        text.replace(numpy[0], f'dependencies = ["numpy>={numpy[1]},<3"]').replace(
            test_group,
            '"hypothesis~=6.100", "typing-extensions>=4.6; python_version >= \'3.10\'",'
            " \"exceptiongroup>=1.1; python_version < '3.10'\",",
        ),
        encoding="utf-8",
    )
    resolved = lowest_resolution(uv, root, tmp_path)
    assert resolved["numpy"] == Version(numpy[1])
    assert resolved["hypothesis"] == Version("6.100")
    assert resolved["typing-extensions"] == Version("4.6")
    assert "exceptiongroup" not in resolved  # its marker is false on the oldest CPython
