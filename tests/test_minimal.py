"""Slow tier: the minimal example (example=minimal) of each binding library, built, linted,
tested and made into a zig wheel by its own nox sessions."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pytest
from conftest import (
    QUESTIONS,
    assert_needs_glibc_alone,
    assert_tests_passed,
    exported_symbols,
    nox_lint_tests_build,
    render,
    run,
    tool,
)

pytestmark = pytest.mark.slow

OLDEST, NEWEST = QUESTIONS["python_min"]["default"], "3.13"
# The project's own tests: add's cases and refusals, adler32 against zlib, the stub.
OWN_TESTS = 19


@pytest.fixture(scope="module", params=["pybind11", "nanobind"])
def minimal_project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str, str]:
    """A minimal render after `nox -s lint tests-OLDEST tests-NEWEST build`, then
    `nox -s wheels -- --backend zig --python OLDEST`; both outputs."""
    root = render(
        tmp_path_factory.mktemp("minimal") / "fast-stats",
        bindings=request.param,
        example="minimal",
    )
    output = nox_lint_tests_build(root, OLDEST, NEWEST)
    wheels = run(
        tool("nox"), "-s", "wheels", "--", "--backend", "zig", "--python", OLDEST,
        cwd=root,
    )  # fmt: skip
    return root, output, wheels


def test_lint_and_own_tests_pass(minimal_project: tuple[Path, str, str]) -> None:
    _, output, _ = minimal_project
    assert "Session lint was successful" in output
    for version in (OLDEST, NEWEST):
        assert_tests_passed(output, version, at_least=OWN_TESTS)


def test_sdist_and_wheel_hold_the_library_and_no_numpy(
    minimal_project: tuple[Path, str, str],
) -> None:
    root, output, _ = minimal_project
    assert "Session build was successful" in output
    (sdist,) = (root / "dist").glob("*.tar.gz")
    listed = run("tar", "-tzf", sdist)
    assert re.search(r"^[^/]+/src/lib/fast_stats\.cpp$", listed, re.MULTILINE), listed
    (wheel,) = (root / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        (metadata,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        assert "Requires-Dist" not in zf.read(metadata).decode()


def test_zig_wheel_is_manylinux_and_exports_its_entry_point_alone(
    minimal_project: tuple[Path, str, str],
) -> None:
    root, _, output = minimal_project
    tag = "cp" + OLDEST.replace(".", "")
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    assert f"-{tag}-{tag}-" in wheel.name
    assert "manylinux_2_28_x86_64" in wheel.stem.split("-")[-1].split(".")
    assert re.search(
        rf"--> test {re.escape(wheel.name)}\n\s+=+ {OWN_TESTS} passed", output
    )
    assert_needs_glibc_alone(wheel, 28)  # libc++ is zig's, linked in statically
    assert exported_symbols(wheel) == {"PyInit__core"}
