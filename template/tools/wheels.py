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
from collections.abc import Callable
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


def make_wheels(
    args: argparse.Namespace,
    pythons: dict[str, str],
    build: Build,
    work: Path,
    out: Path,
) -> None:
    """Build, repair and test the wheel set for these CPythons (version -> interpreter).

    Without --abi3-from every CPython builds and tests a wheel of its own. With it, the
    CPythons from that version on share one abi3 wheel, built by the oldest of them and
    tested on each; the older ones still build their own (the stable ABI needs the newer).
    """
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
        test_wheel(pythons[version], wheel, args.test_requires, work / abi_tag)
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
        test_wheel(pythons[version], wheel, args.test_requires, test_dir)
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


def check_wheel(wheel: Path, policy: str, auditwheel: list[str]) -> WheelInfo:
    """Refuse a wheel whose auditwheel verdict, tag or libc linkage breaks the policy."""
    tags = wheel.stem.split("-")[-1].split(".")
    arch = platform.machine()
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
    rows = [("wheel", "tag", "size", "newest glibc symbol", "installs on")]
    for info in infos:
        baseline = min(filter(None, map(tag_glibc, info.tags)))
        python_tags = info.path.stem.split("-")[-3:-1]
        tag = "-".join([*python_tags, "manylinux_{}_{}".format(*baseline)])
        size = f"{info.path.stat().st_size / 1024:.0f} KiB"
        needs = "GLIBC_{}.{}".format(*info.glibc) if info.glibc > (0, 0) else "-"
        rows.append((info.path.name, tag, size, needs, distros(baseline)))
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
    args: argparse.Namespace, policy: str, staging: Path, work: Path
) -> None:
    arch = platform.machine()
    glibc = "{}.{}".format(*POLICY_GLIBC[policy])
    tools = zig_tools(f"{arch}-linux-gnu.{glibc}", work)
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
    if not found:
        msg = f"none of CPython {', '.join(args.python)} is installed here (python3.X on PATH)"
        raise WheelError(msg)
    auditwheel = [sys.executable, "-m", "auditwheel"]

    def build(python: str, tag_work: Path) -> Path:
        wheel = build_wheel(python, tag_work / "dist", tag_work / "build", env, config)
        return repair_wheel(
            wheel, f"{policy}_{arch}", tag_work / "repaired", auditwheel
        )

    make_wheels(args, found, build, work, staging)


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
    parser.add_argument("--supported", nargs="+", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--wheelhouse", type=Path, default=PROJECT / "wheelhouse")
    args = parser.parse_args(argv)
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
        policy = args.policy
        auditwheel = [sys.executable, "-m", "auditwheel"]
        with tempfile.TemporaryDirectory(prefix="wheels-") as tmp:
            staging = Path(tmp) / "staging"
            staging.mkdir()
            if backend == "zig":
                build_with_zig(args, policy, staging, Path(tmp))
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
