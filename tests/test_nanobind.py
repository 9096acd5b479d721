"""nanobind mode and the stable ABI: one abi3 wheel for every CPython from 3.12 on.

The fast tests check tools/wheels.py's abi3 logic with fake builds; the slow ones build a
nanobind project with its own nox sessions, and the abi3 wheel set with the zig backend.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from conftest import assert_tests_passed, nox_lint_tests_build, render, run, tool

# The CPythons this machine must have for the slow tests (.ci/run exposes pyenv's).
OLDEST, NEWEST = "3.10", "3.13"
CHECK = """
import numpy as np, fast_stats as m
from fast_stats import _core
x = np.linspace(-1.0, 2.0, 10_001); y = np.cos(x)
assert "site-packages" in m.__file__, m.__file__
assert _core.__file__.endswith("_core.abi3.so"), _core.__file__
assert np.allclose(m.axpy(1.5, x, y), 1.5 * x + y)
assert abs(m.dot(x, y) - np.dot(x, y)) < 1e-9
assert np.allclose(m.moments(x), (x.mean(), x.var()))
x32 = x.astype(np.float32)
assert m.axpy(2.0, x32, x32).dtype == np.float32
print("ok", m.__file__)
"""


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def tags(wheel: Path) -> str:
    """'cp312-abi3' for fast_stats-0.1.0-cp312-abi3-manylinux_2_28_x86_64.whl."""
    return "-".join(wheel.stem.split("-")[-3:-1])


# --- fast: tools/wheels.py's abi3 logic ----------------------------------------------------


@pytest.fixture(scope="module")
def abi3_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("nanobind-unit") / "fast-stats"
    return render(dest, bindings="nanobind", python_min="3.10", stable_abi=True)


@pytest.fixture(scope="module")
def wheels(abi3_project: Path) -> ModuleType:
    return load(abi3_project / "tools" / "wheels.py", "wheels_abi3")


def noxfile_abi3_from(project: Path) -> str:
    # In a process of its own: nox registers a noxfile's sessions once per process.
    code = "import runpy, sys; print(runpy.run_path(sys.argv[1])['ABI3_FROM'])"
    return run(sys.executable, "-c", code, project / "noxfile.py").strip()


def test_noxfile_reads_abi3_from_pyproject(abi3_project: Path, tmp_path: Path) -> None:
    assert noxfile_abi3_from(abi3_project) == "3.12"
    plain = render(tmp_path / "plain", bindings="nanobind", python_min="3.10")
    assert noxfile_abi3_from(plain) == "None"


def test_abi3_split(wheels: ModuleType) -> None:
    versions = ["3.13", "3.9", "3.12", "3.10", "3.11"]
    assert wheels.abi3_split(versions, "3.12") == (
        ["3.9", "3.10", "3.11"],
        ["3.12", "3.13"],
    )
    assert wheels.abi3_split(versions, None) == (
        ["3.9", "3.10", "3.11", "3.12", "3.13"],
        [],
    )
    assert wheels.abi3_split(["3.10", "3.11"], "3.12") == (["3.10", "3.11"], [])
    # Free-threaded CPythons cannot load abi3 modules: a wheel each, in version order.
    assert wheels.abi3_split(["3.15t", "3.15", "3.14t", "3.14", "3.11"], "3.12") == (
        ["3.11", "3.14t", "3.15t"],
        ["3.14", "3.15"],
    )


def test_free_threaded_tags_and_order(wheels: ModuleType) -> None:
    assert wheels.version_tags("3.12") == ("cp312", "cp312")
    assert wheels.version_tags("3.14t") == ("cp314", "cp314t")
    versions = ["3.15t", "3.9", "3.15", "3.14t", "3.10", "3.14"]
    assert sorted(versions, key=wheels.version_key) == [
        "3.9", "3.10", "3.14", "3.14t", "3.15", "3.15t",
    ]  # fmt: skip


def fake_build(abi3_from: str | None) -> Callable[[str, Path], Path]:
    """A build that names its wheel as scikit-build-core would with wheel.py-api."""

    def build(python: str, work: Path) -> Path:
        version = python.rsplit("python", 1)[1]
        tag = "cp" + version.rstrip("t").replace(".", "")
        minor = int(version.rstrip("t").split(".")[1])
        # Never abi3 on a free-threaded CPython: nanobind drops STABLE_ABI there.
        abi3 = abi3_from is not None and minor >= int(abi3_from.split(".")[1])
        abi3 = abi3 and not version.endswith("t")
        name = (
            f"cp{abi3_from.replace('.', '')}-abi3"
            if abi3_from and abi3
            else f"{tag}-{tag}{'t' if version.endswith('t') else ''}"
        )
        work.mkdir(parents=True)
        wheel = work / f"fast_stats-0.1.0-{name}-manylinux_2_28_x86_64.whl"
        wheel.write_bytes(b"")
        return wheel

    return build


def make_wheels(  # noqa: PLR0913, PLR0917 (fixtures, then what the case varies)
    wheels: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    abi3_from: str | None,
    built_as: str | None,
    versions: tuple[str, ...] = ("3.10", "3.11", "3.12", "3.13"),
) -> tuple[list[str], list[tuple[str, str]]]:
    """Run make_wheels on fake CPythons; return the wheels written and the tests run."""
    tested: list[tuple[str, str]] = []
    monkeypatch.setattr(
        wheels,
        "test_wheel",
        lambda python, wheel, requires, work: tested.append((python, tags(wheel))),
    )
    pythons = {v: f"/fake/python{v}" for v in versions}
    args = argparse.Namespace(abi3_from=abi3_from, test_requires=["pytest"])
    out = tmp_path / "out"
    out.mkdir()
    wheels.make_wheels(args, pythons, fake_build(built_as), tmp_path / "work", out)
    return sorted(tags(w) for w in out.iterdir()), tested


def test_one_abi3_wheel_tested_on_every_cpython_from_312(
    wheels: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    made, tested = make_wheels(wheels, monkeypatch, tmp_path, "3.12", "3.12")
    assert made == ["cp310-cp310", "cp311-cp311", "cp312-abi3"]
    assert tested == [
        ("/fake/python3.10", "cp310-cp310"),
        ("/fake/python3.11", "cp311-cp311"),
        ("/fake/python3.12", "cp312-abi3"),
        ("/fake/python3.13", "cp312-abi3"),
    ]


def test_without_abi3_every_cpython_gets_its_own_wheel(
    wheels: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    made, tested = make_wheels(wheels, monkeypatch, tmp_path, None, None)
    assert made == ["cp310-cp310", "cp311-cp311", "cp312-cp312", "cp313-cp313"]
    assert [python for python, _ in tested] == [
        f"/fake/python3.{minor}" for minor in (10, 11, 12, 13)
    ]


def test_free_threaded_cpythons_get_a_wheel_each_beside_the_abi3_one(
    wheels: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    versions = ("3.12", "3.14", "3.14t", "3.15", "3.15t")
    made, tested = make_wheels(wheels, monkeypatch, tmp_path, "3.12", "3.12", versions)
    assert made == ["cp312-abi3", "cp314-cp314t", "cp315-cp315t"]
    assert tested == [
        ("/fake/python3.14t", "cp314-cp314t"),
        ("/fake/python3.15t", "cp315-cp315t"),
        ("/fake/python3.12", "cp312-abi3"),
        ("/fake/python3.14", "cp312-abi3"),
        ("/fake/python3.15", "cp312-abi3"),
    ]
    out = capsys.readouterr().out
    assert "CPython 3.14t: a cp314-cp314t wheel of its own (free-threaded" in out


def test_free_threaded_wheel_must_carry_its_abi_tag(
    wheels: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    def regular(
        python: str, work: Path
    ) -> Path:  # as if a regular CPython had built it
        return fake_build(None)(python.rstrip("t"), work)

    monkeypatch.setattr(wheels, "test_wheel", lambda *args: None)
    args = argparse.Namespace(abi3_from=None, test_requires=[])
    with pytest.raises(wheels.WheelError, match="expected a cp314-cp314t wheel"):
        wheels.make_wheels(
            args, {"3.14t": "/fake/python3.14t"}, regular, tmp_path / "w", tmp_path
        )


def test_version_specific_wheel_where_abi3_was_expected_is_refused(
    wheels: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # --abi3-from without wheel.py-api in pyproject.toml: 3.12 builds a cp312-cp312 wheel.
    with pytest.raises(wheels.WheelError, match="expected a cp312-abi3 wheel, got"):
        make_wheels(wheels, monkeypatch, tmp_path, "3.12", None)


def test_abi3_wheel_without_abi3_from_is_refused(
    wheels: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # wheel.py-api set, but no --abi3-from: 3.12 and 3.13 would each make "the" abi3 wheel.
    with pytest.raises(wheels.WheelError, match="pass --abi3-from"):
        make_wheels(wheels, monkeypatch, tmp_path, None, "3.12")


@pytest.mark.parametrize(
    ("member", "refused"),
    [
        ("fast_stats/_core.cpython-312-x86_64-linux-gnu.so", True),
        ("fast_stats/__init__.py", True),  # no extension at all
        ("fast_stats/_core.abi3.so", False),
    ],
)
def test_abi3_tag_needs_abi3_modules(
    wheels: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    member: str,
    refused: bool,
) -> None:
    audited: list[list[str]] = []
    monkeypatch.setattr(wheels, "run", lambda step, cmd, **kw: audited.append(cmd))
    wheel = tmp_path / "fast_stats-0.1.0-cp312-abi3-manylinux_2_28_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(member, b"")
    if refused:
        with pytest.raises(wheels.WheelError, match="is not an abi3 module"):
            wheels.check_abi3(wheel)
        assert not audited
    else:
        wheels.check_abi3(wheel)
        (cmd,) = audited
        assert cmd[1:] == ["-m", "abi3audit", "--strict", "--summary", str(wheel)]


def test_container_runs_the_same_abi3_logic_inside(wheels: ModuleType) -> None:
    args = argparse.Namespace(
        engine="podman",
        python=["3.10", "3.11", "3.12", "3.13"],
        test_requires=["pytest>=8"],
        static_libstdcxx=False,
        engine_arg=[],
        abi3_from="3.12",
    )
    cmd = wheels.container_command(
        args, "quay.io/pypa/manylinux_2_28_x86_64", Path("/o"), "manylinux_2_28_x86_64"
    )
    inside = cmd[cmd.index("inside") :]
    assert inside[-2:] == ["--abi3-from", "3.12"]
    parsed = wheels.parse_args(inside)
    assert parsed.command == "inside"
    assert parsed.abi3_from == "3.12"
    assert parsed.python == ["3.10", "3.11", "3.12", "3.13"]


def test_summary_says_what_the_abi3_wheel_serves(
    wheels: ModuleType, tmp_path: Path
) -> None:
    infos = []
    for name in ("cp311-cp311", "cp312-abi3"):
        path = tmp_path / f"fast_stats-0.1.0-{name}-manylinux_2_28_x86_64.whl"
        path.write_bytes(b"0" * 2048)
        infos.append(
            wheels.WheelInfo(path, ["manylinux_2_28_x86_64"], (2, 17), "manylinux_2_17")
        )
    table = wheels.summary(infos)
    assert "cp312-abi3-manylinux_2_28" in table
    assert re.search(r"cp312-abi3-\S+\.whl serves CPython 3\.12 and newer", table)
    assert "cp311-cp311-manylinux_2_28_x86_64.whl serves" not in table


def test_abi3_from_without_abi3audit_says_what_to_install(
    abi3_project: Path, tmp_path: Path
) -> None:
    run(sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv")
    proc = subprocess.run(
        [
            str(tmp_path / "venv" / "bin" / "python"),
            str(abi3_project / "tools" / "wheels.py"),
            "--supported",
            "3.12",
            "--abi3-from",
            "3.12",
            "--backend",
            "zig",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1
    assert "--abi3-from needs abi3audit" in proc.stderr
    assert "pip install abi3audit" in proc.stderr
    assert "Backend" not in proc.stdout  # refused before building anything


# --- slow: build and test generated nanobind projects --------------------------------------


@pytest.fixture(scope="session")
def nanobind_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A nanobind project after `nox -s lint tests-3.10 tests-3.13 build` (run once)."""
    dest = tmp_path_factory.mktemp("nanobind") / "fast-stats"
    root = render(dest, bindings="nanobind", python_min=OLDEST, stable_abi=False)
    output = nox_lint_tests_build(root, OLDEST, NEWEST)
    return root, output


