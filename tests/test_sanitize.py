"""Slow: `nox -s sanitize` passes on a clean project and catches a bug planted in a kernel;
`nox -s sanitize -- --thread` (ThreadSanitizer) passes too, and catches a planted data race.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import cpp_sources, render, tool

pytestmark = pytest.mark.slow

# The last loop of axpy's kernel (the elements after the last full cache line).
TAIL_LOOP = "  for (; i < n; ++i) {\n    out[i] = a * x[i] + y[i];\n  }\n}"


def nox_sanitize(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [tool("nox"), "-s", "sanitize", *args],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )


def with_planted_bug(clean: Path, tmp_path: Path, tail_loop: str) -> Path:
    """A copy of the clean project whose axpy kernel ends with `tail_loop` instead."""
    root = tmp_path / "fast-stats"
    shutil.copytree(clean, root, ignore=shutil.ignore_patterns(".nox", "build"))
    kernels = cpp_sources(root).kernels
    source = kernels.read_text(encoding="utf-8")
    assert source.count(TAIL_LOOP) == 1
    kernels.write_text(source.replace(TAIL_LOOP, tail_loop), encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def clean_project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The default project after `nox -s sanitize` (run once)."""
    root = render(tmp_path_factory.mktemp("sanitize") / "fast-stats")
    proc = nox_sanitize(root)
    assert proc.returncode == 0, proc.stdout
    return root, proc.stdout


def test_clean_project_passes_under_asan_and_ubsan(
    clean_project: tuple[Path, str],
) -> None:
    _, output = clean_project
    assert "-fsanitize=address,undefined" in output  # the build had the sanitizers
    assert re.search(r"LD_PRELOAD|libasan\.so", output)
    summary = re.search(r"=+ (\d+) passed in ", output)
    assert summary, output[-2000:]
    assert int(summary[1]) >= 70
    assert "Session sanitize was successful" in output


def test_out_of_bounds_write_fails_with_the_asan_report(
    clean_project: tuple[Path, str], tmp_path: Path
) -> None:
    # One element past the end of each array: no crash, no wrong number, only a sanitizer
    # sees it.
    off_by_one = TAIL_LOOP.replace("i < n", "i <= n")
    root = with_planted_bug(clean_project[0], tmp_path, off_by_one)
    proc = nox_sanitize(root)
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in proc.stdout, proc.stdout
    # x[n] is read before out[n] is written: the first bad access found is either.
    assert re.search(r"(READ|WRITE) of size \d+", proc.stdout)
    assert "kernels.cpp" in proc.stdout  # the report names the line, from the -g build
    assert "Session sanitize failed" in proc.stdout


def test_thread_sanitizer_passes_the_clean_project(
    clean_project: tuple[Path, str],
) -> None:
    root, _ = clean_project
    proc = nox_sanitize(root, "--", "--thread")
    assert proc.returncode == 0, proc.stdout[-5000:]
    assert "-fsanitize=thread" in proc.stdout
    assert "libtsan.so" in proc.stdout
    # CPython is not instrumented, but ThreadSanitizer sees its GIL (a pthread mutex):
    # calls ordered by the GIL are not reported, so the clean run has no report at all.
    assert "WARNING: ThreadSanitizer" not in proc.stdout
    summary = re.search(r"=+ (\d+) passed in ", proc.stdout)
    assert summary, proc.stdout[-2000:]
    assert int(summary[1]) >= 30  # tests/test_threads.py, the fork test among them
    assert "Session sanitize was successful" in proc.stdout


def test_thread_sanitizer_reports_a_planted_data_race(
    clean_project: tuple[Path, str], tmp_path: Path
) -> None:
    # A counter every axpy call updates, unsynchronized, outside the GIL: the numbers stay
    # right, only a race detector sees it (volatile keeps the unused count in the code).
    race = "  static volatile std::size_t calls = 0;\n  calls = calls + 1;\n"
    root = with_planted_bug(clean_project[0], tmp_path, race + TAIL_LOOP)
    proc = nox_sanitize(root, "--", "--thread")
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "WARNING: ThreadSanitizer: data race" in proc.stdout, proc.stdout[-5000:]
    assert "kernels.cpp" in proc.stdout
    assert "Session sanitize failed" in proc.stdout
