"""The command line: every option checked and typed once into Settings, the choice of
route (container or zig), and the run from the static-glibc guard to the report."""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .checks import POLICY_GLIBC, check_wheel, guard_static_glibc, report
from .common import (
    ARCHES,
    WHEELHOUSE,
    Tests,
    WheelError,
    fail,
    version_key,
    zig_problem,
)
from .container import ENGINES, container_wheels, engine_name, engine_problem
from .zig import zig_wheels

DESCRIPTION = (
    "Build, repair, check and test manylinux wheels into wheelhouse/ "
    "(run by `nox -s wheels`)."
)
DEFAULT_CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "cpp-extension-wheels"
)
# The options only one route uses: with another --backend they are an error, and under
# --backend auto they choose their route.
ROUTE_OPTIONS = {"engine": "container", "image": "container", "cache": "zig"}


@dataclass(frozen=True)
class Settings:
    """The command line, checked: what the routes are given."""

    backend: str  # auto, or the route: asked for, or chosen by one of its options
    chosen_by: str | None  # that option (--image, ...), if one chose the route
    engine: str | None
    image: str | None
    python: tuple[str, ...]  # the CPythons asked for; empty: every supported one
    supported: tuple[str, ...]
    arch: tuple[str, ...]
    policy: str
    tests: Tests


def as_cpython(text: str) -> str:
    """An X.Y (or free-threaded X.Yt) CPython version, or a usage error."""
    if not re.fullmatch(r"\d+\.\d+t?", text):
        msg = f"{text!r} is not a CPython version: X.Y, or X.Yt if free-threaded (e.g. 3.14t)"
        raise argparse.ArgumentTypeError(msg)
    return text


def as_engine(text: str) -> str:
    """cibuildwheel's container-engine: docker or podman, and its options after ';'."""
    if engine_name(text) not in ENGINES:
        msg = f"{text!r} is not docker or podman (options follow ';', e.g. 'podman; create_args: ...')"
        raise argparse.ArgumentTypeError(msg)
    return text


def as_text(text: str) -> str:
    """Any text but an empty one."""
    if not text.strip():
        msg = "must not be empty"
        raise argparse.ArgumentTypeError(msg)
    return text


def as_folder(text: str) -> Path:
    return Path(as_text(text))


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nox -s wheels --", description=DESCRIPTION)
    parser.add_argument(
        "--backend",
        choices=["auto", "container", "zig"],
        default="auto",
        help="container: cibuildwheel in docker or podman; zig: no container; auto (default): "
        "container if an engine works, else zig",
    )
    parser.add_argument(
        "--engine",
        type=as_engine,
        metavar="ENGINE",
        help="cibuildwheel's container-engine, e.g. podman or 'podman; create_args: "
        "--network=host' (default: docker if it works, else podman)",
    )
    parser.add_argument(
        "--image",
        type=as_text,
        help="manylinux image for the container route (default: the policy's official one)",
    )
    parser.add_argument(
        "--python",
        type=as_cpython,
        nargs="+",
        metavar="X.Y",
        help="only these CPythons, e.g. 3.12 3.14t (default: all supported)",
    )
    parser.add_argument(
        "--arch",
        nargs="+",
        choices=ARCHES,
        default=[platform.machine()],
        help="wheel architectures (default: this machine's); another one is cross-compiled "
        "with zig and tested under qemu-user",
    )
    parser.add_argument(
        "--cache",
        type=as_folder,
        default=DEFAULT_CACHE,
        help="where zig, the emulated root and its test wheels are kept (default: %(default)s)",
    )
    # Set by `nox -s wheels` from pyproject.toml: the policy, the CPythons and the tests.
    parser.add_argument("--policy", required=True, help=argparse.SUPPRESS)
    parser.add_argument(
        "--test-command", type=as_text, required=True, help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--supported", type=as_cpython, nargs="*", default=[], help=argparse.SUPPRESS
    )
    parser.add_argument(
        "--test-requires", nargs="*", default=[], help=argparse.SUPPRESS
    )
    return parser