@pytest.mark.slow
@pytest.mark.parametrize("version", [OLDEST, NEWEST])
def test_nanobind_project_passes_its_tests(
    nanobind_project: tuple[Path, str], version: str
) -> None:
    _, output = nanobind_project
    assert_tests_passed(output, version)
    assert "Session lint was successful" in output


@pytest.mark.slow
def test_nanobind_wheel_ships_the_generated_stub(
    nanobind_project: tuple[Path, str],
) -> None:
    root, output = nanobind_project
    assert "Session build was successful" in output
    (wheel,) = (root / "dist").glob("fast_stats-0.1.0-cp*.whl")
    assert tags(wheel) not in ("cp310-abi3", "cp312-abi3")  # stable_abi is off
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        stub = zf.read("fast_stats/_core.pyi").decode()
    assert "fast_stats/py.typed" in names
    assert any(re.fullmatch(r"fast_stats/_core\.cpython-3\d+-.*\.so", n) for n in names)
    # Written by nanobind's stubgen from the built module, with the declared __version__.
    assert not (root / "src" / "fast_stats" / "_core.pyi").exists()
    # Every array argument accepts None (`.none()`), so that the package, not nanobind's
    # signature error, answers a call with None. The return types come from
    # stubs/stub_patterns.txt (stubgen alone writes `object`), for mypy.
    axpy = (
        "def axpy(a: float, x: object | None, y: object | None, out: object | None = None)"
        " -> numpy.typing.NDArray[numpy.float32] | numpy.typing.NDArray[numpy.float64]"
        " | None:"
    )
    assert axpy in stub
    assert "def dot(x: object | None, y: object | None) -> float | None:" in stub
    assert "def moments(x: object | None) -> tuple[float, float] | None:" in stub
    assert "def simd_level() -> str:" in stub
    assert "__version__: str" in stub


