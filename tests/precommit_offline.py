"""Run a generated project's real pre-commit hooks without reaching GitHub.

pre-commit looks each hook repository of `.pre-commit-config.yaml` up in its store before
cloning it: `Store._new_repo` (pre_commit/store.py) selects the path of (repo URL, rev)
from the table `repos` of `$PRE_COMMIT_HOME/db.db` and clones only when no row is found.
`offline_env()` seeds such a store with one row per repository of the config, each
pointing at a local stand-in written here: a `.pre-commit-hooks.yaml` with the hooks the
project uses (same ids, entries and file filters as upstream's) and a package whose only
content is a dependency on the PyPI release of the tool at the config's rev (ruff-pre-commit
v0.17.6 stands in as `ruff==0.17.6`). pre-commit then installs each hook's environment
itself (virtualenv, then `pip install .` and the config's additional_dependencies), from
PyPI, and runs the hooks as it would on a developer's machine. The config is not changed.

The store is kept across runs under `${XDG_CACHE_HOME:-~/.cache}/fast-cpp-extension-tests/`,
named by a hash of the config's repositories, revs and additional_dependencies and of the
stand-ins' definitions: a new rev, or a change to the stand-ins, makes a new store, and
stores unused for two weeks are deleted. docs/maintainers.md says how to add a repository
or a hook.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import shutil
import textwrap
import time
from pathlib import Path
from typing import Any

import yaml
from debian_testing import cache_dir
from pre_commit.store import Store

# The file types of upstream's clang-format hook (the template's config narrows them).
CLANG_FORMAT_TYPES = (
    "c++ c c# cuda java javascript json metal objective-c proto textproto"
)
# Each hook repository the template's config names: the PyPI distribution that its revs
# are releases of, and the hooks it defines (upstream's ids, entries, args and filters;
# only those the template uses). pre-commit refuses a hook id missing here.
STANDINS: dict[str, tuple[str, list[dict[str, Any]]]] = {
    "https://github.com/pre-commit/pre-commit-hooks": (
        "pre-commit-hooks",
        [
            {"id": "check-added-large-files", "name": "check for added large files"},
            {"id": "check-case-conflict", "name": "check for case conflicts"},
            {
                "id": "check-merge-conflict",
                "name": "check for merge conflicts",
                "types": ["text"],
            },
            {"id": "check-toml", "name": "check toml", "types": ["toml"]},
            {"id": "check-yaml", "name": "check yaml", "types": ["yaml"]},
            {
                "id": "end-of-file-fixer",
                "name": "fix end of files",
                "types": ["text"],
            },
            {"id": "mixed-line-ending", "name": "mixed line ending", "types": ["text"]},
            {
                "id": "trailing-whitespace",
                "name": "trim trailing whitespace",
                "entry": "trailing-whitespace-fixer",
                "types": ["text"],
            },
        ],
    ),
    "https://github.com/astral-sh/ruff-pre-commit": (
        "ruff",
        [
            {
                "id": f"ruff-{command}",
                "name": f"ruff {command}",
                "entry": f"ruff {command} --force-exclude",
                "types_or": ["python", "pyi", "jupyter"],
                "require_serial": True,
            }
            for command in ("check", "format")
        ],
    ),
    "https://github.com/pre-commit/mirrors-clang-format": (
        "clang-format",
        [
            {
                "id": "clang-format",
                "entry": "clang-format -i",
                "args": ["-style=file"],
                "types_or": CLANG_FORMAT_TYPES.split(),
            },
        ],
    ),
    "https://github.com/hukkin/mdformat": (
        "mdformat",
        [{"id": "mdformat", "types": ["markdown"]}],
    ),
    "https://github.com/codespell-project/codespell": (
        "codespell",
        [{"id": "codespell", "types": ["text"]}],
    ),
    "https://github.com/abravalheri/validate-pyproject": (
        "validate-pyproject",
        [
            {
                "id": "validate-pyproject",
                "name": "Validate pyproject.toml",
                "files": "^pyproject.toml$",
            },
        ],
    ),
    "https://github.com/python-jsonschema/check-jsonschema": (
        "check-jsonschema",
        [
            {
                "id": "check-dependabot",
                "name": "Validate Dependabot Config (v2)",
                "entry": "check-jsonschema --builtin-schema vendor.dependabot",
                "files": r"^\.github/dependabot\.(yml|yaml)$",
                "types": ["yaml"],
            },
            {
                "id": "check-github-workflows",
                "name": "Validate GitHub Workflows",
                "entry": "check-jsonschema --builtin-schema vendor.github-workflows",
                "files": r"^\.github/workflows/[^/]+$",
                "types": ["yaml"],
            },
        ],
    ),
    "https://github.com/zizmorcore/zizmor-pre-commit": (
        "zizmor",
        [
            {
                "id": "zizmor",
                "args": ["--no-progress"],
                "files": r"(\.github/(workflows/.*|dependabot.ya?ml))|(action\.ya?ml)$",
                "types": ["yaml"],
                "require_serial": True,
            },
        ],
    ),
}

# The stand-in's build backend (PEP 517, in the stand-in itself): a wheel of metadata
# alone, which requires the tool. No setuptools to fetch for each hook environment.
BACKEND = '''\
"""Build a wheel that holds only metadata: the stand-in's requirement on the tool."""

import base64, hashlib, os, zipfile

NAME, VERSION, REQUIRES = {name!r}, {version!r}, {requires!r}
DIST_INFO = f"{{NAME.replace('-', '_')}}-{{VERSION}}.dist-info"


