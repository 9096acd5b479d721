"""nanobind mode and the stable ABI: one abi3 wheel for every CPython from 3.12 on.

The fast tests check the abi3 logic of tools/wheels/ with fake builds; the slow ones build a
nanobind project with its own nox sessions, and the abi3 wheel set with the zig backend.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from conftest import (
    assert_tests_passed,
    exported_symbols,
    load_wheels_tool,
    nox_lint_tests_build,
    render,
    run,
    tool,
    venv_maker,
)

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


def abi3_name(root: Path) -> str:
    (wheel,) = (root / "wheelhouse").glob("*-cp312-abi3-*.whl")
    return wheel.name


def tags(wheel: Path) -> str:
    """'cp312-abi3' for fast_stats-0.1.0-cp312-abi3-manylinux_2_28_x86_64.whl."""
    return "-".join(wheel.stem.split("-")[-3:-1])


# --- fast: the abi3 logic of tools/wheels/ -------------------------------------------------


@pytest.fixture(scope="module")
def abi3_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("nanobind-unit") / "fast-stats"
    return render(dest, bindings="nanobind", python_min="3.10", stable_abi=True)


@pytest.fixture(scope="module")
def wheels(abi3_project: Path) -> ModuleType:
    return load_wheels_tool(abi3_project, "wheels_abi3")


def test_abi3_code_only_where_the_answers_ask_for_it(
    abi3_project: Path, tmp_path: Path
) -> None:
    wheels = (abi3_project / "tools" / "wheels" / "zig.py").read_text()
    assert "install abi3audit, the abi3 wheel's check" in wheels
    plain = render(tmp_path / "plain", bindings="nanobind", python_min="3.10")
    tool = sorted((plain / "tools" / "wheels").glob("*.py"))
    for path in [plain / "noxfile.py", *tool]:
        assert "abi3" not in path.read_text(), path


@pytest.mark.parametrize(
    ("wheel_tags", "version", "served"),
    [
        ("cp312-abi3", "3.12", True),
        ("cp312-abi3", "3.15", True),
        ("cp312-abi3", "3.11", False),
        ("cp312-abi3", "3.14t", False),  # free-threaded CPythons cannot load abi3
        ("cp312-cp312", "3.13", False),
    ],
)
def test_serves(
    wheels: ModuleType, wheel_tags: str, version: str, served: bool
) -> None:
    wheel = Path(f"fast_stats-0.1.0-{wheel_tags}-manylinux_2_28_x86_64.whl")
    assert wheels.zig.serves(wheel, version) is served


def test_report_says_which_cpythons_each_stable_abi_wheel_serves(
    wheels: ModuleType, tmp_path: Path
) -> None:
    infos = []
    for tags in ("cp312-abi3", "cp314-cp314t", "cp315-abi3t"):
        path = tmp_path / f"fast_stats-0.1.0-{tags}-manylinux_2_28_x86_64.whl"
        path.write_bytes(b"x")
        infos.append(wheels.checks.WheelInfo(path, (2, 17)))
    text = " ".join(wheels.checks.report(infos).split())
    assert (
        "cp312-abi3 (x86_64) serves every CPython from 3.12 on, except the free-threaded "
        "ones cp315-abi3t (x86_64) serves every free-threaded CPython from 3.15t on"
    ) in text
    assert "cp314-cp314t (" not in text  # a wheel for one CPython needs no note
    assert "nanobind-backend" not in text  # linked mode: the runtime is in the wheel


def test_zig_route_builds_one_abi3_wheel_and_tests_it_on_each(
    wheels: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    steps: list[str] = []
    tested: list[tuple[str, str]] = []

    def fake_run(step: str, cmd: list[str], **kwargs: object) -> str:
        steps.append(step)
        # uv build's --out-dir, auditwheel repair's -w
        flag = next((f for f in ("--out-dir", "-w") if f in cmd), None)
        out = Path(cmd[cmd.index(flag) + 1]) if flag else None
        if step.startswith("build with"):  # what scikit-build-core names each wheel
            exe = cmd[cmd.index("--python") + 1]
            abi = "cp" + exe.rsplit("/", 1)[-1].replace(".", "")
            python = abi.rstrip("t")
            name = (
                "cp312-abi3"
                if abi == python and python >= "cp312"
                else f"{python}-{abi}"
            )
            assert out
            out.mkdir(parents=True)
            (out / f"fast_stats-0.1.0-{name}-linux_x86_64.whl").touch()
        elif step.startswith("auditwheel repair"):
            assert out
            out.mkdir(parents=True)
            repaired = Path(cmd[-1]).name.replace(
                "linux_x86_64", "manylinux_2_28_x86_64"
            )
            (out / repaired).touch()
        return ""

    zig = wheels.zig
    monkeypatch.setattr(zig, "run", fake_run)
    monkeypatch.setattr(
        zig,
        "zig_tools",
        lambda target, d, cache: dict.fromkeys(("cc", "c++", "ar", "ranlib"), "zig"),
    )
    # zig_tools, faked above, is what installs ziglang.
    monkeypatch.setattr(zig.importlib.metadata, "version", lambda name: "0.15.1")
    monkeypatch.setattr(
        zig,
        "tests_in_venv",
        lambda tests, python, wheel, work: tested.append((python, tags(wheel))),
    )
    settings = wheels.cli.parse_args(
        ["--policy=manylinux_2_28", "--test-command=pytest", "--arch", "x86_64"]
    )
    versions = ["3.10", "3.12", "3.13", "3.14t"]
    built = zig.zig_arch(
        zig.Target(settings.policy, "x86_64"),
        {v: f"/py/{v}" for v in versions},
        settings.tests,
        tmp_path,
        {"PATH": "/bin"},
    )
    assert [tags(w) for w in built] == ["cp310-cp310", "cp312-abi3", "cp314-cp314t"]
    assert tested == [
        ("/py/3.10", "cp310-cp310"),
        ("/py/3.12", "cp312-abi3"),
        ("/py/3.13", "cp312-abi3"),
        ("/py/3.14t", "cp314-cp314t"),
    ]
    audits = [s for s in steps if s.startswith("abi3audit")]
    assert audits == [f"abi3audit --strict {built[1].name}"]


# --- slow: build and test generated nanobind projects --------------------------------------


@pytest.fixture(scope="session")
def nanobind_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A nanobind project after `nox -s lint tests-3.10 tests-3.13 build` (run once), with
    virtualenv and pip: the other projects' sessions take uv, which the tests install."""
    dest = tmp_path_factory.mktemp("nanobind") / "fast-stats"
    root = render(dest, bindings="nanobind", python_min=OLDEST, stable_abi=False)
    backend = ("--force-venv-backend", "virtualenv")
    output = nox_lint_tests_build(root, OLDEST, NEWEST, *backend)
    return root, output


