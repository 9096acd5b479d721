"""Slow tier: the README's quick start makes a project that `copier update` can later update."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT, git, recorded_answers, tool

pytestmark = pytest.mark.slow


def quick_start_copy_command() -> str:
    """The `copier copy ...` step of the README's quick-start command 1, as written there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("\n## Quick start\n", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```bash\n(.*?)```", quick_start, re.DOTALL)
    assert block, "the quick start has no bash block"
    steps = [
        step.strip()
        for line in block.group(1).splitlines()
        if not line.startswith("#")
        for step in line.split("&&")
    ]
    copies = [step for step in steps if re.match(r"(\S*/)?copier copy ", step)]
    assert len(copies) == 1, steps
    return copies[0]


def test_quick_start_project_can_be_updated(tmp_path: Path) -> None:
    command = quick_start_copy_command()
    # The README runs copier from a venv in the checkout; here it is the tests' copier.
    program, rest = command.split(" ", 1)
    assert program.endswith("copier"), command
    checkout = tmp_path / "checkout"
    # Without tags, `copier update` takes the newest commit, as the copy did (--vcs-ref HEAD).
    git("clone", "-q", "--no-tags", str(ROOT), str(checkout), cwd=tmp_path)
    destination = shlex.split(rest)[-1]
    assert not Path(destination).is_absolute(), command
    subprocess.run(
        ["bash", "-c", f"{shlex.quote(tool('copier'))} {rest}"],
        cwd=checkout,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    project = (checkout / destination).resolve()
    answers = recorded_answers(project)
    assert Path(answers["_src_path"]) == checkout

    git("init", "-q", "-b", "main", cwd=project)
    git("add", "-A", cwd=project)
    git("commit", "-q", "-m", "Start from the template", cwd=project)
    proc = subprocess.run(
        [tool("copier"), "update", "--defaults"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not git("status", "--porcelain", cwd=project).strip()
