"""Generate the documentation's reference pages from the template itself, so they cannot drift.

`mkdocs build` runs this file through the mkdocs-gen-files plugin (see mkdocs.yml). It
renders real projects with copier into a temporary directory, then writes, into the site
only (nothing under docs/ changes):

- reference/questions.md: every question of copier.yml, with its help, type, default,
  choices, condition and the messages of its validator;
- reference/sessions.md: every nox session of a generated project (`nox --list`), its
  docstring, CPythons and code, and the `--help` of the tools it runs;
- reference/files.md: every generated file, why it is there, and its content;
- changelog.md: CHANGELOG.md, with its links into docs/ made relative to the site;
- the blocks between `<!-- gen:NAME -->` and `<!-- /gen -->` in the hand-written pages,
  e.g. the glibc-to-distro table from `DISTRO_GLIBC` in template/tools/wheels/checks.py.jinja.

`python docs/gen_reference.py OUT` writes the same pages under OUT, to read them without
building the site. tests/test_docs.py checks the pages against copier.yml and rendered
projects.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import types
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import copier
import jinja2
import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# The projects the reference shows: the defaults, and nanobind with the stable ABI.
# project_name and the author have no defaults: every render answers them.
REQUIRED = {
    "project_name": "Fast Stats",
    "author_name": "Ada Lovelace",
    "author_email": "ada@example.org",
}
VARIANTS: dict[str, dict[str, Any]] = {
    "pybind11": REQUIRED,
    "nanobind": {
        **REQUIRED,
        "python_min": "3.10",
        "bindings": "nanobind",
        "stable_abi": True,
    },
}
EXAMPLE_MODULE = "fast_stats"  # module_name of the example projects

# Why each generated file is there, for files whose first comment or docstring does not
# say it (the others are described by that comment). `<module>` is the module_name.
FILE_PURPOSES: dict[str, str] = {
    ".clang-format": "The clang-format style of the C++ sources, checked by `nox -s lint`.",
    ".copier-answers.yml": (
        "Your answers, the template's source and the release the project was made from: "
        "what `copier update` reads. Change answers with `copier update --data`, never by "
        "hand."
    ),
    ".gitignore": (
        "Keeps build trees, `dist/`, `wheelhouse/`, caches and benchmark output out of git."
    ),
    "CMakeLists.txt": (
        "Builds the C++ library as a static library (its kernels once per ISA on x86-64) "
        "and the `_core` extension module linked to it; scikit-build-core runs it."
    ),
    "LICENSE": "The text of the `license` answer, named in `pyproject.toml` (`license-files`).",
    "README.md": "The project's README: usage, build and test, wheels, updating from the template.",
    "noxfile.py": "The development sessions: see [Nox sessions](sessions.md).",
    "pyproject.toml": (
        "PEP 621 metadata, the scikit-build-core build settings, dependency groups (`test`, "
        "`dev`), the wheel policy under `[tool.cibuildwheel]`, pytest and ruff settings."
    ),
    "src/<module>/__init__.py": (
        "The package: re-exports the compiled functions, adds the checked thread "
        "settings, and holds `__version__`, which `pyproject.toml` reads."
    ),
    "src/<module>/_core.pyi": (
        "The type stub of the compiled module, written by `nox -s stubs` and committed; "
        "`tests/test_stub.py` fails when it no longer matches the module."
    ),
    "src/<module>/py.typed": (
        "Marks the package as typed (PEP 561), so type checkers read its stubs."
    ),
    "tests/test_core.py": (
        "Tests of each function against NumPy: values, dtypes, conversions, errors."
    ),
}

GEN_BLOCK = re.compile(r"(<!-- gen:([\w-]+) -->\n)(.*?)(<!-- /gen -->)", re.DOTALL)


# --- rendering and reading projects ----------------------------------------------------


def render(dest: Path, data: dict[str, Any]) -> Path:
    """Render the template's working tree (HEAD plus uncommitted changes) into dest."""
    with warnings.catch_warnings():
        # Copier warns that the working tree is dirty or the clone shallow: both are fine.
        warnings.simplefilter("ignore")
        copier.run_copy(
            str(ROOT),
            dest,
            data=data,
            defaults=True,
            unsafe=False,
            quiet=True,
            vcs_ref="HEAD" if (ROOT / ".git").exists() else None,
        )
    return dest


