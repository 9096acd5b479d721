"""Slow: `nox -s wheels -- --backend container` runs cibuildwheel under podman, here.

The generated project's own session runs cibuildwheel (at the release CD pins) on its own
[tool.cibuildwheel]; the test only supplies what this machine lacks:

- Image: the official ``quay.io/pypa/manylinux_*`` images cannot be pulled here, so
  tests/manylinux_image.py builds a stand-in for manylinux_2_34 (Debian 11 with its CPython
  3.9 as /opt/python/cp39-cp39, ``build``, auditwheel). The project is rendered with
  ``python_min=3.9`` and ``manylinux=manylinux_2_34``, and the session asked for
  ``--python 3.9``: one cp39 wheel. A nanobind split-mode project (#25) is built the same
  way on the image's other CPython, 3.11 (built from source there): one cp310-abi3 wheel.
- Index: cibuildwheel has no offline mode. Inside the container pip installs the build
  requirements (``python -m build``'s isolated environment), cibuildwheel's pinned
  ``virtualenv`` and the test requirements from an index. tests/local_index.py downloads
  those wheels on the host once (cached on the requirement set) and serves them as a PEP 503
  index on 127.0.0.1; the container shares the host's network (``podman; create_args:
  --network=host``), and ``CIBW_ENVIRONMENT_LINUX`` points its pip there alone
  (``PIP_CONFIG_FILE=/dev/null`` also hides the image's own offline ``/etc/pip.conf``). The
  host's pip, which installs cibuildwheel into the nox session, is left alone.
- Audit: cibuildwheel runs ``abi3audit`` on the host in a venv made with virtualenv's
  zipapp, which it would download from GitHub: its cache is given one built from PyPI.
- podman: ``CONTAINERS_CONF`` selects runc and drops the default ulimits
  (manylinux_image.podman_env()).
"""

from __future__ import annotations

import importlib.resources
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipapp
from pathlib import Path
from typing import Any

import local_index
import pytest
from conftest import (
    local_manylinux_image,
    passed_tests,
    render,
    run,
    tool,
    unavailable,
)
from manylinux_image import NEWER_PYTHON_VERSION, PLAT, PYTHON_VERSION, podman_env
from test_split_mode import RUNTIME_MARKER, extension

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

pytestmark = pytest.mark.slow

TAG = "cp" + PYTHON_VERSION.replace(".", "")
POLICY_GLIBC_MINOR = 34  # manylinux_2_34, the policy of the render and the image


