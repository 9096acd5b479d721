"""Slow: wheels for CPython 3.14 and 3.15, built, repaired and tested in a Debian testing root.

Neither CPython is installed here, so the generated project's own `nox -s wheels -- --backend
zig --python 3.14 3.15` runs inside the root that tests/debian_testing.py builds (once per
machine), as a user with those CPythons would run it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import NamedTuple

import debian_testing
import pytest
from conftest import render, run, tool, unavailable

pytestmark = pytest.mark.slow

PYTHONS = debian_testing.PYTHONS
CHECK = """
import numpy as np, fast_stats as m
x = np.linspace(-1.0, 2.0, 10_001); y = np.cos(x)
assert "site-packages" in m.__file__, m.__file__
assert np.allclose(m.axpy(1.5, x, y), 1.5 * x + y)
assert abs(m.dot(x, y) - np.dot(x, y)) < 1e-9
assert np.allclose(m.moments(x), (x.mean(), x.var()))
print("ok")
"""


class Built(NamedTuple):
    root: Path  # the Debian testing root
    project: str  # the project's path inside the root
    output: str  # what `nox -s wheels` printed
    wheels: list[Path]  # wheelhouse/*.whl, as host paths


def debian_root() -> Path:
    """The cached root; where it cannot be built, skipped (failed on CI) with the reason."""
    try:
        debian_testing.check_requirements()
    except debian_testing.RootBuildError as err:
        unavailable(str(err))
    try:
        return debian_testing.build_root()
    except debian_testing.RootBuildError as err:
        # Most likely no network to the Debian mirror or PyPI; the output says.
        unavailable(f"the Debian testing root could not be built: {err}")


def build_wheels(project: Path, name: str) -> Built:
    root = debian_root()
    inside = debian_testing.copy_project(root, project, name)
    command = debian_testing.nox_wheels_command(inside, *PYTHONS)
    proc = debian_testing.run_in_root(root, *command)
    assert proc.returncode == 0, proc.stdout
    wheelhouse = root / inside.lstrip("/") / "wheelhouse"
    return Built(root, inside, proc.stdout, sorted(wheelhouse.glob("*.whl")))


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> Built:
    project = render(tmp_path_factory.mktemp("newer") / "fast-stats")
    return build_wheels(project, "newer-default")


@pytest.fixture(scope="session")
def abi3_project(tmp_path_factory: pytest.TempPathFactory) -> Built:
    dest = tmp_path_factory.mktemp("newer-abi3") / "fast-stats"
    render(dest, bindings="nanobind", stable_abi=True, python_min="3.12")
    return build_wheels(dest, "newer-abi3")


def passing_runs(built: Built, wheel: Path) -> int:
    """How many times the session's log shows the project's tests passing on this wheel."""
    passed = rf"--> test {re.escape(wheel.name)}\n\s+=+ (\d+) passed"
    counts = [int(n) for n in re.findall(passed, built.output)]
    assert all(n >= 70 for n in counts), counts
    return len(counts)


def auditwheel_glibc(wheel: Path) -> int:
    """The minor glibc version of auditwheel's verdict (run on the host), e.g. 28."""
    shown = run(tool("auditwheel"), "show", wheel)
    verdict = re.search(r'platform tag:\s*"manylinux_2_(\d+)_x86_64"', shown)
    assert verdict, shown
    return int(verdict[1])


def computes_on_315(built: Built, wheel: Path) -> None:
    """A fresh python3.15 venv in the root installs the wheel offline and checks it."""
    venv = f"{debian_testing.WORK}/check-venv"
    shutil.rmtree(built.root / venv.lstrip("/"), ignore_errors=True)
    inside_wheel = f"{built.project}/wheelhouse/{wheel.name}"
    steps = [
        ["python3.15", "-m", "venv", venv],
        [f"{venv}/bin/pip", "install", "-q", inside_wheel],
        [f"{venv}/bin/python", "-c", CHECK],
    ]
    for step in steps:
        proc = debian_testing.run_in_root(built.root, *step)
        assert proc.returncode == 0, proc.stdout
    assert proc.stdout.split() == ["ok"], proc.stdout


def test_default_project_cp314_cp315_wheels(default_project: Built) -> None:
    wheels = {w.name.split("-")[2]: w for w in default_project.wheels}
    assert sorted(wheels) == ["cp314", "cp315"], default_project.output
    for wheel in wheels.values():
        assert "manylinux_2_28_x86_64" in wheel.stem.split("-")[-1].split(".")
        assert auditwheel_glibc(wheel) <= 28
        assert passing_runs(default_project, wheel) == 1, default_project.output
    computes_on_315(default_project, wheels["cp315"])


def test_abi3_wheel_built_on_314_tested_on_314_and_315(abi3_project: Built) -> None:
    (wheel,) = abi3_project.wheels
    assert re.search(r"-cp312-abi3-.*manylinux_2_28_x86_64", wheel.name), wheel.name
    assert auditwheel_glibc(wheel) <= 28
    output = abi3_project.output
    assert f"CPython 3.15: tests {wheel.name} (the stable ABI serves it)" in output
    assert f"--> abi3audit --strict {wheel.name}" in output
    assert "build with /usr/bin/python3.14" in output
    # Tested twice: in a venv of 3.14, then of 3.15.
    assert passing_runs(abi3_project, wheel) == 2, output
    venvs = re.findall(rf"--> venv for {re.escape(wheel.name)} with (\S+)", output)
    assert venvs == ["/usr/bin/python3.14", "/usr/bin/python3.15"], output
    computes_on_315(abi3_project, wheel)
