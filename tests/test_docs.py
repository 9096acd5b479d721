"""The documentation site: generated from the template, built strictly, and its tutorial works.

The reference pages come from docs/gen_reference.py; these tests check them against the
template independently (copier.yml read here, projects rendered here, the noxfile parsed
with ast), so a generator that silently dropped something fails too.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
from conftest import (
    COMPUTED,
    GENERATOR,
    QUESTIONS,
    ROOT,
    git,
    lint_env,
    load_generator,
    render,
    run,
    tool,
)

TUTORIAL = ROOT / "docs" / "getting-started.md"
BYTES_GUIDE = ROOT / "docs" / "bytes.md"
NANOBIND = {"python_min": "3.10", "bindings": "nanobind", "stable_abi": True}


@pytest.fixture(scope="module")
def gen() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="module")
def pages(gen: ModuleType) -> dict[str, str]:
    """Every page the generator writes into the site."""
    return gen.generate()


def section(page: str, heading: str) -> str:
    """The text under a `## heading` of a page, up to the next `## `."""
    start = page.index(f"\n## {heading}")
    end = page.find("\n## ", start + 1)
    return page[start : end if end > 0 else None]


def test_questions_page_has_every_question_with_default_choices_and_validator(
    pages: dict[str, str],
) -> None:
    page = pages["reference/questions.md"]
    assert QUESTIONS, "copier.yml has no questions"
    for name, question in QUESTIONS.items():
        text = section(page, f"`{name}`")
        assert " ".join(str(question["help"]).split()) in text, name
        if "default" in question:
            default = question["default"]
            shown = str(default).lower() if isinstance(default, bool) else str(default)
            if question.get("ask") is False and "{{" in shown:
                assert "set by the template" in text, name
            elif shown:
                assert f"`{shown}`" in text, f"{name}: default {shown!r} missing"
        else:
            assert "an answer is required" in text, name
        choices = question.get("choices") or []
        values = choices.values() if isinstance(choices, dict) else choices
        for value in values:
            assert f"`{value}`" in text, f"{name}: choice {value!r} missing"
        if question.get("when") is False or question.get("ask") is False:
            assert "Never asked" in text, name
        elif "when" in question:
            assert str(question["when"]) in text, name
        if "validator" in question:
            # Each message of the validator is shown (the text between its Jinja tags).
            messages = re.split(r"{%-?.*?-?%}", question["validator"], flags=re.DOTALL)
            for message in filter(str.strip, messages):
                assert " ".join(message.split()) in " ".join(text.split()), name


def test_readme_question_table_names_every_question() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## Questions", 1)[1].split("\n## ", 1)[0]
    for name in QUESTIONS.keys() - COMPUTED:
        assert f"`{name}`" in table, f"README.md's question table lacks {name}"


def noxfile_sessions(project: Path) -> dict[str, str]:
    """Session name -> docstring, from the rendered noxfile's source."""
    tree = ast.parse((project / "noxfile.py").read_text(encoding="utf-8"))
    found = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and any(
            "nox.session" in ast.unparse(d) for d in node.decorator_list
        ):
            found[GENERATOR.session_name(node)] = ast.get_docstring(node) or ""
    return found


