"""Slow tier: render the default project, then build and test it with its own nox sessions."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from conftest import assert_tests_passed, nox_lint_tests_build, render

pytestmark = pytest.mark.slow

# The oldest and newest CPython the default project supports that this machine has.
OLDEST, NEWEST = "3.9", "3.13"


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The default project after `nox -s lint tests-OLDEST tests-NEWEST build` (run once)."""
    root = render(tmp_path_factory.mktemp("build") / "fast-stats")
    output = nox_lint_tests_build(root, OLDEST, NEWEST)
    return root, output


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
def test_own_tests_pass_in_fresh_venv(
    default_project: tuple[Path, str], version: str
) -> None:
    _, output = default_project
    assert_tests_passed(output, version)


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
