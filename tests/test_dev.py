"""Slow: `nox -s dev` gives an editable .venv/ that rebuilds on import, compile_commands.json
for clangd, and, with ccache installed, a rebuild in a new build folder that compiles nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from conftest import cpp_sources, git, render, run, tool, unavailable

pytestmark = pytest.mark.slow

VARIANTS: dict[str, dict[str, Any]] = {
    "pybind11": {},
    # In the layout projects made before 0.3.0 keep: src/cpp/ for core and bindings.
    "nanobind": {"bindings": "nanobind", "python_min": "3.10", "cpp_layout": "flat"},
}
LEVEL = "import fast_stats; print(fast_stats.simd_level())"


def ccache_stats(env: dict[str, str]) -> dict[str, int]:
    """ccache's counters (`--print-stats`) for the cache that env names."""
    out = run("ccache", "--print-stats", env=env)
    return {k: int(v) for k, v in (line.split("\t") for line in out.splitlines())}


@pytest.fixture(scope="module", params=list(VARIANTS))
def dev_project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, str]]:
    """A project after `nox -s dev`, built through a private, first empty, ccache."""
    if shutil.which("ccache") is None:
        unavailable("ccache is not installed")
    tmp = tmp_path_factory.mktemp(f"dev-{request.param}")
    root = render(tmp / "fast-stats", **VARIANTS[request.param])
    env = {**os.environ, "CCACHE_DIR": str(tmp / "ccache")}
    output = run(tool("nox"), "-s", "dev", cwd=root, env=env)
    assert "Ready: `source .venv/bin/activate`" in output
    return root, env


def test_compile_commands_json_names_the_sources(
    dev_project: tuple[Path, dict[str, str]],
) -> None:
    root, _ = dev_project
    link = root / "compile_commands.json"
    assert link.is_symlink()
    assert link.resolve() == (root / "build" / "dev" / "compile_commands.json")
    files = {Path(entry["file"]).name for entry in json.loads(link.read_text())}
    sources = cpp_sources(root)
    assert {p.name for p in sources.library.glob("*.cpp")} <= files, files
    assert sources.bindings.name in files, files
    # Not committed by mistake: .gitignore covers the link and the build folder.
    git("init", "-q", cwd=root)
    ignored = git("check-ignore", "compile_commands.json", "build/dev", cwd=root)
    assert ignored.split() == ["compile_commands.json", "build/dev"]


def test_import_rebuilds_after_a_cpp_edit(
    dev_project: tuple[Path, dict[str, str]],
) -> None:
    root, env = dev_project
    python = root / ".venv" / "bin" / "python"
    unchanged = import_level(python, root, env)
    level = unchanged.stdout.strip()
    # Nothing changed: the import's rebuild says nothing.
    assert (unchanged.stdout, unchanged.stderr) == (f"{level}\n", "")
    # The level in use is named in the C++ source: rename it there.
    library = cpp_sources(root).library
    if (library / "simd.cpp").is_file():
        source, old = library / "simd.cpp", f'"{level}"'
    else:  # before 0.3.0, each ISA's file named itself
        source, old = library / f"core_{level}.cpp", f'kName = "{level}";'
    text = source.read_text(encoding="utf-8")
    assert text.count(old) == 1, text
    new = old.replace(level, f"{level}-edited")
    source.write_text(text.replace(old, new), encoding="utf-8")
    try:
        # No reinstall: the import runs `cmake --build` on build/dev and loads the result,
        # quietly.
        proc = import_level(python, root, env)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert (proc.stdout, proc.stderr) == (f"{level}-edited\n", "")
        # A build that fails shows the compiler's message, and the import fails.
        source.write_text(text + "\n#error planted in the test\n", encoding="utf-8")
        proc = import_level(python, root, env)
        assert proc.returncode != 0
        assert "planted in the test" in proc.stderr
    finally:
        source.write_text(text, encoding="utf-8")


def import_level(
    python: Path, root: Path, env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, "-c", LEVEL],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_rebuild_in_a_new_build_folder_is_served_by_ccache(
    dev_project: tuple[Path, dict[str, str]],
) -> None:
    root, env = dev_project
    compiled = json.loads((root / "compile_commands.json").read_text())
    assert ccache_stats(env)["cache_miss"] >= len(compiled)  # built through ccache
    run("ccache", "--zero-stats", env=env)
    shutil.rmtree(root / "build" / "dev")
    run(tool("nox"), "-s", "dev", cwd=root, env=env)
    stats = ccache_stats(env)
    hits = stats["direct_cache_hit"] + stats["preprocessed_cache_hit"]
    # Every object again, none compiled: the sources are those of the first build
    # (test_import_rebuilds_after_a_cpp_edit restores its edit).
    assert stats["cache_miss"] == 0, stats
    assert hits == len(compiled), stats
