"""The kernels vectorize at every ISA level, and the per-ISA objects stay separate."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import cpp_sources, render, run

# The C++ namespace of a default render's library, named after its module.
NAMESPACE = "fast_stats"
# The per-ISA flags CMakeLists.txt.jinja gives each build of kernels.cpp (baseline: none,
# as in a wheel).
FLAGS = {
    "baseline": [],
    "avx2": ["-mavx2", "-mfma", "-ffp-contract=fast"],
    "avx512": ["-mavx512f", "-mavx2", "-mfma", "-ffp-contract=fast"],
}
# Kernel -> packed instructions its loops must contain at the baseline (SSE2) level.
BASELINE = {
    "axpy<float>": {"mulps", "addps"},
    "axpy<double>": {"mulpd", "addpd"},
    "dot<float>": {"mulps", "addps"},
    "dot<double>": {"mulpd", "addpd"},
    "moments<float>": {"cvtps2pd", "subpd", "mulpd", "addpd"},
    "moments<double>": {"subpd", "mulpd", "addpd"},
}


def compile_isa(root: Path, isa: str, out: Path) -> Path:
    compiler = shutil.which("g++")
    assert compiler, "g++ is required (.ci/run installs it)"
    obj = out / f"kernels_{isa}.o"
    # As a CMake Release build compiles them: -O3, no -march, plus the build's ISA flags.
    run(
        compiler,
        "-std=c++17",
        "-O3",
        "-DNDEBUG",
        "-fPIC",
        f"-DKERNEL_ISA={isa}",
        *FLAGS[isa],
        "-I",
        root / "include",
        "-c",
        cpp_sources(root).kernels,
        "-o",
        obj,
    )
    return obj


def disassemble(obj: Path) -> dict[str, tuple[set[str], str]]:
    """Function -> (mnemonics, whole listing), for each function in the object file."""
    functions: dict[str, tuple[set[str], str]] = {}
    name = ""
    for line in run("objdump", "-d", "--no-show-raw-insn", "-C", obj).splitlines():
        header = re.match(r"^[0-9a-f]+ <(.*)>:$", line)
        if header:
            name = header.group(1)
            functions[name] = (set(), "")
        elif "\t" in line and name:
            ops, text = functions[name]
            ops.add(line.split("\t")[1].split()[0])
            functions[name] = (ops, text + line + "\n")
    return functions


ISA_NUMBER = {"baseline": 0, "avx2": 1, "avx512": 2}  # as objdump -C shows Isa values


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A default render."""
    return render(tmp_path_factory.mktemp("vec") / "project")


@pytest.fixture(scope="module")
def objects(root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("vec")
    return {isa: compile_isa(root, isa, out) for isa in FLAGS}


def kernel(
    functions: dict[str, tuple[set[str], str]], isa: str, name: str
) -> tuple[set[str], str]:
    """name is e.g. dot<float>: kernels::dot<(fast_stats::Isa)1, float> for avx2."""
    function, element = name[:-1].split("<")
    signature = (
        f"{NAMESPACE}::kernels::{function}<({NAMESPACE}::Isa){ISA_NUMBER[isa]}, "
    )
    found = [v for k, v in functions.items() if f"{signature}{element}>(" in k]
    assert len(found) == 1, f"{name} not found in {sorted(functions)}"
    return found[0]


@pytest.mark.parametrize("name", BASELINE)
def test_baseline_kernel_is_vectorized(objects: dict[str, Path], name: str) -> None:
    ops, _ = kernel(disassemble(objects["baseline"]), "baseline", name)
    missing = BASELINE[name] - ops
    assert not missing, f"{name} lacks packed {sorted(missing)}: not vectorized"


@pytest.mark.parametrize(("isa", "register"), [("avx2", "%ymm"), ("avx512", "%zmm")])
def test_wide_kernels_use_wide_registers_and_fma(
    objects: dict[str, Path], isa: str, register: str
) -> None:
    functions = disassemble(objects[isa])
    for name in BASELINE:
        _, listing = kernel(functions, isa, name)
        assert register in listing, f"{isa} {name} does not use {register}"
    for name in ("axpy<double>", "dot<double>", "axpy<float>", "dot<float>"):
        ops, _ = kernel(functions, isa, name)
        assert any(op.startswith("vfmadd") for op in ops), f"{isa} {name} has no FMA"


@pytest.mark.parametrize(
    ("isa", "store"),
    [("baseline", "movntdq"), ("avx2", "vmovntdq"), ("avx512", "vmovntdq")],
)
def test_axpy_can_stream_its_stores(
    objects: dict[str, Path], isa: str, store: str
) -> None:
    # Non-temporal stores for large outputs, fenced before the kernel returns.
    functions = disassemble(objects[isa])
    for name in ("axpy<float>", "axpy<double>"):
        ops, _ = kernel(functions, isa, name)
        assert {store, "sfence"} <= ops, f"{isa} {name} has no {store} and sfence"


@pytest.mark.parametrize("isa", FLAGS)
def test_isa_objects_share_no_mergeable_code(
    objects: dict[str, Path], isa: str
) -> None:
    # A weak (COMDAT) definition, e.g. an inline std:: function, could be merged by the linker
    # with another build's copy, so AVX code could run on the baseline path (SIGILL). Only
    # this build's kernels, each named with its Isa, may be visible outside the object, and
    # GCC's pointer to the C++ runtime's exception personality (data, the same in every
    # object), which it emits for noexcept functions that call intrinsics.
    defined = run("nm", "-C", "--defined-only", objects[isa]).splitlines()
    exported = {
        line.split(" ", 2)[2] for line in defined if re.match(r"^\S+ [A-Z] ", line)
    }
    exported -= {"DW.ref.__gxx_personality_v0"}
    own = f"{NAMESPACE}::kernels::"
    assert exported
    assert all(
        own in name and f"<({NAMESPACE}::Isa){ISA_NUMBER[isa]}" in name
        for name in exported
    ), exported


def test_library_has_no_python_dependency(root: Path) -> None:
    sources = [
        *sorted((root / "include").rglob("*.hpp")),
        *sorted(cpp_sources(root).library.glob("*.cpp")),
    ]
    assert len(sources) >= 5
    # The compiler's (cpuid.h, immintrin.h) and the OS's (sched.h, unistd.h), besides the
    # standard library's and the library's own.
    system = {"cpuid.h", "immintrin.h", "sched.h", "unistd.h"}
    for source in sources:
        includes = re.findall(
            r'^#include [<"](.+)[>"]', source.read_text(), re.MULTILINE
        )
        assert all(
            name in system or name.startswith(f"{NAMESPACE}/") or "." not in name
            for name in includes
        ), (source, includes)