def test_sessions_page_has_every_session_docstring_and_tool_option(
    pages: dict[str, str], tmp_path: Path
) -> None:
    project = render(tmp_path / "p")
    page = pages["reference/sessions.md"]
    found = noxfile_sessions(project)
    assert {"tests", "lint", "build", "wheels", "bench"} <= set(found)
    for name, docstring in found.items():
        assert docstring, f"session {name} has no docstring"
        text = section(page, f"`{name}`")
        assert docstring in text, name
    # Every option the tools take from the command line is on the page, with its help.
    for tool_name in ("wheels", "bench"):
        path = project / "tools" / tool_name  # a package run as a folder, or a script
        files = (
            sorted(path.glob("*.py")) if path.is_dir() else [path.with_suffix(".py")]
        )
        trees = [ast.parse(f.read_text(encoding="utf-8")) for f in files]
        text = " ".join(section(page, f"`{tool_name}`").split())
        options = 0
        for node in (node for tree in trees for node in ast.walk(tree)):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "add_argument"
                and isinstance(node.args[0], ast.Constant)
                and str(node.args[0].value).startswith("--")
            ):
                continue
            helps = [k.value for k in node.keywords if k.arg == "help"]
            if helps and not isinstance(helps[0], ast.Constant):
                continue  # argparse.SUPPRESS: an option the session passes itself
            option = node.args[0].value
            options += 1
            assert option in text, f"tools/{tool_name} {option} missing"
            if helps:
                words = " ".join(str(helps[0].value).split()[:4])
                assert words in text, (
                    f"tools/{tool_name} {option}: help {words!r} missing"
                )
        assert options >= 3, tool_name


@pytest.mark.parametrize(
    "data", [{}, NANOBIND], ids=["pybind11", "nanobind-stable-abi"]
)
def test_files_page_lists_every_generated_file_with_a_purpose(
    pages: dict[str, str], tmp_path: Path, data: dict[str, object]
) -> None:
    project = render(tmp_path / "p", **data)
    page = pages["reference/files.md"]
    table = page.split("\n## ", 1)[0]
    rows = {
        m.group(1): m.group(2)
        for m in re.finditer(
            r"^\| \[`([^`]+)`\]\(#[\w-]+\) \|.*\| (.*) \|$", table, re.MULTILINE
        )
    }
    files = [
        p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()
    ]
    assert files
    for path in files:
        assert path in rows, f"{path} is generated but not on the files page"
        assert len(rows[path]) > 10, f"{path} has no purpose on the files page"
        # Its contents are shown as they are generated.
        text = (project / path).read_text(encoding="utf-8")
        first = next((line for line in text.splitlines() if line.strip()), "")
        assert first in page, f"{path}: contents missing"


def test_distro_table_is_generated_from_wheels_py(
    gen: ModuleType, pages: dict[str, str]
) -> None:
    wheels = gen.wheels_checks()
    table = gen.distro_table()
    lines = table.splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    for policy, need in wheels.POLICY_GLIBC.items():
        row = next(line for line in lines if f"`{policy}`" in line)
        cells = dict(zip(head, (c.strip() for c in row.strip("|").split("|"))))
        # The same first releases as the summary `nox -s wheels` prints ("Debian 10+").
        for covered in wheels.distros(need).split(", "):
            distro, release = covered.rsplit(" ", 1)
            assert cells[distro] == release, (policy, distro)
    # Hand-written pages hold the generated block, filled in the site.
    filled = [
        name for name, text in pages.items() if "<!-- gen:distro-table -->" in text
    ]
    assert filled
    for name in filled:
        assert table in pages[name], name


def test_wheel_report_examples_are_what_the_report_prints(gen: ModuleType) -> None:
    """The report shown in the tutorial and the wheels guide is made by the generated
    tools/wheels' own report(), and the pages hold it as the site shows it (so they read
    the same on GitHub). tests/test_wheels_zig.py checks the real run prints that header."""
    report = gen.wheel_report()
    for name in ("getting-started.md", "wheels.md"):
        text = (ROOT / "docs" / name).read_text(encoding="utf-8")
        blocks = [m for m in gen.GEN_BLOCK.finditer(text) if m[2] == "wheel-report"]
        assert len(blocks) == 1, name
        assert blocks[0][3] == f"\n{report}\n", f"docs/{name}: regenerate its report"


def test_changelog_page_links_stay_inside_the_site(pages: dict[str, str]) -> None:
    page = pages["changelog.md"]
    assert "](docs/" not in page
    for target in re.findall(r"\]\(([^)#\s]+)", page):
        if not re.match(r"[a-z]+:", target):
            assert (ROOT / "docs" / target).exists(), target


