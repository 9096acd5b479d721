"""The container route: which engine works, the image, and cibuildwheel, which builds,
repairs and tests the wheel set of [tool.cibuildwheel] in the policy's manylinux image."""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from .common import PROJECT, WHEELHOUSE, WheelError, fail, install_once, run

# The engines cibuildwheel runs, in the order the auto route tries them.
ENGINES = ("docker", "podman")


def engine_name(engine: str) -> str:
    """The executable of cibuildwheel's container-engine: 'podman; create_args: ...' -> podman."""
    return engine.split(";", 1)[0].strip()


def engine_problem(executable: str) -> str | None:
    """Why a container engine does not work (not just a client on PATH), or None."""
    if shutil.which(executable) is None:
        return f"{executable} is not installed"
    try:
        proc = subprocess.run(
            [executable, "info"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"`{executable} info` did not answer within 60 s"
    if proc.returncode != 0:
        return f"`{executable} info` failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
    return None


def check_image(executable: str, image: str) -> None:
    """Have the image here before cibuildwheel starts, or say what else builds the wheels."""
    inspect = [executable, "image", "inspect", image]
    if subprocess.run(inspect, capture_output=True, check=False).returncode == 0:
        return
    try:
        run(f"{executable} pull {image}", [executable, "pull", image])
    except WheelError as err:
        err.step = f"{executable} cannot pull {image}; `--backend zig` builds the same wheels without a container"
        raise


def container_wheels(
    engine: str, image: str | None, pythons: tuple[str, ...], arches: tuple[str, ...]
) -> list[Path]:
    """cibuildwheel on the project: the wheel set and its tests come from [tool.cibuildwheel].

    engine is cibuildwheel's container-engine; image, if any, replaces the policy's
    official one; pythons, if any, are the only CPythons built (else requires-python's).
    """
    if arches != (platform.machine(),):
        fail(
            f"the container route builds for this machine's {platform.machine()} only; "
            "--backend zig cross-compiles for the others"
        )
    env = {**os.environ, "CIBW_CONTAINER_ENGINE": engine}
    if image:
        check_image(engine_name(engine), image)
        env["CIBW_MANYLINUX_X86_64_IMAGE"] = env["CIBW_MANYLINUX_AARCH64_IMAGE"] = image
    if pythons:
        env["CIBW_BUILD"] = " ".join(f"cp{v.replace('.', '')}-*" for v in pythons)
    pin = PROJECT / ".github" / "cibuildwheel" / "requirements.txt"
    install_once("cibuildwheel", "install cibuildwheel at CD's pin", "-r", str(pin))
    before = {w: w.stat() for w in WHEELHOUSE.glob("*.whl")}
    cmd = [sys.executable, "-m", "cibuildwheel", "--platform", "linux"]
    cmd += ["--output-dir", "wheelhouse", "."]
    print(f"--> {shlex.join(cmd)}", flush=True)
    # Streamed, not captured: a container build is long and its log is the progress report.
    if subprocess.run(cmd, cwd=PROJECT, env=env, check=False).returncode != 0:
        fail(
            "cibuildwheel failed (its log is above); if the image could not be pulled, "
            "`--backend zig` builds the same wheels without a container"
        )
    return [w for w in WHEELHOUSE.glob("*.whl") if before.get(w) != w.stat()]
