"""Slow: aarch64 wheels cross-built with zig on x86_64 and tested under qemu-user."""

from __future__ import annotations

import os
import platform
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import render, run, tool

pytestmark = pytest.mark.slow

# The emulated root is Debian bookworm's: its arm64 CPython is 3.11.
VERSION = "3.11"
WHEEL_TAG = "manylinux_2_28_aarch64"


def require_tools() -> None:
    """Fail on CI, where .ci/run installs them; skip elsewhere, saying what is missing."""
    missing = [
        name
        for name in ("qemu-aarch64-static", "debootstrap", "dpkg")
        if shutil.which(name, path=f"{os.environ['PATH']}:/usr/sbin:/sbin") is None
    ]
    problems = [f"{', '.join(missing)} missing"] if missing else []
    if platform.machine() != "x86_64":
        problems.append(
            f"the cross route is tested from x86_64 (this is {platform.machine()})"
        )
    if os.geteuid() != 0:
        problems.append("debootstrap needs root to build the emulated root")
    if problems:
        reason = "; ".join(problems)
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)


def cross_build(root: Path) -> str:
    env = {**os.environ, "PATH": f"{os.environ['PATH']}:/usr/sbin:/sbin"}
    args = ["--backend", "zig", "--arch", "aarch64", "--python", VERSION]
    return run(tool("nox"), "-s", "wheels", "--", *args, cwd=root, env=env)


@pytest.fixture(scope="session")
def pybind11_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    require_tools()
    root = render(tmp_path_factory.mktemp("aarch64") / "fast-stats")
    return root, cross_build(root)


@pytest.fixture(scope="session")
def nanobind_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    require_tools()
    root = render(
        tmp_path_factory.mktemp("aarch64-nb") / "fast-stats", bindings="nanobind"
    )
    return root, cross_build(root)


# Each project's tests are a part of their own on the workers (conftest.PER_PROJECT_FILES).
@pytest.fixture(params=["pybind11", "nanobind"])
def cross_run(request: pytest.FixtureRequest) -> tuple[Path, str]:
    return request.getfixturevalue(f"{request.param}_run")


def test_one_repaired_aarch64_wheel(cross_run: tuple[Path, str]) -> None:
    root, output = cross_run
    (wheel,) = sorted((root / "wheelhouse").glob("*.whl"))
    assert wheel.name.startswith("fast_stats-0.1.0-cp311-cp311-")
    assert WHEEL_TAG in wheel.stem.split("-")[-1].split(".")
    # The report names the architecture in the tag, and the file in full.
    assert re.search(
        r"^cp311-cp311-manylinux_2_\d+_aarch64\s+GLIBC_2\.", output, re.MULTILINE
    )
    assert wheel.name in output.splitlines()


def test_auditwheel_verdict_on_the_host(cross_run: tuple[Path, str]) -> None:
    root, _ = cross_run
    (wheel,) = sorted((root / "wheelhouse").glob("*.whl"))
    shown = run(tool("auditwheel"), "show", wheel)
    verdict = re.search(r'platform tag:\s*"manylinux_2_(\d+)_aarch64"', shown)
    assert verdict, shown
    assert int(verdict[1]) <= 28


def test_extension_is_an_aarch64_elf(
    cross_run: tuple[Path, str],
) -> None:
    root, _ = cross_run
    (wheel,) = sorted((root / "wheelhouse").glob("*.whl"))
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".so") and ".libs/" not in n]
        assert name.endswith(".cpython-311-aarch64-linux-gnu.so")
        header = zf.read(name)[:20]
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == 183  # EM_AARCH64


def test_project_tests_passed_under_qemu(cross_run: tuple[Path, str]) -> None:
    _, output = cross_run
    assert "under qemu-user" in output
    result = re.search(r"--> test \S+ under qemu-user\n\s+=*\s*(\d+) passed", output)
    assert result, output
    assert int(result[1]) > 50  # the whole suite, not a handful
    assert "not run under emulation: test_best_supported_level_is_chosen" in output