# --- the tutorial ------------------------------------------------------------------------

EDIT = re.compile(
    r"in\s+`(?P<file>[^`]+)`,\s+(?P<where>before|after)\s+the\s+line\s+"
    r"(?P<containing>containing\s+)?"
    r"`(?P<anchor>[^`]+)`,\s+add:\s*\n\n```\w*\n(?P<code>.*?)\n```",
    re.IGNORECASE | re.DOTALL,
)
APPEND = re.compile(
    r"at the end of\s+`(?P<file>[^`]+)`,\s+add:\s*\n\n```\w*\n(?P<code>.*?)\n```",
    re.IGNORECASE | re.DOTALL,
)
REPLACE = re.compile(
    r"in `(?P<file>[^`]+)`, replace `(?P<old>[^`]+)` with\s+`(?P<new>[^`]+)`",
    re.IGNORECASE,
)
CREATE = re.compile(
    r"create `(?P<file>[^`]+)`:\s*\n\n```\w*\n(?P<code>.*?)\n```",
    re.IGNORECASE | re.DOTALL,
)


HEADING = re.compile(r"(#{2,6}) (.+)")
# A section for one binding library: "#### With pybind11", "#### With nanobind".
BINDING_HEADING = re.compile(r"with (pybind11|nanobind)", re.IGNORECASE)
# The files a reader edits or creates to add the tutorial's function, besides the bindings
# file; `nox -s stubs` then writes the fifth, the stub.
TUTORIAL_FILES = {
    "src/lib/kernels.cpp",
    "include/fast_stats/fast_stats.hpp",
    "tests/test_scale.py",
}
STUB = "src/fast_stats/_core.pyi"


def tutorial_for(bindings: str, page: Path = TUTORIAL) -> str:
    """The tutorial (or another page of steps) as a reader whose project uses `bindings`
    follows it: without the sections for the other binding library, each up to the next
    heading of its level."""
    kept, skipping, fenced = [], 0, False
    for line in page.read_text(encoding="utf-8").splitlines(keepends=True):
        fenced ^= line.startswith("```")
        heading = None if fenced else HEADING.fullmatch(line.rstrip("\n"))
        if heading:
            level = len(heading[1])
            if skipping and level <= skipping:
                skipping = 0
            binding = BINDING_HEADING.fullmatch(heading[2].strip())
            if not skipping and binding and binding[1].lower() != bindings:
                skipping = level
        if not skipping:
            kept.append(line)
    return "".join(kept)


def apply_tutorial(project: Path, bindings: str, page: Path = TUTORIAL) -> list[str]:
    """Make the tutorial's (or page's) edits for `bindings` in a rendered project, in its
    order; the files changed."""
    text = tutorial_for(bindings, page)
    steps = sorted(
        (m.start(), kind, m)
        for kind, pattern in (
            ("edit", EDIT),
            ("append", APPEND),
            ("replace", REPLACE),
            ("create", CREATE),
        )
        for m in pattern.finditer(text)
    )
    # Every code block the reader is told to add or create is a step: none is skipped
    # because its sentence is worded in a way the patterns above do not read.
    blocks = re.findall(r"(?:add|create `[^`]+`):\s*\n\n```", text, re.IGNORECASE)
    with_code = [step for step in steps if step[1] != "replace"]
    assert len(with_code) == len(blocks), "a step of the tutorial is not understood"
    changed = []
    for _, kind, m in steps:
        path = project / m["file"]
        changed.append(m["file"])
        if kind == "create":
            assert not path.exists(), f"the tutorial creates {m['file']}, which exists"
            path.write_text(m["code"] + "\n", encoding="utf-8")
            continue
        assert path.is_file(), f"the tutorial edits {m['file']}, which is not generated"
        source = path.read_text(encoding="utf-8")
        if kind == "append":
            # Two blank lines before a new top-level definition in Python; none in a stub.
            gap = "\n\n\n" if path.suffix == ".py" else "\n"
            path.write_text(
                source.rstrip("\n") + gap + m["code"] + "\n", encoding="utf-8"
            )
        elif kind == "replace":
            assert source.count(m["old"]) == 1, (
                f"{m['file']}: {m['old']!r} is not unique"
            )
            path.write_text(source.replace(m["old"], m["new"]), encoding="utf-8")
        else:
            lines = source.split("\n")
            anchor = m["anchor"]
            hits = [
                i
                for i, line in enumerate(lines)
                if (anchor in line if m["containing"] else line.strip() == anchor)
            ]
            assert len(hits) == 1, f"{m['file']}: {len(hits)} lines match {anchor!r}"
            at = hits[0] + (1 if m["where"].lower() == "after" else 0)
            lines[at:at] = m["code"].split("\n")
            path.write_text("\n".join(lines), encoding="utf-8")
    return changed


