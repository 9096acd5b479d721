"""What every route shares: the project's paths, running a step and its error, the order of
CPython versions, a lock on a cache entry, installing a route's own tools, and running the
test command."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

PROJECT = Path(__file__).resolve().parents[2]
WHEELHOUSE = PROJECT / "wheelhouse"
ARCHES = ("x86_64", "aarch64")


class WheelError(Exception):
    """A step failed; carries the step's log so the user sees why."""

    def __init__(self, step: str, log: str = "") -> None:
        super().__init__(step)
        self.step = step
        self.log = log


def fail(step: str, log: str = "") -> NoReturn:
    raise WheelError(step, log)


def zig_problem() -> str | None:
    """Why zig cannot build this project, or None: nanobind's split mode needs libstdc++
    (nanobind/nb_defs.h stops on ELF with any other), and zig links LLVM's libc++."""
    cmake = (PROJECT / "CMakeLists.txt").read_text(encoding="utf-8")
    if not re.search(r"nanobind_add_module\([^)]*\bBACKEND_MODULE\b", cmake):
        return None
    return (
        "nanobind's split mode (BACKEND_MODULE in CMakeLists.txt) needs libstdc++, which zig "
        "does not link: build in the manylinux image instead, with docker or podman running "
        "(nox -s wheels -- --backend container)"
    )


def run(
    step: str,
    cmd: list[str],
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
) -> str:
    """Run one step quietly; on failure raise WheelError with its whole output."""
    print(f"--> {step}", flush=True)
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        fail(f"{step} failed (exit {proc.returncode}): {shlex.join(cmd)}", proc.stdout)
    return proc.stdout


def version_key(version: str) -> tuple[int, int, int]:
    """'3.9' -> (3, 9, 0), which sorts before (3, 10, 0); free-threaded '3.14t' -> (3, 14, 1)."""
    major, minor = version.rstrip("t").split(".")
    return int(major), int(minor), int(version.endswith("t"))


def uv(*args: str) -> list[str]:
    """A uv command, run from this Python's uv package: the uv that nox made the session's
    venv with may not be on PATH."""
    return [sys.executable, "-m", "uv", *args]


@contextlib.contextmanager
def lock_entry(entry: Path) -> Iterator[bool]:
    """Lock a cache entry (a directory that `.complete` marks as built) for this run; yield
    True when it still has to be built. Two runs at once on a cold cache (two projects, or
    two architectures) would otherwise build into the same directory."""
    import fcntl  # noqa: PLC0415  (POSIX only, like the routes that cache; not on Windows)

    entry.parent.mkdir(parents=True, exist_ok=True)
    with entry.with_name(f"{entry.name}.lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield not (entry / ".complete").is_file()


def install_once(module: str, step: str, *requirements: str) -> None:
    """Install what a route needs into this Python, unless `module` imports already."""
    if importlib.util.find_spec(module) is not None:
        return
    run(step, uv("pip", "install", "--python", sys.executable, *requirements))
    importlib.invalidate_caches()


@dataclass(frozen=True)
class Tests:
    """How the zig route tests each wheel: [tool.cibuildwheel]'s test-command, with the
    test group's requirements installed; `cache` keeps what tests under emulation need
    (the target's root and its requirements) from one run to the next."""

    command: str
    requires: tuple[str, ...]
    cache: Path


def run_tests(
    tests: Tests, step: str, bin_dir: Path, work: Path, env: dict[str, str]
) -> None:
    """[tool.cibuildwheel]'s test-command, run as cibuildwheel runs it: from a scratch
    directory, with the bin/ of the environment that holds the wheel first on PATH."""
    command = tests.command
    for placeholder in ("{project}", "{package}"):
        command = command.replace(placeholder, str(PROJECT))
    addopts = f"-p no:cacheprovider {env.get('PYTEST_ADDOPTS', '')}"  # no litter
    path = f"{bin_dir}{os.pathsep}{env['PATH']}"
    env = {**env, "PATH": path, "PYTEST_ADDOPTS": addopts}
    # Bytecode in the scratch directory: none in the project, none compiled twice (the
    # tests may start many processes, each importing the dependencies: minutes under qemu).
    env["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    work.mkdir(parents=True, exist_ok=True)
    out = run(step, ["sh", "-c", command], cwd=work, env=env)
    print("    " + out.strip().splitlines()[-1], flush=True)
