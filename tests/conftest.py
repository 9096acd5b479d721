"""Shared helpers: render the template with copier, run commands, find CPythons."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS: dict[str, Any] = {
    key: value
    for key, value in yaml.safe_load((ROOT / "copier.yml").read_text()).items()
    if not key.startswith("_")
}
DEFAULT_DATA = {"project_name": "Fast Stats"}


def render(dest: Path, **data: Any) -> Path:
    """Render the template's working tree (HEAD plus uncommitted changes) into dest."""
    copier.run_copy(
        str(ROOT),
        dest,
        data={**DEFAULT_DATA, **data},
        defaults=True,
        unsafe=False,
        quiet=True,
        vcs_ref="HEAD",
    )
    return dest


def run(*args: str | Path, cwd: Path | None = None, **kwargs: Any) -> str:
    """Run a command; on failure show its whole output in the test report."""
    proc = subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=False,
        **kwargs,
    )
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {proc.returncode}:\n{proc.stdout}"
        )
    return proc.stdout


def tool(name: str) -> str:
    """A console script installed next to this interpreter, else one on PATH."""
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    assert found, (
        f"{name} is not installed; the template's test dependencies provide it"
    )
    return found
