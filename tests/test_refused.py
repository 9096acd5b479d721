"""Bad answers are refused by copier's validators, with a clear message, before any file is written."""

from __future__ import annotations

import keyword
import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DEFAULT_DATA, QUESTIONS, ROOT, recorded_answers, render, tool
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2.sandbox import SandboxedEnvironment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

CASES = [
    ({"project_name": "  "}, "project_name is required"),
    ({"package_name": "fast stats!"}, "is not a valid PEP 508 name"),
    ({"package_name": "-leading-dash"}, "is not a valid PEP 508 name"),
    # `$` would match before a final newline; the validators anchor at the true end.
    ({"package_name": "fast-stats\n"}, "is not a valid PEP 508 name"),
    # With a case-insensitive match these two would pass as k and s.
    ({"package_name": "\u212aelvin"}, "is not a valid PEP 508 name"),
    ({"package_name": "cla\u017fs"}, "is not a valid PEP 508 name"),
    (
        {"project_name": "\u65e5\u672c"},
        "has no letter or digit to make it from, so set package_name",
    ),
    ({"project_name": "Fast\nStats"}, "project_name must be one line of text"),
    (
        {"project_name": "3D Tools"},
        (
            "module_name '3d_tools', made from package_name '3d-tools', is not a valid"
            " Python identifier: it starts with a digit, so set module_name"
        ),
    ),
    ({"module_name": "fast_stats\n"}, "is not a valid Python identifier"),
    ({"module_name": "3body"}, "is not a valid Python identifier"),
    ({"module_name": "fast-stats"}, "is not a valid Python identifier"),
    ({"module_name": "lambda"}, "is a Python keyword"),
    ({"module_name": "json"}, "would shadow the standard-library module"),
    ({"module_name": "asyncio"}, "would shadow the standard-library module"),
    ({"module_name": "test"}, "would shadow the standard-library module"),
    ({"module_name": "numpy"}, "would shadow a dependency of the project"),
    ({"module_name": "pytest"}, "would shadow a dependency of the project"),
    ({"module_name": "hypothesis"}, "would shadow a dependency of the project"),
    ({"module_name": "__main__"}, "is a name Python imports itself"),
    ({"module_name": "sitecustomize"}, "is a name Python imports itself"),
    ({"description": "Two\nlines"}, "description must be one line of text"),
    ({"author_name": "Tab\tName"}, "author_name must be one line of text"),
    ({"author_name": " "}, "author_name is required"),
    ({"author_email": ""}, "author_email is required"),
    ({"author_email": "not-an-address"}, "does not look like an email address"),
    ({"author_email": "two@@example.com"}, "does not look like an email address"),
    ({"author_email": "you@example.com\n"}, "does not look like an email address"),
    ({"author_email": 'y"ou@example.com'}, "does not look like an email address"),
    ({"author_email": "y\\ou@example.com"}, "does not look like an email address"),
    ({"url": "example.com"}, "must be empty or an https:// URL"),
    ({"url": "http://example.com"}, "must be empty or an https:// URL"),
    ({"url": "https://example.com\n"}, "must be empty or an https:// URL"),
    ({"url": 'https://example.com/"x'}, "must be empty or an https:// URL"),
    ({"url": "https://example.com/\\x"}, "must be empty or an https:// URL"),
    # The question is hidden for pybind11, but an answer given with --data still counts.
    ({"stable_abi": "true"}, "stable_abi needs bindings=nanobind"),
    (
        {"bindings": "nanobind", "python_min": "3.9"},
        "nanobind 3 needs CPython 3.10 or newer, but python_min is 3.9",
    ),
    # example=minimal and split_mode need the include layout (projects made from 0.3.0).
    (
        {"example": "minimal", "cpp_layout": "flat"},
        "example=minimal needs the include/ layout",
    ),
    (
        {"split_mode": "true", "bindings": "nanobind", "python_min": "3.10"},
        "split_mode needs bindings=nanobind and stable_abi=true",
    ),
    (
        {
            "manylinux": "manylinux2014",
            "bindings": "nanobind",
            "python_min": "3.10",
            "stable_abi": "true",
            "split_mode": "true",
        },
        "split_mode needs manylinux_2_28 or newer",
    ),
    (
        {
            "cpp_layout": "split",
            "bindings": "nanobind",
            "python_min": "3.10",
            "stable_abi": "true",
            "split_mode": "true",
        },
        "split_mode needs the include/ layout",
    ),
    ({"python_min": "3.8"}, "Invalid choice"),
    ({"license": "GPL-3.0"}, "Invalid choice"),
    ({"manylinux": "manylinux1"}, "Invalid choice"),
    # Lengths: project_name in UTF-8 bytes, package_name and module_name (ASCII) in
    # characters; a default that is too long names the answer to set.
    (
        {"project_name": "a" * 500},
        "project_name is too long: 500 bytes in UTF-8, the limit is 255",
    ),
    (
        {"project_name": "\u00e9" * 128},
        "project_name is too long: 256 bytes in UTF-8, the limit is 255",
    ),
    (
        {"project_name": "a" * 101},
        (
            f"package_name '{'a' * 40}\u2026', made from project_name, is too long: 101"
            " characters, the limit is 100 (its wheels' file names must fit in 255 bytes),"
            " so set package_name"
        ),
    ),
    (
        {"project_name": "Z\u00fcrich Str\u00f6me " * 9},
        (
            "package_name 'zurich-strome-zurich-strome-zurich-strom\u2026', made from"
            " project_name, is too long: 125 characters, the limit is 100"
        ),
    ),
    (
        {"package_name": "p" * 101},
        (
            f"package_name '{'p' * 40}\u2026' is too long: 101 characters, the limit is"
            " 100 (its wheels' file names must fit in 255 bytes)"
        ),
    ),
    (
        {"module_name": "m" * 76},
        (
            f"module_name '{'m' * 40}\u2026' is too long: 76 characters, the limit is 75"
            " (it names the C++ namespace, whose lines must fit in 100 columns)"
        ),
    ),
    (
        {"package_name": "p" * 76},
        (
            f"module_name '{'p' * 40}\u2026', made from package_name, is too long: 76"
            " characters, the limit is 75 (it names the C++ namespace, whose lines must"
            " fit in 100 columns), so set module_name"
        ),
    ),
    # tools/wheels/ and tools/bench.py are modules too, to mypy.
    ({"module_name": "wheels"}, "would clash with the project's tools/wheels,"),
    ({"module_name": "bench"}, "would clash with the project's tools/bench.py,"),
]