@contextmanager
def rendered_projects() -> Iterator[dict[str, Path]]:
    """Every variant rendered into one temporary directory: name -> project root."""
    with tempfile.TemporaryDirectory(prefix="fce-docs-") as tmp:
        yield {
            name: render(Path(tmp) / name / "fast-stats", data)
            for name, data in VARIANTS.items()
        }


def project_files(project: Path) -> list[str]:
    """The generated files, relative to the project, in sorted order."""
    return sorted(
        p.relative_to(project).as_posix() for p in project.rglob("*") if p.is_file()
    )


def generic_path(path: str) -> str:
    """src/fast_stats/__init__.py -> src/<module>/__init__.py; the same for include/."""
    for folder in ("src", "include"):
        path = path.replace(f"{folder}/{EXAMPLE_MODULE}/", f"{folder}/<module>/")
    return path.replace(f"/{EXAMPLE_MODULE}.hpp", "/<module>.hpp")


def first_comment(path: Path) -> str:
    """The file's module docstring or leading comment, up to its first full stop."""
    text = path.read_text(encoding="utf-8")
    block = ""
    if path.suffix == ".py":
        try:
            block = ast.get_docstring(ast.parse(text)) or ""
        except SyntaxError:
            block = ""
        block = block.split("\n\n", 1)[0]
    if not block:
        marker = (
            "//" if path.suffix in {".cpp", ".hpp", ".inl", ".def", ".h", ".c"} else "#"
        )
        lines = []
        for line in text.splitlines():
            stripped = line.strip()
            if stripped.startswith("#!") or not stripped.startswith(marker):
                if lines or stripped:
                    break
                continue
            lines.append(stripped[len(marker) :].strip())
        block = " ".join(lines)
    block = " ".join(block.split())
    sentence = re.match(r"(.+?\.)(\s|$)", block)
    return sentence.group(1) if sentence else block


def purpose(project: Path, path: str) -> str:
    """Why a generated file is there: FILE_PURPOSES, else the file's own first comment."""
    return FILE_PURPOSES.get(generic_path(path)) or first_comment(project / path)


@dataclass
class Session:
    """One nox session of a generated project, as `nox --list` reports it."""

    name: str
    description: str
    pythons: list[str]
    default: bool
    source: str


def sessions(project: Path) -> list[Session]:
    """Every nox session of the project, in `nox --list` order, with its code."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NOX")}

    def nox(*args: str) -> str:
        cmd = [sys.executable, "-m", "nox", "--list", *args]
        proc = subprocess.run(
            cmd, cwd=project, env=env, capture_output=True, text=True, check=True
        )
        return proc.stdout

    # The plain listing names every session and marks the default ones with *; the JSON
    # one (of only the sessions selected, so all of them are selected) gives the details.
    plain = nox()
    marked = re.findall(r"^([*-]) (\S+)", plain, re.MULTILINE)
    selected = {name for mark, name in marked if mark == "*"}
    listed = json.loads(nox("--json", "--sessions", *(name for _, name in marked)))
    noxfile = (project / "noxfile.py").read_text(encoding="utf-8")
    found: dict[str, Session] = {}
    for entry in listed:
        name = entry["name"]
        if name not in found:
            source = session_source(noxfile, name)
            found[name] = Session(name, entry["description"] or "", [], False, source)
        if entry.get("python"):
            found[name].pythons.append(str(entry["python"]))
        found[name].default |= entry["session"] in selected
    return list(found.values())


def session_name(node: ast.FunctionDef) -> str:
    """The name of the session a function defines: its decorator's `name=`, or its own."""
    for call in node.decorator_list:
        for keyword in call.keywords if isinstance(call, ast.Call) else []:
            if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                return str(keyword.value.value)
    return node.name


def session_source(noxfile: str, name: str) -> str:
    """The session function's source with its decorator lines."""
    for node in ast.parse(noxfile).body:
        if isinstance(node, ast.FunctionDef) and session_name(node) == name:
            first = min([d.lineno for d in node.decorator_list] + [node.lineno])
            assert node.end_lineno is not None
            return "\n".join(noxfile.splitlines()[first - 1 : node.end_lineno])
    return ""