def follow_in_git(project: Path, bindings: str, page: Path) -> tuple[str, str]:
    """Follow a page's steps in a project kept in git, then `nox -s stubs`, and `nox -s
    lint tests-X.Y -- -v` on this CPython; that output, and X.Y."""
    # git init with every file added; the hooks come from the offline store.
    env = lint_env(project)
    git("commit", "-qm", "Start from the template", cwd=project)
    apply_tutorial(project, bindings, page)
    run(tool("nox"), "-s", "stubs", cwd=project, env=env)
    # The hooks check the files git tracks, the new test too.
    git("add", "-A", cwd=project)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    output = run(
        tool("nox"), "-s", "lint", f"tests-{version}", "--", "-v", cwd=project, env=env
    )
    return output, version


@pytest.mark.parametrize("bindings", ["pybind11", "nanobind"])
def test_tutorial_edits_apply_to_a_generated_project(
    tmp_path: Path, bindings: str
) -> None:
    """Every file and line the tutorial names exists, once, in a project made today; adding
    a function takes four files edited by hand, whichever the binding library, and they
    are formatted as the project's hooks want."""
    project = render(tmp_path / "fast-stats", bindings=bindings)
    changed = apply_tutorial(project, bindings)
    cpp = f"src/bindings/{bindings}.cpp"
    assert set(changed) == {*TUTORIAL_FILES, cpp}
    assert STUB not in changed, "`nox -s stubs` writes the stub, not the reader"
    sources = [p for p in changed if p.endswith((".cpp", ".hpp"))]
    run(tool("clang-format"), "--dry-run", "--Werror", *sources, cwd=project)
    run(tool("ruff"), "check", "tests/test_scale.py", cwd=project)
    run(tool("ruff"), "format", "--check", "tests/test_scale.py", cwd=project)


def test_tutorial_has_a_section_for_each_binding_library() -> None:
    """Each reader sees only their binding library's steps, and the same steps otherwise."""
    pybind11, nanobind = tutorial_for("pybind11"), tutorial_for("nanobind")
    assert "py::gil_scoped_release" in pybind11
    assert "nb::" not in pybind11
    assert "nb::gil_scoped_release" in nanobind
    assert "py::" not in nanobind
    for text in (pybind11, nanobind):
        assert "## 4. Make the wheels" in text
        assert "create `tests/test_scale.py`" in text.lower()


@pytest.mark.slow
@pytest.mark.parametrize("bindings", ["pybind11", "nanobind"])
def test_tutorial_project_passes_lint_and_tests(tmp_path: Path, bindings: str) -> None:
    """Follow the tutorial in a project kept in git: `nox -s stubs` writes `scale` into the
    stub, `nox -s lint tests-X.Y` passes with the new tests, and five files changed."""
    project = render(tmp_path / "fast-stats", bindings=bindings)
    output, version = follow_in_git(project, bindings, TUTORIAL)
    assert "Session lint was successful" in output
    assert f"Session tests-{version} was successful" in output
    for test in (
        r"test_scale_matches_numpy\[\S+\]",
        "test_scale_converts_other_input",
        "test_scale_refuses_what_is_not_real_numbers",
    ):
        assert re.search(rf"tests/test_scale\.py::{test} PASSED", output), test
    assert "test_stub.py::test_stub_matches_the_compiled_module PASSED" in output
    status = git("status", "--porcelain", cwd=project).splitlines()
    assert sorted(line[3:] for line in status) == sorted(
        {*TUTORIAL_FILES, f"src/bindings/{bindings}.cpp", STUB}
    )
    assert "def scale(" in (project / STUB).read_text(encoding="utf-8")


