"""Slow tier: render the default project, then build and test it with its own nox sessions."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from conftest import render, run, tool

pytestmark = pytest.mark.slow

# The oldest and newest CPython the default project supports that this machine has.
OLDEST, NEWEST = "3.9", "3.13"


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The default project after `nox -s lint tests-OLDEST tests-NEWEST build` (run once)."""
    for version in (OLDEST, NEWEST):
        # A pyenv shim is on PATH even when its version is not selected: ask it to run.
        run(f"python{version}", "-c", "pass")
    root = render(tmp_path_factory.mktemp("build") / "fast-stats")
    output = run(
        tool("nox"),
        "-s",
        "lint",
        f"tests-{OLDEST}",
        f"tests-{NEWEST}",
        "build",
        cwd=root,
    )
    return root, output


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
def test_own_tests_pass_in_fresh_venv(
    default_project: tuple[Path, str], version: str
) -> None:
    _, output = default_project
    assert f"Session tests-{version} was successful" in output
    section = output.split(f"Running session tests-{version}", 1)[1].split(
        "Session tests-", 1
    )[0]
    summary = re.search(r"=+ (\d+) passed(?:, (\d+) \w+)* in ", section)
    assert summary, section[-2000:]
    assert int(summary.group(1)) >= 70
    assert "failed" not in summary.group(0)
    assert "skipped" not in summary.group(0)


def test_lint_session_passes(default_project: tuple[Path, str]) -> None:
    _, output = default_project
    assert "Session lint was successful" in output


def test_build_session_makes_checked_sdist_and_wheel(
    default_project: tuple[Path, str],
) -> None:
    root, output = default_project
    assert "Session build was successful" in output
    assert "PASSED" in output  # twine check
    wheels = list((root / "dist").glob("fast_stats-0.1.0-*.whl"))
    sdists = list((root / "dist").glob("fast_stats-0.1.0.tar.gz"))
    assert len(wheels) == 1
    assert len(sdists) == 1
    names = set(zipfile.ZipFile(wheels[0]).namelist())
    assert {
        "fast_stats/__init__.py",
        "fast_stats/py.typed",
        "fast_stats/_core.pyi",
    } <= names
    assert any(re.fullmatch(r"fast_stats/_core\.cpython-.*\.so", n) for n in names), (
        names
    )
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names), names