def parse_args(argv: list[str]) -> Settings:
    """The settings of a run; a usage error (exit 2) for anything the run cannot use."""
    cli = make_parser()
    args = cli.parse_args(argv)
    unknown = sorted(set(args.python or []) - set(args.supported), key=version_key)
    if unknown:
        cli.error(
            f"CPython {', '.join(unknown)} is not supported (supported: {' '.join(args.supported)})"
        )
    if args.policy not in POLICY_GLIBC:
        cli.error(
            f"unknown manylinux policy {args.policy!r} (known: {', '.join(POLICY_GLIBC)})"
        )
    given = [
        o for o in ROUTE_OPTIONS if getattr(args, o) not in (None, cli.get_default(o))
    ]
    for option in given:
        route = ROUTE_OPTIONS[option]
        if args.backend not in ("auto", route):
            cli.error(
                f"--{option} is for the {route} route: --backend {args.backend} has no use for it"
            )
        other = next((o for o in given if ROUTE_OPTIONS[o] != route), None)
        if other is not None:
            cli.error(
                f"--{option} is for the {route} route and --{other} for the "
                f"{ROUTE_OPTIONS[other]} route: give the options of one route only"
            )
    chosen_by = f"--{given[0]}" if given and args.backend == "auto" else None
    return Settings(
        backend=ROUTE_OPTIONS[given[0]] if chosen_by else str(args.backend),
        chosen_by=chosen_by,
        engine=args.engine,
        image=args.image,
        python=tuple(args.python or ()),
        supported=tuple(args.supported),
        arch=tuple(sorted(set(args.arch), key=ARCHES.index)),
        policy=str(args.policy),
        tests=Tests(str(args.test_command), tuple(args.test_requires), args.cache),
    )


def choose_route(settings: Settings) -> str | None:
    """The container engine to run cibuildwheel with, or None for the zig route."""
    no_zig = zig_problem()
    if settings.backend == "zig" and no_zig:
        fail(f"--backend zig: {no_zig}")
    if settings.backend == "zig":
        why = f"{settings.chosen_by} asks for it" if settings.chosen_by else "asked for"
        print(f"Backend: zig ({why})", flush=True)
        return None
    if settings.engine:  # named by the user: it works, or the run stops; no fall-back
        executable = engine_name(settings.engine)
        problem = engine_problem(executable)
        if problem:
            fail(
                f"--engine {settings.engine}: {problem}; start it, or build without a container: --backend zig"
            )
        print(f"Backend: container ({executable} works)", flush=True)
        return settings.engine
    for name in ENGINES:
        if engine_problem(name) is None:
            print(f"Backend: container ({name} works)", flush=True)
            return name
    if settings.chosen_by:  # --image: no silent zig build instead
        fail(
            f"no working container engine (docker or podman) for {settings.chosen_by}, "
            f"which is for the container route: install and start one, or build with zig "
            f"(--backend zig) without {settings.chosen_by}"
        )
    if settings.backend == "container" or no_zig:
        hint = no_zig or "install and start one, or use --backend zig"
        fail(f"no working container engine (docker or podman): {hint}")
    print("Backend: zig (no working docker or podman)", flush=True)
    return None


def main(argv: list[str]) -> int:
    settings = parse_args(argv)
    try:
        guard_static_glibc()
        engine = choose_route(settings)
        with tempfile.TemporaryDirectory(prefix="wheels-") as tmp:
            if engine is None:
                versions = settings.python or settings.supported
                built = zig_wheels(
                    settings.policy, versions, settings.arch, settings.tests, Path(tmp)
                )
            else:
                built = container_wheels(
                    engine, settings.image, settings.python, settings.arch
                )
            infos = [check_wheel(w, settings.policy) for w in built]
            if engine is None:
                # Only now, every wheel checked and tested, does anything reach wheelhouse/.
                WHEELHOUSE.mkdir(exist_ok=True)
                infos = [
                    i._replace(path=Path(shutil.copy2(i.path, WHEELHOUSE)))
                    for i in infos
                ]
        if not infos:
            fail("no wheel was built")
    except WheelError as err:
        if err.log:
            print(err.log, file=sys.stderr)
        print(f"error: {err.step}", file=sys.stderr)
        return 1
    print()
    print(report(infos))
    return 0
