"""Slow: `nox -s wheels -- --backend zig` in a rendered project, end to end."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import (
    QUESTIONS,
    ROOT,
    cpp_sources,
    exported_symbols,
    render,
    run,
    tool,
    unavailable,
)

pytestmark = pytest.mark.slow


def installed(version: str) -> bool:
    """Whether python3.X runs here (a pyenv shim exists even for a version not selected)."""
    exe = shutil.which(f"python{version}")
    return (
        exe is not None and subprocess.run([exe, "-c", ""], check=False).returncode == 0
    )


# The default project's CPythons, free-threaded ones included: those this machine has
# get a wheel each; the others (here 3.14 and 3.15, built in tests/test_newer_cpythons.py,
# and every free-threaded one) are looked for and named as skipped.
_newest = int(QUESTIONS["python_newest"]["default"].split(".")[1])
_oldest = int(QUESTIONS["python_min"]["default"].split(".")[1])
SUPPORTED = [f"3.{m}" for m in range(_oldest, _newest + 1)]
SUPPORTED += [f"3.{m}t" for m in range(max(_oldest, 14), _newest + 1)]
VERSIONS = [v for v in SUPPORTED if installed(v)]
MISSING = [v for v in SUPPORTED if v not in VERSIONS]
CHECK = """
import numpy as np, fast_stats as m
x = np.linspace(-1.0, 2.0, 10_001); y = np.cos(x)
assert "site-packages" in m.__file__, m.__file__
assert np.allclose(m.axpy(1.5, x, y), 1.5 * x + y)
assert abs(m.dot(x, y) - np.dot(x, y)) < 1e-9
assert np.allclose(m.moments(x), (x.mean(), x.var()))
print("ok", m.simd_level())
"""


def cpu_has_avx2() -> bool:
    return any(
        "avx2" in line.split()
        for line in Path("/proc/cpuinfo").read_text().splitlines()
        if line.startswith("flags")
    )


def files(root: Path) -> set[str]:
    """The project's files, but for what nox, git and the route make on purpose, and the
    bytecode of noxfile.py and tools/ that Python writes when nox imports them."""
    skip = ("wheelhouse", ".nox", ".git")
    found = set()
    for path in root.rglob("*"):
        relative = path.relative_to(root)
        if relative.parts[0] in skip or (
            "__pycache__" in relative.parts and relative.parts[0] != "tests"
        ):
            continue
        found.add(str(relative))
    return found


@pytest.fixture(scope="session")
def ccache_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A private compiler cache, first empty, for the zig runs."""
    return {**os.environ, "CCACHE_DIR": str(tmp_path_factory.mktemp("ccache"))}


def ccache_hits(env: dict[str, str]) -> int:
    out = run("ccache", "--print-stats", env=env)
    stats = {k: int(v) for k, v in (line.split("\t") for line in out.splitlines())}
    return stats["direct_cache_hit"] + stats["preprocessed_cache_hit"]


@pytest.fixture(scope="session")
def zig_run(
    tmp_path_factory: pytest.TempPathFactory, ccache_env: dict[str, str]
) -> tuple[Path, str, set[str]]:
    # .ci/run exposes pyenv's CPythons: at least these must be here.
    assert {"3.11", "3.12", "3.13"} <= set(VERSIONS), VERSIONS
    root = render(tmp_path_factory.mktemp("zig") / "fast-stats")
    # A commit, as in a user's project: the wheels are dated by it (SOURCE_DATE_EPOCH).
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    run("git", "init", "-q", cwd=root)
    run(*git, "add", "-A", cwd=root)
    run(*git, "commit", "-qm", "render", cwd=root)
    before = files(root)
    # Python's own default, bytecode beside the sources (conftest.py moves the run's):
    # the clean tree asserted below then shows that the route keeps it out of tests/.
    env = {k: v for k, v in ccache_env.items() if k != "PYTHONPYCACHEPREFIX"}
    output = run(
        tool("nox"), "-s", "wheels", "--", "--backend", "zig", cwd=root, env=env
    )
    return root, output, before


def test_one_manylinux_2_28_wheel_per_cpython(
    zig_run: tuple[Path, str, set[str]],
) -> None:
    root, output, _ = zig_run
    assert "Backend: zig (asked for)" in output
    # The rest of the set is looked for, free-threaded CPythons included, and named.
    for version in MISSING:
        assert f"Skipping CPython {version}: python{version} not found" in output
    wheels = sorted((root / "wheelhouse").glob("*.whl"))
    abi_tags = {re.search(r"-cp3\d+-(cp3\d+t?)-", w.name)[1] for w in wheels}  # type: ignore[index]
    assert abi_tags == {"cp" + v.replace(".", "") for v in VERSIONS}
    assert len(wheels) == len(VERSIONS)
    for wheel in wheels:
        assert "manylinux_2_28_x86_64" in wheel.stem.split("-")[-1].split(".")
        assert wheel.name in output  # listed in the summary table


def test_auditwheel_verdicts(zig_run: tuple[Path, str, set[str]]) -> None:
    root, _, _ = zig_run
    for wheel in sorted((root / "wheelhouse").glob("*.whl")):
        shown = run(tool("auditwheel"), "show", wheel)
        verdict = re.search(r'platform tag:\s*"manylinux_2_(\d+)_x86_64"', shown)
        assert verdict, shown
        assert int(verdict[1]) <= 28, shown


