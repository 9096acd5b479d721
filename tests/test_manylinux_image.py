"""Smoke test of the local manylinux-like image that container-backend tests run in."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import local_manylinux_image, unavailable
from manylinux_image import (
    NEWER_PYTHON,
    PYTHON,
    ImageBuildError,
    build_image,
    podman_env,
    run_command,
)

PYPROJECT = """\
[build-system]
requires = ["scikit-build-core>=0.10", "pybind11>=2.13"]
build-backend = "scikit_build_core.build"

[project]
name = "tinyext"
version = "0.1.0"
requires-python = ">=3.9"
"""
CMAKELISTS = """\
cmake_minimum_required(VERSION 3.15...3.31)
project(${SKBUILD_PROJECT_NAME} LANGUAGES CXX)
set(PYBIND11_FINDPYTHON ON)
find_package(pybind11 CONFIG REQUIRED)
pybind11_add_module(tinyext tinyext.cpp)
install(TARGETS tinyext DESTINATION .)
"""
SOURCE = """\
#include <pybind11/pybind11.h>
#include <stdexcept>
#include <string>

std::string greet(const std::string &name) {
  if (name.empty()) throw std::invalid_argument("empty name");
  return "hello " + name;
}

PYBIND11_MODULE(tinyext, m) { m.def("greet", &greet); }
"""


@pytest.fixture(scope="session")
def image(request: pytest.FixtureRequest) -> str:
    """The image, built once per machine (later sessions find it in podman)."""
    return local_manylinux_image(request.config.cache.mkdir("fce-manylinux-image"))


def podman_run(
    image: str, script: str, volumes: dict[Path | str, str] | None = None
) -> str:
    """Run a shell script offline in the image; on failure show its whole output."""
    cmd = run_command(image, "sh", "-euxc", script, volumes=volumes)
    proc = subprocess.run(
        cmd,
        env=podman_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        pytest.fail(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}")
    return proc.stdout


def test_missing_tools_raise_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_a, **_k: None)
    with pytest.raises(ImageBuildError, match="missing podman, runc, debootstrap"):
        build_image(tmp_path)


@pytest.mark.parametrize("ci", ["", "true"])
def test_missing_tools_skip_outside_ci_and_fail_on_ci(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, ci: str
) -> None:
    monkeypatch.setattr(shutil, "which", lambda *_a, **_k: None)
    monkeypatch.setenv("CI", ci)
    outcome = pytest.fail.Exception if ci else pytest.skip.Exception
    with pytest.raises(outcome, match="missing podman, runc, debootstrap") as raised:
        local_manylinux_image(tmp_path)
    assert (".ci/run should have installed it" in str(raised.value)) is bool(ci)


@pytest.mark.slow
def test_podman_takes_runtime_from_containers_conf() -> None:
    if shutil.which("podman") is None:
        unavailable("podman is not installed")
    out = subprocess.run(
        ["podman", "info", "--format", "{{.Host.OCIRuntime.Name}}"],
        env=podman_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == "runc"


@pytest.mark.slow
def test_layout_python_pip_and_tools(image: str) -> None:
    out = podman_run(
        image,
        f"""
        {PYTHON} -c 'import sys; print("python", *sys.version_info[:2])'
        {PYTHON[: -len("python")]}pip --version
        {NEWER_PYTHON} -c 'import ctypes, ssl, sys, zlib; print("newer", *sys.version_info[:2])'
        {NEWER_PYTHON} -m build --version
        auditwheel --version
        patchelf --version
        cmake --version
        echo "plat $AUDITWHEEL_PLAT"
        """,
    )
    assert "python 3 9" in out
    assert "(python 3.9)" in out  # pip
    # The CPython built in the image, with the modules pip and the tests need.
    assert "newer 3 11" in out
    assert re.search(r"build \S+ \(/opt/python/cp311-cp311/lib/python3\.11/", out)
    assert "auditwheel 6." in out
    assert "patchelf 0." in out
    assert "cmake version" in out
    assert "plat manylinux_2_34_x86_64" in out


@pytest.mark.slow
def test_venv_installs_test_requirements_offline(image: str) -> None:
    out = podman_run(
        image,
        f"""
        {PYTHON} -m venv /tmp/venv
        /tmp/venv/bin/python -m pip install -q numpy pytest hypothesis
        /tmp/venv/bin/python -c 'import numpy, pytest, hypothesis; print("ok", numpy.__version__)'
        """,
    )
    assert "ok 2." in out


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(PYPROJECT)
    (root / "CMakeLists.txt").write_text(CMAKELISTS)
    (root / "tinyext.cpp").write_text(SOURCE)
    return root


@pytest.mark.slow
@pytest.mark.parametrize(
    "settings",
    [["--config-settings=build-dir=/tmp/build"], []],
    ids=["build-dir", "default"],
)
def test_pybind11_wheel_builds_offline_from_read_only_tree_and_repairs(
    image: str, project: Path, tmp_path: Path, settings: list[str]
) -> None:
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    script = textwrap.dedent(
        f"""
        {PYTHON} -m pip wheel /io/proj --no-deps -w /tmp/out {" ".join(settings)}
        auditwheel show /tmp/out/*.whl
        auditwheel repair --plat manylinux_2_34_x86_64 -w /tmp/repaired /tmp/out/*.whl
        {PYTHON} -m venv /tmp/venv
        /tmp/venv/bin/python -m pip install -q /tmp/repaired/*.whl
        cd / && /tmp/venv/bin/python -c 'import tinyext; print(tinyext.greet("x"))'
        cp /tmp/repaired/*.whl /out/
        """
    )
    out = podman_run(
        image, script, volumes={project: "/io/proj:ro", out_dir: "/out:rw"}
    )
    assert "hello x" in out
    assert not list(project.glob("build*")), "the read-only tree was written to"
    (wheel,) = out_dir.glob("*.whl")
    assert "manylinux_2_34_x86_64" in wheel.name
    # Rootful podman run by root, or rootless podman: the caller owns the output.
    assert wheel.stat().st_uid == os.getuid()
