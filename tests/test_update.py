"""`copier update`: template releases reach generated projects without losing user work.

Most tests run on a temporary git copy of the template's working tree, released with
tags made here (v1.0.0, v2.0.0, ...), so that they can make real template changes
between releases. Each renders and updates a few times in git (seconds), so the whole
file is in the slow tier.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from conftest import (
    DEFAULT_DATA,
    ROOT,
    append,
    edit,
    git,
    recorded_answers,
    render,
    run,
    tool,
)
from copier.errors import UnsafeTemplateError
from packaging.version import Version
from precommit_offline import offline_env

pytestmark = pytest.mark.slow

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CONFLICT_START, CONFLICT_END = "<<<<<<< before updating", ">>>>>>> after updating"
CONFLICT_MARKERS = re.compile(r"^(<{7}|>{7}) ", re.MULTILINE)
MODULE = "fast_stats"  # the module name DEFAULT_DATA gives

# What "the user" adds to a generated project: a function, a test, files of their own.
USER_FUNCTION = '''

def norm(x: list[float]) -> float:
    """Return the Euclidean norm of ``x`` (the project's own addition)."""
    return float(dot(x, x) ** 0.5)
'''
USER_TEST = f'''"""Tests of the project's own additions to the template."""

from __future__ import annotations

import numpy as np

import {MODULE} as m


def test_norm_matches_numpy() -> None:
    x = [float(v) for v in range(10)]
    assert np.isclose(m.norm(x), np.linalg.norm(x))
'''
USER_SECTION = (
    "\n## Benchmarks (ours)\n\nOur own notes on speed, kept across updates.\n"
)
USER_FILES = {
    f"tests/test_{MODULE}_norm.py": USER_TEST,
    "src/core/extra.hpp": "#pragma once\n// The project's own header.\n",
    "docs/notes.md": "# Notes\n\nThe project's own documentation.\n",
}


def commit_all(repo: Path, message: str) -> None:
    git("add", "-A", cwd=repo)
    git("commit", "-q", "--allow-empty", "-m", message, cwd=repo)


def release(repo: Path, tag: str) -> None:
    """Commit every change in the template copy and tag it as a release."""
    commit_all(repo, f"Release {tag}")
    git("tag", tag, cwd=repo)


def files(root: Path) -> dict[str, bytes]:
    """Every file under root except git's own, by relative path."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and ".git" not in path.relative_to(root).parts
    }


def status(project: Path) -> list[str]:
    return git(
        "status", "--porcelain", "--untracked-files=all", cwd=project
    ).splitlines()


def set_migrations(template: Path, migrations: list[dict[str, Any]]) -> None:
    """Replace the `_migrations` list of the template copy's copier.yml."""
    config = template / "copier.yml"
    text = re.sub(
        r"^_migrations:.*?(?=^\S|\Z)",
        "",
        config.read_text(encoding="utf-8"),
        flags=re.MULTILINE | re.DOTALL,
    )
    block = yaml.safe_dump({"_migrations": migrations}, sort_keys=False)
    config.write_text(f"{text.rstrip()}\n\n{block}", encoding="utf-8")


@pytest.fixture
def template(tmp_path: Path) -> Path:
    """A git copy of the template's working tree (copier.yml, template/, legacy/), tagged
    v1.0.0.

    It takes what copier itself renders from a dirty checkout: tracked files and untracked
    ones that are not ignored.
    """
    repo = tmp_path / "template-repo"
    listed = run(
        "git",
        "ls-files",
        "-z",
        "--cached",
        "--others",
        "--exclude-standard",
        "--",
        "copier.yml",
        "template",
        "legacy",
        cwd=ROOT,
    )
    for name in filter(None, listed.split("\0")):
        source = ROOT / name
        if source.is_file():  # tracked files deleted in the working tree are skipped
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, repo / name)
    assert (repo / "copier.yml").is_file()
    git("init", "-q", "-b", "main", cwd=repo)
    release(repo, "v1.0.0")
    return repo


def generate(src: Path, dest: Path, vcs_ref: str, **data: Any) -> Path:
    """`copier copy` a release into dest, then commit it as the project's first commit."""
    copier.run_copy(
        str(src),
        dest,
        data={**DEFAULT_DATA, **data},
        defaults=True,
        unsafe=False,
        quiet=True,
        vcs_ref=vcs_ref,
    )
    git("init", "-q", "-b", "main", cwd=dest)
    commit_all(dest, "Start from the template")
    return dest


def update(project: Path, **kwargs: Any) -> None:
    """`copier update --defaults` (overwrite is what the CLI always does on update)."""
    options: dict[str, Any] = {"defaults": True, "overwrite": True, "unsafe": False}
    copier.run_update(project, quiet=True, **{**options, **kwargs})


def user_edits(project: Path) -> None:
    """Edit generated files and add files of the user's own, then commit."""
    append(project / "README.md", USER_SECTION)
    append(project / "src" / MODULE / "__init__.py", USER_FUNCTION)
    edit(project / ".gitignore", "# Python\n", "# Python\n/scratch/\n")
    for name, text in USER_FILES.items():
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        (project / name).write_text(text, encoding="utf-8")
    commit_all(project, "Our own work")


def test_update_brings_template_change_and_keeps_user_work(
    template: Path, tmp_path: Path
) -> None:
    project = generate(template, tmp_path / "fast-stats", "v1.0.0")
    recorded = recorded_answers(project)
    assert recorded["_commit"] == "v1.0.0"
    assert Path(recorded["_src_path"]) == template
    user_edits(project)
    edited = files(project)

    # Release v2.0.0 changes other parts of the files the user edited, and adds a file.
    edit(
        template / "template" / "README.md.jinja",
        "# {{ project_name }}\n",
        "# {{ project_name }}\n\nMade from the fast-cpp-extension template, v2.\n",
    )
    append(template / "template" / ".gitignore.jinja", "\n# Profiling\n*.prof\n")
    (template / "template" / "CONTRIBUTING.md.jinja").write_text(
        "# Contributing to {{ project_name }}\n", encoding="utf-8"
    )
    release(template, "v2.0.0")

    update(project)  # no vcs_ref: the newest release tag

    assert recorded_answers(project)["_commit"] == "v2.0.0"
    readme = (project / "README.md").read_text(encoding="utf-8")
    assert "Made from the fast-cpp-extension template, v2." in readme
    assert readme.endswith(USER_SECTION)
    gitignore = (project / ".gitignore").read_text(encoding="utf-8")
    assert "/scratch/\n" in gitignore
    assert gitignore.endswith("# Profiling\n*.prof\n")
    assert (project / "CONTRIBUTING.md").read_text() == "# Contributing to Fast Stats\n"
    init = (project / "src" / MODULE / "__init__.py").read_text(encoding="utf-8")
    assert init.encode() == edited[f"src/{MODULE}/__init__.py"]
    assert init.endswith(USER_FUNCTION)
    for name, text in USER_FILES.items():
        assert (project / name).read_text(encoding="utf-8") == text
    # Everything else is exactly what v2.0.0 renders, and nothing is left to resolve.
    fresh = files(generate(template, tmp_path / "fresh", "v2.0.0"))
    mine = {"README.md", ".gitignore", f"src/{MODULE}/__init__.py", *USER_FILES}
    updated = files(project)
    assert updated.keys() == fresh.keys() | USER_FILES.keys()
    for name, content in fresh.items():
        if name not in mine and name != ".copier-answers.yml":
            assert updated[name] == content, name
    assert not [n for n, c in updated.items() if CONFLICT_MARKERS.search(c.decode())]
    assert sorted(status(project)) == [
        " M .copier-answers.yml",
        " M .gitignore",
        " M README.md",
        "?? CONTRIBUTING.md",
    ]


@pytest.mark.parametrize("conflict", ["inline", "rej"])
def test_conflicting_edit_keeps_both_sides(
    template: Path, tmp_path: Path, conflict: str
) -> None:
    project = generate(template, tmp_path / "fast-stats", "v1.0.0")
    ours, theirs = "# Fast Stats: our title", "# Fast Stats (from the template, v2)"
    edit(project / "README.md", "# Fast Stats\n", f"{ours}\n")
    commit_all(project, "Our title")
    edit(
        template / "template" / "README.md.jinja",
        "# {{ project_name }}\n",
        "# {{ project_name }} (from the template, v2)\n",
    )
    append(template / "template" / ".gitignore.jinja", "*.prof\n")
    release(template, "v2.0.0")

    update(project, conflict=conflict)

    assert recorded_answers(project)["_commit"] == "v2.0.0"
    assert (project / ".gitignore").read_text().endswith("*.prof\n")  # no conflict
    readme = (project / "README.md").read_text(encoding="utf-8")
    if conflict == "inline":
        assert (
            f"{CONFLICT_START}\n{ours}\n=======\n{theirs}\n{CONFLICT_END}\n" in readme
        )
        assert not list(project.rglob("*.rej"))
        # Marked unmerged in the index, so `git commit` refuses until it is resolved.
        unmerged = git("diff", "--name-only", "--diff-filter=U", cwd=project)
        assert unmerged.split() == ["README.md"]
    else:
        assert theirs in readme.splitlines()
        assert ours not in readme
        assert not CONFLICT_MARKERS.search(readme)
        rejected = (project / "README.md.rej").read_text(encoding="utf-8")
        assert f"+{ours}\n" in rejected.splitlines(keepends=True)
        assert sorted(p.name for p in project.rglob("*.rej")) == ["README.md.rej"]


def previous_release() -> tuple[str, Version]:
    """The real template's previous release: its tag, else its commit, else the root.

    `git describe HEAD^` finds the newest release tag before HEAD's commit whether or not
    HEAD itself is tagged. Tags do not reach every clone (CI's among them), so without
    one the release is found by CHANGELOG.md instead: the commit that added the newest
    `## [X.Y.Z]` heading, i.e. the release's own commit. Before the first release the
    oldest commit (the root, or a shallow clone's boundary) stands in: any commit is a
    state someone may have generated a project from, so the test never skips.
    """
    found = subprocess.run(
        ["git", "describe", "--tags", "--abbrev=0", "--match", "v[0-9]*", "HEAD^"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if found.returncode == 0:
        tag = found.stdout.strip()
        return tag, Version(tag)
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    released = re.search(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)
    if released:
        heading = f"## [{released[1]}]"
        commits = run(
            "git", "log", "--format=%H", "-S", heading, "--", "CHANGELOG.md", cwd=ROOT
        ).split()
        if commits:
            return commits[-1], Version(released[1])
    oldest = run("git", "rev-list", "--max-parents=0", "HEAD", cwd=ROOT).split()[-1]
    return oldest, Version("0.0.0")


def test_update_from_previous_release_to_head_renders_cleanly(tmp_path: Path) -> None:
    """An untouched project made from the previous release updates to HEAD's render."""
    ref, version = previous_release()
    config = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    crossed = [
        m
        for m in config.get("_migrations") or []
        if Version(str(m["version"])) > version
    ]
    project = generate(ROOT, tmp_path / "fast-stats", ref)
    old_commit = recorded_answers(project)["_commit"]

    # HEAD with uncommitted changes, as conftest.render and `copier copy --vcs-ref HEAD`.
    update(project, vcs_ref="HEAD", unsafe=bool(crossed))

    # Answers are kept: a fresh project with the same ones is what the update must give.
    # The layout too: a project made before 0.3.0 keeps src/cpp/ (cpp_layout: flat).
    kept = {k: recorded_answers(project)[k] for k in ("python_min", "cpp_layout")}
    fresh_project = render(tmp_path / "fresh", **kept)
    fresh, updated = files(fresh_project), files(project)
    assert updated.keys() == fresh.keys(), ref
    for name, content in fresh.items():
        if name != ".copier-answers.yml":
            assert updated[name] == content, (ref, name)
    new_answers, fresh_answers = (
        recorded_answers(project),
        recorded_answers(fresh_project),
    )
    assert new_answers["_commit"] != old_commit
    for recorded in (new_answers, fresh_answers):
        del recorded["_commit"]  # HEAD's uncommitted changes get a new commit each time
    assert new_answers == fresh_answers
    assert not list(project.rglob("*.rej"))


def test_update_keeps_python_min_and_grows_the_cpython_range(tmp_path: Path) -> None:
    """A project of the previous release keeps its python_min; its range grows to the newest."""
    ref, version = previous_release()
    assert version >= Version("0.2.0"), (ref, version)  # found even without git tags
    project = generate(ROOT, tmp_path / "fast-stats", ref, python_min="3.9")
    user_edits(project)
    update(project, vcs_ref="HEAD")
    assert recorded_answers(project)["python_min"] == "3.9"
    assert not list(project.rglob("*.rej"))
    assert not CONFLICT_MARKERS.search(
        "\n".join(t.decode(errors="replace") for t in files(project).values())
    )
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    newest = yaml.safe_load((ROOT / "copier.yml").read_text())["python_newest"][
        "default"
    ]
    classifiers = pyproject["project"]["classifiers"]
    assert f"Programming Language :: Python :: {newest}" in classifiers
    assert "Programming Language :: Python :: 3.9" in classifiers
    assert pyproject["project"]["requires-python"] == ">=3.9"
    # cibuildwheel now takes the CPythons, free-threaded ones included, from requires-python.
    assert "build" not in pyproject["tool"]["cibuildwheel"]
    ci = (project / ".github" / "workflows" / "ci.yml").read_text(encoding="utf-8")
    assert f'python-version: ["3.9", "{newest}", "3.14t"]' in ci
    # The user's work is still there.
    assert (
        (project / "src" / MODULE / "__init__.py").read_text().endswith(USER_FUNCTION)
    )
    for name, text in USER_FILES.items():
        assert (project / name).read_text(encoding="utf-8") == text


def before_folders(template: Path) -> None:
    """Make the template copy's HEAD the template as it was before 0.3.0: no cpp_layout
    question, and core and bindings both in src/cpp/ (what the flat layout renders)."""
    config_path = template / "copier.yml"
    config = yaml.safe_load(config_path.read_text(encoding="utf-8"))
    del config["cpp_layout"]
    config["core_folder"]["default"] = config["bindings_folder"]["default"] = "cpp"
    config["bindings_file"]["default"] = "bindings_{{ bindings }}.cpp"
    config_path.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")


KERNEL_EDIT = "\n// The project's own kernel notes.\n"


def test_project_made_before_the_folders_keeps_src_cpp_and_its_edits(
    template: Path, tmp_path: Path
) -> None:
    """An update moves no C++ file: copier would delete it with the user's edits."""
    before_folders(template)
    release(template, "v0.2.0")
    project = generate(template, tmp_path / "fast-stats", "v0.2.0")
    assert "cpp_layout" not in recorded_answers(project)
    append(project / "src" / "cpp" / "kernels.inl", KERNEL_EDIT)
    append(project / "src" / "cpp" / "bindings_pybind11.cpp", KERNEL_EDIT)
    commit_all(project, "Our own C++ work")
    edited = files(project)
    # v1.1.0 is today's template with a fix in a C++ file the user did not edit.
    git("checkout", "-q", "v1.0.0", "--", "copier.yml", cwd=template)
    core_header = template / "template" / "src" / "{{ core_folder }}" / "core.hpp.jinja"
    edit(core_header, "#pragma once\n", "#pragma once\n// Fixed in v1.1.0.\n")
    release(template, "v1.1.0")

    # Renaming the project in the same update does not make it look new.
    update(project, data={"project_name": "Faster Stats"})

    assert recorded_answers(project)["_commit"] == "v1.1.0"
    assert recorded_answers(project)["cpp_layout"] == "flat"
    assert not (project / "src" / "core").exists()
    assert not (project / "src" / "bindings").exists()
    updated = files(project)
    for name in ("src/cpp/kernels.inl", "src/cpp/bindings_pybind11.cpp"):
        assert updated[name] == edited[name], name
    header = (project / "src" / "cpp" / "core.hpp").read_text(encoding="utf-8")
    assert "#pragma once\n// Fixed in v1.1.0.\n" in header
    assert sorted(line for line in status(project) if "src/" in line) == [
        " M src/cpp/core.hpp"
    ]


def test_new_project_keeps_its_folders_through_updates(
    template: Path, tmp_path: Path
) -> None:
    project = generate(template, tmp_path / "fast-stats", "v1.0.0")
    assert recorded_answers(project)["cpp_layout"] == "include"
    append(project / "src" / "lib" / "kernels.cpp", KERNEL_EDIT)
    commit_all(project, "Our own C++ work")
    append(template / "template" / ".gitignore.jinja", "*.prof\n")
    release(template, "v1.1.0")

    update(project)

    assert recorded_answers(project)["cpp_layout"] == "include"
    assert not (project / "src" / "core").exists()
    kernels = (project / "src" / "lib" / "kernels.cpp").read_text(encoding="utf-8")
    assert kernels.endswith(KERNEL_EDIT)
    assert sorted(status(project)) == [" M .copier-answers.yml", " M .gitignore"]


def commit_before(text: str) -> str:
    """The template's last commit before copier.yml had `text` (a question's choice or
    name, say): what projects made from the main branch then were made from."""
    introduced = run(
        "git", "log", "--format=%H", "-S", text, "--", "copier.yml", cwd=ROOT
    ).split()
    assert introduced, f"no commit of copier.yml introduces {text!r}"
    return run("git", "rev-parse", f"{introduced[-1]}^", cwd=ROOT).strip()


def assert_like_fresh(project: Path, fresh: Path) -> None:
    """An updated project holds what a fresh render with its answers holds, answers aside."""
    updated, rendered = files(project), files(fresh)
    assert updated.keys() == rendered.keys()
    for name, content in rendered.items():
        if name != ".copier-answers.yml":
            assert updated[name] == content, name
    assert not list(project.rglob("*.rej"))


def commit_before_include_layout() -> str:
    """The template's last commit before new projects got include/ and src/lib/: projects
    made from the main branch then have src/core/ and src/bindings/ (cpp_layout: split)."""
    return commit_before("include (include/<module>/")


BINDINGS_EDIT = "\n// The project's own binding notes.\n"


def test_project_made_before_include_keeps_its_cpp_package_and_tests(
    tmp_path: Path,
) -> None:
    """An update from the commit before the layout changed: the user's edits to the
    bindings, the kernels and the package survive, the old C++ and tests stay as they
    were (rendered from legacy/), the rest updates, and no --trust is needed."""
    project = generate(ROOT, tmp_path / "fast-stats", commit_before_include_layout())
    assert recorded_answers(project)["cpp_layout"] == "split"
    append(project / "src" / "core" / "kernels.inl", KERNEL_EDIT)
    append(project / "src" / "bindings" / "pybind11.cpp", BINDINGS_EDIT)
    append(project / "src" / MODULE / "__init__.py", USER_FUNCTION)
    commit_all(project, "Our own C++ and Python work")
    before = files(project)

    update(project, vcs_ref="HEAD")  # unsafe=False: a migration would refuse to run

    assert recorded_answers(project)["cpp_layout"] == "split"
    after = files(project)
    kept = [n for n in before if n.startswith(("src/", "tests/", "CMakeLists.txt"))]
    assert len(kept) >= 15
    for name in kept:
        assert after[name] == before[name], name
    assert not (project / "include").exists()
    assert not (project / "src" / "lib").exists()
    assert not list(project.rglob("*.rej"))
    assert not CONFLICT_MARKERS.search(
        "\n".join(t.decode(errors="replace") for t in after.values())
    )
    # The rest of the project took the template's changes: lint runs the pre-commit hooks.
    assert '"pre-commit", "run", "--all-files"' in after["noxfile.py"].decode()


def test_project_made_before_the_example_question_records_numeric(
    tmp_path: Path,
) -> None:
    """An update from before `example` existed records numeric, keeps the user's C++,
    package and tests, and gives what a fresh render with the same answers gives."""
    before = commit_before("minimal (two small functions")  # the example question
    project = generate(ROOT, tmp_path / "fast-stats", before)
    assert "example" not in recorded_answers(project)
    append(project / "src" / "lib" / "kernels.cpp", KERNEL_EDIT)
    commit_all(project, "Our own C++ work")

    update(project, vcs_ref="HEAD")

    assert recorded_answers(project)["example"] == "numeric"
    kernels = (project / "src" / "lib" / "kernels.cpp").read_text(encoding="utf-8")
    assert kernels.endswith(KERNEL_EDIT)
    # The rest is the fresh render's, once the user's edit is taken out.
    kernels_path = project / "src" / "lib" / "kernels.cpp"
    kernels_path.write_text(kernels.removesuffix(KERNEL_EDIT), encoding="utf-8")
    assert_like_fresh(project, render(tmp_path / "fresh"))


NANOBIND_ABI3 = {"python_min": "3.10", "bindings": "nanobind", "stable_abi": True}


def test_nanobind_project_made_before_split_mode_keeps_it_off(tmp_path: Path) -> None:
    """A nanobind stable-ABI project made before `split_mode` existed updates to what a
    fresh render with split_mode false gives."""
    before = commit_before("split_mode:")
    project = generate(ROOT, tmp_path / "fast-stats", before, **NANOBIND_ABI3)
    assert "split_mode" not in recorded_answers(project)

    update(project, vcs_ref="HEAD")

    assert recorded_answers(project)["split_mode"] is False
    assert_like_fresh(project, render(tmp_path / "fresh", **NANOBIND_ABI3))


def test_split_mode_turned_on_by_update(template: Path, tmp_path: Path) -> None:
    """`copier update --data split_mode=true` switches the build to split mode, with no
    --trust."""
    project = generate(template, tmp_path / "fast-stats", "v1.0.0", **NANOBIND_ABI3)

    update(project, data={"split_mode": True})  # unsafe=False

    assert recorded_answers(project)["split_mode"] is True
    cmake = (project / "CMakeLists.txt").read_text(encoding="utf-8")
    assert "BACKEND_MODULE nanobind_backend" in cmake
    pyproject = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert '"nanobind-backend>=1.0.0"' in pyproject
    assert 'wheel.py-api = "cp310"' in pyproject
    assert not list(project.rglob("*.rej"))


RENAME_FROM, RENAME_TO = "tests/test_properties.py", "tests/test_property_based.py"
RENAME_MIGRATION = {
    "version": "2.0.0",
    "when": "{{ _stage == 'before' }}",
    "command": ["git", "mv", "-k", RENAME_FROM, RENAME_TO],
}


def rename_release(template: Path) -> None:
    """Release v2.0.0 moves a generated file (content unchanged) with its migration."""

    # The template's file names hold the condition of the numeric example.
    def numeric(path: str) -> str:
        folder, name = path.split("/")
        return f"template/{folder}/{{% if example == 'numeric' %}}{name}{{% endif %}}.jinja"

    git("mv", numeric(RENAME_FROM), numeric(RENAME_TO), cwd=template)
    set_migrations(template, [RENAME_MIGRATION])
    release(template, "v2.0.0")


def test_rename_without_migration_drops_user_edits(
    template: Path, tmp_path: Path
) -> None:
    """Why renames need a migration: copier deletes the old path, edits and all."""
    project = generate(template, tmp_path / "fast-stats", "v1.0.0")
    append(project / RENAME_FROM, USER_FUNCTION)
    commit_all(project, "Our own property test helper")

    # The template's file names hold the condition of the numeric example.
    def numeric(path: str) -> str:
        folder, name = path.split("/")
        return f"template/{folder}/{{% if example == 'numeric' %}}{name}{{% endif %}}.jinja"

    git("mv", numeric(RENAME_FROM), numeric(RENAME_TO), cwd=template)
    release(template, "v2.0.0")

    update(project)

    assert not (project / RENAME_FROM).exists()
    assert USER_FUNCTION not in (project / RENAME_TO).read_text(encoding="utf-8")
    assert f" D {RENAME_FROM}" in status(project)  # only git still has the edits


def test_rename_migration_moves_user_edits_and_needs_trust_only_once(
    template: Path, tmp_path: Path
) -> None:
    project = generate(template, tmp_path / "fast-stats", "v1.0.0")
    original = (project / RENAME_FROM).read_text(encoding="utf-8")
    append(project / RENAME_FROM, USER_FUNCTION)
    commit_all(project, "Our own property test helper")
    rename_release(template)

    # Without --trust, copier refuses before touching anything.
    with pytest.raises(UnsafeTemplateError, match="migrations"):
        update(project)
    assert status(project) == []
    assert recorded_answers(project)["_commit"] == "v1.0.0"

    update(project, unsafe=True)  # `copier update --defaults --trust`

    assert recorded_answers(project)["_commit"] == "v2.0.0"
    assert not (project / RENAME_FROM).exists()
    moved = (project / RENAME_TO).read_text(encoding="utf-8")
    # Nothing is lost: the user's function and the template's text are both there. The
    # path is new to the template, so copier has no common base for a 3-way merge: the
    # user's additions show as conflicts, their side first ("before updating").
    assert USER_FUNCTION.strip() in moved
    assert CONFLICT_MARKERS.search(moved)
    resolved = re.sub(
        rf"{CONFLICT_START}\n(.*?)=======\n.*?{CONFLICT_END}\n",
        r"\1",
        moved,
        flags=re.DOTALL,
    )
    assert resolved == original + USER_FUNCTION
    assert f"D  {RENAME_FROM}" in status(project)
    (project / RENAME_TO).write_text(resolved, encoding="utf-8")
    commit_all(project, "Update to v2.0.0")

    # v2.1.0 is a normal release: the migration stays listed, yet no --trust is needed.
    append(template / "template" / ".gitignore.jinja", "*.prof\n")
    release(template, "v2.1.0")
    update(project)
    assert recorded_answers(project)["_commit"] == "v2.1.0"
    assert (project / ".gitignore").read_text(encoding="utf-8").endswith("*.prof\n")
    assert (project / RENAME_TO).read_text(encoding="utf-8") == resolved
    assert sorted(status(project)) == [" M .copier-answers.yml", " M .gitignore"]


def test_rename_migration_leaves_unedited_file_clean(
    template: Path, tmp_path: Path
) -> None:
    project = generate(template, tmp_path / "fast-stats", "v1.0.0")
    original = (project / RENAME_FROM).read_text(encoding="utf-8")
    rename_release(template)

    update(project, unsafe=True)

    assert (project / RENAME_TO).read_text(encoding="utf-8") == original
    assert sorted(status(project)) == [
        " M .copier-answers.yml",
        f"R  {RENAME_FROM} -> {RENAME_TO}",
    ]


def release_headings(changelog: str) -> list[tuple[str, str]]:
    return re.findall(
        r"^## \[(\d+\.\d+\.\d+)\] - (\d{4}-\d{2}-\d{2})$", changelog, re.MULTILINE
    )


def test_changelog_lists_releases_and_migrations_are_documented() -> None:
    """Every release tag has a CHANGELOG entry; every migration is documented."""
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert "## [Unreleased]" in changelog
    releases = release_headings(changelog)
    versions = [Version(v) for v, _ in releases]
    assert versions, "CHANGELOG.md has no release entry"
    assert versions == sorted(versions, reverse=True)
    assert [d for _, d in releases] == sorted((d for _, d in releases), reverse=True)
    tags = run("git", "tag", "--list", "v[0-9]*", cwd=ROOT).split()
    assert {t.removeprefix("v") for t in tags} <= {v for v, _ in releases}

    updating = (ROOT / "docs" / "updating.md").read_text(encoding="utf-8")
    trust = updating.split("## Releases that need --trust", 1)[1].split("\n## ", 1)[0]
    config = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    migrations = config.get("_migrations") or []
    for migration in migrations:
        version = str(migration.get("version", ""))
        # Without a version, a migration would run (and need --trust) on every update.
        assert re.fullmatch(r"\d+\.\d+\.\d+", version), migration
        assert f"`{version}`" in trust, f"docs/updating.md does not list {version}"
        assert f"## [{version}]" in changelog, f"CHANGELOG.md has no entry {version}"
    if not migrations:
        assert "None so far" in trust


def test_changed_answers_rerender_and_project_builds(
    template: Path, tmp_path: Path
) -> None:
    """`copier update --data ...` re-renders; the project then lints, builds and tests."""
    version = "3.11"
    run(f"python{version}", "-c", "pass")
    project = generate(template, tmp_path / "fast-stats", "v1.0.0")
    user_edits(project)

    update(
        project,
        vcs_ref="v1.0.0",  # the same release: only the answers change
        data={
            "license": "BSD-3-Clause",
            "python_min": version,
            "manylinux": "manylinux2014",
        },
    )

    recorded = recorded_answers(project)
    assert recorded["_commit"] == "v1.0.0"
    assert (recorded["license"], recorded["python_min"], recorded["manylinux"]) == (
        "BSD-3-Clause",
        version,
        "manylinux2014",
    )
    pyproject = tomllib.loads((project / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["license"] == "BSD-3-Clause"
    assert pyproject["project"]["requires-python"] == f">={version}"
    assert "manylinux2014" in (project / "pyproject.toml").read_text(encoding="utf-8")
    license_text = (project / "LICENSE").read_text(encoding="utf-8")
    assert license_text.lstrip().startswith("BSD 3-Clause License")
    assert (project / "README.md").read_text(encoding="utf-8").endswith(USER_SECTION)
    assert (
        (project / "src" / MODULE / "__init__.py").read_text().endswith(USER_FUNCTION)
    )
    for name, text in USER_FILES.items():
        assert (project / name).read_text(encoding="utf-8") == text
    assert not [
        n for n, c in files(project).items() if CONFLICT_MARKERS.search(c.decode())
    ]

    sessions = run(tool("nox"), "--list", cwd=project)
    assert f"tests-{version}" in sessions
    assert "tests-3.10" not in sessions
    commit_all(project, "Raise python_min, change license and manylinux")
    output = run(
        tool("nox"),
        *("-s", "lint", f"tests-{version}", "--", "-v"),
        cwd=project,
        env=offline_env(project),  # the hooks, as GitHub may be out of reach
    )
    assert "Session lint was successful" in output
    assert f"Session tests-{version} was successful" in output
    assert f"tests/test_{MODULE}_norm.py::test_norm_matches_numpy PASSED" in output
    summary = re.search(r"=+ (\d+) passed(?:, (\d+) \w+)* in ", output)
    assert summary, output[-2000:]
    assert int(summary.group(1)) >= 70
    assert "failed" not in summary.group(0)
    assert "skipped" not in summary.group(0)
