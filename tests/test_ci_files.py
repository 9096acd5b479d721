"""A generated project's CI/CD files and tool configuration, and the template's CI.

Each answer set that changes them is rendered into a git repository and checked with the
tools the project's own hooks and workflows use: check-jsonschema, validate-pyproject,
repo-review (sp-repo-review), zizmor, cibuildwheel's build selection, and the project's
pre-commit hooks, run by pre-commit itself (tests/precommit_offline.py stands in for their
GitHub repositories). Every assertion reads the tools' exit codes, reports or JSON output.
The tests that run those tools are slow (seconds each); the file checks are fast.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path, PurePath
from typing import Any

import pytest
import yaml
from cibuildwheel.util.packaging import find_compatible_wheel
from conftest import (
    QUESTIONS,
    ROOT,
    git,
    load_wheels_tool,
    noxfile_values,
    recorded_answers,
    render,
    run,
    stdout_of,
    tool,
)
from identify import identify
from precommit_offline import offline_env

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

NEWEST = QUESTIONS["python_newest"]["default"]  # the newest CPython of the classifiers
OLDEST = QUESTIONS["python_min"]["default"]
# Answer sets whose CI/CD files differ: defaults (pybind11, 3.11, manylinux_2_28), the
# stable-ABI wheel set, each other manylinux policy (one with the minimal example, whose
# pyproject.toml and hooks' files differ), the oldest and newest python_min (free-threaded
# builds start at 3.14), free text.
CASES: dict[str, dict[str, Any]] = {
    "defaults": {},
    "nanobind-abi3-3.10": {
        "python_min": "3.10",
        "bindings": "nanobind",
        "stable_abi": True,
    },
    "manylinux2014-minimal": {"manylinux": "manylinux2014", "example": "minimal"},
    "manylinux_2_34": {"manylinux": "manylinux_2_34"},
    "python-3.9": {"python_min": "3.9"},
    "python-newest": {"python_min": NEWEST},
    # Quotes and Markdown in the free text (no backslash: mdformat would double it).
    "awkward": {
        "project_name": 'The "Quoted" Project',
        "package_name": "a-very-long-distribution-name-for-checking-line-lengths",
        "description": 'Says "hi" with *emphasis* and <angle brackets>',
    },
}
# repo-review checks the generated pyproject.toml skips on purpose, each with its reason.
IGNORED = {"PY004", "PC140", "PC170", "NOX103"}
# Not applicable: pre-commit.ci settings, when Dependabot updates the hooks instead.
NOT_APPLICABLE = {"PC901", "PC902", "PC903"}
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$", re.MULTILINE)
VERSION_COMMENT = re.compile(r"^\s*# v\d+(\.\d+)*$")
# cibuildwheel --platform/--archs for the runners of cd.yml, and the wheel tag they give.
CIBW_TARGETS = [
    ("linux", "x86_64", "manylinux_x86_64"),
    ("linux", "aarch64", "manylinux_aarch64"),
    ("macos", "x86_64", "macosx_x86_64"),
    ("macos", "arm64", "macosx_arm64"),
    ("windows", "auto64", "win_amd64"),
]


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def project(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, dict[str, Any]]:
    """The rendered project, committed to a new git repository (repo-review reads git)."""
    data = CASES[request.param]
    root = render(tmp_path_factory.mktemp("ci") / "project", **data)
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    git("commit", "-q", "-m", "Generated", cwd=root)
    return root, data


def load_toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def load_yaml(path: Path) -> dict[Any, Any]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), path
    return loaded


def workflow_files(root: Path) -> list[Path]:
    return sorted((root / ".github" / "workflows").glob("*.y*ml"))


def steps(workflow: dict[Any, Any]) -> Iterator[dict[str, Any]]:
    for job in workflow["jobs"].values():
        yield from job.get("steps", [])


def minor(version: str) -> int:
    return int(version.split(".")[1])


def supported(data: dict[str, Any]) -> list[str]:
    """The CPythons the answers ask for: python_min up to NEWEST."""
    oldest = data.get("python_min", OLDEST)
    return [f"3.{m}" for m in range(minor(oldest), minor(NEWEST) + 1)]


def free_threaded(data: dict[str, Any]) -> list[str]:
    """The free-threaded CPythons the answers ask for: 3.14t (PEP 779) up to NEWEST."""
    return [f"{v}t" for v in supported(data) if minor(v) >= 14]


def assert_pinned_and_least_privileged(path: Path) -> dict[str, str]:
    """Check one workflow's pins, token permissions and checkouts; its actions' SHAs."""
    text = path.read_text(encoding="utf-8")
    workflow = load_yaml(path)
    # No permission at the top: each job asks for its own.
    assert workflow["permissions"] == {}, path
    for name, job in workflow["jobs"].items():
        assert isinstance(job.get("permissions"), dict), f"{path}: job {name}"
    assert workflow["concurrency"]["cancel-in-progress"] is True, path
    assert "${{ github.ref }}" in workflow["concurrency"]["group"], path
    shas: dict[str, str] = {}
    for uses, rest in USES_LINE.findall(text):
        # A full commit SHA, and the release it is, for people and Dependabot.
        assert PINNED.match(uses), f"{path}: {uses} is not pinned to a commit SHA"
        assert VERSION_COMMENT.match(rest), f"{path}: {uses} lacks a '# vX.Y.Z' comment"
        action, sha = uses.split("@")
        assert shas.setdefault(action, sha) == sha, f"{path}: two SHAs of {action}"
    assert shas, path
    for step in steps(workflow):
        if step.get("uses", "").startswith("actions/checkout@"):
            # The token must not stay in .git/config for later steps to read.
            assert step["with"]["persist-credentials"] is False, path
    # No secret reaches any workflow: publishing is trusted (OIDC), not by token.
    assert "secrets." not in text, path
    return shas


@pytest.mark.slow
def test_workflows_and_dependabot_match_their_schemas(
    project: tuple[Path, dict[str, Any]],
) -> None:
    root, _ = project
    workflows = workflow_files(root)
    assert [p.name for p in workflows] == ["cd.yml", "ci.yml"]
    check = tool("check-jsonschema")
    run(check, "--builtin-schema", "vendor.github-workflows", *workflows, cwd=root)
    dependabot = root / ".github" / "dependabot.yml"
    run(check, "--builtin-schema", "vendor.dependabot", dependabot, cwd=root)
    updates = load_yaml(dependabot)["updates"]
    ecosystems = {u["package-ecosystem"]: u for u in updates}
    assert set(ecosystems) == {"github-actions", "pre-commit", "pip"}
    for update in updates:
        assert update["cooldown"]["default-days"] >= 7
    assert ecosystems["github-actions"]["groups"]  # one pull request per ecosystem
    assert ecosystems["pre-commit"]["groups"]
    # The pip updates watch the one file that pins cd.yml's cibuildwheel.
    pins = root / ecosystems["pip"]["directory"].lstrip("/") / "requirements.txt"
    assert pins.is_file(), pins


@pytest.mark.slow
def test_pyproject_is_valid_with_the_tool_schemas(
    project: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    root, _ = project
    vpp = tool("validate-pyproject")
    run(vpp, "pyproject.toml", cwd=root)
    # The [tool.*] schemas are in force: a wrong cibuildwheel option type is refused.
    broken = tmp_path / "pyproject.toml"
    text = (root / "pyproject.toml").read_text(encoding="utf-8")
    broken.write_text(
        text.replace('archs = ["auto64"]', "archs = 64"), encoding="utf-8"
    )
    proc = subprocess.run(
        [vpp, str(broken)], capture_output=True, text=True, check=False
    )
    assert proc.returncode != 0, proc.stdout + proc.stderr


@pytest.mark.slow
def test_repo_review_reports_no_failures(project: tuple[Path, dict[str, Any]]) -> None:
    root, _ = project
    report = json.loads(
        stdout_of(tool("repo-review"), "--format", "json", ".", cwd=root)
    )
    checks: dict[str, dict[str, Any]] = report["checks"]
    failed = {name: c["err_msg"] for name, c in checks.items() if c["result"] is False}
    assert not failed, failed
    # The ignores are the deliberate ones, each with its reason in pyproject.toml.
    reasons = load_toml(root / "pyproject.toml")["tool"]["repo-review"]["ignore"]
    assert set(reasons) == IGNORED
    assert all(len(reason) > 20 for reason in reasons.values()), reasons
    skipped = {name for name, c in checks.items() if c["result"] is None}
    ignored = {name for name in skipped if checks[name]["skip_reason"]}
    assert ignored == {
        n for n in checks if n.rstrip("0123456789") in IGNORED or n in IGNORED
    }
    assert skipped - ignored <= NOT_APPLICABLE, skipped - ignored
    # The families this work is about did run, and passed.
    families = {"github", "pre-commit", "security", "noxfile", "ruff", "pyproject"}
    passed = {name for name, c in checks.items() if c["result"] is True}
    for family in families:
        assert any(checks[n]["family"] == family for n in passed), family
    assert {"GH100", "GH105", "GH212", "SEC001", "VPP001", "PC180", "RF002"} <= passed


@pytest.mark.slow
def test_zizmor_finds_nothing(project: tuple[Path, dict[str, Any]]) -> None:
    root, _ = project
    # The whole project: the workflows, dependabot.yml and the pre-commit config.
    output = stdout_of(tool("zizmor"), "--offline", "--format", "json", ".", cwd=root)
    assert json.loads(output) == []


def test_actions_are_pinned_and_jobs_least_privileged(
    project: tuple[Path, dict[str, Any]],
) -> None:
    root, _ = project
    shas: dict[str, str] = {}
    for path in workflow_files(root):
        for action, sha in assert_pinned_and_least_privileged(path).items():
            assert shas.setdefault(action, sha) == sha, f"two SHAs of {action}"


def test_ci_lints_and_tests_oldest_and_newest_cpython(
    project: tuple[Path, dict[str, Any]],
) -> None:
    root, data = project
    ci = load_yaml(root / ".github" / "workflows" / "ci.yml")
    assert {"pull_request", "push", "workflow_dispatch"} <= set(ci[True])  # YAML's `on`
    lint_runs = [s.get("run", "") for s in ci["jobs"]["lint"]["steps"]]
    assert any("pre-commit run --all-files" in r for r in lint_runs), lint_runs
    matrix = ci["jobs"]["tests"]["strategy"]["matrix"]
    pythons = supported(data)
    # The oldest and newest, and the oldest free-threaded: each a session of the noxfile.
    expected = [pythons[0], pythons[-1], free_threaded(data)[0]]
    assert matrix["python-version"] == expected
    sessions = {f"tests-{v}" for v in [*pythons, *free_threaded(data)]}
    assert {f"tests-{v}" for v in expected} <= sessions
    assert noxfile_values(root, "PYTHONS")["PYTHONS"] == [
        *pythons,
        *free_threaded(data),
    ]
    assert {os.split("-")[0] for os in matrix["os"]} == {"ubuntu", "macos", "windows"}
    # The newest tested is the newest the project declares.
    classifiers = load_toml(root / "pyproject.toml")["project"]["classifiers"]
    assert f"Programming Language :: Python :: {NEWEST}" in classifiers
    assert f"Programming Language :: Python :: 3.{minor(NEWEST) + 1}" not in classifiers
    test_runs = [s.get("run", "") for s in ci["jobs"]["tests"]["steps"]]
    assert any("nox -s" in r and "tests-$PYTHON" in r for r in test_runs), test_runs


def test_cd_builds_everywhere_and_publishes_with_trusted_publishing(
    project: tuple[Path, dict[str, Any]],
) -> None:
    root, data = project
    cd = load_yaml(root / ".github" / "workflows" / "cd.yml")
    assert cd[True]["release"]["types"] == ["published"]
    jobs = cd["jobs"]
    assert any("build --sdist" in s.get("run", "") for s in jobs["sdist"]["steps"])
    # Linux x86_64 and aarch64 (Arm runner), macOS x86_64 and arm64, Windows.
    runners = jobs["wheels"]["strategy"]["matrix"]["os"]
    assert runners == [
        "ubuntu-24.04",
        "ubuntu-24.04-arm",
        "macos-15-intel",
        "macos-15",
        "windows-2025",
    ]
    # cibuildwheel from PyPI, at the pinned release these tests check the wheel set with.
    runs = "\n".join(s.get("run", "") for s in jobs["wheels"]["steps"])
    assert "pip install -r .github/cibuildwheel/requirements.txt" in runs
    assert "python -m cibuildwheel --output-dir wheelhouse" in runs
    pins = (root / ".github" / "cibuildwheel" / "requirements.txt").read_text()
    (pin,) = re.findall(r"^cibuildwheel==(\S+)$", pins, re.MULTILINE)
    assert pin == importlib.metadata.version("cibuildwheel")
    publish = jobs["publish"]
    assert set(publish["needs"]) == {"sdist", "wheels"}
    assert "github.event_name == 'release'" in publish["if"]
    package = data.get("package_name", "fast-stats")
    assert publish["environment"] == {
        "name": "pypi",
        "url": f"https://pypi.org/p/{package}",
    }
    assert publish["permissions"] == {"id-token": "write", "attestations": "write"}
    actions = [s["uses"].split("@")[0] for s in publish["steps"]]
    assert actions == [
        "actions/download-artifact",
        "actions/attest-build-provenance",
        "pypa/gh-action-pypi-publish",
    ]
    # Trusted publishing: the publish step gets no password or token.
    assert "with" not in publish["steps"][-1]
    assert publish["steps"][1]["with"]["subject-path"] == "dist/*"


def cibuildwheel_wheels(identifiers: list[str], py_api: str | None) -> list[str]:
    """The wheels cibuildwheel ends with, as "python-abi" tags, for these identifiers.

    cibuildwheel builds in order and, before each build, looks for an abi3 wheel already
    built that the CPython can use (its find_compatible_wheel): that one is then tested
    instead. scikit-build-core names a wheel abi3 when wheel.py-api = "cp3N" and the
    CPython is 3.N or newer and not free-threaded, and a plain one otherwise.
    """
    built: list[PurePath] = []
    for identifier in identifiers:
        if find_compatible_wheel(built, identifier) is not None:
            continue
        python, platform = identifier.split("-", 1)
        abi = python
        python = python.rstrip("t")
        if py_api and abi == python and int(python[3:]) >= int(py_api[3:]):
            python, abi = py_api, "abi3"
        built.append(PurePath(f"pkg-0.1.0-{python}-{abi}-{platform}.whl"))
    return [f"{w.name.split('-')[2]}-{w.name.split('-')[3]}" for w in built]


@pytest.mark.slow
def test_cibuildwheel_builds_the_nox_wheel_set(
    project: tuple[Path, dict[str, Any]],
) -> None:
    root, data = project
    pyproject = load_toml(root / "pyproject.toml")
    cibw = pyproject["tool"]["cibuildwheel"]
    pythons = supported(data)
    assert pyproject["project"]["requires-python"] == f">={pythons[0]}"
    assert "build" not in cibw  # the CPythons come from requires-python alone
    policy = data.get("manylinux", "manylinux_2_28")
    assert cibw["manylinux-x86_64-image"] == cibw["manylinux-aarch64-image"] == policy
    assert cibw["test-groups"] == ["test"]
    # The noxfile reads the same range (from the classifiers).
    facts = noxfile_values(root, "PYTHONS")
    assert facts["PYTHONS"] == [*pythons, *free_threaded(data)]
    py_api = pyproject["tool"]["scikit-build"].get("wheel", {}).get("py-api")
    # What cibuildwheel selects on each runner of cd.yml: every supported CPython and the
    # free-threaded ones from 3.14, glibc only, 64-bit only, no PyPy.
    wheels_tool = load_wheels_tool(root, "ci_wheels")
    versions = sorted(
        [*pythons, *free_threaded(data)], key=wheels_tool.common.version_key
    )
    tags = ["cp" + v.replace(".", "") for v in versions]  # cp314t for 3.14t
    cibuildwheel = tool("cibuildwheel")
    for platform, archs, suffix in CIBW_TARGETS:
        out = stdout_of(
            cibuildwheel, "--print-build-identifiers", "--platform", platform,
            "--archs", archs, cwd=root,
        )  # fmt: skip
        identifiers = out.split()
        assert identifiers == [f"{t}-{suffix}" for t in tags], (platform, archs)
        if minor(pythons[0]) <= 14:
            assert {f"cp315-{suffix}", f"cp314t-{suffix}", f"cp315t-{suffix}"} <= set(
                identifiers
            )
    # The wheel set: one per CPython, except that with the stable ABI one cp312-abi3
    # wheel serves 3.12 and newer: the zig route of tools/wheels/ reuses it exactly
    # where cibuildwheel does (its serves(), only in stable-ABI projects).
    ci_set = cibuildwheel_wheels([f"{t}-manylinux_x86_64" for t in tags], py_api)
    assert hasattr(wheels_tool.zig, "serves") is bool(data.get("stable_abi"))
    serves = getattr(wheels_tool.zig, "serves", lambda wheel, version: False)
    nox_set: list[str] = []
    for version, abi in zip(versions, tags, strict=True):
        built = [Path(f"pkg-0.1.0-{w}-manylinux_2_28_x86_64.whl") for w in nox_set]
        if any(serves(w, version) for w in built):
            continue
        python = abi.rstrip("t")
        abi3 = py_api and abi == python and int(python[3:]) >= int(py_api[3:])
        nox_set.append(f"{py_api}-abi3" if abi3 else f"{python}-{abi}")
    assert sorted(ci_set) == sorted(nox_set)
    if data.get("stable_abi"):
        assert "cp312-abi3" in ci_set
        assert {"cp314-cp314t", "cp315-cp315t"} <= set(ci_set)


@pytest.mark.slow
def test_nox_wheels_refuses_a_range_that_disagrees(tmp_path: Path) -> None:
    root = render(tmp_path / "project")
    path = root / "pyproject.toml"
    text = path.read_text(encoding="utf-8")
    declared = f'requires-python = ">={OLDEST}"'
    assert declared in text
    path.write_text(
        text.replace(declared, 'requires-python = ">=3.8"'), encoding="utf-8"
    )
    proc = subprocess.run(
        [tool("nox"), "-s", "wheels"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode != 0, output
    assert "requires-python = '>=3.8' in pyproject.toml must be" in output, output
    assert f"'>={OLDEST}', the oldest CPython of the classifiers" in output, output


# One line per hook in `pre-commit run --verbose`'s report: its name, dots, its status
# (after "(no files to check)" when skipped), then its id.
HOOK_RESULT = re.compile(
    r"^.+?\.*(?:\(no files to check\))?(Passed|Failed|Skipped)\n- hook id: (\S+)$",
    re.MULTILINE,
)


@pytest.mark.slow
def test_pre_commit_hooks_pass(project: tuple[Path, dict[str, Any]]) -> None:
    """The project's own hooks, run by pre-commit from a store that needs no GitHub."""
    root, _ = project
    config = root / ".pre-commit-config.yaml"
    run(sys.executable, "-m", "pre_commit", "validate-config", config, cwd=root)
    files: dict[str, set[str]] = {}  # by identify's tags, which pre-commit matches
    for name in run("git", "ls-files", cwd=root).split():
        for tag in identify.tags_from_path(str(root / name)) | {"file"}:
            files.setdefault(tag, set()).add(name)
    answers = recorded_answers(root)
    module = answers["module_name"]
    library = "kernels" if answers["example"] == "numeric" else module
    assert files["c++"] >= {f"src/lib/{library}.cpp", f"include/{module}/{module}.hpp"}
    assert files["markdown"] == {"README.md"}
    hooks = [h["id"] for repo in load_yaml(config)["repos"] for h in repo["hooks"]]
    assert len(hooks) == len(set(hooks)) >= 15
    output = run(
        sys.executable, "-m", "pre_commit", "run", "--all-files",
        "--show-diff-on-failure", "--verbose", cwd=root, env=offline_env(root),
    )  # fmt: skip
    # Each hook ran, on files of its kind (none was skipped for want of them), and passed.
    results = {hook: status for status, hook in HOOK_RESULT.findall(output)}
    assert results == dict.fromkeys(hooks, "Passed"), output
    # The fixers found nothing to fix.
    assert run("git", "status", "--porcelain", cwd=root) == ""


@pytest.mark.slow
def test_template_repository_ci() -> None:
    workflow = ROOT / ".github" / "workflows" / "ci.yml"
    dependabot = ROOT / ".github" / "dependabot.yml"
    check = tool("check-jsonschema")
    run(check, "--builtin-schema", "vendor.github-workflows", workflow, cwd=ROOT)
    run(check, "--builtin-schema", "vendor.dependabot", dependabot, cwd=ROOT)
    output = stdout_of(
        tool("zizmor"), "--offline", "--format", "json", workflow, dependabot, cwd=ROOT
    )
    assert json.loads(output) == []
    shas = assert_pinned_and_least_privileged(workflow)
    runs = [s.get("run", "") for s in steps(load_yaml(workflow))]
    assert any("bash .ci/run" in r for r in runs), runs
    # The same action at the same commit as in the generated workflows: bumped together.
    generated = ROOT / "template" / ".github" / "workflows" / "ci.yml.jinja"
    for action, sha in shas.items():
        assert f"{action}@{sha}" in generated.read_text(encoding="utf-8"), action
