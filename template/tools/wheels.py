"""Build, repair, check and test portable Linux wheels into wheelhouse/.

Run through `nox -s wheels`, which passes the project's policy, CPython range and test
requirements; `nox -s wheels -- --help` lists the options. Two backends:

- container: the official manylinux image (docker or podman) builds each wheel with its
  CPython under /opt/python, `auditwheel repair`s it, and tests it in a fresh venv.
- zig: no container; zig's C/C++ compilers (the `ziglang` package) target the policy's
  glibc, so CPythons on this host build wheels that `auditwheel` accepts as manylinux.

With --abi3-from 3.12 (set by `nox -s wheels` when pyproject.toml asks scikit-build-core
for `wheel.py-api = "cp312"`), CPythons from 3.12 on share one abi3 wheel: built once,
checked with `abi3audit --strict`, tested on each of them; older ones get a wheel each.

cibuildwheel covers the same ground on CI runners, but needs a container engine and a
network inside the container and has no zig route; this script keeps both local routes
to one set of checks. It runs on the host and, with `inside`, within the container, so it
uses only the standard library there (and pyelftools, from auditwheel, on the host).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import importlib.util
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

PROJECT = Path(__file__).resolve().parent.parent

# glibc version each policy allows (PEP 600 names; manylinux2014 is manylinux_2_17).
POLICY_GLIBC = {
    "manylinux2014": (2, 17),
    "manylinux_2_28": (2, 28),
    "manylinux_2_34": (2, 34),
}

# glibc of distro releases, oldest first. The one table of what a glibc baseline covers.
# Source: mayeut/pep600_compliance (glibc per distro release) and the distros' own
# release notes; check there before adding a row.
DISTRO_GLIBC: dict[str, list[tuple[str, tuple[int, int]]]] = {
    "Debian": [
        ("8", (2, 19)),
        ("9", (2, 24)),
        ("10", (2, 28)),
        ("11", (2, 31)),
        ("12", (2, 36)),
        ("13", (2, 41)),
    ],
    "Ubuntu": [
        ("14.04", (2, 19)),
        ("16.04", (2, 23)),
        ("18.04", (2, 27)),
        ("18.10", (2, 28)),
        ("20.04", (2, 31)),
        ("21.10", (2, 34)),
        ("22.04", (2, 35)),
        ("24.04", (2, 39)),
    ],
    "RHEL/Alma/Rocky": [
        ("7", (2, 17)),
        ("8", (2, 28)),
        ("9", (2, 34)),
        ("10", (2, 39)),
    ],
    "Fedora": [("19", (2, 17)), ("29", (2, 28)), ("35", (2, 34)), ("40", (2, 39))],
    "Amazon Linux": [("2", (2, 26)), ("2023", (2, 34))],
}

# Any of these link the C library statically: refused (glibc must come from the system).
STATIC_GLIBC = re.compile(r"(?<![\w+-])(-static|-static-pie|--static)(?![\w+-])")
GLIBC_VERSION = re.compile(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?")
FLAG_VARIABLES = ("CFLAGS", "CXXFLAGS", "LDFLAGS", "CMAKE_ARGS", "SKBUILD_CMAKE_ARGS")


class WheelError(Exception):
    """A step failed; carries the step's log so the user sees why."""

    def __init__(self, step: str, log: str = "") -> None:
        super().__init__(step)
        self.step = step
        self.log = log


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
        msg = f"{step} failed (exit {proc.returncode}): {shlex.join(cmd)}"
        raise WheelError(msg, proc.stdout)
    return proc.stdout


