"""Fast tier: the offline pre-commit store of tests/precommit_offline.py, without pip.

tests/test_ci_files.py runs pre-commit against it; these check its parts on their own.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sqlite3
import time
import zipfile
from pathlib import Path

import pytest
import yaml
from precommit_offline import STANDINS, repositories, seeded_store

RUFF = "https://github.com/astral-sh/ruff-pre-commit"
VPP = "https://github.com/abravalheri/validate-pyproject"
CONFIG = {
    "repos": [
        {"repo": RUFF, "rev": "v0.17.6", "hooks": [{"id": "ruff-check"}]},
        {
            "repo": VPP,
            "rev": "v0.27",
            "hooks": [
                {
                    "id": "validate-pyproject",
                    "additional_dependencies": ["validate-pyproject-schema-store[all]"],
                }
            ],
        },
    ]
}


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config of two repositories, one hook with additional_dependencies; a new cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = tmp_path / ".pre-commit-config.yaml"
    path.write_text(yaml.safe_dump(CONFIG), encoding="utf-8")
    return path


def store_rows(store: Path) -> dict[tuple[str, str], str]:
    """The store's table of repositories: {(repo, ref): path}."""
    with contextlib.closing(sqlite3.connect(store / "db.db")) as db:
        query = "SELECT repo, ref, path FROM repos"
        return {(repo, ref): path for repo, ref, path in db.execute(query)}


def test_store_has_a_row_for_each_lookup_pre_commit_makes(config: Path) -> None:
    store = seeded_store(config)
    rows = store_rows(store)
    # The hooks are read from (URL, rev); a hook with additional_dependencies is
    # installed in a checkout of its own, under "URL:deps" (pre-commit's db_repo_name).
    assert set(rows) == {
        (RUFF, "v0.17.6"),
        (VPP, "v0.27"),
        (f"{VPP}:validate-pyproject-schema-store[all]", "v0.27"),
    }
    manifest = yaml.safe_load(
        (Path(rows[RUFF, "v0.17.6"]) / ".pre-commit-hooks.yaml").read_text()
    )
    assert [h["id"] for h in manifest] == [h["id"] for h in STANDINS[RUFF][1]]
    assert all(h["language"] == "python" for h in manifest)
    assert seeded_store(config) == store  # seeded once, then found


def test_standin_builds_a_wheel_requiring_the_release_of_the_rev(
    config: Path, tmp_path: Path
) -> None:
    path = store_rows(seeded_store(config))[RUFF, "v0.17.6"]
    spec = importlib.util.spec_from_file_location(
        "standin_backend", Path(path) / "standin_backend.py"
    )
    assert spec is not None
    assert spec.loader is not None
    backend = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(backend)
    assert backend.get_requires_for_build_wheel() == []
    out = tmp_path / "dist"
    out.mkdir()
    wheel = backend.build_wheel(str(out))
    with zipfile.ZipFile(out / wheel) as zf:
        metadata = zf.read("precommit_offline_ruff-0.17.6.dist-info/METADATA").decode()
        assert "precommit_offline_ruff-0.17.6.dist-info/RECORD" in zf.namelist()
    assert "Requires-Dist: ruff==0.17.6\n" in metadata


def test_a_repository_without_a_stand_in_is_refused(tmp_path: Path) -> None:
    path = tmp_path / ".pre-commit-config.yaml"
    unknown = {"repo": "https://example.org/hooks", "rev": "v1", "hooks": [{"id": "x"}]}
    path.write_text(yaml.safe_dump({"repos": [unknown]}), encoding="utf-8")
    with pytest.raises(KeyError, match="has no stand-in"):
        repositories(path)


def test_seeding_a_new_store_deletes_the_stale_ones(config: Path) -> None:
    cache = Path(os.environ["XDG_CACHE_HOME"]) / "fast-cpp-extension-tests"
    cache.mkdir(parents=True)
    month_ago = time.time() - 30 * 86400
    for name, used in (("pre-commit-stale", month_ago), ("pre-commit-recent", None)):
        (cache / name).mkdir()
        (cache / f"{name}.lock").touch()
        if used:
            os.utime(cache / f"{name}.lock", (used, used))
    store = seeded_store(config)
    stores = sorted(p.name for p in cache.iterdir() if p.is_dir())
    assert stores == sorted([store.name, "pre-commit-recent"])
    assert not (cache / "pre-commit-stale.lock").exists()