# Modules a tool imports but that its `--help` does not need (the built package, NumPy,
# threadpoolctl).
HELP_RUNNER = """\
import runpy, sys, types
for name in filter(None, sys.argv[2].split(",")):
    module = types.ModuleType(name)
    module.__getattr__ = lambda attr: object
    sys.modules[name] = module
script = sys.argv[1]
sys.argv = [script, "--help"]
runpy.run_path(script, run_name="__main__")
"""


def tool_help(project: Path, tool: str) -> str:
    """`tools/<tool> --help` of the rendered project (a script, or a package run as a
    folder), run with its imports stubbed."""
    script = project / "tools" / tool
    sources = sorted(script.glob("*.py")) if script.is_dir() else [script]
    trees = [ast.parse(path.read_text(encoding="utf-8")) for path in sources]
    imports = {
        alias.name.split(".")[0]
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {
        node.module.split(".")[0]
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
    }
    # A package imports itself by name once its __main__ has put it on sys.path.
    imports.discard(script.name)
    stubs = sorted(name for name in imports if importlib.util.find_spec(name) is None)
    proc = subprocess.run(
        [sys.executable, "-c", HELP_RUNNER, str(script), ",".join(stubs)],
        cwd=project,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "COLUMNS": "92"},
    )
    return proc.stdout.rstrip()


# --- markdown helpers --------------------------------------------------------------------


def cell(text: str) -> str:
    """Text safe inside a Markdown table cell (no HTML, no column breaks)."""
    return " ".join(text.replace("<", "&lt;").replace("|", "\\|").split())