def get_requires_for_build_wheel(config_settings=None):
    return []


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = {{
        f"{{DIST_INFO}}/METADATA": f"Metadata-Version: 2.1\\nName: {{NAME}}\\n"
        f"Version: {{VERSION}}\\nRequires-Dist: {{REQUIRES}}\\n",
        f"{{DIST_INFO}}/WHEEL": "Wheel-Version: 1.0\\nGenerator: precommit_offline\\n"
        "Root-Is-Purelib: true\\nTag: py3-none-any\\n",
    }}
    record = []
    for path, text in files.items():
        digest = hashlib.sha256(text.encode()).digest()
        b64 = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        record.append(f"{{path}},sha256={{b64}},{{len(text.encode())}}")
    files[f"{{DIST_INFO}}/RECORD"] = "\\n".join([*record, f"{{DIST_INFO}}/RECORD,,"]) + "\\n"
    wheel = f"{{NAME.replace('-', '_')}}-{{VERSION}}-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, wheel), "w") as zf:
        for path, text in files.items():
            zf.writestr(path, text)
    return wheel
'''


def repositories(config: Path) -> list[tuple[str, str, tuple[str, ...]]]:
    """(repo URL, rev, additional_dependencies) for each store row pre-commit will ask for.

    pre-commit reads the hooks from (repo, rev) and installs each hook in the checkout of
    (repo, rev, its additional_dependencies): a row and a directory of their own.
    """
    rows: list[tuple[str, str, tuple[str, ...]]] = []
    for repo in yaml.safe_load(config.read_text(encoding="utf-8"))["repos"]:
        if repo["repo"] not in STANDINS:
            msg = f"{repo['repo']} has no stand-in: add it to STANDINS in {__file__}"
            raise KeyError(msg)
        hook_deps = [tuple(h.get("additional_dependencies", ())) for h in repo["hooks"]]
        for deps in [(), *hook_deps]:
            if (repo["repo"], repo["rev"], deps) not in rows:
                rows.append((repo["repo"], repo["rev"], deps))
    return rows


def write_standin(directory: Path, url: str, rev: str) -> None:
    """A hook repository for url at rev: its hooks, and a package requiring the tool."""
    distribution, hooks = STANDINS[url]
    version = rev.removeprefix("v")  # tags are the tool's releases: v0.17.6 is 0.17.6
    manifest = [
        {"name": h["id"], "entry": h["id"], "language": "python", **h} for h in hooks
    ]
    (directory / ".pre-commit-hooks.yaml").write_text(
        yaml.safe_dump(manifest, sort_keys=False), encoding="utf-8"
    )
    name = f"precommit-offline-{distribution}"
    (directory / "pyproject.toml").write_text(
        textwrap.dedent("""\
            [build-system]
            requires = []
            build-backend = "standin_backend"
            backend-path = ["."]
        """),
        encoding="utf-8",
    )
    backend = BACKEND.format(
        name=name, version=version, requires=f"{distribution}=={version}"
    )
    (directory / "standin_backend.py").write_text(backend, encoding="utf-8")


def seeded_store(config: Path) -> Path:
    """The pre-commit store whose rows are the stand-ins of config's hook repositories."""
    rows = repositories(config)
    key = hashlib.sha256(json.dumps([rows, STANDINS, BACKEND]).encode()).digest()
    store = cache_dir() / f"pre-commit-{base64.b32encode(key[:10]).decode().lower()}"
    store.parent.mkdir(parents=True, exist_ok=True)
    complete = store / ".precommit-offline-complete"
    # One seeder at a time, across processes; the rows hold the stand-ins' absolute paths,
    # so the store is written in place, and counts only once marked complete. The lock
    # file's mtime says when the store was last used, for prune_stores().
    lock_path = store.parent / f"{store.name}.lock"
    with lock_path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        os.utime(lock_path)
        if not complete.exists():
            shutil.rmtree(store, ignore_errors=True)
            Store(str(store))  # pre-commit's own code makes db.db with its tables
            with Store(str(store)).connect() as db:
                for index, (url, rev, deps) in enumerate(rows):
                    directory = store / f"standin{index}"
                    directory.mkdir()
                    write_standin(directory, url, rev)
                    db.execute(
                        "INSERT INTO repos (repo, ref, path) VALUES (?, ?, ?)",
                        [Store.db_repo_name(url, deps), rev, str(directory)],
                    )
            complete.touch()
            prune_stores(keep=store)
    return store


def prune_stores(keep: Path, days: float = 14) -> None:
    """Delete the stores no run has used for days (about 170 MB each: each rev bump of
    the config makes a new one)."""
    for lock_path in keep.parent.glob("pre-commit-*.lock"):
        store = lock_path.with_suffix("")
        if store == keep or time.time() - lock_path.stat().st_mtime < days * 86400:
            continue
        with lock_path.open("a") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:  # in use after all
                continue
            shutil.rmtree(store, ignore_errors=True)
            lock_path.unlink()


def offline_env(project: Path) -> dict[str, str]:
    """The environment in which `pre-commit run` in project needs no GitHub.

    Its hook environments are installed, from PyPI, by the first run that needs them, and
    kept in the store for every later test and run.
    """
    store = seeded_store(project / ".pre-commit-config.yaml")
    # zizmor's online audits would ask GitHub's API; here none can run.
    return {**os.environ, "PRE_COMMIT_HOME": str(store), "ZIZMOR_OFFLINE": "true"}
