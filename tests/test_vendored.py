"""Slow: a small C library vendored into a minimal project by following
docs/cpp-dependencies.md ("Vendored sources without a CMakeLists.txt") step by step, then
linted, tested, built, made into a zig wheel and run under the sanitizers."""

from __future__ import annotations

import re
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import (
    QUESTIONS,
    ROOT,
    append,
    assert_needs_glibc_alone,
    edit,
    exported_symbols,
    lint_env,
    render,
    run,
    tool,
)

pytestmark = pytest.mark.slow

OLDEST = QUESTIONS["python_min"]["default"]
SECTION = "## Vendored sources without a CMakeLists.txt"
# A C library as it comes: its own style (clang-format would change every line), a
# misspelling codespell knows, no CMakeLists.txt, and a header without extern "C".
TINYC_H = """\
#ifndef TINYC_H
#define TINYC_H
#include <stddef.h>
#include <stdint.h>
/* FNV-1a, 32 bits: the hash of size bytes at data. */
uint32_t tinyc_fnv1a(const unsigned char *data, size_t size);
#endif
"""
TINYC_C = """\
#include "tinyc.h"

/* Teh offset basis and prime of the 32-bit FNV-1a hash. */
uint32_t tinyc_fnv1a(const unsigned char *data, size_t size)
{
    uint32_t hash = 2166136261u;
    size_t i;
    for (i = 0; i < size; ++i)
    {
        hash ^= data[i];
        hash *= 16777619u;
    }
    return hash;
}
"""
# The out-of-bounds write planted for the sanitizer: one byte past a heap block.
PLANTED = """\
#include <stdlib.h>
#include <string.h>
uint32_t tinyc_fnv1a_unchecked(const unsigned char *data, size_t size);
uint32_t tinyc_fnv1a(const unsigned char *data, size_t size)
{
    unsigned char *copy = malloc(size + 1);
    uint32_t hash;
    memcpy(copy, data, size);
    copy[size + 1] = 0;
    hash = tinyc_fnv1a_unchecked(copy, size);
    free(copy);
    return hash;
}
"""
LICENSE = "BSD 2-Clause License\n\nCopyright (c) 2026, The tinyc authors\n"
# The C++ and Python a user adds to call it, as for any function of their own.
HEADER_DECLARATION = """
namespace fast_stats {

// The 32-bit FNV-1a hash of data, computed by the vendored tinyc library.
std::uint32_t fnv1a(std::string_view data) noexcept;

}  // namespace fast_stats
"""
SOURCE_DEFINITION = """
extern "C" {
#include "tinyc.h"
}

namespace fast_stats {

std::uint32_t fnv1a(const std::string_view data) noexcept {
  return tinyc_fnv1a(reinterpret_cast<const unsigned char*>(data.data()), data.size());
}

}  // namespace fast_stats
"""
BINDING = """\
  m.def(
      "fnv1a",
      [](const py::bytes& data) {
        const std::string_view view = data;
        const py::gil_scoped_release release;
        return lib::fnv1a(view);
      },
      "data"_a, "Return the 32-bit FNV-1a hash of ``data``.");
}
"""
TEST = '''\
"""fnv1a, from the vendored C library, against the same hash in Python."""

from __future__ import annotations

import pytest

import fast_stats as m


def fnv1a(data: bytes) -> int:
    hash_ = 0x811C9DC5
    for byte in data:
        hash_ = ((hash_ ^ byte) * 0x01000193) % 2**32
    return hash_


@pytest.mark.parametrize("data", [b"", b"a", b"foobar", bytes(range(256)) * 40])
def test_fnv1a_matches_python(data: bytes) -> None:
    assert m.fnv1a(data) == fnv1a(data)
'''


def docs_code_blocks(language: str) -> list[str]:
    """The `language` code blocks of the docs' section on vendored sources, unindented."""
    text = (ROOT / "docs" / "cpp-dependencies.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(
        rf"^( *)```{language}\n(.*?)^\1```$", section, re.DOTALL | re.MULTILINE
    )
    return [
        re.sub(rf"^{indent}", "", body, flags=re.MULTILINE) for indent, body in blocks
    ]


def vendor_tinyc(root: Path) -> None:
    """The docs' steps, in a minimal pybind11 project, and a function that uses it."""
    library = root / "third_party" / "tinyc"
    library.mkdir(parents=True)
    (library / "tinyc.h").write_text(TINYC_H, encoding="utf-8")
    (library / "tinyc.c").write_text(TINYC_C, encoding="utf-8")
    (library / "LICENSE").write_text(LICENSE, encoding="utf-8")
    cmake = root / "CMakeLists.txt"
    edit(cmake, "LANGUAGES CXX)", "LANGUAGES C CXX)")
    (block,) = docs_code_blocks("cmake")
    core = "add_library(fast_stats STATIC src/lib/fast_stats.cpp)\n"
    edit(cmake, core, core + block)  # "After add_library(fast_stats ...)"
    (toml,) = docs_code_blocks("toml")
    pyproject = root / "pyproject.toml"
    text = pyproject.read_text(encoding="utf-8")
    for line in toml.splitlines():  # the two lines, replacing the rendered ones
        key = line.split(" = ")[0]
        text = re.sub(rf"^{key} = .*$", line, text, count=1, flags=re.MULTILINE)
    pyproject.write_text(text, encoding="utf-8")
    append(root / "include" / "fast_stats" / "fast_stats.hpp", HEADER_DECLARATION)
    append(root / "src" / "lib" / "fast_stats.cpp", SOURCE_DEFINITION)
    bindings = root / "src" / "bindings" / "pybind11.cpp"
    text = bindings.read_text(encoding="utf-8")
    bindings.write_text(text.removesuffix("}\n") + BINDING, encoding="utf-8")
    edit(
        root / "src" / "fast_stats" / "__init__.py",
        'from ._core import add, adler32\n\n__all__ = ["add", "adler32"]',
        'from ._core import add, adler32, fnv1a\n\n__all__ = ["add", "adler32", "fnv1a"]',
    )
    (root / "tests" / "test_fnv1a.py").write_text(TEST, encoding="utf-8")