# --- the guide to bytes ------------------------------------------------------------------

BYTES_FILES = {
    "include/fast_stats/fast_stats.hpp",
    "src/lib/fast_stats.cpp",
    "src/fast_stats/__init__.py",
    "tests/test_run_length.py",
}


@pytest.mark.parametrize("bindings", ["pybind11", "nanobind"])
def test_bytes_guide_edits_apply_to_a_minimal_project(
    tmp_path: Path, bindings: str
) -> None:
    """docs/bytes.md's steps, in a minimal project of each binding library, give files
    formatted as the project's hooks want."""
    project = render(tmp_path / "fast-stats", bindings=bindings, example="minimal")
    changed = apply_tutorial(project, bindings, BYTES_GUIDE)
    assert set(changed) == {*BYTES_FILES, f"src/bindings/{bindings}.cpp"}
    sources = sorted({p for p in changed if p.endswith((".cpp", ".hpp"))})
    run(tool("clang-format"), "--dry-run", "--Werror", *sources, cwd=project)
    python = ["src/fast_stats/__init__.py", "tests/test_run_length.py"]
    run(tool("ruff"), "check", *python, cwd=project)
    run(tool("ruff"), "format", "--check", *python, cwd=project)


@pytest.mark.slow
@pytest.mark.parametrize("bindings", ["pybind11", "nanobind"])
def test_bytes_guide_project_passes_lint_and_tests(
    tmp_path: Path, bindings: str
) -> None:
    """Follow docs/bytes.md in a minimal project: `nox -s stubs` adds the function to the
    stub, and `nox -s lint tests-X.Y` passes with the guide's tests."""
    project = render(tmp_path / "fast-stats", bindings=bindings, example="minimal")
    output, _ = follow_in_git(project, bindings, BYTES_GUIDE)
    assert "Session lint was successful" in output
    passed = re.findall(
        r"tests/test_run_length\.py::(test_\w+)(?:\[\S*\])? PASSED", output
    )
    assert passed.count("test_run_length_encode_matches_python") == 6, output[-3000:]
    assert "test_run_length_encode_refuses_str" in passed
    assert "test_stub.py::test_stub_matches_the_compiled_module PASSED" in output
    status = git("status", "--porcelain", cwd=project).splitlines()
    assert sorted(line[3:] for line in status) == sorted(
        {*BYTES_FILES, f"src/bindings/{bindings}.cpp", STUB}
    )
    stub = (project / STUB).read_text(encoding="utf-8")
    assert re.search(r"def run_length_encode\(data: bytes\) -> bytes", stub), stub


# --- the site ----------------------------------------------------------------------------


@pytest.mark.slow
def test_docs_build_strictly(tmp_path: Path) -> None:
    """`mkdocs build --strict`: no broken link or anchor, no page left out of the nav."""
    site = tmp_path / "site"
    started = time.monotonic()
    # Without the notices Material for MkDocs and mkdocs-gen-files print about MkDocs 2.0.
    quiet = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}
    env = {**os.environ, **quiet}
    run(tool("mkdocs"), "build", "--strict", "--site-dir", site, cwd=ROOT, env=env)
    elapsed = time.monotonic() - started
    for page in (
        "reference/questions",
        "reference/sessions",
        "reference/files",
        "changelog",
    ):
        assert (site / page / "index.html").is_file(), page
    assert elapsed < 60, f"the strict docs build took {elapsed:.0f} s"