def code_span(text: str) -> str:
    """Inline code, with a fence longer than any run of backticks in the text."""
    ticks = "`" * (max((len(m) for m in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def code_block(text: str, lang: str = "", indent: str = "") -> str:
    """A fenced code block (longer fence than any inside), indented for admonitions."""
    fence = "`" * max(
        3, max((len(m) for m in re.findall(r"`{3,}", text)), default=0) + 1
    )
    body = "\n".join([f"{fence}{lang}", text.rstrip("\n"), fence])
    return textwrap.indent(body, indent, lambda line: True) + "\n"


def lang_of(path: str) -> str:
    suffix = Path(path).suffix
    name = Path(path).name
    return {
        ".py": "python",
        ".pyi": "python",
        ".cpp": "cpp",
        ".hpp": "cpp",
        ".inl": "cpp",
        ".def": "cpp",
        ".toml": "toml",
        ".yml": "yaml",
        ".yaml": "yaml",
        ".md": "markdown",
        ".txt": "text",
    }.get(suffix, "cmake" if name == "CMakeLists.txt" else "text")


def collapsed(title: str, body: str) -> str:
    """A collapsed block (pymdownx.details) holding body."""
    return f'??? note "{title}"\n\n{textwrap.indent(body, "    ")}\n'


# --- questions ---------------------------------------------------------------------------


def questions() -> dict[str, dict[str, Any]]:
    """The questions of copier.yml, in order (keys starting with _ are settings).

    Help texts and choices written as Jinja (python_min's) are rendered with the computed
    values (`when: false`), the only ones they use.
    """
    config = yaml.safe_load((ROOT / "copier.yml").read_text(encoding="utf-8"))
    found = {k: v for k, v in config.items() if not k.startswith("_")}
    computed = {k: q["default"] for k, q in found.items() if q.get("when") is False}
    for question in found.values():
        if "{{" in str(question.get("help", "")):
            question["help"] = jinja2.Template(question["help"]).render(computed)
        if isinstance(question.get("choices"), str):
            rendered = jinja2.Template(question["choices"]).render(computed)
            question["choices"] = yaml.safe_load(rendered)
    return found


def choice_values(question: dict[str, Any]) -> list[tuple[str, str]]:
    """(value, label) of each choice; label is empty when the choice is a plain list."""
    choices = question.get("choices") or []
    if isinstance(choices, dict):
        return [(str(v), str(k)) for k, v in choices.items()]
    return [(str(c), "") for c in choices]


def validator_messages(validator: str) -> list[str]:
    """The messages a Jinja validator can give: its text between the tags."""
    pieces = re.split(r"{%-?.*?-?%}", validator, flags=re.DOTALL)
    return [" ".join(p.split()) for p in pieces if p.strip()]


def shown_default(question: dict[str, Any]) -> str:
    # An empty default with a placeholder: the validator refuses the empty answer, so the
    # placeholder is only an example in the prompt.
    if "default" not in question or (
        "placeholder" in question and not question["default"]
    ):
        return "*(none: an answer is required)*"
    default = question["default"]
    if isinstance(default, bool):
        return code_span(str(default).lower())
    if default == "":
        return "*(empty)*"
    if question.get("ask") is False and "{{" in str(default):
        return "*(set by the template: see below)*"
    return code_span(str(default))


def questions_page() -> str:
    qs = questions()
    out = [
        "# Questions",
        "",
        (
            "Every question `copier copy` asks, in the order it asks them, read from the "
            "template's `copier.yml` when this site was built. Answer on the command line with "
            "`--data NAME=VALUE` (e.g. `--data python_min=3.11`); `--defaults` takes the "
            "default of every question not answered so. A refused answer stops copier before "
            "any file is written, with the message shown under *Refused when*."
        ),
        "",
        "| Question | Type | Default | Choices |",
        "| --- | --- | --- | --- |",
    ]
    for name, q in qs.items():
        choices = ", ".join(code_span(v) for v, _ in choice_values(q))
        if not choices:
            choices = "`true`, `false`" if q.get("type") == "bool" else "(free text)"
        out.append(
            f"| [`{name}`](#{name}) | {q.get('type', 'str')} | {shown_default(q)} | {choices} |"
        )
    for name, q in qs.items():
        out += ["", f"## `{name}` {{#{name}}}", "", cell(str(q.get("help", ""))), ""]
        out += [
            f"- **Type**: {q.get('type', 'str')}",
            f"- **Default**: {shown_default(q)}",
        ]
        if q.get("placeholder"):
            out.append(
                f"- **Example shown in the prompt**: {code_span(q['placeholder'])}"
            )
        asked = q.get("when") is not False and q.get("ask") is not False
        if asked and isinstance(q.get("default"), str) and "{{" in q["default"]:
            out.append(
                "  (a Jinja expression over the earlier answers: copier offers its value)"
            )
        if q.get("ask") is False:
            out.append(
                "- **Never asked**: the template sets it and records it in "
                "`.copier-answers.yml`, so `copier update` keeps the recorded value"
            )
        if q.get("when") is False:
            out.append(
                "- **Never asked**: computed by the template and not recorded in "
                "`.copier-answers.yml`, so `copier update` brings each release's value"
            )
        elif q.get("when") is not None:
            out.append(
                f"- **Asked only when**: {code_span(str(q['when']))}; otherwise the "
                "default is used"
            )
        choices = choice_values(q)
        if choices:
            out.append("- **Choices**:")
            for value, label in choices:
                shown = (
                    f" — {cell(label.removeprefix(value).strip(' ()'))}"
                    if label
                    else ""
                )
                out.append(f"    - {code_span(value)}{shown}")
        if q.get("validator"):
            out.append("- **Refused when** the validator gives a message:")
            out += [f"    - {cell(m)}" for m in validator_messages(str(q["validator"]))]
            out += [
                "",
                collapsed(f"Validator of {name}", code_block(q["validator"], "jinja")),
            ]
    return "\n".join(out) + "\n"


# --- sessions ----------------------------------------------------------------------------


def sessions_page(projects: dict[str, Path]) -> str:
    project = projects["pybind11"]
    found = sessions(project)
    out = [
        "# Nox sessions",
        "",
        (
            "The sessions of a generated project's `noxfile.py`, as `nox --list` reports them "
            f"for the default project (`python_min` {questions()['python_min']['default']}) when "
            "this site was built. `nox` alone "
            "runs the sessions marked *default*; `nox -s NAME` runs one; arguments after `--` "
            "go to the session (`nox -s tests-3.12 -- -k dot`)."
        ),
        "",
        "| Session | Default | CPythons | What it does |",
        "| --- | --- | --- | --- |",
    ]
    for s in found:
        pythons = ", ".join(s.pythons) or "the one running nox"
        out.append(
            f"| [`{s.name}`](#{s.name}) | {'yes' if s.default else 'no'} | {pythons} "
            f"| {cell(s.description)} |"
        )
    for s in found:
        out += ["", f"## `{s.name}` {{#{s.name}}}", "", cell(s.description), ""]
        if s.pythons:
            runs = ", ".join(f"`{s.name}-{v}`" for v in s.pythons)
            out.append(
                f"Runs once per supported CPython that is installed ({runs}); from "
                "`requires-python` in `pyproject.toml` up to the newest."
            )
        out.append(
            "Runs with a plain `nox`."
            if s.default
            else f"Runs only when asked for: `nox -s {s.name}`."
        )
        # A tool is a script (bench.py) or a package run as a folder (wheels).
        tools = sorted(set(re.findall(r'"tools" / "(\w+(?:\.py)?)"', s.source)))
        for tool in tools:
            out += [
                "",
                f"Options after `--` go to `tools/{tool}`; its `--help`:",
                "",
                code_block(tool_help(project, tool), "text"),
            ]
        out += [
            "",
            collapsed("The session in noxfile.py", code_block(s.source, "python")),
        ]
    stable = projects["nanobind"]
    noxfile = (stable / "noxfile.py").read_text(encoding="utf-8")
    out += [
        "",
        "## With the stable ABI",
        "",
        (
            "With `stable_abi = true` the sessions are the same, but for one line of "
            "`wheels`: it installs abi3audit. The one abi3 wheel (from "
            '`wheel.py-api = "cp312"` in `pyproject.toml`) serves CPython 3.12 and newer: '
            "cibuildwheel reuses and tests it on each, and so does the zig route of "
            "`tools/wheels`, which checks it with `abi3audit --strict` (see "
            "[nanobind and the stable ABI](../nanobind.md#the-wheel-set)). The line:"
        ),
        "",
        code_block(
            "\n".join(line for line in noxfile.splitlines() if "abi3" in line),
            "python",
        ),
    ]
    return "\n".join(out) + "\n"


# --- files -------------------------------------------------------------------------------


def file_anchor(path: str, variant: str, default_files: list[str]) -> str:
    """Anchor of a file's contents: files of the default project first, else nanobind's."""
    slug = "file-" + re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-")
    return (
        slug
        if variant == "pybind11" or path not in default_files
        else f"nanobind-{slug}"
    )


def files_page(projects: dict[str, Path]) -> str:
    listed = {name: project_files(root) for name, root in projects.items()}
    defaults = listed["pybind11"]
    every = sorted(
        {p for paths in listed.values() for p in paths},
        key=lambda p: (p.count("/") > 0, p.lower()),
    )
    out = [
        "# Generated files",
        "",
        (
            "Every file copier writes, from two real projects rendered when this site was "
            'built: the defaults with `project_name="Fast Stats"` (pybind11), and nanobind '
            "with the stable ABI (`python_min=3.10 bindings=nanobind stable_abi=true`). "
            f"`{EXAMPLE_MODULE}` is the `module_name`; yours replaces it. Files marked *no* "
            "are not generated for that choice of `bindings`. Both use the numeric "
            "example; `example=minimal` writes `src/lib/fast_stats.cpp` instead of the "
            "other files of `src/lib/`, shorter C++, package and tests, and no "
            "`parallel.hpp`, `tests/test_properties.py`, `test_simd.py`, "
            "`test_threads.py` or `tools/bench.py`."
        ),
        "",
        "| File | pybind11 | nanobind | Why it is there |",
        "| --- | --- | --- | --- |",
    ]
    for path in every:
        owner = "pybind11" if path in defaults else "nanobind"
        marks = ["yes" if path in listed[n] else "no" for n in ("pybind11", "nanobind")]
        why = purpose(projects[owner], path)
        if not why:
            msg = (
                f"{path}: no purpose for this generated file; add it to FILE_PURPOSES in "
                "docs/gen_reference.py, or begin the file with a comment saying why it is there"
            )
            raise ValueError(msg)
        anchor = file_anchor(path, owner, defaults)
        out.append(f"| [`{path}`](#{anchor}) | {marks[0]} | {marks[1]} | {cell(why)} |")

    for name, title in (
        ("pybind11", "Contents: the default project"),
        ("nanobind", "Contents: nanobind with the stable ABI (files that differ)"),
    ):
        out += ["", f"## {title}", ""]
        root = projects[name]
        for path in listed[name]:
            text = (root / path).read_text(encoding="utf-8")
            default = projects["pybind11"] / path
            same = default.is_file() and default.read_text(encoding="utf-8") == text
            if name != "pybind11" and same:
                continue
            out += [
                f"### `{path}` {{#{file_anchor(path, name, defaults)}}}",
                "",
                collapsed(path, code_block(text, lang_of(path))),
            ]
    return "\n".join(out) + "\n"


# --- blocks inside hand-written pages ----------------------------------------------------


def import_package(folder: Path, name: str) -> types.ModuleType:
    """The package in folder, imported as `name`, with each of its modules (not __main__).

    Its modules import each other relatively, so each copy (the template's, a project's)
    is a package of its own under its name; importing a name again replaces the package.
    """
    for loaded in [m for m in sys.modules if m == name or m.startswith(f"{name}.")]:
        del sys.modules[loaded]
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    assert spec is not None
    assert spec.loader is not None
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    spec.loader.exec_module(package)
    for path in sorted(folder.glob("*.py")):
        if not path.stem.startswith("__"):
            importlib.import_module(f"{name}.{path.stem}")
    return package


def wheels_checks() -> types.ModuleType:
    """The checks module of template/tools/wheels/, rendered as in a default project: the
    policies, DISTRO_GLIBC and distros(), which `nox -s wheels` prints its summary from.

    The package's Jinja blocks only add the stable-ABI steps; the tables are plain Python.
    """
    source = ROOT / "template" / "tools" / "wheels"
    with tempfile.TemporaryDirectory(prefix="fce-wheels-") as tmp:
        for path in source.iterdir():
            if path.suffix not in {".py", ".jinja"}:
                continue
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".jinja":
                text = jinja2.Template(text).render(stable_abi=False)
            target = Path(tmp) / path.name.removesuffix(".jinja")
            target.write_text(text, encoding="utf-8")
        package = import_package(Path(tmp), "template_wheels")
    checks: types.ModuleType = package.checks
    return checks


def glibc(version: tuple[int, int]) -> str:
    return "{}.{}".format(*version)


def distro_table() -> str:
    """Each policy of the `manylinux` question: its glibc and the distros it installs on."""
    wheels = wheels_checks()
    distros: dict[str, list[tuple[str, tuple[int, int]]]] = wheels.DISTRO_GLIBC
    policies = [v for v, _ in choice_values(questions()["manylinux"])]
    head = ["Policy", "glibc", *distros]
    rows = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for policy in sorted(policies, key=lambda p: wheels.POLICY_GLIBC[p]):
        need = wheels.POLICY_GLIBC[policy]
        cells = [f"`{policy}`", glibc(need)]
        for releases in distros.values():
            first = next((rel for rel, have in releases if have >= need), None)
            cells.append(f"{first}+" if first else "none listed")
        rows.append("| " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def distro_glibc_table() -> str:
    """The whole DISTRO_GLIBC table: each distro's releases with their glibc."""
    wheels = wheels_checks()
    rows = ["| Distribution | Releases (glibc) |", "| --- | --- |"]
    for distro, releases in wheels.DISTRO_GLIBC.items():
        listed = ", ".join(f"{rel} ({glibc(have)})" for rel, have in releases)
        rows.append(f"| {distro} | {listed} |")
    return "\n".join(rows) + "\n"


def policy_symbols_table() -> str:
    """Newest symbol versions auditwheel allows per policy (x86_64), from its policy file."""
    from importlib.resources import files  # noqa: PLC0415

    import auditwheel  # noqa: PLC0415

    data = json.loads(
        (files(auditwheel) / "policy" / "manylinux-policy.json").read_text(
            encoding="utf-8"
        )
    )
    wheels = wheels_checks()
    names = {
        f"manylinux_{glibc(v).replace('.', '_')}": p
        for p, v in wheels.POLICY_GLIBC.items()
    }
    libs = {
        "GLIBC": "libc",
        "GLIBCXX": "libstdc++",
        "CXXABI": "libstdc++",
        "GCC": "libgcc_s",
    }
    rows = [
        "| Policy | " + " | ".join(f"`{k}_` ({v})" for k, v in libs.items()) + " |",
        "|" + " --- |" * (len(libs) + 1),
    ]

    def newest(versions: list[str]) -> str:
        numeric = [v for v in versions if re.fullmatch(r"[\d.]+", v)]
        return max(numeric, key=lambda v: tuple(map(int, v.split("."))), default="-")

    for policy in data:
        if policy["name"] not in names:
            continue
        symbols = policy["symbol_versions"].get("x86_64", {})
        cells = [f"{k}_{newest(symbols.get(k, []))}" for k in libs]
        rows.append(f"| `{names[policy['name']]}` | " + " | ".join(cells) + " |")
    version = getattr(auditwheel, "__version__", "")
    note = f"\n*From auditwheel {version}'s policy file.*\n" if version else "\n"
    return "\n".join(rows) + "\n" + note


# The wheel the report example shows: a zig build of the default project for CPython
# 3.11, whose newest glibc symbol is 2.16 (auditwheel then adds the 2.17 tags too).
REPORT_WHEEL = (
    "fast_stats-0.1.0-cp311-cp311-manylinux2014_x86_64.manylinux_2_17_x86_64"
    ".manylinux_2_28_x86_64.whl"
)


def wheel_report() -> str:
    """The table `nox -s wheels` ends with, made by its own report() for REPORT_WHEEL."""
    wheels = wheels_checks()
    with tempfile.TemporaryDirectory(prefix="fce-report-") as tmp:
        wheel = Path(tmp) / REPORT_WHEEL
        wheel.write_bytes(bytes(160 * 1024))  # the size the report shows
        table = wheels.report([wheels.WheelInfo(wheel, (2, 16))])
    return code_block(table, "text")


BLOCKS: dict[str, Callable[[], str]] = {
    "distro-table": distro_table,
    "distro-glibc": distro_glibc_table,
    "policy-symbols": policy_symbols_table,
    "wheel-report": wheel_report,
}


def fill_blocks(text: str) -> str:
    """Replace each `<!-- gen:NAME -->...<!-- /gen -->` block with what BLOCKS[NAME] gives."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(2)
        if name not in BLOCKS:
            msg = f"unknown generated block {name!r}; known: {', '.join(BLOCKS)}"
            raise KeyError(msg)
        return f"{match.group(1)}\n{BLOCKS[name]()}\n{match.group(4)}"

    return GEN_BLOCK.sub(replace, text)


def changelog_page() -> str:
    """CHANGELOG.md for the site: links into docs/ made relative, other local links dropped."""
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    text = re.sub(r"\]\(docs/", "](", text)

    def local(match: re.Match[str]) -> str:
        target = match.group(2)
        if re.match(r"[a-z]+:|#", target) or not re.match(r"[\w.]", target):
            return match.group(0)
        if (
            target.split("#")[0].endswith(".md")
            and (DOCS / target.split("#")[0]).exists()
        ):
            return match.group(0)
        return match.group(
            1
        )  # a file of the repository, not of the site: keep the text

    return re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", local, text)


# --- output ------------------------------------------------------------------------------


def generate() -> dict[str, str]:
    """Every generated page: site path -> Markdown."""
    pages: dict[str, str] = {"reference/questions.md": questions_page()}
    with rendered_projects() as projects:
        pages["reference/sessions.md"] = sessions_page(projects)
        pages["reference/files.md"] = files_page(projects)
    pages["changelog.md"] = changelog_page()
    for page in sorted(DOCS.rglob("*.md")):
        text = page.read_text(encoding="utf-8")
        if GEN_BLOCK.search(text):
            pages[page.relative_to(DOCS).as_posix()] = fill_blocks(text)
    return pages


def main() -> None:
    pages = generate()
    if __name__ == "__main__":
        out = Path(sys.argv[1] if len(sys.argv) > 1 else "site-pages")
        for name, text in pages.items():
            (out / name).parent.mkdir(parents=True, exist_ok=True)
            (out / name).write_text(text, encoding="utf-8")
        print(f"wrote {len(pages)} pages under {out}")
        return
    import mkdocs_gen_files  # noqa: PLC0415

    for name, text in pages.items():
        with mkdocs_gen_files.open(name, "w") as f:
            f.write(text)


if __name__ in {"__main__", "<run_path>"}:
    main()
