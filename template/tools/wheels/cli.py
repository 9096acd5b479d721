"""The command line, read once into typed Settings; the choice of route (container or
zig); and the run, from the static-glibc guard to the report."""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .checks import POLICY_GLIBC, check_wheel, guard_static_glibc, report
from .common import ARCHES, WHEELHOUSE, Tests, WheelError, fail, version_key
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


@dataclass(frozen=True)
class Settings:
    """The command line, typed: what the routes are given."""

    backend: str  # auto, container or zig
    engine: str | None
    image: str | None
    python: tuple[str, ...]  # the CPythons asked for; empty: every supported one
    supported: tuple[str, ...]
    arch: tuple[str, ...]
    policy: str
    tests: Tests


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
        metavar="ENGINE",
        help="cibuildwheel's container-engine, e.g. podman or 'podman; create_args: "
        "--network=host' (default: docker if it works, else podman)",
    )
    parser.add_argument(
        "--image",
        help="manylinux image for the container route (default: the policy's official one)",
    )
    parser.add_argument(
        "--python",
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
        type=Path,
        default=DEFAULT_CACHE,
        help="where the emulated root and its test wheels are kept (default: %(default)s)",
    )
    # Set by `nox -s wheels` from pyproject.toml: the policy, the CPythons and the tests.
    parser.add_argument("--policy", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--test-command", required=True, help=argparse.SUPPRESS)
    parser.add_argument("--supported", nargs="*", default=[], help=argparse.SUPPRESS)
    parser.add_argument(
        "--test-requires", nargs="*", default=[], help=argparse.SUPPRESS
    )
    return parser


def parse_args(argv: list[str]) -> Settings:
    """The settings of a run; a usage error (exit 2) for a CPython or policy it lacks."""
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
    return Settings(
        backend=str(args.backend),
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
    if settings.backend == "zig":
        print("Backend: zig (asked for)", flush=True)
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
    if settings.backend == "container":
        fail(
            "no working container engine (docker or podman): install and start one, or use --backend zig"
        )
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
