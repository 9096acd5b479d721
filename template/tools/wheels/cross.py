"""Another architecture on the zig route (aarch64 from an x86_64 host): the cross-compile's
settings, a Debian root of the target with its CPython, and the tests under qemu-user."""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import sys
import zipfile
from pathlib import Path

from .common import ARCHES, Tests, fail, lock_entry, run, run_tests, uv

DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
# The emulated root: Debian bookworm's CPython 3.11 of the target. Bump the recipe when it
# changes, so that a cached root of the old recipe is not reused.
EMULATED_SUITE = "bookworm"
EMULATED_PACKAGES = "python3.11,libpython3.11-dev"
EMULATED_RECIPE = "debian-bookworm-{}-1"
# auditwheel (6.4+) repairs by the wheel's own architecture, but offers only this machine's
# policies as --plat choices: it is asked as if it ran on the target.
AUDITWHEEL_AS = (
    "import platform, sys; platform.machine = lambda: {arch!r}; "
    "from auditwheel.main import main; sys.exit(main())"
)
# Tests that cannot pass under qemu-user, and why; the run prints them.
EMULATION_DESELECT = {
    "test_best_supported_level_is_chosen": "qemu-user shows the host's /proc/cpuinfo"
}


def auditwheel_as(arch: str) -> list[str]:
    """auditwheel, run as if on arch."""
    return [sys.executable, "-c", AUDITWHEEL_AS.format(arch=arch)]


def emulated_root(arch: str, cache: Path) -> Path:
    """A Debian root of the target architecture with its CPython, built once and cached.

    `debootstrap --foreign` only downloads and half-unpacks (its second stage would need the
    target CPU); unpacking every .deb with `dpkg -x` is enough to run CPython under qemu.
    """
    root = cache / EMULATED_RECIPE.format(DEBIAN_ARCH[arch])
    debs = root / "var/cache/apt/archives"
    script = (
        f"debootstrap --arch={DEBIAN_ARCH[arch]} --foreign --variant=minbase --include="
        f"{EMULATED_PACKAGES} {EMULATED_SUITE} {root} http://deb.debian.org/debian"
        f" && for d in {debs}/*.deb; do dpkg -x $d {root}; done && touch {root}/.complete"
    )
    with lock_entry(root) as missing:
        if missing:
            if os.geteuid() != 0 or shutil.which("debootstrap") is None:
                fail(
                    f"no {arch} root at {root} to test the wheels in; as root, run once: "
                    + script
                )
            shutil.rmtree(root, ignore_errors=True)
            run(
                f"debootstrap {EMULATED_SUITE} for {DEBIAN_ARCH[arch]} (once, into {root})",
                ["sh", "-c", script],
            )
    return root


def emulated_python(root: Path, arch: str, version: str, bin_dir: Path) -> str | None:
    """Host scripts python3.X, python and pytest that run the root's CPython under qemu-user.

    No binfmt registration is needed: qemu runs the interpreter itself, and `-0` makes the
    script's path its argv[0], hence sys.executable, so the tests' own subprocesses
    (sys.executable -c ...) go through qemu again.
    """
    target = root / "usr" / "bin" / f"python{version}"
    qemu = shutil.which(f"qemu-{arch}-static")
    if qemu is None:
        fail(f"qemu-{arch}-static is missing: install Debian's qemu-user-static")
    if not target.is_file():
        return None
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in (f"python{version}", "python"):
        (bin_dir / name).write_text(
            f'#!/bin/sh\nexec "{qemu}" -L "{root}" -0 "$0" "{target}" "$@"\n'
        )
    (bin_dir / "pytest").write_text(
        f'#!/bin/sh\nexec "{bin_dir}/python" -m pytest "$@"\n'
    )
    for script in bin_dir.iterdir():
        script.chmod(0o755)
    return str(bin_dir / f"python{version}")


def tests_emulated(
    tests: Tests, version: str, python: str, wheel: Path, work: Path
) -> None:
    """Test on the emulated CPython, which has no pip: the wheel unpacked onto a copy of
    its requirements and test requirements, installed for the target once per set."""
    arch = next(a for a in ARCHES if wheel.stem.endswith(a))
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(name).decode()
    found = re.findall(r"^Requires-Dist: (.+)$", metadata, flags=re.MULTILINE)
    requires = [*(r.strip() for r in found if "extra ==" not in r), *tests.requires]
    key = hashlib.sha256(repr((version, arch, requires)).encode()).hexdigest()[:12]
    site = tests.cache / f"test-target-{arch}-{version}-{key}"
    with lock_entry(site) as missing:
        if missing:
            shutil.rmtree(site, ignore_errors=True)
            install = uv(
                "pip", "install", "--python", sys.executable, "--target", str(site)
            )
            install += ["--only-binary=:all:", f"--python-version={version}"]
            install += [f"--python-platform={arch}-manylinux_2_28"]
            step = f"install {' '.join(requires)} for CPython {version} on {arch}"
            run(step, [*install, *requires])
            (site / ".complete").touch()
    target = work / "site"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(site, target)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    deselect = " and ".join(f"not {t}" for t in EMULATION_DESELECT)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "PYTHONPATH": str(target),
        "PYTEST_ADDOPTS": f"-k {shlex.quote(deselect)}",
    }
    step = f"test {wheel.name} under qemu-user"
    run_tests(tests, step, Path(python).parent, work, env)
    for test, why in EMULATION_DESELECT.items():
        print(f"    not run under emulation: {test} ({why})", flush=True)


def cross_env(
    arch: str, version: str, tools: dict[str, str], work: Path, interpreter: str
) -> tuple[dict[str, str], list[str]]:
    """Environment and scikit-build-core settings that cross-compile for arch.

    The toolchain file makes CMake cross-compile (CMAKE_SYSTEM_PROCESSOR leaves the x86
    ISA flags out); SETUPTOOLS_EXT_SUFFIX and _PYTHON_HOST_PLATFORM give
    scikit-build-core the target's extension suffix and wheel platform tag. The host
    CPython's headers are used: they match the target's but for pyconfig.h lines that
    change no type or layout. interpreter runs the target's CPython of the same version
    (emulated_python).
    """
    toolchain = work / f"toolchain-{arch}.cmake"
    toolchain.write_text(
        f"set(CMAKE_SYSTEM_NAME Linux)\nset(CMAKE_SYSTEM_PROCESSOR {arch})\n"
        f'set(CMAKE_C_COMPILER "{tools["cc"]}")\nset(CMAKE_CXX_COMPILER "{tools["c++"]}")\n'
        f'set(CMAKE_AR "{tools["ar"]}" CACHE FILEPATH "")\n'
        f'set(CMAKE_RANLIB "{tools["ranlib"]}" CACHE FILEPATH "")\n'
    )
    soabi = f"cpython-{version.replace('.', '')}-{arch}-linux-gnu"
    env = {
        "SETUPTOOLS_EXT_SUFFIX": f".{soabi}.so",
        "_PYTHON_HOST_PLATFORM": f"linux-{arch}",
    }
    config = [
        f"cmake.define.CMAKE_TOOLCHAIN_FILE={toolchain}",
        # FindPython cannot ask a cross-compile's interpreter for the target's suffix.
        f"cmake.define.Python_SOABI={soabi}",
        f"cmake.define.PYTHON_MODULE_EXTENSION=.{soabi}.so",
        # What CMake asks a Python (nanobind: EXT_SUFFIX; its stubgen imports the built
        # module) the target's CPython answers, under qemu-user.
        f"cmake.define.Python_EXECUTABLE={interpreter}",
    ]
    return env, config