def run_quiet(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        msg = f"{shlex.join(cmd)} failed (exit {proc.returncode})"
        raise WheelError(msg, proc.stdout + proc.stderr)


def version_tags(version: str) -> tuple[str, str]:
    """The python and abi tags of a CPython's own wheels: '3.12' -> ('cp312', 'cp312').

    A trailing 't' marks a free-threaded CPython: '3.14t' -> ('cp314', 'cp314t').
    """
    python_tag = "cp" + version.rstrip("t").replace(".", "")
    return python_tag, python_tag + ("t" if version.endswith("t") else "")


def version_key(version: str) -> tuple[int, ...]:
    """'3.9' -> (3, 9, 0), which sorts before (3, 10, 0); '3.14t' -> (3, 14, 1)."""
    major, minor = version.rstrip("t").split(".")
    return int(major), int(minor), int(version.endswith("t"))


def wheel_tags(wheel: Path) -> tuple[str, str]:
    """The python and abi tags of a wheel: ('cp312', 'abi3') or ('cp311', 'cp311')."""
    python_tag, abi_tag = wheel.stem.split("-")[-3:-1]
    return python_tag, abi_tag


def abi3_split(
    versions: list[str], abi3_from: str | None
) -> tuple[list[str], list[str]]:
    """The CPythons that need a wheel of their own, and those that one abi3 wheel serves.

    Free-threaded CPythons cannot load abi3 modules: each of them gets a wheel of its own.
    """
    ordered = sorted(versions, key=version_key)
    if abi3_from is None:
        return ordered, []
    floor = version_key(abi3_from)
    shared = [v for v in ordered if version_key(v) >= floor and not v.endswith("t")]
    return [v for v in ordered if v not in shared], shared


# --- the steps both backends share ------------------------------------------------------


def build_wheel(
    python: str, out: Path, build_dir: Path, env: dict[str, str], config: list[str]
) -> Path:
    """Build one wheel with this interpreter; the build tree stays out of the project."""
    out.mkdir(parents=True, exist_ok=True)
    settings = [f"--config-settings={c}" for c in [f"build-dir={build_dir}", *config]]
    cmd = [
        python,
        "-m",
        "pip",
        "wheel",
        str(PROJECT),
        "--no-deps",
        "-w",
        str(out),
        *settings,
    ]
    run(f"build with {python}", cmd, env=env)
    (wheel,) = out.glob("*.whl")
    return wheel


def repair_wheel(wheel: Path, plat: str, out: Path, auditwheel: list[str]) -> Path:
    """`auditwheel repair` to the policy; the result carries the policy's tag."""
    out.mkdir(parents=True, exist_ok=True)
    run(
        f"auditwheel repair {wheel.name}",
        [*auditwheel, "repair", "--plat", plat, "-w", str(out), str(wheel)],
    )
    (repaired,) = out.glob("*.whl")
    return repaired


def test_wheel(python: str, wheel: Path, requires: list[str], work: Path) -> None:
    """Install the wheel into a fresh venv of the same CPython and run the project's tests."""
    venv = work / "venv"
    run(f"venv for {wheel.name} with {python}", [python, "-m", "venv", str(venv)])
    vpython = str(venv / "bin" / "python")
    run(
        f"install {wheel.name}",
        [vpython, "-m", "pip", "install", str(wheel), *requires],
    )
    # Tests are taken from the project, the package from the venv: with importlib import
    # mode and a working directory outside the project, src/ is never on sys.path.
    pytest = [
        vpython,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(work),
        "-c",
        str(PROJECT / "pyproject.toml"),
        str(PROJECT / "tests"),
    ]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    out = run(f"test {wheel.name}", pytest, cwd=work, env=env)
    print("    " + out.strip().splitlines()[-1], flush=True)


def expect_tags(wheel: Path, python_tag: str, abi_tag: str) -> None:
    """Refuse a wheel whose tags are not the ones this CPython was meant to build."""
    found = "-".join(wheel_tags(wheel))
    if found == f"{python_tag}-{abi_tag}":
        return
    if abi_tag == "abi3":
        hint = 'is `wheel.py-api = "cp3X"` set under [tool.scikit-build] in pyproject.toml?'
    else:
        hint = (
            "pyproject.toml asks for abi3 wheels (wheel.py-api): pass --abi3-from 3.X"
        )
    msg = f"expected a {python_tag}-{abi_tag} wheel, got {wheel.name}: {hint}"
    raise WheelError(msg)


Build = Callable[[str, Path], Path]  # (interpreter, work dir) -> repaired wheel
Test = Callable[
    [str, Path, list[str], Path], None
]  # (interpreter, wheel, requires, dir)


def make_wheels(  # noqa: PLR0913 (the backend passes its build and test steps)
    args: argparse.Namespace,
    pythons: dict[str, str],
    build: Build,
    work: Path,
    out: Path,
    *,
    test: Test | None = None,
) -> None:
    """Build, repair and test the wheel set for these CPythons (version -> interpreter).

    Without --abi3-from every CPython builds and tests a wheel of its own. With it, the
    CPythons from that version on share one abi3 wheel, built by the oldest of them and
    tested on each; the older ones still build their own (the stable ABI needs the newer).
    """
    test = test or test_wheel
    own, shared = abi3_split(list(pythons), args.abi3_from)
    for version in own:
        python_tag, abi_tag = version_tags(version)
        if args.abi3_from:
            why = (
                "free-threaded CPython cannot load abi3 modules"
                if version.endswith("t")
                else f"the stable ABI, abi3, is built from CPython {args.abi3_from} on"
            )
            print(
                f"CPython {version}: a {python_tag}-{abi_tag} wheel of its own ({why})",
                flush=True,
            )
        wheel = build(pythons[version], work / abi_tag)
        expect_tags(wheel, python_tag, abi_tag)
        test(pythons[version], wheel, args.test_requires, work / abi_tag)
        shutil.copy2(wheel, out / wheel.name)
    if not shared:
        if args.abi3_from:
            print(f"No CPython {args.abi3_from}+ selected or found: no abi3 wheel")
        return
    abi3_tag = version_tags(args.abi3_from)[0]
    print(
        f"CPython {', '.join(shared)}: one {abi3_tag}-abi3 wheel, built with CPython "
        f"{shared[0]} and tested on each",
        flush=True,
    )
    wheel = build(pythons[shared[0]], work / "abi3")
    expect_tags(wheel, abi3_tag, "abi3")
    for version in shared:
        test_dir = work / f"abi3-on-{version_tags(version)[1]}"
        test_dir.mkdir(parents=True, exist_ok=True)
        test(pythons[version], wheel, args.test_requires, test_dir)
    shutil.copy2(wheel, out / wheel.name)


# --- checks of a finished wheel (host) --------------------------------------------------


class WheelInfo(NamedTuple):
    path: Path
    tags: list[str]
    glibc: tuple[int, int]
    verdict: str


def elf_links(path: Path) -> tuple[set[str], set[tuple[int, int]]]:
    """The DT_NEEDED libraries of an ELF file and the GLIBC_x.y versions it requires."""
    from elftools.elf.dynamic import DynamicSection  # noqa: PLC0415 (host only)
    from elftools.elf.elffile import ELFFile  # noqa: PLC0415
    from elftools.elf.gnuversions import GNUVerNeedSection  # noqa: PLC0415

    needed: set[str] = set()
    versions: set[tuple[int, int]] = set()
    with path.open("rb") as fh:
        for section in ELFFile(fh).iter_sections():
            if isinstance(section, DynamicSection):
                tags = section.iter_tags()
                needed |= {t.needed for t in tags if t.entry.d_tag == "DT_NEEDED"}
            elif isinstance(section, GNUVerNeedSection):
                names = [
                    aux.name for _, auxes in section.iter_versions() for aux in auxes
                ]
                for found in filter(None, map(GLIBC_VERSION.fullmatch, names)):
                    versions.add((int(found[1]), int(found[2])))
    return needed, versions


def elf_facts(wheel: Path) -> tuple[bool, tuple[int, int]]:
    """Whether every extension links libc.so.6 dynamically, and the newest GLIBC_x.y used."""
    newest = (0, 0)
    dynamic_libc = True
    with zipfile.ZipFile(wheel) as zf, tempfile.TemporaryDirectory() as tmp:
        for name in zf.namelist():
            if not re.search(r"\.so(\.|$)", name):
                continue
            needed, versions = elf_links(Path(zf.extract(name, tmp)))
            newest = max(newest, *versions)
            if ".libs/" not in name:  # the project's own extensions, not bundled libs
                dynamic_libc &= "libc.so.6" in needed
    return dynamic_libc, newest


def wheel_arch(wheel: Path) -> str:
    """The architecture of a platform wheel: ...-manylinux_2_28_aarch64.whl -> 'aarch64'."""
    return next(a for a in ARCHES if wheel.stem.endswith(a))


def check_wheel(wheel: Path, policy: str, auditwheel: list[str]) -> WheelInfo:
    """Refuse a wheel whose auditwheel verdict, tag or libc linkage breaks the policy."""
    tags = wheel.stem.split("-")[-1].split(".")
    arch = wheel_arch(wheel)
    if f"{policy}_{arch}" not in tags:
        msg = f"{wheel.name} lacks the {policy}_{arch} tag"
        raise WheelError(msg)
    shown = run(f"auditwheel show {wheel.name}", [*auditwheel, "show", str(wheel)])
    found = re.search(r'platform tag:\s*"(\w+)"', shown)
    verdict = found[1] if found else "none"
    limit = POLICY_GLIBC[policy]
    glibc = tag_glibc(verdict)
    if glibc is None or glibc > limit or not verdict.endswith(arch):
        msg = f"auditwheel says {wheel.name} is {verdict}, not within {policy}"
        raise WheelError(msg, shown)
    dynamic_libc, newest = elf_facts(wheel)
    if not dynamic_libc:
        msg = f"{wheel.name}: an extension has no dynamic dependency on libc.so.6 (static glibc?)"
        raise WheelError(msg)
    if wheel_tags(wheel)[1] == "abi3":
        check_abi3(wheel)
    return WheelInfo(wheel, tags, newest, verdict)


def check_abi3(wheel: Path) -> None:
    """Refuse an abi3-tagged wheel unless its extensions use only the stable ABI.

    pip installs such a wheel on every later CPython, where a module built for one CPython
    would fail to import or crash, so the tag has to be earned, not assumed.
    """
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
    extensions = [n for n in names if re.search(r"\.so(\.|$)", n) and ".libs/" not in n]
    wrong = [n for n in extensions if not n.endswith(".abi3.so")]
    if wrong or not extensions:
        msg = (
            f"{wheel.name} is tagged abi3, but {', '.join(wrong) or 'no extension'} is not "
            "an abi3 module (with nanobind: STABLE_ABI in nanobind_add_module)"
        )
        raise WheelError(msg)
    audit = [sys.executable, "-m", "abi3audit", "--strict", "--summary", str(wheel)]
    run(f"abi3audit --strict {wheel.name}", audit)


def distros(glibc: tuple[int, int]) -> str:
    """The first release of each distro whose glibc is new enough."""
    covered = []
    for distro, releases in DISTRO_GLIBC.items():
        first = next((rel for rel, have in releases if have >= glibc), None)
        if first is not None:
            covered.append(f"{distro} {first}+")
    return ", ".join(covered)


def tag_glibc(tag: str) -> tuple[int, int] | None:
    """glibc of a platform tag: manylinux_2_28_x86_64 -> (2, 28); manylinux2014 -> (2, 17)."""
    found = re.match(
        r"manylinux_(\d+)_(\d+)_", tag.replace("manylinux2014_", "manylinux_2_17_")
    )
    return (int(found[1]), int(found[2])) if found else None


def summary(infos: list[WheelInfo]) -> str:
    rows = [("wheel", "arch", "tag", "size", "newest glibc symbol", "installs on")]
    for info in infos:
        baseline = min(filter(None, map(tag_glibc, info.tags)))
        python_tags = info.path.stem.split("-")[-3:-1]
        tag = "-".join([*python_tags, "manylinux_{}_{}".format(*baseline)])
        size = f"{info.path.stat().st_size / 1024:.0f} KiB"
        needs = "GLIBC_{}.{}".format(*info.glibc) if info.glibc > (0, 0) else "-"
        arch = wheel_arch(info.path)
        rows.append((info.path.name, arch, tag, size, needs, distros(baseline)))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip() for r in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    for info in infos:
        python_tag, abi_tag = wheel_tags(info.path)
        if abi_tag == "abi3":
            lines.append(
                f"{info.path.name} serves CPython 3.{python_tag[3:]} and newer "
                "(stable ABI; abi3audit --strict passed)"
            )
    return "\n".join(lines)


# --- backends ----------------------------------------------------------------------------


def guard_static_glibc() -> None:
    """Refuse before building when flags or CMakeLists.txt would link glibc statically."""
    sources = {f"${name}": os.environ.get(name, "") for name in FLAG_VARIABLES}
    cmake = (PROJECT / "CMakeLists.txt").read_text(encoding="utf-8")
    sources["CMakeLists.txt"] = "\n".join(
        line.split("#", 1)[0] for line in cmake.splitlines()
    )
    for where, text in sources.items():
        found = STATIC_GLIBC.search(text)
        if found:
            msg = (
                f"{where} asks for {found[1]!r}, which links glibc statically; a wheel must use "
                "the system's glibc (its baseline is the manylinux policy). Link only libstdc++ "
                "and libgcc statically, with --static-libstdcxx."
            )
            raise WheelError(msg)


def engine_works(engine: str) -> bool:
    """True when a container engine actually runs (not just a client on PATH)."""
    if shutil.which(engine) is None:
        return False
    try:
        proc = subprocess.run(
            [engine, "info"], capture_output=True, timeout=60, check=False
        )
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def choose_backend(args: argparse.Namespace) -> str:
    engines = [args.engine] if args.engine else ["docker", "podman"]
    if args.backend in ("auto", "container"):
        for engine in engines:
            if engine_works(engine):
                args.engine = engine
                print(f"Backend: container ({engine} works)")
                return "container"
        if args.backend == "container":
            msg = f"no working container engine ({' or '.join(engines)}): install and start docker or podman, or use --backend zig"
            raise WheelError(msg)
        reason = "no working docker or podman"
    else:
        reason = "asked for"
    if zig_executable() is None:
        msg = f"{reason}, and zig is missing: `pip install ziglang` (nox -s wheels does), or install docker or podman"
        raise WheelError(msg)
    print(f"Backend: zig ({reason})")
    return "zig"


def container_command(
    args: argparse.Namespace, image: str, staging: Path, plat: str
) -> list[str]:
    """The `docker run`/`podman run` that builds, repairs and tests inside the image."""
    engine = args.engine
    cmd = [
        engine,
        "run",
        "--rm",
        "-v",
        f"{PROJECT}:/project:ro",
        "-v",
        f"{staging}:/output:rw",
        "-e",
        "HOME=/tmp",
        "-e",
        "PYTHONDONTWRITEBYTECODE=1",
        "-w",
        "/tmp",
    ]
    if engine == "docker":
        # Output files belong to the caller (rootless podman maps container root to them).
        cmd += ["--user", f"{os.getuid()}:{os.getgid()}"]
    inside = [
        "/project/tools/wheels.py",
        "inside",
        "--plat",
        plat,
        "--python",
        *args.python,
    ]
    inside += ["--test-requires", *args.test_requires]
    if args.static_libstdcxx:
        inside.append("--static-libstdcxx")
    if args.abi3_from:
        inside += ["--abi3-from", args.abi3_from]
    # Any CPython of the image can drive the build; the first under /opt/python does.
    script = 'for py in /opt/python/cp3*/bin/python; do exec "$py" "$@"; done; exit 127'
    return [*cmd, *args.engine_arg, image, "sh", "-c", script, "sh", *inside]


def inside_container(args: argparse.Namespace) -> None:
    """Inside the image: build, repair and test the wheel set with the CPythons in /opt/python."""
    pythons = {}
    for version in args.python:
        # The manylinux layout: /opt/python/cp314-cp314, and cp314-cp314t when free-threaded.
        python = Path("/opt/python/{}-{}/bin/python".format(*version_tags(version)))
        if python.exists():
            pythons[version] = str(python)
        else:
            print(f"Skipping CPython {version}: not in this image", flush=True)
    if not pythons:
        msg = f"none of CPython {', '.join(args.python)} is in this image"
        raise WheelError(msg)
    env = dict(os.environ)
    if args.static_libstdcxx:
        env["LDFLAGS"] = (
            f"{env.get('LDFLAGS', '')} -static-libstdc++ -static-libgcc -Wl,--exclude-libs,ALL".strip()
        )

    def build(python: str, work: Path) -> Path:
        wheel = build_wheel(python, work / "dist", work / "build", env, [])
        return repair_wheel(wheel, args.plat, work / "repaired", ["auditwheel"])

    work = Path(tempfile.mkdtemp(prefix="wheels-"))
    make_wheels(args, pythons, build, work, Path("/output"))


def zig_executable() -> Path | None:
    """The zig compiler shipped inside the `ziglang` package, if installed."""
    spec = importlib.util.find_spec("ziglang")
    if spec is None or not spec.submodule_search_locations:
        return None
    zig = Path(next(iter(spec.submodule_search_locations))) / "zig"
    return zig if zig.is_file() else None


def zig_tools(target: str, directory: Path) -> dict[str, str]:
    """Wrapper scripts that make zig usable as CMake's compilers and archiver."""
    zig = zig_executable()
    assert zig is not None
    paths = {}
    for name in ("cc", "c++", "ar", "ranlib"):
        path = directory / f"zig-{name}"
        flags = f" -target {target}" if name in ("cc", "c++") else ""
        path.write_text(f'#!/bin/sh\nexec "{zig}" {name}{flags} "$@"\n')
        path.chmod(0o755)
        paths[name] = str(path)
    return paths


def host_python(version: str) -> str | None:
    """python3.X on PATH, outside this session's venv, if it runs (pyenv has shims for all)."""
    venv_bin = str(Path(sys.prefix) / "bin")
    path = os.pathsep.join(
        p for p in os.environ["PATH"].split(os.pathsep) if p != venv_bin
    )
    exe = shutil.which(f"python{version}", path=path)
    if exe is None:
        return None
    check = [exe, "-c", "import sys; print(sys.executable)"]
    proc = subprocess.run(check, capture_output=True, text=True, check=False)
    return proc.stdout.strip() if proc.returncode == 0 else None


def build_with_zig(
    args: argparse.Namespace, policy: str, staging: Path, work: Path, arch: str
) -> None:
    """Build, repair and test the wheel set for one architecture with zig.

    For the host's architecture the wheels are tested on the host's CPythons; for another
    one they are cross-compiled and tested on that architecture's CPython under qemu-user.
    """
    glibc = "{}.{}".format(*POLICY_GLIBC[policy])
    work = work / arch
    work.mkdir(parents=True, exist_ok=True)
    tools = zig_tools(f"{ZIG_ARCH[arch]}-linux-gnu.{glibc}", work)
    cross = arch != platform.machine()
    # zig's libc++ does not bring in <cstdio> through other headers, which some libraries'
    # sources count on (nanobind's: "use of undeclared identifier 'stderr'"). Debian's and
    # Ubuntu's CPythons include <x86_64-linux-gnu/python3.X/pyconfig.h> from /usr/include,
    # which zig, with its own libc headers, does not search: searched last, it fills that gap.
    cxxflags = f"{os.environ.get('CXXFLAGS', '')} -include cstdio -idirafter /usr/include".strip()
    env = {**os.environ, "CC": tools["cc"], "CXX": tools["c++"], "CXXFLAGS": cxxflags}
    config = [
        f"cmake.define.CMAKE_AR={tools['ar']}",
        f"cmake.define.CMAKE_RANLIB={tools['ranlib']}",
    ]
    if args.static_libstdcxx:
        print(
            "Note: zig always links LLVM's libc++ statically; --static-libstdcxx changes nothing."
        )
    pythons = {v: host_python(v) for v in args.python}
    for version, python in pythons.items():
        if python is None:
            print(
                f"Skipping CPython {version}: python{version} not found on this host",
                flush=True,
            )
    found = {v: p for v, p in pythons.items() if p}
    emulated: dict[str, str] = {}
    if cross:
        root = emulated_root(arch, args.cache)
        for version in list(found):
            python = emulated_python(root, arch, version, work / "bin")
            if python is None:
                print(
                    f"Skipping CPython {version} for {arch}: the emulated root "
                    f"({root}) has no python{version} to test the wheel on",
                    flush=True,
                )
                del found[version]
            else:
                emulated[version] = python
    if not found:
        msg = f"none of CPython {', '.join(args.python)} can build and test {arch} wheels here"
        raise WheelError(msg)
    auditwheel = [sys.executable, "-m", "auditwheel"]
    if cross:
        auditwheel = [sys.executable, "-c", AUDITWHEEL_AS.format(arch=arch)]

    def build(python: str, tag_work: Path) -> Path:
        wheel_env, wheel_config = env, config
        if cross:
            version = next(v for v, p in found.items() if p == python)
            extra_env, extra_config = cross_env(
                arch, version, tools, work, emulated[version]
            )
            wheel_env, wheel_config = {**env, **extra_env}, [*config, *extra_config]
        wheel = build_wheel(
            python, tag_work / "dist", tag_work / "build", wheel_env, wheel_config
        )
        return repair_wheel(
            wheel, f"{policy}_{arch}", tag_work / "repaired", auditwheel
        )

    test: Test | None = None
    if cross:
        by_python = {p: v for v, p in found.items()}

        def test(python: str, wheel: Path, requires: list[str], tag_work: Path) -> None:
            version = by_python[python]
            needs = [*wheel_requires(wheel), *requires]
            site = emulated_test_files(version, arch, needs, args.cache)
            test_emulated(emulated[version], wheel, site, tag_work)

    make_wheels(args, found, build, work, staging, test=test)


# --- aarch64 from an x86_64 host: cross-build with zig, test under qemu-user ---------------

ARCHES = ("x86_64", "aarch64")
# zig's target triple and CMake's processor name per wheel architecture.
ZIG_ARCH = {"x86_64": "x86_64", "aarch64": "aarch64"}
DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
QEMU = {"aarch64": "qemu-aarch64-static"}
# The emulated root: Debian bookworm's arm64 CPython 3.11. Bump the recipe when it changes,
# so a cached root of the old recipe is not reused.
EMULATED_SUITE = "bookworm"
EMULATED_PACKAGES = ("python3.11", "libpython3.11-dev")
EMULATED_RECIPE = f"debian-{EMULATED_SUITE}-arm64-1"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
WHEEL_PLATFORMS = ("manylinux2014_{arch}", "manylinux_2_28_{arch}")
# auditwheel (6.4+) repairs by the wheel's own architecture, but offers only this machine's
# policies as --plat choices: it is asked as if it ran on the target.
AUDITWHEEL_AS = (
    "import platform, sys; platform.machine = lambda: {arch!r}; "
    "from auditwheel.main import main; sys.exit(main())"
)
# Tests that cannot pass under qemu-user, and why; the session prints them.
EMULATION_DESELECT = {
    "test_best_supported_level_is_chosen": "qemu-user shows the host's /proc/cpuinfo",
}


def default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "cpp-extension-wheels"


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """One writer at a time for a cache shared by every project on this machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def emulated_root(arch: str, cache: Path) -> Path:
    """A Debian root of the target architecture with its CPython, built once and cached.

    `debootstrap --foreign` only downloads and half-unpacks (its second stage would need the
    target CPU); unpacking every .deb with `dpkg -x` is enough to run CPython under qemu.
    """
    root = cache / f"{EMULATED_RECIPE.replace('arm64', DEBIAN_ARCH[arch])}"
    if (root / ".complete").is_file():
        return root
    missing = [t for t in ("debootstrap", "dpkg") if shutil.which(t) is None]
    if missing or os.geteuid() != 0:
        why = (
            f"{' and '.join(missing)} missing" if missing else "debootstrap needs root"
        )
        msg = (
            f"no {arch} root at {root} to test the wheels in ({why}); as root run once: "
            f"debootstrap --arch={DEBIAN_ARCH[arch]} --foreign --variant=minbase "
            f"--include={','.join(EMULATED_PACKAGES)} {EMULATED_SUITE} {root} {DEBIAN_MIRROR}"
            f" && for d in {root}/var/cache/apt/archives/*.deb; do dpkg -x $d {root}; done"
            f" && touch {root}/.complete"
        )
        raise WheelError(msg)
    with locked(cache / "lock"):
        if (root / ".complete").is_file():
            return root
        shutil.rmtree(root, ignore_errors=True)
        run(
            f"debootstrap {EMULATED_SUITE} for {DEBIAN_ARCH[arch]} (once, into {root})",
            [
                "debootstrap",
                f"--arch={DEBIAN_ARCH[arch]}",
                "--foreign",
                "--variant=minbase",
                f"--include={','.join(EMULATED_PACKAGES)}",
                EMULATED_SUITE,
                str(root),
                DEBIAN_MIRROR,
            ],
        )
        debs = sorted((root / "var/cache/apt/archives").glob("*.deb"))
        print(f"--> unpack {len(debs)} packages with dpkg -x", flush=True)
        for deb in debs:
            run_quiet(["dpkg", "-x", str(deb), str(root)])
        (root / ".complete").touch()
    return root


def emulated_python(root: Path, arch: str, version: str, bin_dir: Path) -> str | None:
    """A host script that runs the root's python3.X under qemu-user, or None if absent.

    No binfmt registration is needed: qemu runs the interpreter itself, and `-0` makes the
    script's path its argv[0], hence sys.executable, so the tests' own subprocesses
    (sys.executable -c ...) go through this script into qemu again.
    """
    target = root / "usr" / "bin" / f"python{version}"
    qemu = shutil.which(QEMU[arch])
    if qemu is None:
        msg = f"{QEMU[arch]} is missing: install Debian's qemu-user-static to test {arch} wheels"
        raise WheelError(msg)
    if not target.is_file():
        return None
    bin_dir.mkdir(parents=True, exist_ok=True)
    script = bin_dir / f"python{version}"
    script.write_text(f'#!/bin/sh\nexec "{qemu}" -L "{root}" -0 "$0" "{target}" "$@"\n')
    script.chmod(0o755)
    return str(script)


def emulated_test_files(
    version: str, arch: str, requires: list[str], cache: Path
) -> Path:
    """The test requirements as wheels of the target, unpacked onto one directory.

    Downloaded on the host (the root has no pip), once per requirement set.
    """
    key = hashlib.sha256(repr((version, arch, requires)).encode()).hexdigest()[:12]
    site = cache / f"test-site-{arch}-{version}-{key}"
    if (site / ".complete").is_file():
        return site
    with locked(cache / "lock"), tempfile.TemporaryDirectory() as tmp:
        platforms = [f"--platform={p.format(arch=arch)}" for p in WHEEL_PLATFORMS]
        run(
            f"download {' '.join(requires)} for CPython {version} on {arch}",
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--only-binary=:all:",
                f"--python-version={version}",
                *platforms,
                "-d",
                tmp,
                *requires,
            ],
        )
        shutil.rmtree(site, ignore_errors=True)
        for wheel in sorted(Path(tmp).glob("*.whl")):
            with zipfile.ZipFile(wheel) as zf:
                zf.extractall(site)
        (site / ".complete").touch()
    return site


def wheel_requires(wheel: Path) -> list[str]:
    """The wheel's own run-time requirements (Requires-Dist without extras)."""
    with zipfile.ZipFile(wheel) as zf:
        name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = zf.read(name).decode()
    found = re.findall(r"^Requires-Dist: (.+)$", metadata, flags=re.MULTILINE)
    return [r.strip() for r in found if "extra ==" not in r]


def test_emulated(python: str, wheel: Path, site: Path, work: Path) -> None:
    """Run the project's tests on an emulated CPython, the wheel unpacked over site/.

    Unpacking is what pip would do for these wheels (no scripts, no compiled bytecode).
    """
    target = work / "site"
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(site, target)
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(target)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work),
        "PYTHONPATH": str(target),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    pytest = [
        python,
        "-m",
        "pytest",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(work),
        "-c",
        str(PROJECT / "pyproject.toml"),
        "-k",
        " and ".join(f"not {t}" for t in EMULATION_DESELECT),
        str(PROJECT / "tests"),
    ]
    out = run(f"test {wheel.name} under qemu-user", pytest, cwd=work, env=env)
    print("    " + out.strip().splitlines()[-1], flush=True)
    for test, why in EMULATION_DESELECT.items():
        print(f"    not run under emulation: {test} ({why})", flush=True)