def index_requirements(root: Path, python_version: str) -> tuple[list[str], str]:
    """What pip installs in the container, and cibuildwheel's constraints for it."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    groups = pyproject["dependency-groups"]
    tests = [
        r for g in pyproject["tool"]["cibuildwheel"]["test-groups"] for r in groups[g]
    ]
    assert all(isinstance(r, str) for r in tests), tests  # no include-group to resolve
    requirements = [
        *pyproject["build-system"]["requires"],
        *pyproject["project"]["dependencies"],
        *tests,
        # scikit-build-core asks for these when the image lacks them (it has no ninja).
        "cmake",
        "ninja",
        # cibuildwheel installs it (at its pin) to make the test venv.
        "virtualenv",
    ]
    constraints = importlib.resources.files("cibuildwheel").joinpath(
        f"resources/constraints-python{python_version.replace('.', '')}.txt"
    )
    return requirements, constraints.read_text()


def cibuildwheel_cache(cache_dir: Path) -> Path:
    """A CIBW_CACHE_PATH holding the virtualenv zipapp that cibuildwheel pins.

    cibuildwheel makes the venv of its abi3audit check on the host with that zipapp, which
    it downloads from GitHub (unreachable here) unless its cache has the file already (the
    hash is checked on download only). It is built here from the same virtualenv release
    on PyPI.
    """
    pins = importlib.resources.files("cibuildwheel").joinpath(
        "resources/virtualenv.toml"
    )
    version = tomllib.loads(pins.read_text())["default"]["version"]
    cache = cache_dir / f"cibuildwheel-virtualenv-{version}"
    app = cache / f"virtualenv-{version}.pyz"
    if not app.is_file():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory() as tmp:
            target = Path(tmp) / "app"
            run(sys.executable, "-m", "pip", "install", "-q", "--target", target,
                f"virtualenv=={version}", "typing-extensions")  # fmt: skip
            partial = Path(tmp) / app.name
            zipapp.create_archive(
                target, partial, main="virtualenv.__main__:run_with_catch"
            )
            shutil.move(partial, app)
    return cache


def cibuildwheel_in_image(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    python_version: str,
    **answers: str | bool,
) -> tuple[Path, str]:
    """A project rendered for manylinux_2_34, the image's policy, and its `nox -s wheels --
    --backend container` in the stand-in image for one of the image's CPythons, with the
    wheels pip needs there served from the host: the project and the session's output."""
    root = render(
        tmp_path_factory.mktemp("container") / "fast-stats",
        manylinux="manylinux_2_34",
        **answers,
    )
    image = local_manylinux_image(
        Path(request.config.cache.mkdir("fce-manylinux-image"))
    )
    requirements, constraints = index_requirements(root, python_version)
    # pip download runs under the container's CPython version (see local_index.download).
    # A pyenv shim may be on PATH without its version selected: ask it to run.
    probe = [f"python{python_version}", "-m", "pip", "--version"]
    if (
        shutil.which(probe[0]) is None
        or subprocess.run(probe, capture_output=True, check=False).returncode != 0
    ):
        unavailable(
            f"python{python_version} with pip is needed to download the index's wheels"
        )
    index = local_index.download(
        Path(request.config.cache.mkdir("fce-cibuildwheel-index")),
        requirements,
        python_version=python_version,
        constraints=constraints,
    )
    with local_index.serve(index) as url:
        env = {
            **podman_env(),
            "CIBW_ENVIRONMENT_LINUX": f"PIP_CONFIG_FILE=/dev/null PIP_INDEX_URL={url}",
            # cibuildwheel pins its audit venv's packages to its constraints, whose certifi
            # release the registry here may not have yet; unpinned, it takes the newest.
            "CIBW_AUDIT_REQUIRES": "abi3audit>=0",
            "CIBW_CACHE_PATH": str(
                cibuildwheel_cache(Path(request.config.cache.mkdir("fce-cibuildwheel")))
            ),
        }
        proc = subprocess.run(
            [
                tool("nox"), "-s", "wheels", "--", "--backend", "container",
                "--engine", "podman; create_args: --network=host",
                "--image", image, "--python", python_version,
            ],
            cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False,
        )  # fmt: skip
    assert proc.returncode == 0, proc.stdout
    return root, proc.stdout


@pytest.fixture(scope="session")
def container_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """The default project on the image's CPython 3.9: one cp39 wheel."""
    return cibuildwheel_in_image(
        request, tmp_path_factory, PYTHON_VERSION, python_min=PYTHON_VERSION
    )


def test_cibuildwheel_builds_repairs_and_tests_in_the_image(
    container_run: tuple[Path, str],
) -> None:
    root, output = container_run
    assert "Backend: container (podman works)" in output
    assert "-m cibuildwheel --platform linux --output-dir wheelhouse" in output
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    assert wheel.name.startswith(f"fast_stats-0.1.0-{TAG}-{TAG}-")
    assert PLAT in wheel.stem.split("-")[-1].split(".")  # the image's AUDITWHEEL_PLAT
    # cibuildwheel's own steps, in the image, with the packages from the local index:
    assert "Starting container image localhost/fce-manylinux-test:" in output
    assert "auditwheel repair -w /tmp/cibuildwheel/repaired_wheel" in output
    assert "Looking in indexes: http://127.0.0.1:" in output
    # The project's tests ran in the container's CPython 3.9 against the installed wheel.
    tests = output.split("Testing wheel...", 1)[1]
    assert "+ sh -c 'pytest /project/tests'" in tests
    assert re.search(r"platform linux -- Python 3\.9\.\d+", tests)
    assert passed_tests(tests) >= 70


def test_report_table_lists_the_wheel(container_run: tuple[Path, str]) -> None:
    root, output = container_run
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    table = output.rsplit("installs on", 1)[1]
    lowest = min(
        wheel.stem.split("-")[-1].split("."),
        key=lambda tag: int(re.fullmatch(r"manylinux_2_(\d+)_x86_64", tag)[1]),  # type: ignore[index]
    )
    lines = table.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"{TAG}-{TAG}-"))
    row = lines[start]
    assert row.startswith(f"{TAG}-{TAG}-{lowest}  ")
    assert re.search(r"  GLIBC_2\.\d+  +\d+ KiB  ", row)
    # The distros cell may wrap onto indented lines.
    cell = [
        row,
        *itertools.takewhile(lambda line: line.startswith(" "), lines[start + 1 :]),
    ]
    assert "Debian" in " ".join(cell)
    assert wheel.name in table


def auditwheel_show(wheel: Path) -> dict[str, Any]:
    """`auditwheel show --json`, having checked that it fits the image's policy."""
    shown: dict[str, Any] = json.loads(
        subprocess.run(
            [tool("auditwheel"), "show", "--json", str(wheel)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    verdict = re.fullmatch(r"manylinux_2_(\d+)_x86_64", shown["overall_tag"])
    assert verdict, shown["overall_tag"]
    assert int(verdict[1]) <= POLICY_GLIBC_MINOR
    return shown


def test_wheel_auditwheel_verdict_and_ownership(
    container_run: tuple[Path, str],
) -> None:
    root, _ = container_run
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    shown = auditwheel_show(wheel)
    assert "libc.so.6" in shown["versioned_symbols"]  # glibc linked dynamically
    assert wheel.stat().st_uid == os.getuid()
    assert not (root / "build").exists()  # cibuildwheel built a copy in the container


@pytest.fixture(scope="session")
def split_run(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, str]:
    """nanobind's split mode (#25) on the image's CPython 3.11: one cp310-abi3 wheel."""
    return cibuildwheel_in_image(
        request, tmp_path_factory, NEWER_PYTHON_VERSION,
        python_min="3.10", bindings="nanobind", stable_abi=True, split_mode=True,
    )  # fmt: skip


def test_split_mode_makes_one_repaired_abi3_wheel_audited_and_tested(
    split_run: tuple[Path, str],
) -> None:
    root, output = split_run
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    assert wheel.name.startswith("fast_stats-0.1.0-cp310-abi3-"), wheel.name
    assert PLAT in wheel.stem.split("-")[-1].split(".")
    assert "auditwheel repair -w /tmp/cibuildwheel/repaired_wheel" in output
    assert (
        "cp310-abi3 (x86_64) serves every CPython from 3.10 on, except the free-threaded "
        "ones; nanobind's runtime comes from nanobind-backend, which pip installs with it"
    ) in " ".join(output.rsplit("installs on", 1)[1].split())
    # cibuildwheel's own audit of abi3 wheels (its default audit-command).
    assert re.search(
        r"Running audit command: abi3audit --strict --report \S+abi3", output
    )
    # The project's tests, in the container's CPython 3.11, with nanobind's backend
    # installed from the index as the wheel's one compiled dependency.
    tests = output.split("Testing wheel...", 1)[1]
    assert re.search(r"Successfully installed .*nanobind[-_]backend-\d", tests)
    assert re.search(r"platform linux -- Python 3\.11\.\d+", tests)
    assert passed_tests(tests) >= 70


def test_split_mode_wheel_is_clean_abi3_without_nanobinds_runtime(
    split_run: tuple[Path, str],
) -> None:
    root, _ = split_run
    (wheel,) = (root / "wheelhouse").glob("*.whl")
    run(tool("abi3audit"), "--strict", "--summary", wheel)
    assert RUNTIME_MARKER not in extension(wheel)
    auditwheel_show(wheel)