@pytest.fixture(scope="module")
def vendored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str, str]:
    """The project after `nox -s stubs lint tests-OLDEST build`, then the zig wheel."""
    root = render(tmp_path_factory.mktemp("vendored") / "fast-stats", example="minimal")
    vendor_tinyc(root)
    env = lint_env(root)  # git add -A: third_party/ is tracked, as the docs say
    output = run(
        tool("nox"),
        "-s",
        "stubs",
        "lint",
        f"tests-{OLDEST}",
        "build",
        cwd=root,
        env=env,
    )
    wheels = run(
        tool("nox"), "-s", "wheels", "--", "--backend", "zig", "--python", OLDEST,
        cwd=root,
    )  # fmt: skip
    return root, output, wheels


def test_lint_passes_and_leaves_third_party_alone(
    vendored: tuple[Path, str, str],
) -> None:
    root, output, _ = vendored
    assert "Session lint was successful" in output
    library = root / "third_party" / "tinyc"
    assert (library / "tinyc.c").read_text(encoding="utf-8") == TINYC_C
    assert (library / "tinyc.h").read_text(encoding="utf-8") == TINYC_H
    # ... which the hooks would have changed and refused, had they looked.
    formatted = subprocess.run(
        [tool("clang-format"), "--dry-run", "--Werror", "third_party/tinyc/tinyc.c"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    assert formatted.returncode != 0


def test_own_tests_pass_and_c_compiles_through_ccache(
    vendored: tuple[Path, str, str],
) -> None:
    root, output, _ = vendored
    assert f"Session tests-{OLDEST} was successful" in output
    assert re.search(r"tests/test_fnv1a\.py \.+ ", output), output[-3000:]
    (ninja,) = (root / "build").glob(f"cp{OLDEST.replace('.', '')}-*/build.ninja")
    # The C compiler's launcher, in the build statement of tinyc.c's object.
    statement = re.search(
        r"^build CMakeFiles/tinyc\.dir/third_party/tinyc/tinyc\.c\.o: C_COMPILER\S* .*\n"
        r"(?:  .*\n)*?  LAUNCHER = (\S+)",
        ninja.read_text(encoding="utf-8"),
        re.MULTILINE,
    )
    assert statement, "tinyc.c is not compiled, or not through a launcher"
    assert Path(statement[1]).name == "ccache", statement[0]


def test_sdist_and_wheel_carry_the_library_and_its_licence(
    vendored: tuple[Path, str, str],
) -> None:
    root, output, _ = vendored
    assert "Session build was successful" in output
    (sdist,) = (root / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as tf:
        names = {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}
    assert {"third_party/tinyc/tinyc.c", "third_party/tinyc/tinyc.h"} <= names
    assert "third_party/tinyc/LICENSE" in names
    (wheel,) = (root / "dist").glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        (metadata,) = [n for n in zf.namelist() if n.endswith(".dist-info/METADATA")]
        text = zf.read(metadata).decode()
        licences = [n for n in zf.namelist() if "/licenses/" in n]
    assert "License-Expression: MIT AND BSD-2-Clause" in text
    assert "License-File: third_party/tinyc/LICENSE" in text
    assert any(n.endswith("third_party/tinyc/LICENSE") for n in licences), licences


def test_zig_wheel_needs_glibc_alone_and_hides_the_library(
    vendored: tuple[Path, str, str],
) -> None:
    root, _, output = vendored
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    assert re.search(rf"--> test {re.escape(wheel.name)}\n\s+=+ \d+ passed", output)
    assert_needs_glibc_alone(wheel, 28)
    assert exported_symbols(wheel) == {"PyInit__core"}  # no tinyc_fnv1a


def test_sanitize_reports_a_write_out_of_bounds_in_the_c_code(
    vendored: tuple[Path, str, str],
) -> None:
    """Runs last: it plants the bug in the project's tinyc.c."""
    root, _, _ = vendored
    source = root / "third_party" / "tinyc" / "tinyc.c"
    text = source.read_text(encoding="utf-8")
    renamed = text.replace("tinyc_fnv1a(", "tinyc_fnv1a_unchecked(")
    source.write_text(renamed + PLANTED, encoding="utf-8")
    proc = subprocess.run(
        [tool("nox"), "-s", "sanitize", "--", "tests/test_fnv1a.py"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    assert proc.returncode != 0, proc.stdout[-3000:]
    assert "ERROR: AddressSanitizer: heap-buffer-overflow" in proc.stdout
    assert "WRITE of size 1" in proc.stdout
    assert re.search(r"tinyc\.c:\d+", proc.stdout), proc.stdout[-3000:]