def cross_env(
    arch: str, version: str, tools: dict[str, str], work: Path, interpreter: str
) -> tuple[dict[str, str], list[str]]:
    """Environment and scikit-build-core settings that cross-compile for arch.

    The toolchain file makes CMake cross-compile (CMAKE_SYSTEM_PROCESSOR leaves the x86
    per-ISA files out); SETUPTOOLS_EXT_SUFFIX and _PYTHON_HOST_PLATFORM give
    scikit-build-core the target's extension suffix and wheel platform tag. The host
    CPython's headers are used: they match the target's but for pyconfig.h lines that
    change no type or layout (docs/wheels.md shows the diff). interpreter runs the
    target's CPython of the same version (emulated_python).
    """
    toolchain = work / f"toolchain-{arch}.cmake"
    toolchain.write_text(
        "set(CMAKE_SYSTEM_NAME Linux)\n"
        f"set(CMAKE_SYSTEM_PROCESSOR {arch})\n"
        f'set(CMAKE_C_COMPILER "{tools["cc"]}")\n'
        f'set(CMAKE_CXX_COMPILER "{tools["c++"]}")\n'
        f'set(CMAKE_AR "{tools["ar"]}" CACHE FILEPATH "")\n'
        f'set(CMAKE_RANLIB "{tools["ranlib"]}" CACHE FILEPATH "")\n'
    )
    abi_tag = version_tags(version)[1]
    soabi = f"cpython-{abi_tag[2:]}-{arch}-linux-gnu"
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


