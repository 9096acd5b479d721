"""The policies and what they install on: the guard against static glibc before a build,
the check of each new wheel with auditwheel after it, and the report with the distro table."""

from __future__ import annotations

import json
import os
import re
import sys
import textwrap
from pathlib import Path
from typing import NamedTuple

from .common import ARCHES, PROJECT, fail, run, version_key

# glibc version each policy allows (PEP 600 names; manylinux2014 is manylinux_2_17).
POLICY_GLIBC = {
    "manylinux2014": (2, 17),
    "manylinux_2_28": (2, 28),
    "manylinux_2_34": (2, 34),
}

# glibc of distro releases, oldest first: the one table of what a glibc baseline covers.
# Source: mayeut/pep600_compliance (glibc per distro release) and the distros' release
# notes; check there before adding a row. Ubuntu 26.04 and Fedora 43 and 44 are newer
# than that table: from their release announcements (glibc 2.43, 2.42, 2.43).
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
        ("26.04", (2, 43)),
    ],
    "RHEL/Alma/Rocky": [
        ("7", (2, 17)),
        ("8", (2, 28)),
        ("9", (2, 34)),
        ("10", (2, 39)),
    ],
    "Fedora": [
        ("19", (2, 17)),
        ("29", (2, 28)),
        ("35", (2, 34)),
        ("40", (2, 39)),
        ("43", (2, 42)),
        ("44", (2, 43)),
    ],
    "Amazon Linux": [("2", (2, 26)), ("2023", (2, 34))],
}

# Any of these link the C library statically: refused (glibc must come from the system).
STATIC_GLIBC = re.compile(r"(?<![\w+-])(-static|-static-pie|--static)(?![\w+-])")
FLAG_VARIABLES = ("CFLAGS", "CXXFLAGS", "LDFLAGS", "CMAKE_ARGS", "SKBUILD_CMAKE_ARGS")
REPORT_WIDTH = 100


def tag_glibc(tag: str) -> tuple[int, int] | None:
    """glibc of a platform tag: manylinux_2_28_x86_64 -> (2, 28); manylinux2014 -> (2, 17)."""
    found = re.match(
        r"manylinux_(\d+)_(\d+)_", tag.replace("manylinux2014_", "manylinux_2_17_")
    )
    return (int(found[1]), int(found[2])) if found else None


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
            fail(
                f"{where} asks for {found[1]!r}, which links glibc statically; a wheel must use "
                "the system's glibc (its baseline is the manylinux policy). Link only libstdc++ "
                "and libgcc statically: -static-libstdc++ -static-libgcc."
            )


class WheelInfo(NamedTuple):
    path: Path
    glibc: tuple[int, int]  # the newest GLIBC_x.y symbol version its ELF files use


def check_wheel(wheel: Path, policy: str) -> WheelInfo:
    """Refuse a wheel whose auditwheel verdict, tag or libc linkage breaks the policy."""
    arch = next(a for a in ARCHES if wheel.stem.endswith(a))
    if f"{policy}_{arch}" not in wheel.stem.split("-")[-1].split("."):
        fail(f"{wheel.name} lacks the {policy}_{arch} tag")
    cmd = [sys.executable, "-m", "auditwheel", "show", "--json", str(wheel)]
    shown = json.loads(run(f"auditwheel show {wheel.name}", cmd))
    verdict = shown["overall_tag"]
    glibc = tag_glibc(verdict)
    if glibc is None or glibc > POLICY_GLIBC[policy] or not verdict.endswith(arch):
        fail(
            f"auditwheel says {wheel.name} is {verdict}, not within {policy}",
            json.dumps(shown),
        )
    symbols: dict[str, list[str]] = shown["versioned_symbols"]
    if "libc.so.6" not in symbols:
        fail(f"{wheel.name}: nothing in it links libc.so.6 dynamically (static glibc?)")
    found = [
        re.fullmatch(r"GLIBC_(\d+)\.(\d+)(?:\.\d+)?", v)
        for vs in symbols.values()
        for v in vs
    ]
    newest = max(((int(m[1]), int(m[2])) for m in found if m), default=(0, 0))
    return WheelInfo(wheel, newest)


def distros(glibc: tuple[int, int]) -> str:
    """The first release of each distro whose glibc is new enough."""
    covered = []
    for distro, releases in DISTRO_GLIBC.items():
        first = next((rel for rel, have in releases if have >= glibc), None)
        if first is not None:
            covered.append(f"{distro} {first}+")
    return ", ".join(covered)


def report_key(info: WheelInfo) -> tuple[str, tuple[int, int, int]]:
    """Architecture, then CPython version: cp39 before cp310, cp314 before cp314t."""
    python_tag, abi_tag = info.path.stem.split("-")[-3:-1]
    version = f"3.{python_tag[3:]}" + ("t" if abi_tag.endswith("t") else "")
    return info.path.stem.rsplit("_", 1)[-1], version_key(version)


def report(infos: list[WheelInfo]) -> str:
    """The table printed after a run, within REPORT_WIDTH columns; wide cells wrap."""
    rows = [("wheel", "newest glibc", "size", "installs on")]
    for info in sorted(infos, key=report_key):
        python_tag, abi_tag, platforms = info.path.stem.split("-")[-3:]
        plats = platforms.split(".")
        lowest = min(plats, key=lambda p: tag_glibc(p) or (99, 0))
        baseline = tag_glibc(lowest) or (0, 0)
        tag = f"{python_tag}-{abi_tag}-{lowest.replace('manylinux2014', 'manylinux_2_17')}"
        needs = "GLIBC_{}.{}".format(*info.glibc) if info.glibc > (0, 0) else "-"
        size = f"{info.path.stat().st_size / 1024:.0f} KiB"
        rows.append((tag, needs, size, distros(baseline)))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    last = REPORT_WIDTH - sum(widths) - 2 * len(widths)
    lines = []
    for row in rows:
        head = "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=False)) + "  "
        # Wrapped between releases only: no-break spaces within "RHEL/Alma/Rocky 8+".
        cell = (
            row[3]
            .replace(" ", "\N{NO-BREAK SPACE}")
            .replace(",\N{NO-BREAK SPACE}", ", ")
        )
        wrapped = [
            w.replace("\N{NO-BREAK SPACE}", " ") for w in textwrap.wrap(cell, last)
        ]
        lines += [
            head + (wrapped or [""])[0],
            *(" " * len(head) + w for w in wrapped[1:]),
        ]
    lines.insert(1, "-" * max(map(len, lines)))
    lines += [
        "",
        "In wheelhouse/:",
        *(i.path.name for i in sorted(infos, key=report_key)),
    ]
    return "\n".join(lines)
