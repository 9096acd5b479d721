"""Slow: nanobind's split mode (split_mode=true). `pip wheel .` on CPython 3.11, with the
host's GCC, makes one cp310-abi3 wheel without nanobind's runtime in it, and that one wheel,
installed with nanobind-backend, passes the project's tests on CPython 3.10 to 3.15 (3.14
and 3.15 in the Debian testing root). The zig route refuses the project, saying why."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import debian_testing
import pytest
from conftest import passed_tests, render, run, tool
from test_newer_cpythons import debian_root

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

pytestmark = pytest.mark.slow

HOST_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
# A message of nanobind's runtime (src/nb_internals.cpp), which a linked module carries and
# a split-mode module leaves to the backend.
RUNTIME_MARKER = b"nanobind: leaked"


def requirements_for_tests(root: Path) -> list[str]:
    """The project's `test` dependency group."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    group: list[str] = pyproject["dependency-groups"]["test"]
    return group


@pytest.fixture(scope="module")
def split_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The project and the one wheel `pip wheel .` made on CPython 3.11."""
    root = render(
        tmp_path_factory.mktemp("split") / "fast-stats",
        python_min="3.10",
        bindings="nanobind",
        stable_abi=True,
        split_mode=True,
    )
    run(
        "python3.11",
        "-m",
        "pip",
        "wheel",
        "-q",
        ".",
        "--no-deps",
        "-w",
        "dist",
        cwd=root,
    )
    (wheel,) = (root / "dist").glob("*.whl")
    return root, wheel


def extension(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".so")]
        return zf.read(name)


def test_one_cp310_abi3_wheel_clean_under_abi3audit(
    split_project: tuple[Path, Path],
) -> None:
    _, wheel = split_project
    assert re.fullmatch(r"fast_stats-0\.1\.0-cp310-abi3-linux_x86_64\.whl", wheel.name)
    run(tool("abi3audit"), "--strict", "--summary", wheel)


def test_wheel_holds_bindings_but_not_nanobinds_runtime(
    split_project: tuple[Path, Path], tmp_path: Path
) -> None:
    _, wheel = split_project
    module = extension(wheel)
    assert RUNTIME_MARKER not in module
    assert b"nanobind_backend" in module  # the backend it imports
    # The marker is real: the backend's own library carries it.
    debian_testing.pip_download(tmp_path, "3.11", "nanobind-backend>=1.0.0", deps=False)
    (backend,) = tmp_path.glob("nanobind_backend-*.whl")
    assert RUNTIME_MARKER in extension(backend)


@pytest.mark.parametrize("version", HOST_PYTHONS)
def test_project_tests_pass_on_host_cpython(
    split_project: tuple[Path, Path], version: str, tmp_path: Path
) -> None:
    root, wheel = split_project
    venv = tmp_path / "venv"
    run(tool("uv"), "venv", "-q", "--python", f"python{version}", venv)
    python = venv / "bin" / "python"
    run(
        tool("uv"),
        "pip",
        "install",
        "-q",
        "--python",
        python,
        wheel,
        *requirements_for_tests(root),
    )
    # The installed wheel, not the sources: from a folder outside the project.
    output = run(
        python, "-m", "pytest", root / "tests", "-p", "no:cacheprovider", cwd=tmp_path
    )
    assert passed_tests(output) >= 70


def test_project_tests_pass_on_314_and_315(
    split_project: tuple[Path, Path], tmp_path: Path
) -> None:
    root, wheel = split_project
    debian = debian_root()
    inside = debian_testing.copy_project(debian, root, "split-mode")
    # nanobind-backend's wheels for both CPythons (and nanobind 3.1, the stub test's
    # generator), into the root's offline wheel folder.
    for version in debian_testing.PYTHONS:
        debian_testing.pip_download(
            debian / "wheels", version, "nanobind-backend>=1.0.0", "nanobind>=3.1.0",
            deps=False,
        )  # fmt: skip
    shutil.copy2(wheel, debian / inside.lstrip("/") / wheel.name)
    for version in debian_testing.PYTHONS:
        venv = f"{debian_testing.WORK}/split-{version}"
        shutil.rmtree(debian / venv.lstrip("/"), ignore_errors=True)
        steps = [
            [f"python{version}", "-m", "venv", venv],
            [f"{venv}/bin/pip", "install", "-q", f"{inside}/{wheel.name}"],
            [f"{venv}/bin/pip", "install", "-q", *requirements_for_tests(root)],
            [
                f"{venv}/bin/python",
                "-m",
                "pytest",
                f"{inside}/tests",
                "-p",
                "no:cacheprovider",
            ],
        ]
        for step in steps:
            proc = debian_testing.run_in_root(debian, *step)
            assert proc.returncode == 0, (version, step, proc.stdout[-3000:])
        assert passed_tests(proc.stdout) >= 70, version


def test_zig_route_refuses_and_names_libstdcxx(
    split_project: tuple[Path, Path],
) -> None:
    root, _ = split_project
    proc = subprocess.run(
        [tool("nox"), "-s", "wheels", "--", "--backend", "zig", "--python", "3.11"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert proc.returncode != 0, proc.stdout
    assert "split mode" in proc.stdout
    assert "libstdc++" in proc.stdout
    assert "--backend container" in proc.stdout
    assert "install ziglang" not in proc.stdout  # refused before any build step
    assert not (root / "wheelhouse").exists() or not list(
        (root / "wheelhouse").iterdir()
    )
