"""Shared helpers: render the template with copier, run commands, find CPythons."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn

import copier
import debian_testing
import jinja2
import pytest
import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version
from precommit_offline import offline_env
from xdist.scheduler import LoadFileScheduling

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """One compiler cache for every build of the run, and of later runs on this machine;
    one bytecode cache for every Python process the run starts.

    Generated projects compile through ccache when it is installed. Each test renders its
    project into a new temporary folder, so ccache is told to hash paths relative to it
    (base_dir) and not the build folder's own path (hash_dir): identical sources then hit,
    whichever render compiled them first. Tests that count hits use a cache of their own.

    uv installs no .pyc files, so where the environment sets PYTHONDONTWRITEBYTECODE (this
    machine's does) every process compiles numpy, pytest and the rest from source again.
    The run's processes write their bytecode into a folder of its own instead, which keeps
    the projects' trees as clean as that variable did.
    """
    os.environ.setdefault("CCACHE_DIR", str(debian_testing.cache_dir() / "ccache"))
    os.environ["CCACHE_BASEDIR"] = tempfile.gettempdir()
    os.environ["CCACHE_NOHASHDIR"] = "true"
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    os.environ["PYTHONPYCACHEPREFIX"] = tempfile.mkdtemp(prefix="pycache-")


# Copier makes a new Jinja environment for each render and compiles each string it renders
# (every path part, every question's default and validator) again: 40 % of a render's
# time. The code Jinja generates depends only on the source, its names and the
# environment's syntax settings, so this process keeps it, keyed by all of those; the
# templates still render with each run's own answers and environment.
_jinja_compile = jinja2.Environment.compile
_compiled: dict[tuple[Any, ...], Any] = {}


def _cached_compile(
    env: jinja2.Environment, source: Any, *args: Any, **kwargs: Any
) -> Any:
    """Environment.compile(source, name, filename, raw, defer_init), kept per key."""
    if not isinstance(source, str):  # an already parsed tree: rare, not cached
        return _jinja_compile(env, source, *args, **kwargs)
    name = args[0] if args else kwargs.get("name")
    autoescape = env.autoescape(name) if callable(env.autoescape) else env.autoescape
    key = (
        source, args, tuple(sorted(kwargs.items())), autoescape, env.optimized,
        env.is_async, env.block_start_string, env.block_end_string,
        env.variable_start_string, env.variable_end_string, env.comment_start_string,
        env.comment_end_string, env.line_statement_prefix, env.line_comment_prefix,
        env.trim_blocks, env.lstrip_blocks, env.newline_sequence,
        env.keep_trailing_newline, tuple(sorted(env.extensions)), env.code_generator_class,
    )  # fmt: skip
    if key not in _compiled:
        _compiled[key] = _jinja_compile(env, source, *args, **kwargs)
    return _compiled[key]


jinja2.Environment.compile = _cached_compile  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    shutil.rmtree(os.environ.pop("PYTHONPYCACHEPREFIX"), ignore_errors=True)


# The test files that take longest, longest first, as measured (docs/maintainers.md, "The
# suite's time"). Each worker takes whole files in this order, so the long files start at
# once and the short ones fill in at the end. A new file goes in here by its time; the
# files split into one part per project (PER_PROJECT_FILES, below) go last but
# aarch64's, as their parts are short and fill in best.
LONGEST_FIRST = [
    "test_wheels_aarch64.py",
    "test_nanobind.py",
    "test_wheels_zig.py",
    "test_newer_cpythons.py",
    "test_build.py",
    "test_sanitize.py",
    "test_split_mode.py",
    "test_minimal.py",
    "test_vendored.py",
    "test_docs.py",
    "test_dev.py",
    "test_update.py",
    "test_refused.py",
    "test_wheels_container.py",
    "test_manylinux_image.py",
    "test_minimums.py",
    "test_quick_start.py",
    "test_wheels_unit.py",
    "test_vectorized.py",
    "test_ci_files.py",
    "test_render.py",
]


# Files whose tests are parametrized by the project they render or build: one part per
# project, so that the parts spread over both workers (aarch64's two builds, the minimal
# example's two, the renders).
PER_PROJECT_FILES = {
    "test_wheels_aarch64.py",
    "test_minimal.py",
    "test_render.py",
    "test_ci_files.py",
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the files of LONGEST_FIRST first, in its order; the others after them."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


class FilesAndProjects(LoadFileScheduling):
    """--dist=loadfile (a file to one worker, so its shared builds are made once), but a
    file of PER_PROJECT_FILES in one part per project, so its builds use both workers.
    (xdist's loadgroup would do it with marks, but its ids no longer take them: pytest 9.)"""

    def _split_scope(self, nodeid: str) -> str:
        path, _, test = nodeid.partition("::")
        if Path(path).name in PER_PROJECT_FILES and test.endswith("]"):
            return f"{path}[{test.rsplit('[', 1)[1]}"
        return path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    return (
        FilesAndProjects(config, log) if config.getvalue("dist") == "loadfile" else None
    )


def load_generator() -> ModuleType:
    """docs/gen_reference.py, the generator of the docs' reference pages, as a module."""
    spec = importlib.util.spec_from_file_location(
        "gen_reference", ROOT / "docs" / "gen_reference.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


GENERATOR = load_generator()
# copier.yml's questions, help and choices written as Jinja rendered, as the docs show them.
QUESTIONS: dict[str, Any] = GENERATOR.questions()
# Computed values: never asked, never recorded in .copier-answers.yml.
COMPUTED = {name for name, q in QUESTIONS.items() if q.get("when") is False}
# The answers without a default, which every render must give.
DEFAULT_DATA = {
    "project_name": "Fast Stats",
    "author_name": "Ada Lovelace",
    "author_email": "ada@example.org",
}
# Commits must work on a machine without a git identity, and without signing set up.
GIT_ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "Template Tests",
    "GIT_AUTHOR_EMAIL": "template-tests@example.com",
    "GIT_COMMITTER_NAME": "Template Tests",
    "GIT_COMMITTER_EMAIL": "template-tests@example.com",
}


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


def load_wheels_tool(project: Path, name: str) -> ModuleType:
    """A generated project's tools/wheels/ package, imported as `name`, with its modules
    as attributes (cli, checks, common, container, cross, zig)."""
    package: ModuleType = GENERATOR.import_package(project / "tools" / "wheels", name)
    return package


def recorded_answers(project: Path) -> dict[str, Any]:
    """A generated project's .copier-answers.yml."""
    answers: dict[str, Any] = yaml.safe_load(
        (project / ".copier-answers.yml").read_text(encoding="utf-8")
    )
    return answers


@dataclass(frozen=True)
class CppSources:
    """Where a render keeps its C++, by the cpp_layout it records."""

    library: Path  # the C++ library's sources: src/lib/ (src/core/ or src/cpp/ before)
    kernels: Path  # the file of the loops, compiled once per instruction set
    bindings: Path  # the bindings' source file


def cpp_sources(root: Path) -> CppSources:
    """src/lib/ and src/bindings/<bindings>.cpp; before 0.3.0 (legacy/), src/core/ and
    src/bindings/ (cpp_layout: split) or src/cpp/ for both (flat), with kernels.inl."""
    answers = recorded_answers(root)
    bindings, layout = answers["bindings"], answers["cpp_layout"]
    if layout == "include":
        library = root / "src" / "lib"
        return CppSources(
            library,
            library / "kernels.cpp",
            root / "src" / "bindings" / f"{bindings}.cpp",
        )
    if layout == "split":
        library = root / "src" / "core"
        return CppSources(
            library,
            library / "kernels.inl",
            root / "src" / "bindings" / f"{bindings}.cpp",
        )
    library = root / "src" / "cpp"
    return CppSources(
        library, library / "kernels.inl", library / f"bindings_{bindings}.cpp"
    )


def edit(path: Path, old: str, new: str) -> None:
    """Replace the one occurrence of `old` in a file (a test precondition if absent)."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, f"{path} should contain {old!r} once"
    path.write_text(text.replace(old, new), encoding="utf-8")


def append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write(text)


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


def git(*args: str, cwd: Path) -> str:
    """Run git as a test: a test identity, and no signing whatever the user's config says."""
    signing = ["-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false"]
    return run("git", *signing, *args, cwd=cwd, env=GIT_ENV)


def tool(name: str) -> str:
    """A console script installed next to this interpreter, else one on PATH."""
    local = Path(sys.executable).with_name(name)
    found = str(local) if local.exists() else shutil.which(name)
    assert found, (
        f"{name} is not installed; the template's test dependencies provide it"
    )
    return found


def stdout_of(*args: str | Path, cwd: Path) -> str:
    """A command's standard output alone (logs on stderr stay out of its JSON)."""
    cmd = [str(a) for a in args]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        pytest.fail(
            f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}"
        )
    return proc.stdout


def noxfile_values(root: Path, *names: str) -> dict[str, Any]:
    """The module-level values `names` of a project's noxfile, as it computes them (own
    process)."""
    code = (
        "import json, runpy, sys; ns = runpy.run_path(sys.argv[1]); "
        "print(json.dumps({k: ns[k] for k in sys.argv[2:]}))"
    )
    output = stdout_of(
        sys.executable, "-c", code, root / "noxfile.py", *names, cwd=root
    )
    values: dict[str, Any] = json.loads(output)
    return values


def lint_env(root: Path) -> dict[str, str]:
    """Prepare a generated project for `nox -s lint`; the environment to run nox in.

    The session's pre-commit checks the files git tracks, so root becomes a git
    repository with every file added, and its hooks come from the offline store
    (tests/precommit_offline.py), as GitHub may be out of reach.
    """
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    return offline_env(root)


def nox_lint_tests_build(
    root: Path, oldest: str, newest: str, *nox_options: str, first: tuple[str, ...] = ()
) -> str:
    """Run a generated project's `nox -s [FIRST] lint tests-OLDEST tests-NEWEST build`; its
    output."""
    for version in (oldest, newest):
        # A pyenv shim is on PATH even when its version is not selected: ask it to run.
        run(f"python{version}", "-c", "pass")
    sessions = [*first, "lint", f"tests-{oldest}", f"tests-{newest}", "build"]
    return run(tool("nox"), *nox_options, "-s", *sessions, cwd=root, env=lint_env(root))


def venv_maker(root: Path, session: str) -> str:
    """What made a nox session's venv, "uv" or "virtualenv", from its pyvenv.cfg."""
    venv = root / ".nox" / session.replace(".", "-")
    cfg = (venv / "pyvenv.cfg").read_text(encoding="utf-8")
    makers = [
        m for m in ("uv", "virtualenv") if re.search(rf"^{m} = ", cfg, re.MULTILINE)
    ]
    assert len(makers) == 1, cfg
    return makers[0]


def declared_floors(root: Path) -> dict[str, Version]:
    """The `>=` floors of a project's build requirements, dependencies and test group:
    what `nox -s minimums` installs."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    requirements = [
        *pyproject["build-system"]["requires"],
        *pyproject["project"]["dependencies"],
        *pyproject["dependency-groups"]["test"],
    ]
    return {
        canonicalize_name(req.name): Version(spec.version)
        for req in map(Requirement, requirements)
        for spec in req.specifier
        if spec.operator == ">="
    }


def passed_tests(output: str) -> int:
    """How many tests pytest's summary line in `output` says passed; none may have failed
    or been skipped."""
    summary = re.search(r"=+ (\d+) passed(?:, (\d+) \w+)* in ", output)
    assert summary, output[-2000:]
    assert "failed" not in summary.group(0)
    assert "skipped" not in summary.group(0)
    return int(summary.group(1))


def assert_tests_passed(output: str, version: str, at_least: int = 70) -> None:
    """The nox session tests-VERSION ran the project's tests: at_least or more, all passed."""
    assert f"Session tests-{version} was successful" in output
    section = output.split(f"Running session tests-{version}", 1)[1]
    section = section.split("Session tests-", 1)[0]
    assert passed_tests(section) >= at_least


def exported_symbols(extension: Path) -> set[str]:
    """The symbols an extension module (a .so, or the one in a wheel) defines for others."""
    if extension.suffix == ".whl":
        with zipfile.ZipFile(extension) as zf:
            (name,) = [
                n for n in zf.namelist() if n.endswith(".so") and ".libs/" not in n
            ]
            data = zf.read(name)
        with tempfile.TemporaryDirectory() as scratch:
            extension = Path(scratch) / Path(name).name
            extension.write_bytes(data)
            return exported_symbols(extension)
    listing = run("nm", "-D", "--defined-only", "--format=just-symbols", extension)
    return set(listing.split())


# The libraries of glibc itself that a module may link.
GLIBC_LIBRARIES = {
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
}


def assert_needs_glibc_alone(wheel: Path, glibc_minor: int) -> None:
    """auditwheel's verdict on an x86_64 wheel is manylinux_2_N with N <= glibc_minor, the
    wheel links glibc dynamically and nothing else (its C++ library is inside it), and
    nothing was grafted into it."""
    shown = json.loads(run(tool("auditwheel"), "show", "--json", wheel))
    verdict = re.fullmatch(r"manylinux_2_(\d+)_x86_64", shown["overall_tag"])
    assert verdict, shown["overall_tag"]
    assert int(verdict[1]) <= glibc_minor, shown["overall_tag"]
    assert "libc.so.6" in shown["versioned_symbols"]
    assert set(shown["versioned_symbols"]) <= GLIBC_LIBRARIES, shown
    with zipfile.ZipFile(wheel) as zf:
        assert not [n for n in zf.namelist() if ".libs/" in n]  # nothing grafted


def unavailable(reason: str) -> NoReturn:
    """This test cannot run on this machine: skip it, saying why, except on CI.

    .ci/run (CI=true) installs every tool the tests need, so there a missing one is a
    failure, never a skip that would count as passing.
    """
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI is set: .ci/run should have installed it)")
    pytest.skip(f"{reason}; .ci/run installs it")


def local_manylinux_image(cache_dir: Path) -> str:
    """The local manylinux-like image (tests/manylinux_image.py), or unavailable()."""
    from manylinux_image import ImageBuildError, build_image, check_requirements  # noqa: PLC0415

    try:
        check_requirements()
    except ImageBuildError as err:
        unavailable(str(err))
    return build_image(cache_dir)