def build_in_container(args: argparse.Namespace, policy: str, staging: Path) -> None:
    arch = platform.machine()
    image = args.image or f"quay.io/pypa/{policy}_{arch}"
    cmd = container_command(args, image, staging, f"{policy}_{arch}")
    print(f"Image: {image}")
    print(f"--> {shlex.join(cmd)}", flush=True)
    # Streamed, not captured: a container build is long and its log is the progress report.
    if subprocess.run(cmd, check=False).returncode != 0:
        # The log says why; the one cause this script can point past is a registry it
        # cannot reach, which the zig backend does not need.
        msg = (
            f"the build in {image} failed (its log is above); if the image could not be"
            " pulled, `--backend zig` builds the same wheels without a container"
        )
        raise WheelError(msg)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="nox -s wheels --", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command")
    inside = sub.add_parser("inside", help=argparse.SUPPRESS)
    for p in (parser, inside):
        p.add_argument(
            "--python",
            nargs="+",
            metavar="X.Y",
            help="only these CPythons (default: all supported)",
        )
        p.add_argument("--test-requires", nargs="*", default=[], help=argparse.SUPPRESS)
        p.add_argument(
            "--static-libstdcxx",
            action="store_true",
            help="link libstdc++/libgcc statically (never glibc)",
        )
        p.add_argument(
            "--abi3-from",
            metavar="X.Y",
            help="one abi3 wheel for CPython X.Y and newer, tested on each; a wheel per "
            "CPython below (set from pyproject's wheel.py-api by nox -s wheels)",
        )
    inside.add_argument("--plat", required=True)
    parser.add_argument(
        "--backend", choices=["auto", "container", "zig"], default="auto"
    )
    parser.add_argument(
        "--engine",
        choices=["docker", "podman"],
        help="container engine (default: the first that works)",
    )
    parser.add_argument(
        "--image", help="container image (default: quay.io/pypa/<policy>_<arch>)"
    )
    parser.add_argument(
        "--engine-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for `<engine> run`, e.g. --engine-arg=--network=none",
    )
    parser.add_argument(
        "--policy", choices=sorted(POLICY_GLIBC), default="manylinux_2_28"
    )
    parser.add_argument(
        "--arch",
        nargs="+",
        choices=ARCHES,
        default=[platform.machine()],
        help="wheel architectures (default: this machine's); another one is "
        "cross-compiled with zig and tested under qemu-user",
    )
    parser.add_argument(
        "--cache",
        type=Path,
        default=default_cache(),
        help="where the emulated root and the test wheels are kept (default: %(default)s)",
    )
    parser.add_argument("--supported", nargs="+", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--wheelhouse", type=Path, default=PROJECT / "wheelhouse")
    args = parser.parse_args(argv)
    if args.command is None:
        args.arch = sorted(set(args.arch), key=ARCHES.index)
    if args.abi3_from and not re.fullmatch(r"3\.\d+", args.abi3_from):
        parser.error(
            f"--abi3-from wants a CPython version such as 3.12, not {args.abi3_from!r}"
        )
    if args.command is None:
        unknown = (
            sorted(set(args.python or []) - set(args.supported))
            if args.supported
            else []
        )
        if unknown:
            parser.error(
                f"CPython {', '.join(unknown)} is not supported (supported: {' '.join(args.supported)})"
            )
        args.python = args.python or args.supported
        if not args.python:
            parser.error("no CPython selected: pass --python X.Y")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    try:
        if args.command == "inside":
            inside_container(args)
            return 0
        guard_static_glibc()
        if args.abi3_from and importlib.util.find_spec("abi3audit") is None:
            msg = "--abi3-from needs abi3audit to check the abi3 wheel: `pip install abi3audit` (nox -s wheels does)"
            raise WheelError(msg)
        backend = choose_backend(args)
        if backend == "container" and args.arch != [platform.machine()]:
            msg = (
                f"the container backend builds for this machine's {platform.machine()} only; "
                "--backend zig cross-compiles for the others"
            )
            raise WheelError(msg)
        policy = args.policy
        auditwheel = [sys.executable, "-m", "auditwheel"]
        with tempfile.TemporaryDirectory(prefix="wheels-") as tmp:
            staging = Path(tmp) / "staging"
            staging.mkdir()
            if backend == "zig":
                for arch in args.arch:
                    build_with_zig(args, policy, staging, Path(tmp), arch)
            else:
                build_in_container(args, policy, staging)
            infos = [
                check_wheel(w, policy, auditwheel)
                for w in sorted(staging.glob("*.whl"))
            ]
            if not infos:
                msg = "no wheel was built"
                raise WheelError(msg)
            # Only now, with every wheel checked and tested, does anything reach wheelhouse/.
            args.wheelhouse.mkdir(parents=True, exist_ok=True)
            infos = [
                info._replace(path=Path(shutil.copy2(info.path, args.wheelhouse)))
                for info in infos
            ]
    except WheelError as err:
        if err.log:
            print(err.log, file=sys.stderr)
        print(f"error: {err.step}", file=sys.stderr)
        return 1
    print()
    print(summary(infos))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