def case_id(data: dict[str, str]) -> str:
    """name=value of a case's first answer; a long value as its start and its length."""
    name, value = next(iter(data.items()))
    return f"{name}={value if len(value) <= 20 else f'{value[:4]}...x{len(value)}'}"


@pytest.mark.parametrize(
    ("data", "message"),
    CASES,
    ids=[case_id(d) for d, _ in CASES],
)
def test_copier_refuses(tmp_path: Path, data: dict[str, str], message: str) -> None:
    """Through copier's API, which the CLI calls and whose error it prints (the tests below
    run the CLI itself): no new Python process per case, so a fifth of the time."""
    dest = tmp_path / "project"
    with pytest.raises(ValueError, match=re.escape(message)):
        render(dest, **data)
    assert not dest.exists()


def test_defaults_without_an_author_are_refused(tmp_path: Path) -> None:
    """--defaults writes no made-up author: the author's name and email must be given."""
    dest = tmp_path / "project"
    assert_refused(
        dest,
        ["--data", "project_name=Fast Stats"],
        'author_name is required: pass --data author_name="Your Name"',
    )
    assert_refused(
        dest,
        ["--data", "project_name=Fast Stats", "--data", "author_name=Ada Lovelace"],
        "author_email is required: pass --data author_email=",
    )


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ("stable_abi: true\n", "stable_abi needs bindings=nanobind"),
        # A YAML block scalar keeps its final newline.
        ("description: |\n  A fast library\n", "description must be one line of text"),
    ],
    ids=["stable_abi", "description"],
)
def test_copier_refuses_data_file(tmp_path: Path, answers: str, message: str) -> None:
    data_file = tmp_path / "answers.yml"
    required = "".join(f"{key}: {value}\n" for key, value in DEFAULT_DATA.items())
    data_file.write_text(required + answers, encoding="utf-8")
    assert_refused(tmp_path / "project", ["--data-file", str(data_file)], message)


