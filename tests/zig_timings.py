"""Time the zig route of a generated project's `nox -s wheels` against the host's gcc.

How fast zig builds is the template's concern (docs/wheels.md, "Build time of the zig
route"), so the timing lives here, not in generated projects; run by the template's
`nox -s zig_timings` (never by pytest, where timings are noise):

    python tests/zig_timings.py                          # render the default project
    python tests/zig_timings.py PROJECT --python 3.11 3.12 3.13

Each build is `pip wheel` of the project, neither repaired nor tested, with zig set up by
the project's own tools/wheels/ (`zig_env`: its wrappers, flags and CMake settings) and
again with the host's gcc: one wheel with an empty zig cache (a ZIG_GLOBAL_CACHE_DIR in a
temporary directory; ~/.cache/zig is never touched), the same wheel with that cache
filled, and every selected CPython with it filled. ccache is off for both compilers.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import nox.project

ROOT = Path(__file__).resolve().parent.parent


def load_zig_route(project: Path) -> ModuleType:
    """The zig route of the project's tools/wheels/ (the package `wheels` of its tools/)."""
    sys.path.insert(0, str(project / "tools"))
    return importlib.import_module("wheels.zig")


def timings(project: Path, versions: list[str] | None, work: Path) -> str:
    """Seconds to build with zig, its cache empty (cold) or filled (warm), against gcc."""
    zig_route = load_zig_route(project)
    pyproject = nox.project.load_toml(project / "pyproject.toml")
    if versions is None:  # the CPythons of the classifiers, as the project's noxfile
        versions = nox.project.python_versions(pyproject)
    versions = [v for v in versions if zig_route.host_python(v)]
    if not versions:
        sys.exit("none of the CPythons asked for is on this host")
    policy = pyproject["tool"]["cibuildwheel"]["manylinux-x86_64-image"]
    cache = work / "zig-cache"  # cold: empty
    env = {**os.environ, "CCACHE_DISABLE": "1", "ZIG_GLOBAL_CACHE_DIR": str(cache)}
    target = zig_route.Target(policy, platform.machine())
    cli = importlib.import_module("wheels.cli")
    _, zig, config = zig_route.zig_env(target, work, env, cli.DEFAULT_CACHE)

    def seconds(version: str, compiler: str) -> float:
        out = Path(tempfile.mkdtemp(dir=work))
        flags = config if compiler == "zig" else []
        settings = [f"build-dir={out / 'build'}", *flags]
        cmd = [zig_route.host_python(version), "-m", "pip", "wheel", str(project)]
        cmd += ["--no-deps", "-w", str(out)]
        cmd += [f"--config-settings={c}" for c in settings]
        start = time.perf_counter()
        step = f"build with {compiler}, CPython {version}"
        zig_route.run(step, cmd, env=zig if compiler == "zig" else env)
        return time.perf_counter() - start

    lines = [f"{'build':32}{'zig':>8}{'gcc':>8}{'zig/gcc':>9}"]
    for label, selected in (
        ("one wheel, cold zig cache", versions[:1]),
        ("one wheel, warm zig cache", versions[:1]),
        (f"{len(versions)} wheels, warm zig cache", versions),
    ):
        with_zig = sum(seconds(v, "zig") for v in selected)
        with_gcc = sum(seconds(v, "gcc") for v in selected)
        ratio = with_zig / with_gcc
        lines.append(f"{label:32}{with_zig:7.0f}s{with_gcc:7.0f}s{ratio:8.1f}x")
    size = sum(f.stat().st_size for f in cache.rglob("*") if f.is_file())
    builds = len(list(cache.rglob("libc++.a")))
    lines.append(f"zig cache: {size / 2**20:.0f} MiB, libc++ built {builds} time(s)")
    return "\n".join(lines)


def render(dest: Path) -> Path:
    """The default project, from the template's last commit."""
    subprocess.run(
        [sys.executable, "-m", "copier", "copy", "--quiet", "--defaults", "--vcs-ref=HEAD",
         "--data", "project_name=Fast Stats", "--data", "author_name=Template Timings",
         "--data", "author_email=timings@example.org", str(ROOT), str(dest)],
        check=True,
    )  # fmt: skip
    return dest


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "project", nargs="?", type=Path, help="a rendered project (default: render one)"
    )
    parser.add_argument(
        "--python",
        nargs="+",
        metavar="X.Y",
        help="CPythons to build with (default: the project's classifiers')",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="zig-timings-") as tmp:
        project = args.project or render(Path(tmp) / "fast-stats")
        try:
            print(timings(project.resolve(), args.python, Path(tmp) / "work"))
        except Exception as err:
            if hasattr(err, "log"):  # WheelError of tools/wheels/: the step's output
                print(err.log, file=sys.stderr)
            raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
