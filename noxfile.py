"""Sessions for developing the template itself."""

from __future__ import annotations

from pathlib import Path

import nox

nox.needs_version = ">=2025.2.9"
nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["lint", "tests"]

DIR = Path(__file__).parent.resolve()
PYPROJECT = nox.project.load_toml(DIR / "pyproject.toml")
# Material for MkDocs and mkdocs-gen-files each print a notice about MkDocs 2.0 on every build.
QUIET_MKDOCS = {"NO_MKDOCS_2_WARNING": "1", "DISABLE_MKDOCS_2_WARNING": "true"}


@nox.session
def tests(session: nox.Session) -> None:
    """Run the template's tests: render every answer set, then build and test projects."""
    # The docs group too: tests/test_docs.py builds the documentation site strictly.
    session.install(*nox.project.dependency_groups(PYPROJECT, "test", "docs"))
    # A worker per core, each taking whole files (or a file's part that builds its own
    # project), longest first (tests/conftest.py); the slowest tests listed at the end.
    parallel = ["--numprocesses=auto", "--dist=loadfile", "--no-loadscope-reorder"]
    # uv installs no .pyc: the workers' bytecode is kept in nox's cache, which outlives the
    # session's venv, so that they do not compile their imports anew on every run.
    bytecode = {
        "PYTHONDONTWRITEBYTECODE": None,
        "PYTHONPYCACHEPREFIX": str(session.cache_dir / "pycache"),
    }
    session.run("pytest", *parallel, "--durations=50", *session.posargs, env=bytecode)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/, strictly (`-- serve` to preview it)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "docs"))
    session.run("mkdocs", *(session.posargs or ["build", "--strict"]), env=QUIET_MKDOCS)


@nox.session(default=False)
def goals(session: nox.Session) -> None:
    """Check the template's speed goals on a rendered project's `nox -s bench` (slow)."""
    session.install("copier", "nox")
    session.run("python", "tests/bench_goals.py", *session.posargs)


@nox.session(default=False)
def zig_timings(session: nox.Session) -> None:
    """Time a rendered project's wheel builds with zig against gcc (slow; `-- --help`)."""
    session.install("copier", "ziglang", "nox")
    session.run("python", "tests/zig_timings.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check the template's own Python with ruff."""
    session.install("ruff")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