@pytest.mark.slow
@pytest.mark.parametrize("version", [OLDEST, NEWEST])
def test_nanobind_project_passes_its_tests(
    nanobind_project: tuple[Path, str], version: str
) -> None:
    root, output = nanobind_project
    assert_tests_passed(output, version)
    assert "Session lint was successful" in output
    assert venv_maker(root, f"tests-{version}") == "virtualenv"


@pytest.mark.slow
def test_nanobind_wheel_ships_the_committed_stub(
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
    # The stub `nox -s stubs` wrote, committed: the build runs no stub generator (and the
    # project's tests/test_stub.py, which passed, compares it with the built module).
    assert stub == (root / "src" / "fast_stats" / "_core.pyi").read_text()
    # Overloads for float64 and float32 arrays read in place, then one for anything else.
    assert stub.count("def dot(") == 3
    assert (
        "def dot(x: numpy.typing.ArrayLike, y: numpy.typing.ArrayLike) -> float" in stub
    )
    assert "-> tuple[float, float]" in stub
    assert "def simd_level() -> str:" in stub


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
    # Built once, with 3.12; 3.13 tests the same wheel, as cibuildwheel does.
    assert len(re.findall(r"--> build with \S+", output)) == 3
    assert f"CPython 3.13: tests {abi3_name(root)} (the stable ABI serves it)" in output


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
def test_modules_export_their_entry_point_alone(
    nanobind_project: tuple[Path, str], abi3_wheels: tuple[Path, str]
) -> None:
    """nanobind's runtime (NB_STATIC) stays inside the module too: GCC's build, zig's."""
    (built,) = (nanobind_project[0] / "dist").glob("fast_stats-0.1.0-cp*.whl")
    for wheel in [built, *sorted((abi3_wheels[0] / "wheelhouse").glob("*.whl"))]:
        assert exported_symbols(wheel) == {"PyInit__core"}, wheel.name


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
