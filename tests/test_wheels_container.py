"""Slow: `nox -s wheels -- --backend container` under podman, in a local manylinux-like image.

The official images cannot be pulled here, so tests/manylinux_image.py builds a stand-in with
their layout (CPythons under /opt/python, auditwheel on PATH) from Debian 11. Its glibc 2.31
lies above manylinux_2_28, so the project is rendered for manylinux_2_34.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from conftest import local_manylinux_image, render, run, tool
from manylinux_image import PYTHON_VERSION, podman_env

pytestmark = pytest.mark.slow

TAG = "cp" + PYTHON_VERSION.replace(".", "")


@pytest.fixture(scope="session")
def container_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    image = local_manylinux_image(
        Path(request.config.cache.mkdir("fce-manylinux-image"))
    )
    root = render(
        tmp_path_factory.mktemp("container") / "fast-stats",
        manylinux="manylinux_2_34",
        python_min=PYTHON_VERSION,  # the one CPython of the image
    )
    proc = subprocess.run(
        [
            tool("nox"), "-s", "wheels", "--", "--backend", "container", "--engine", "podman",
            "--image", image, "--engine-arg=--network=none",
        ],
        cwd=root, env=podman_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout
    return root, proc.stdout


def test_container_backend_builds_repairs_and_tests(
    container_run: tuple[Path, str],
) -> None:
    root, output = container_run
    assert "Backend: container (podman works)" in output
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    assert wheel.name.startswith(f"fast_stats-0.1.0-{TAG}-{TAG}-")
    assert "manylinux_2_34_x86_64" in wheel.stem.split("-")[-1].split(".")
    # Built, repaired and tested inside the image, against the installed wheel:
    assert (
        f"--> auditwheel repair fast_stats-0.1.0-{TAG}-{TAG}-linux_x86_64.whl" in output
    )
    assert re.search(rf"--> test {re.escape(wheel.name)}\n\s+=+ \d+ passed", output)
    # CPythons the image lacks are skipped with a message, not silently.
    assert "Skipping CPython 3.13: not in this image" in output
    assert "Skipping CPython 3.14t: not in this image" in output
    assert wheel.name in output.rsplit("installs on", 1)[1]  # the summary table


def test_container_wheel_verdict_and_ownership(container_run: tuple[Path, str]) -> None:
    root, _ = container_run
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    shown = run(tool("auditwheel"), "show", wheel)
    verdict = re.search(r'platform tag:\s*"manylinux_2_(\d+)_x86_64"', shown)
    assert verdict, shown
    assert int(verdict[1]) <= 34
    assert wheel.stat().st_uid == os.getuid()
    assert not (root / "build").exists()  # build trees stayed in the container