def assert_refused(dest: Path, args: list[str], message: str) -> None:
    """copier copy with these answers exits non-zero, says message and writes nothing."""
    proc = subprocess.run(
        [
            tool("copier"),
            "copy",
            "--vcs-ref",
            "HEAD",
            "--defaults",
            *args,
            str(ROOT),
            str(dest),
        ],
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr
    written = sorted(p.name for p in dest.iterdir()) if dest.exists() else []
    assert written == [], proc.stderr[-2000:]
    assert message in proc.stderr


@pytest.mark.parametrize(
    "data",
    [
        {"project_name": "a" * 500},
        {"package_name": "p" * 101},
        {"module_name": "m" * 76},
        {"module_name": "json"},
    ],
    ids=case_id,
)
def test_a_refusal_leaves_an_existing_empty_destination_empty(
    tmp_path: Path, data: dict[str, str]
) -> None:
    """A refused answer writes nothing, even into a destination that already exists."""
    dest = tmp_path / "project"
    dest.mkdir()
    with pytest.raises(ValueError, match="Validation error for question"):
        render(dest, **data)
    assert dest.is_dir()
    assert not any(dest.iterdir())


# The longest tags a wheel of a generated project can get: the newest free-threaded
# CPython, and the four platform tags auditwheel gives a manylinux2014 wheel that also
# qualifies for manylinux1 (x86_64; the other architectures start at manylinux2014).
NEWEST = "cp" + QUESTIONS["python_newest"]["default"].replace(".", "")
LONGEST_TAGS = (
    f"{NEWEST}-{NEWEST}t-manylinux_2_5_x86_64.manylinux1_x86_64"
    ".manylinux_2_17_x86_64.manylinux2014_x86_64"
)


@pytest.mark.parametrize(
    "data",
    [
        # At module_name's limit through the defaults: a 75-character package_name
        # (accents folded) and module_name made from project_name.
        {"project_name": "Z\u00fcrich-" * 10 + "abcde"},
        # project_name at 255 bytes (2-byte letters), the other two given at their limits.
        {
            "project_name": "\u00dc" * 127 + "x",
            "package_name": "a-" * 49 + "bc",
            "module_name": "m" * 75,
        },
        {
            "project_name": "\u00dc" * 127 + "x",
            "package_name": "A." * 49 + "Z9",
            "module_name": "Mod9" * 18 + "xyz",
            "bindings": "nanobind",
            "python_min": "3.12",
            "stable_abi": True,
        },
    ],
    ids=["defaults", "given", "nanobind"],
)
def test_the_longest_accepted_names_render(
    tmp_path: Path, data: dict[str, object]
) -> None:
    """Answers at the limits render, and every path they make fits in 255 bytes."""
    root = render(tmp_path / "p", **data)
    answers = recorded_answers(root)
    package, module = answers["package_name"], answers["module_name"]
    assert len(answers["project_name"].encode("utf-8")) <= 255
    assert len(package) <= 100
    assert len(module) == 75  # the limit, reached
    assert (root / "src" / module / "__init__.py").is_file()
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == package
    assert f"add_library({module} STATIC" in (root / "CMakeLists.txt").read_text()

    # Every path component of the render.
    parts = {part for p in root.rglob("*") for part in p.relative_to(root).parts}
    longest = max(parts, key=lambda part: len(part.encode("utf-8")))
    assert len(longest.encode("utf-8")) <= 255, longest
    # The names that the build and a release make from them: the build tree's static
    # library and the longest of its CMake folders, the wheel (with a version of up to 55 bytes), the
    # sdist, the wheel's .dist-info and the editable install's hook.
    dist = re.sub(r"[-_.]+", "_", package).lower()
    assert project["project"]["dynamic"] == ["version"]  # __version__ in __init__.py
    version = "0.1.0"
    later = [
        f"lib{module}.a",
        f"{module}_avx512.dir",
        f"{module}.lib",
        f"{dist}-{version}-{LONGEST_TAGS}.whl",
        f"{dist}-{'9' * 55}-{LONGEST_TAGS}.whl",
        f"{dist}-{version}.tar.gz",
        f"{dist}-{version}.dist-info",
        f"_{dist}_editable.py",
    ]
    for name in later:
        assert len(name.encode("utf-8")) <= 255, (len(name), name)


def test_valid_names_are_accepted(tmp_path: Path) -> None:
    root = render(tmp_path / "p", project_name="My.Lib_2", module_name="_mylib2")
    assert (root / "src" / "_mylib2" / "__init__.py").is_file()
    assert 'name = "my-lib-2"' in (root / "pyproject.toml").read_text()


# The validators, rendered as copier renders them, for many answers at once.
JINJA = SandboxedEnvironment(
    extensions=["jinja2_ansible_filters.AnsibleCoreFiltersExtension"]
)
DERIVED = {
    "project_name": "Fast Stats",
    "package_name_default": "fast-stats",
    "package_name": "fast-stats",
}


def refusal(name: str, value: str) -> str:
    """The message copier.yml's validator of question `name` gives for value, or ''."""
    validator = JINJA.from_string(QUESTIONS[name]["validator"])
    return validator.render({**DERIVED, name: value}).strip()


# ASCII letters and separators, the Unicode letters that fold to them under a
# case-insensitive match or NFKC (Kelvin sign, long s, dotted I, fullwidth k and a),
# and white space.
LOOKALIKES = st.text(
    st.sampled_from("akAKs09._-\u212a\u017f\u0130\uff4b\uff41 \n\t"),
    min_size=1,
    max_size=6,
)


@settings(max_examples=300, deadline=None)
@given(LOOKALIKES)
def test_accepted_package_names_are_valid_for_packaging(name: str) -> None:
    if refusal("package_name", name):
        return
    assert canonicalize_name(name, validate=True)
    assert Requirement(name).name == name


@settings(max_examples=300, deadline=None)
@given(st.one_of(LOOKALIKES, LOOKALIKES.map(lambda s: "m" + s)))
def test_accepted_module_names_are_ascii_identifiers(name: str) -> None:
    if refusal("module_name", name):
        return
    assert name.isascii(), repr(name)
    assert name.isidentifier(), repr(name)
    assert not keyword.iskeyword(name)


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from(["description", "author_name", "project_name"]),
    st.text(st.characters(max_codepoint=0x2100), max_size=12),
)
def test_free_text_with_a_control_character_is_refused(name: str, value: str) -> None:
    has_control = any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    # Never blank: a blank project_name is refused as missing instead.
    message = refusal(name, "x" + value)
    assert bool(message) == has_control, (value, message)
    if has_control:
        assert message.startswith(f"{name} must be one line of text")


@pytest.mark.parametrize(
    ("project_name", "package_name", "module_name"),
    [
        ("Zürich Ströme", "zurich-strome", "zurich_strome"),
        ("Ærø Łódź Straße", "aero-lodz-strasse", "aero_lodz_strasse"),
        # Decomposed accents (as macOS file names have them) are dropped as well.
        ("Cafe\u0301 Cre\u0300me", "cafe-creme", "cafe_creme"),
        ("3D Tools", "3d-tools", None),
    ],
)
def test_derived_names_keep_accented_letters(
    tmp_path: Path, project_name: str, package_name: str, module_name: str | None
) -> None:
    answers = {"project_name": project_name}
    if module_name is None:  # a name that cannot start an identifier: set module_name
        answers["module_name"] = "tools3d"
    root = render(tmp_path / "p", **answers)
    project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == package_name
    assert (root / "src" / (module_name or "tools3d") / "__init__.py").is_file()
