"""Fast tier: render combinations of the choice answers and check the files (no build)."""

from __future__ import annotations

import ast
import itertools
import re
import sys
from pathlib import Path
from typing import Any

import copier
import pytest
import yaml
from conftest import (
    COMPUTED,
    DEFAULT_DATA,
    QUESTIONS,
    ROOT,
    cpp_sources,
    recorded_answers,
    render,
    run,
    tool,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from validate_pyproject import api as vpp

# validate-pyproject's validator loads its plugins' schemas when made: once per run.
VALIDATE_PYPROJECT = vpp.Validator()

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib


def choices(name: str) -> list[str]:
    raw = QUESTIONS[name]["choices"]
    return list(raw.values()) if isinstance(raw, dict) else list(raw)


def refused(data: dict[str, Any]) -> bool:
    """Whether copier refuses these answers (nanobind 3 needs CPython 3.10 or newer)."""
    minor = int(data["python_min"].split(".")[1])
    return data["bindings"] == "nanobind" and minor < 10


CHOICE_QUESTIONS = [name for name, q in QUESTIONS.items() if "choices" in q]
# The answers that shape the build and the wheel set; every valid mix of them is rendered.
CORE = ("python_min", "bindings", "stable_abi")


def core_answers() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for python_min, bindings in itertools.product(
        choices("python_min"), choices("bindings")
    ):
        data = {"python_min": python_min, "bindings": bindings}
        if refused(data):
            continue
        if bindings == "nanobind":  # stable_abi is asked only then (its `when`)
            found += [{**data, "stable_abi": flag} for flag in (False, True)]
        else:
            found.append(data)
    return found


def combinations() -> list[dict[str, Any]]:
    """Each core mix with each value of the other choice questions, rotated per question.

    The full product is too slow for the fast tier. Here every value of every question
    appears, with every core mix, and every pair of values of two other questions meets;
    each binding (and stable ABI) meets each example.
    """
    others = [name for name in CHOICE_QUESTIONS if name not in (*CORE, "example")]
    rounds = max(len(choices(name)) for name in others)
    found = []
    for i, core in enumerate(core_answers()):
        for j in range(rounds):
            data = dict(core)
            for k, name in enumerate(others):
                values = choices(name)
                data[name] = values[(k * i + j) % len(values)]
            # example is asked only with the include layout (its `when`): the core mixes
            # take turns at its values, so each binding meets each example.
            if data["cpp_layout"] == "include":
                data["example"] = choices("example")[i % len(choices("example"))]
            found.append({name: data[name] for name in QUESTIONS if name in data})
    return found


COMBINATIONS = combinations()
# Free-text answers that stress quoting and line lengths in the generated files.
AWKWARD = {
    "project_name": 'The "Quoted" \\ Project',
    # The longest names copier.yml allows (100 and 75 characters).
    "package_name": "a-very-long-distribution-name-for-checking-line-lengths-in-files-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
    "module_name": "a_very_long_import_name_for_checking_line_lengths_in_generated_files_xxxxxx",
    "description": 'Says "hi" \\ with a backslash',
    "author_name": 'O\'Brien "Bob" Ñandú',
    "author_email": "o'brien+fast.stats@example.com",
    "url": "https://example.com/project",
}
# nanobind's split mode, its stable ABI from 3.10 and from a later python_min.
SPLIT_MODE = {
    "python_min": "3.10",
    "bindings": "nanobind",
    "stable_abi": True,
    "split_mode": True,
}
SPLIT_MODE_MINIMAL = {**SPLIT_MODE, "python_min": "3.13", "example": "minimal"}
# The minimal example's lines with the longest names, on the oldest CPython.
AWKWARD_MINIMAL = {**AWKWARD, "python_min": "3.9", "example": "minimal"}
AWKWARD_NANOBIND = {
    **AWKWARD,
    "python_min": "3.10",
    "bindings": "nanobind",
    "stable_abi": True,
}
UNRENDERED = re.compile(r"{{|}}|{%|%}|{#|#}")
# GitHub Actions expressions, `${{ github.ref }}`, belong in rendered workflow files: the
# template writes them out escaped. Removed before the check in .github/ only, so a Jinja
# leftover there (`{{ name }}` without the `$`, `{%`) is still caught.
GITHUB_EXPRESSION = re.compile(r"\$\{\{[^{}]*\}\}")


def combo_id(data: dict[str, Any]) -> str:
    return "-".join(str(v) for v in data.values())


@pytest.fixture(
    scope="module",
    params=[
        *COMBINATIONS,
        SPLIT_MODE,
        SPLIT_MODE_MINIMAL,
        AWKWARD,
        AWKWARD_MINIMAL,
        AWKWARD_NANOBIND,
    ],
    ids=[
        *map(combo_id, COMBINATIONS),
        "split-mode",
        "split-mode-minimal",
        "awkward",
        "awkward-minimal",
        "awkward-nanobind",
    ],
)
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    data: dict[str, Any] = request.param
    return render(tmp_path_factory.mktemp("render") / "project", **data), data


def test_no_unrendered_jinja(project: tuple[Path, dict[str, Any]]) -> None:
    root, _ = project
    for path in root.rglob("*"):
        assert not UNRENDERED.search(str(path.relative_to(root))), path
        if path.is_file():
            assert path.suffix != ".jinja", path
            text = path.read_text(encoding="utf-8")
            if path.relative_to(root).parts[0] == ".github":
                text = GITHUB_EXPRESSION.sub("", text)
            match = UNRENDERED.search(text)
            assert match is None, (
                f"{path}: {text[max(match.start() - 40, 0) : match.end() + 40]!r}"
            )


def test_config_files_parse_and_pyproject_is_valid(
    project: tuple[Path, dict[str, Any]],
) -> None:
    root, data = project
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    VALIDATE_PYPROJECT(pyproject)
    assert (
        pyproject["project"]["requires-python"]
        == f">={data.get('python_min', QUESTIONS['python_min']['default'])}"
    )
    assert pyproject["project"]["license"] == data.get("license", "MIT")
    for name in (".copier-answers.yml", ".clang-format"):
        assert yaml.safe_load((root / name).read_text(encoding="utf-8"))


# Free text drawn to stress TOML and Python string syntax: quotes, backslashes, control
# characters, non-ASCII letters and line separators TOML and Python do not treat as newlines.
FREE_TEXT = st.text(
    st.one_of(
        st.sampled_from("\"'\\\n\r\t\x00\x1b\x7f\u2028\u0085 ñ{}#=[]"),
        st.characters(codec="utf-8"),
    ),
    max_size=10,
)


@pytest.mark.slow
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(description=FREE_TEXT, author_name=FREE_TEXT)
def test_free_text_is_refused_or_written_exactly(
    tmp_path_factory: pytest.TempPathFactory, description: str, author_name: str
) -> None:
    """Free text with a control character, or a blank author, stops copier; any other
    comes out unchanged."""
    dest = tmp_path_factory.mktemp("free") / "project"

    def control(text: str) -> bool:
        return any(ord(c) < 0x20 or ord(c) == 0x7F for c in text)

    # description is asked first; a blank author (str.strip() drops some control
    # characters too) is refused as missing.
    if control(description) or not author_name.strip() or control(author_name):
        refusal = (
            "author_name is required"
            if not control(description) and not author_name.strip()
            else "must be one line of text: it holds a newline"
        )
        with pytest.raises(ValueError, match=refusal):
            render(dest, description=description, author_name=author_name)
        assert not dest.exists() or not any(dest.iterdir())
        return
    render(dest, description=description, author_name=author_name)
    pyproject = tomllib.loads((dest / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["project"]["description"] == description
    assert pyproject["project"]["authors"][0]["name"] == author_name
    VALIDATE_PYPROJECT(pyproject)
    init = dest / "src" / "fast_stats" / "__init__.py"
    docstring = ast.get_docstring(
        ast.parse(init.read_text(encoding="utf-8")), clean=False
    )
    assert docstring == description


def test_copy_ends_with_the_next_steps(tmp_path: Path) -> None:
    dest = tmp_path / "project"
    data = [arg for k, v in DEFAULT_DATA.items() for arg in ("--data", f"{k}={v}")]
    output = run(
        tool("copier"), "copy", "--vcs-ref", "HEAD", "--defaults", *data, ROOT, dest
    )
    steps = output.split("Next steps:", 1)[1]
    for command in ("git init", "nox ", "nox -s dev", "nox -s wheels"):
        assert command in steps, steps
    assert sorted(p.name for p in (dest / "src").iterdir()) == [
        "bindings",
        "fast_stats",
        "lib",
    ]


def test_names_from_the_users_defaults_make_a_new_project_all_the_same(
    tmp_path: Path,
) -> None:
    """cpp_layout's default tells an update (answers recorded) from a copy whose names
    come from copier's settings file rather than --data."""
    copier.run_copy(
        str(ROOT),
        tmp_path / "project",
        data={k: v for k, v in DEFAULT_DATA.items() if k != "project_name"},
        user_defaults={"project_name": "Fast Stats", "package_name": "fast-stats"},
        defaults=True,
        quiet=True,
        vcs_ref="HEAD",
    )
    assert recorded_answers(tmp_path / "project")["cpp_layout"] == "include"
    assert (
        tmp_path / "project" / "include" / "fast_stats" / "fast_stats.hpp"
    ).is_file()


@pytest.mark.parametrize("url", ["https://github.com/ada/fast-stats/", ""])
def test_repository_url_fills_project_urls(tmp_path: Path, url: str) -> None:
    root = render(tmp_path / "project", url=url)
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    if not url:
        assert "urls" not in pyproject["project"]
        return
    repo = "https://github.com/ada/fast-stats"
    assert pyproject["project"]["urls"] == {
        "Homepage": repo,
        "Source": repo,
        "Issues": f"{repo}/issues",
        "Changelog": f"{repo}/releases",
    }
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert f"]({repo}/issues)" in readme


def test_license_text_follows_choice(project: tuple[Path, dict[str, Any]]) -> None:
    root, data = project
    first_line = (root / "LICENSE").read_text(encoding="utf-8").strip().splitlines()[0]
    expected = {
        "MIT": "MIT License",
        "BSD-3-Clause": "BSD 3-Clause License",
        "Apache-2.0": "Apache License",
    }
    assert first_line.strip() == expected[data.get("license", "MIT")]


def test_lint_clean(project: tuple[Path, dict[str, Any]]) -> None:
    root, _ = project
    run(tool("ruff"), "check", "--no-cache", ".", cwd=root)
    run(tool("ruff"), "format", "--no-cache", "--check", ".", cwd=root)
    sources = sorted(
        str(p.relative_to(root))
        for folder in ("include", "src")
        for p in (root / folder).rglob("*.[ch]pp")
    )
    assert sources
    run(tool("clang-format"), "--dry-run", "--Werror", *sources, cwd=root)


def test_answers_file_records_every_answer(
    project: tuple[Path, dict[str, Any]],
) -> None:
    root, data = project
    answers = recorded_answers(root)
    asked = {
        name
        for name, q in QUESTIONS.items()
        if name not in COMPUTED
        and (name != "stable_abi" or answers.get("bindings") == "nanobind")
        and (
            name != "split_mode"
            or (answers.get("stable_abi", False) and answers["cpp_layout"] == "include")
        )
        and (name != "example" or answers["cpp_layout"] == "include")
    }
    assert asked <= answers.keys()
    for name, value in data.items():
        assert answers[name] == value
    assert answers["_src_path"]
    assert answers["_commit"]


def test_cpp_folders_follow_the_layout(project: tuple[Path, dict[str, Any]]) -> None:
    """include/<module>/ with the library's headers, src/lib/ with its sources and
    src/bindings/; projects made before 0.3.0 keep src/core/ and src/bindings/ (split) or
    src/cpp/ (flat)."""
    root, data = project
    module = data.get("module_name", "fast_stats")
    bindings = data.get("bindings", "pybind11")
    layout = data.get("cpp_layout", "include")
    folders = {p.name for p in (root / "src").iterdir()}
    expected = {"include": {"lib", "bindings"}, "split": {"core", "bindings"}}
    assert folders == {module, *expected.get(layout, {"cpp"})}
    assert (root / "include").is_dir() is (layout == "include")
    if layout == "include":
        headers = sorted(p.name for p in (root / "include" / module).iterdir())
        numeric = data.get("example", "numeric") == "numeric"
        assert headers == sorted([f"{module}.hpp", *["parallel.hpp"] * numeric])
    if layout != "flat":
        found = [p.name for p in (root / "src" / "bindings").iterdir()]
        assert found == [f"{bindings}.cpp"]


def test_bindings_follow_choice(project: tuple[Path, dict[str, Any]]) -> None:
    root, data = project
    bindings = data.get("bindings", "pybind11")
    other = {"pybind11": "nanobind", "nanobind": "pybind11"}[bindings]
    stable_abi = data.get("stable_abi", False)
    legacy = data.get("cpp_layout", "include") != "include"
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    requires = " ".join(pyproject["build-system"]["requires"])
    assert bindings in requires
    assert other not in requires
    sources = cpp_sources(root)
    assert sources.bindings.is_file()
    assert sources.kernels.is_file() is (data.get("example", "numeric") == "numeric")
    assert sorted(p.name for p in sources.bindings.parent.glob(f"*{other}*")) == []
    module = data.get("module_name", "fast_stats")
    assert (root / "src" / module / "py.typed").is_file()
    # The stub is committed (nox -s stubs), so no build runs the module; before 0.3.0 the
    # build wrote it.
    assert (root / "src" / module / "_core.pyi").is_file() is not legacy
    cmake = (root / "CMakeLists.txt").read_text(encoding="utf-8")
    add_module = re.search(rf"{bindings}_add_module\(([^)]*)\)", cmake)
    assert add_module, cmake
    split = data.get("split_mode", False)
    # Split mode: the stable ABI comes with BACKEND_MODULE (NB_STATIC on 3.14t).
    assert ("STABLE_ABI" in add_module[1].split()) is (stable_abi and not split)
    assert ("BACKEND_MODULE nanobind_backend" in cmake) is split
    if legacy:
        assert ("nanobind_add_stub(" in cmake) is (bindings == "nanobind")
        assert ("pybind11_stubgen" in cmake) is (bindings == "pybind11")
        assert ("pybind11-stubgen" in requires) is (bindings == "pybind11")
    else:
        assert "stub" not in cmake.lower()
        nanobind = "nanobind>=3.1.0" if split else "nanobind>=3.0.1"
        assert pyproject["build-system"]["requires"] == [
            "scikit-build-core>=1.0",
            nanobind if bindings == "nanobind" else "pybind11>=3.0",
        ]
    py_api = pyproject["tool"]["scikit-build"].get("wheel", {}).get("py-api")
    minor = int(
        data.get("python_min", QUESTIONS["python_min"]["default"]).split(".")[1]
    )
    split_api = f"cp3{max(10, minor)}"
    assert py_api == (split_api if split else "cp312" if stable_abi else None)
    backend = [d for d in pyproject["project"]["dependencies"] if "backend" in d]
    assert backend == (["nanobind-backend>=1.0.0"] if split else [])


def test_example_follows_choice(project: tuple[Path, dict[str, Any]]) -> None:
    """numeric: the vectorized core on NumPy arrays, and its bench; minimal: two small
    functions in at most 150 lines of C++ and Python, with no NumPy anywhere."""
    root, data = project
    example = data.get("example", "numeric")
    module = data.get("module_name", "fast_stats")
    pyproject = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    # nanobind's split mode adds nanobind-backend (test_bindings_follow_choice).
    dependencies = [
        d for d in pyproject["project"]["dependencies"] if "nanobind-backend" not in d
    ]
    noxfile = (root / "noxfile.py").read_text(encoding="utf-8")
    assert (root / "tools" / "bench.py").is_file() is (example == "numeric")
    assert ("def bench(" in noxfile) is (example == "numeric")
    if example == "numeric":
        assert [d.split(">=")[0] for d in dependencies] == ["numpy"]
        return
    assert dependencies == []
    code = [p for folder in ("src", "include") for p in (root / folder).rglob("*.*")]
    lines = sum(len(p.read_text(encoding="utf-8").splitlines()) for p in code)
    assert lines <= 150, lines
    assert sorted(p.name for p in (root / "src" / "lib").iterdir()) == [f"{module}.cpp"]
    assert sorted(p.name for p in (root / "tests").iterdir()) == [
        "test_core.py",
        "test_stub.py",
        "tsan-suppressions.txt",
    ]
    for path in root.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8").lower()
            for word in ("numpy", "hypothesis", "bench", "simd", "test_threads"):
                assert word not in text, (path, word)
