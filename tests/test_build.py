"""Slow tier: render the default project, then build and test it with its own nox sessions."""

from __future__ import annotations

import json
import re
import zipfile
from pathlib import Path

import pytest
from conftest import (
    QUESTIONS,
    assert_tests_passed,
    declared_floors,
    exported_symbols,
    nox_lint_tests_build,
    render,
    run,
    tool,
    venv_maker,
)
from packaging.utils import canonicalize_name
from packaging.version import Version

pytestmark = pytest.mark.slow

# The oldest CPython the default project supports, and the newest that pyenv has here
# (3.14 and 3.15: tests/test_newer_cpythons.py).
OLDEST, NEWEST = QUESTIONS["python_min"]["default"], "3.13"


# Misformatted before `nox -s format` runs: file -> (text as rendered, as planted).
MISFORMATTED = {
    "src/lib/parallel.cpp": (") {", ")   {"),
    "tests/test_core.py": ("[np.float32, np.float64]", "[np.float32,np.float64]"),
}


@pytest.fixture(scope="session")
def default_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The default project after `nox -s format lint tests-OLDEST tests-NEWEST build` (run
    once), with a C++ and a Python file misformatted first."""
    root = render(tmp_path_factory.mktemp("build") / "fast-stats")
    for name, (rendered, planted) in MISFORMATTED.items():
        text = (root / name).read_text(encoding="utf-8")
        assert rendered in text, name
        (root / name).write_text(text.replace(rendered, planted), encoding="utf-8")
    output = nox_lint_tests_build(root, OLDEST, NEWEST, first=("format",))
    return root, output


@pytest.mark.parametrize("version", [OLDEST, NEWEST])
def test_own_tests_pass_in_fresh_venv(
    default_project: tuple[Path, str], version: str
) -> None:
    root, output = default_project
    assert_tests_passed(output, version)
    # uv, which the template's tests install: nox's first choice ("uv|virtualenv").
    assert venv_maker(root, f"tests-{version}") == "uv"


def test_format_session_fixes_what_lint_checks(
    default_project: tuple[Path, str], tmp_path: Path
) -> None:
    """`nox -s format` undid the misformatting (lint, next, passed on it: below)."""
    root, output = default_project
    assert "Session format was successful" in output
    section = output.split("Running session format", 1)[1].split("Running session", 1)[
        0
    ]
    for hook in ("ruff format", "clang-format"):  # each changed its file
        assert re.search(rf"^{hook}\.+Failed$", section, re.MULTILINE), section
    fresh = render(tmp_path / "fresh")
    for name in MISFORMATTED:
        assert (root / name).read_bytes() == (fresh / name).read_bytes(), name


def test_lint_session_passes(default_project: tuple[Path, str]) -> None:
    _, output = default_project
    assert "Session lint was successful" in output
    lint = output.split("Running session lint", 1)[1].split("Running session", 1)[0]
    # pre-commit ran the project's hooks (from the offline store), each on its files...
    assert "pre-commit run --all-files" in lint
    for hook in ("ruff check", "ruff format", "clang-format", "mdformat", "codespell"):
        assert re.search(rf"^{re.escape(hook)}\.+Passed$", lint, re.MULTILINE), hook
    # ...then mypy, on the package with its committed stub, the tests and tools/, unbuilt.
    assert lint.count("Success: no issues found") == 1, lint
    assert "pip install --no-build-isolation" not in lint


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


def test_module_exports_its_entry_point_alone(
    default_project: tuple[Path, str],
) -> None:
    """The core's and the standard library's symbols stay inside the module (GCC build)."""
    root, _ = default_project
    (wheel,) = (root / "dist").glob("fast_stats-0.1.0-*.whl")
    assert exported_symbols(wheel) == {"PyInit__core"}


BENCH_FUNCTIONS = ["axpy", "axpy(out)", "dot", "moments"]
BENCH_SIZES = [1000, 10**7]


def test_bench_session_prints_threads_blas_and_native_comparison(
    default_project: tuple[Path, str],
) -> None:
    # Only that the benchmark runs and reports: its numbers are the docs' business, and the
    # template's goals are checked by `nox -s goals` (tests/bench_goals.py), not here.
    root, _ = default_project
    sizes = [str(n) for n in BENCH_SIZES]
    args = ["--sizes", *sizes, "--repeat", "1"]
    output = run(tool("nox"), "-s", "bench", "--", *args, cwd=root)
    assert "Session bench was successful" in output
    expected = {
        (f, d, n)
        for f in BENCH_FUNCTIONS
        for d in ("float32", "float64")
        for n in BENCH_SIZES
    }
    record = json.loads((root / "bench.json").read_text())
    assert record["simd_level"] in {"baseline", "avx2", "avx512"}
    assert record["threads"] >= 1
    results = record["results"]
    assert {(r["function"], r["dtype"], r["n"]) for r in results} == expected
    for r in results:
        assert r["ours_s"] > 0
        assert r["ours_1_thread_s"] > 0  # the library held to one thread
        assert r["numpy_s"] > 0
        assert r["native_s"] > 0  # the -march=native build, timed in the same run
        # np.dot again on BLAS's default threads, for dot only.
        assert ("numpy_threaded_s" in r) == (r["function"] == "dot")
    # function, dtype, n, core time, 1-thread time, NumPy time, speedup, GB/s, share of copy
    times = r"\s+10000000(?:\s+\S+ \S?s){3}\s+[\d.]+x\s+[\d.]+\s+\d+%$"
    for function in BENCH_FUNCTIONS:
        for dtype in ("float32", "float64"):
            row = re.compile(rf"^{re.escape(function)}\s+{dtype}{times}", re.MULTILINE)
            assert len(row.findall(output)) == 1, (function, dtype)
    # The generated bench judges nothing: no goals, no verdicts.
    assert "goal" not in output
    assert "MISSED" not in output
    blas = output.split("dot against np.dot on BLAS's default threads", 1)[1]
    against = re.compile(r"^  float\d\d\s+10000000\s+\S+ \S?s\s+[\d.]+x$", re.MULTILINE)
    assert len(against.findall(blas)) == 2
    # Each row from 10^5 up: this build's time over the native build's.
    comparison = output.split(
        "time of this build / time of the -march=native build", 1
    )[1]
    ratio = re.compile(r"^  \S+\s+float\d\d\s+10000000\s+[\d.]+$", re.MULTILINE)
    assert len(ratio.findall(comparison)) == 8


def minimums_output(root: Path) -> str:
    """`nox -s minimums`: the tests with every dependency at its declared floor."""
    output = run(tool("nox"), "-s", "minimums", cwd=root)
    assert "Session minimums was successful" in output
    assert "uv pip install --resolution=lowest-direct" in output
    assert_passed = re.search(r"=+ (\d+) passed in ", output)
    assert assert_passed, output[-2000:]
    assert int(assert_passed[1]) >= 70
    return output


def installed(root: Path, session: str) -> dict[str, Version]:
    """The distributions in a nox session's venv, by normalized name."""
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
    )
    python = root / ".nox" / session / "bin" / "python"
    found = json.loads(run(python, "-c", code, cwd=root))
    return {canonicalize_name(name): Version(v) for name, v in found.items()}


def test_minimums_session_tests_the_declared_floors(
    default_project: tuple[Path, str],
) -> None:
    root, _ = default_project
    output = minimums_output(root)
    floors = declared_floors(root)
    assert {"numpy", "pytest", "hypothesis", "scikit-build-core", "pybind11"} <= set(
        floors
    )
    versions = installed(root, "minimums")
    assert {name: versions[name] for name in floors} == floors
    assert (
        f"-- Python {OLDEST}." in output
    )  # pytest's header: the oldest CPython ran them


def test_minimums_session_on_the_oldest_cpython_of_all(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """python_min 3.9, for old fleets: its floors (NumPy 1.21, pytest 8.4) on CPython 3.9."""
    oldest = min(QUESTIONS["python_min"]["choices"].values(), key=lambda v: int(v[2:]))
    run(f"python{oldest}", "-c", "pass")
    root = render(tmp_path_factory.mktemp("oldest") / "fast-stats", python_min=oldest)
    output = minimums_output(root)
    versions = installed(root, "minimums")
    assert versions["numpy"] == Version("1.21")
    assert versions["pytest"] == Version("8.4")
    assert f"-- Python {oldest}." in output
