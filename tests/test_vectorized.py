"""The core's hot loops compile to packed SIMD instructions at the baseline ISA (no -march)."""

from __future__ import annotations

import re
import shutil

import pytest
from conftest import ROOT, run

CORE = ROOT / "template" / "src" / "cpp" / "core.cpp"
# Function (as objdump demangles it) -> packed instructions its loops must contain.
EXPECTED = {
    "core::axpy<float>": {"mulps", "addps"},
    "core::axpy<double>": {"mulpd", "addpd"},
    "core::dot<float>": {"mulps", "addps"},
    "core::dot<double>": {"mulpd", "addpd"},
    "core::moments<float>": {"cvtps2pd", "addpd"},
    "core::moments<double>": {"addpd"},
    "sum_sq_dev<float>": {"cvtps2pd", "subpd", "mulpd", "addpd"},
    "sum_sq_dev<double>": {"subpd", "mulpd", "addpd"},
}


@pytest.fixture(scope="module")
def disassembly(tmp_path_factory: pytest.TempPathFactory) -> dict[str, set[str]]:
    compiler = shutil.which("g++")
    assert compiler, "g++ is required (.ci/run installs it)"
    obj = tmp_path_factory.mktemp("vec") / "core.o"
    # The flags of a CMake Release build of the wheel: no -march, so x86-64's SSE2 baseline.
    run(compiler, "-std=c++17", "-O3", "-DNDEBUG", "-fPIC", "-c", CORE, "-o", obj)
    functions: dict[str, set[str]] = {}
    current: set[str] = set()
    for line in run("objdump", "-d", "--no-show-raw-insn", "-C", obj).splitlines():
        header = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if header:
            current = functions.setdefault(header.group(1), set())
        elif "\t" in line:
            current.add(line.split("\t")[1].split()[0])
    return functions


@pytest.mark.parametrize("function", EXPECTED)
def test_loop_is_vectorized(disassembly: dict[str, set[str]], function: str) -> None:
    bodies = [ops for name, ops in disassembly.items() if function in name]
    assert len(bodies) == 1, f"{function} not found in {sorted(disassembly)}"
    missing = EXPECTED[function] - bodies[0]
    assert not missing, f"{function} lacks packed {sorted(missing)}: not vectorized"


def test_core_has_no_python_dependency() -> None:
    sources = sorted((ROOT / "template" / "src" / "cpp").glob("core.*"))
    assert sources
    for source in sources:
        includes = re.findall(
            r'^#include [<"](.+)[>"]', source.read_text(), re.MULTILINE
        )
        assert all(name == "core.hpp" or "." not in name for name in includes), includes