@pytest.fixture(scope="session")
def abi3_wheels(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`nox -s wheels -- --backend zig` in a stable-ABI nanobind project (run once)."""
    for minor in range(10, 14):
        run(f"python3.{minor}", "-c", "pass")
    dest = tmp_path_factory.mktemp("abi3") / "fast-stats"
    root = render(dest, bindings="nanobind", python_min=OLDEST, stable_abi=True)
    output = run(tool("nox"), "-s", "wheels", "--", "--backend", "zig", cwd=root)
    return root, output


@pytest.mark.slow
def test_wheel_set_is_one_per_old_cpython_and_one_abi3(
    abi3_wheels: tuple[Path, str],
) -> None:
    root, output = abi3_wheels
    wheels = sorted((root / "wheelhouse").glob("*.whl"))
    assert sorted(map(tags, wheels)) == ["cp310-cp310", "cp311-cp311", "cp312-abi3"]
    for wheel in wheels:
        assert "manylinux_2_28_x86_64" in wheel.stem.split("-")[-1].split(".")
        assert wheel.name in output  # in the summary table
    assert "CPython 3.10: a cp310-cp310 wheel of its own" in output
    assert "CPython 3.12, 3.13: one cp312-abi3 wheel, built with CPython 3.12" in output
    assert "serves CPython 3.12 and newer" in output


@pytest.mark.slow
def test_every_wheel_passes_auditwheel_and_the_abi3_one_abi3audit(
    abi3_wheels: tuple[Path, str],
) -> None:
    root, output = abi3_wheels
    for wheel in sorted((root / "wheelhouse").glob("*.whl")):
        shown = run(tool("auditwheel"), "show", wheel)
        verdict = re.search(r'platform tag:\s*"manylinux_2_(\d+)_x86_64"', shown)
        assert verdict, shown
        assert int(verdict[1]) <= 28, shown
    (abi3,) = (root / "wheelhouse").glob("*-cp312-abi3-*.whl")
    assert f"--> abi3audit --strict {abi3.name}" in output  # the session's own check
    run(tool("abi3audit"), "--strict", abi3)  # and an independent one
    with zipfile.ZipFile(abi3) as zf:
        extensions = [n for n in zf.namelist() if n.endswith(".so")]
    assert extensions == ["fast_stats/_core.abi3.so"]


@pytest.mark.slow
def test_abi3_wheel_was_tested_on_every_cpython_from_312(
    abi3_wheels: tuple[Path, str],
) -> None:
    root, output = abi3_wheels
    (abi3,) = (root / "wheelhouse").glob("*-cp312-abi3-*.whl")
    name = re.escape(abi3.name)
    for version in ("3.12", "3.13"):
        assert re.search(rf"--> venv for {name} with \S*python{version}\n", output)
    runs = re.findall(rf"--> test {name}\n\s+=+ (\d+) passed", output)
    assert len(runs) == 2
    assert all(int(n) >= 70 for n in runs)


@pytest.mark.slow
def test_abi3_wheel_built_on_312_computes_on_313(
    abi3_wheels: tuple[Path, str], tmp_path: Path
) -> None:
    root, _ = abi3_wheels
    (abi3,) = (root / "wheelhouse").glob("*-cp312-abi3-*.whl")
    venv = tmp_path / "venv"
    run(f"python{NEWEST}", "-m", "venv", venv)
    python = venv / "bin" / "python"
    assert run(python, "-c", "import sys; print(sys.version_info[:2])").strip() == (
        "(3, 13)"
    )
    run(python, "-m", "pip", "install", "-q", abi3)
    assert "ok" in run(python, "-c", CHECK, cwd=tmp_path)