@pytest.mark.parametrize("version", VERSIONS)
def test_wheel_installs_and_computes(
    zig_run: tuple[Path, str, set[str]], version: str, tmp_path: Path
) -> None:
    root, output, _ = zig_run
    abi_tag = "cp" + version.replace(".", "")
    python_tag = abi_tag.rstrip("t")
    (wheel,) = (root / "wheelhouse").glob(f"*-{python_tag}-{abi_tag}-*.whl")
    # The session itself ran the project's tests against each installed wheel ...
    assert re.search(rf"--> test {re.escape(wheel.name)}\n\s+=+ \d+ passed", output)
    # ... and here it is installed once more, away from the project, and checked against NumPy.
    run(f"python{version}", "-m", "venv", tmp_path / "venv")
    run(tmp_path / "venv" / "bin" / "python", "-m", "pip", "install", "-q", wheel)
    ok, level = run(
        tmp_path / "venv" / "bin" / "python", "-c", CHECK, cwd=tmp_path
    ).split()
    assert ok == "ok"
    # Built for the baseline ISA, the zig wheel still runs the AVX2 (or wider) kernels here.
    if cpu_has_avx2():
        assert level in {"avx2", "avx512"}


def test_modules_export_their_entry_point_alone(
    zig_run: tuple[Path, str, set[str]],
) -> None:
    """zig links LLVM's libc++ statically: its symbols stay inside the module too."""
    root, _, _ = zig_run
    wheels = sorted((root / "wheelhouse").glob("*.whl"))
    assert wheels
    for wheel in wheels:
        assert exported_symbols(wheel) == {"PyInit__core"}, wheel.name


def test_summary_table_and_clean_tree(zig_run: tuple[Path, str, set[str]]) -> None:
    root, output, before = zig_run
    assert re.search(r"wheel\s+newest glibc\s+size\s+installs on", output)
    assert "RHEL/Alma/Rocky" in output
    assert "GLIBC_2." in output
    assert files(root) == before  # no build/ or other litter in the source tree
    table = output[output.rindex("\nwheel ") :].split("\n\nIn wheelhouse/:")[0]
    assert max(map(len, table.splitlines())) <= 100
    # The docs show the same columns (their example comes from the same report()).
    docs = (ROOT / "docs" / "wheels.md").read_text(encoding="utf-8")
    header = table.strip("\n").splitlines()[0]
    assert f"\n{header}\n" in docs, header
    rows = re.findall(r"^cp3(\d+)-", table, flags=re.MULTILINE)
    assert rows == sorted(rows, key=int)  # cp39 before cp310


def test_same_commit_same_bytes(
    zig_run: tuple[Path, str, set[str]], ccache_env: dict[str, str]
) -> None:
    root, output, _ = zig_run
    assert "no git commit" not in output  # dated by the commit, not the fallback
    (wheel,) = (root / "wheelhouse").glob("*-cp311-cp311-*.whl")
    first = hashlib.sha256(wheel.read_bytes()).hexdigest()
    if shutil.which("ccache") is None:
        unavailable("ccache is not installed")
    run("ccache", "--zero-stats", env=ccache_env)
    # A second run on the same commit, of one CPython only (the zig cache is warm).
    args = ["--backend", "zig", "--python", "3.11"]
    again = run(tool("nox"), "-s", "wheels", "--", *args, cwd=root, env=ccache_env)
    assert hashlib.sha256(wheel.read_bytes()).hexdigest() == first
    # zig ran from the copy the first run left in the cache (its own cache warm there),
    # not from the new venv's ziglang.
    assert "install ziglang" in again
    assert "copy ziglang" not in again
    # ccache knew zig through the new run's wrapper scripts: the library's files (every
    # .cpp but the bindings', whose headers sit in a new build-isolation folder) were hits.
    library = list(cpp_sources(root).library.glob("*.cpp"))
    assert ccache_hits(ccache_env) >= len(library)


@pytest.fixture
def project_copy(zig_run: tuple[Path, str, set[str]], tmp_path: Path) -> Path:
    root, _, _ = zig_run
    copy = tmp_path / "fast-stats"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns("wheelhouse", ".nox"))
    return copy


def nox_wheels(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            tool("nox"),
            "-s",
            "wheels",
            "--",
            "--backend",
            "zig",
            "--python",
            "3.11",
            *args,
        ],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )


def test_build_failure_shows_log_and_leaves_no_wheel(project_copy: Path) -> None:
    source = cpp_sources(project_copy).kernels
    source.write_text(source.read_text() + "\nthis is not C++;\n")
    proc = nox_wheels(project_copy)
    assert proc.returncode != 0
    assert "error: build with" in proc.stdout
    assert (
        "this is not C++" in proc.stdout
    )  # the compiler's own message, from the step's log
    assert not list(project_copy.glob("wheelhouse/*.whl"))


def test_test_failure_leaves_no_wheel(project_copy: Path) -> None:
    (project_copy / "tests" / "test_fails.py").write_text(
        "def test_fails():\n    assert 1 == 2\n"
    )
    proc = nox_wheels(project_copy)
    assert proc.returncode != 0
    assert "error: test fast_stats-0.1.0-cp311" in proc.stdout
    assert "1 failed" in proc.stdout
    assert not list(project_copy.glob("wheelhouse/*.whl"))
