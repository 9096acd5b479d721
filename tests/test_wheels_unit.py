"""Fast tests of the generated tools/wheels/: arguments, guards, checks and error paths."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType

import pytest
from conftest import load_wheels_tool, render, run, tool

# What `nox -s wheels` passes before the user's own arguments.
SESSION = [
    "--policy=manylinux_2_28",
    "--test-command=pytest {project}/tests",
    "--supported",
    "3.9",
    "3.10",
    "3.11",
    "3.14t",
    "--test-requires",
    "pytest>=8",
]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("wheels-unit") / "fast-stats")


@pytest.fixture(scope="module")
def wheels(project: Path) -> ModuleType:
    return load_wheels_tool(project, "wheels_unit")


def script(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(project / "tools" / "wheels"), *SESSION, *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def fake_engines(tmp_path: Path, **scripts: str) -> dict[str, str]:
    """PATH with these fake engines (name -> shell body) and nothing else."""
    fake = tmp_path / "bin"
    fake.mkdir()
    for name, body in scripts.items():
        (fake / name).write_text(f"#!/bin/sh\n{body}\n")
        (fake / name).chmod(0o755)
    return {**os.environ, "PATH": str(fake)}


def test_help_lists_only_user_options_each_with_help(project: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(project / "tools" / "wheels"), "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    text = proc.stdout
    for option in (
        "--backend",
        "--engine",
        "--image",
        "--python",
        "--arch",
        "--cache",
    ):
        assert option in text
    for hidden in ("SUPPRESS", "inside", "--policy", "--supported", "--test-"):
        assert hidden not in text
    assert "--timings" not in text  # the template's own: tests/zig_timings.py
    # Every option line is followed by help text.
    options = [line for line in text.splitlines() if line.startswith("  --")]
    assert len(options) == 6
    assert "cibuildwheel" in text


@pytest.mark.parametrize(
    ("flags", "refused"),
    [
        ("-static", True),
        ("-O2 -static -fPIC", True),
        ("-static-pie", True),
        ("-Wl,--static", True),
        ("-static-libstdc++ -static-libgcc", False),
        ("-fPIC -O3", False),
    ],
)
def test_static_glibc_pattern(wheels: ModuleType, flags: str, refused: bool) -> None:
    assert bool(wheels.checks.STATIC_GLIBC.search(flags)) is refused


def test_static_glibc_refused_before_building(project: Path) -> None:
    proc = script(project, "--backend", "zig", env={**os.environ, "LDFLAGS": "-static"})
    assert proc.returncode == 1
    assert "$LDFLAGS asks for '-static', which links glibc statically" in proc.stderr
    assert "Backend" not in proc.stdout  # refused before choosing or building anything


def test_static_glibc_in_cmakelists_refused(project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "p"
    run("cp", "-r", project, copy)
    cmake = copy / "CMakeLists.txt"
    cmake.write_text(cmake.read_text() + "target_link_options(_core PRIVATE -static)\n")
    proc = script(copy, "--backend", "zig")
    assert proc.returncode == 1
    assert "CMakeLists.txt asks for '-static'" in proc.stderr


def make_wheel(tmp_path: Path, name: str, flags: list[str]) -> Path:
    src = tmp_path / "x.c"
    src.write_text(
        "#include <string.h>\nsize_t n(const char* s) { return strlen(s); }\n"
    )
    so = tmp_path / f"{name}.so"
    run("gcc", "-shared", "-fPIC", *flags, "-o", so, src)
    wheel = tmp_path / f"{name}-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"
    info = f"{name}-1.0.dist-info"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.write(so, f"{name}/_core.so")
        zf.writestr(
            f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n"
        )
        zf.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"
            "Tag: cp311-cp311-manylinux_2_28_x86_64\n",
        )
        # auditwheel reads the file list from RECORD.
        zf.writestr(f"{info}/RECORD", f"{name}/_core.so,,\n")
    return wheel


def test_check_reads_auditwheel_json_and_refuses_static_libc(
    wheels: ModuleType, tmp_path: Path
) -> None:
    checks = wheels.checks
    info = checks.check_wheel(make_wheel(tmp_path, "dynamic", []), "manylinux_2_28")
    assert (2, 2) <= info.glibc <= (2, 28)
    with pytest.raises(
        wheels.common.WheelError, match=r"links libc\.so\.6 dynamically"
    ):
        checks.check_wheel(
            make_wheel(tmp_path, "nolibc", ["-nostdlib"]), "manylinux_2_28"
        )


def test_distro_table(wheels: ModuleType) -> None:
    distros = wheels.checks.distros
    covered = distros((2, 28))
    for release in (
        "Debian 10+",
        "Ubuntu 18.10+",
        "RHEL/Alma/Rocky 8+",
        "Fedora 29+",
        "Amazon Linux 2023+",
    ):
        assert release in covered
    assert "RHEL/Alma/Rocky 7+" in distros((2, 17))
    assert "Amazon Linux 2+" in distros((2, 17))
    # glibc 2.26 cannot install manylinux_2_28 wheels.
    assert "Amazon Linux 2+" not in covered
    newest = distros((2, 43))
    assert newest == "Ubuntu 26.04+, Fedora 44+"


def test_report_fits_100_columns_in_version_order(
    wheels: ModuleType, tmp_path: Path
) -> None:
    infos = []
    for tags in ("cp314-cp314t", "cp310-cp310", "cp39-cp39", "cp314-cp314"):
        path = tmp_path / (
            f"fast_stats-0.1.0-{tags}-manylinux2014_x86_64.manylinux_2_17_x86_64"
            ".manylinux_2_28_x86_64.whl"
        )
        path.write_bytes(b"x" * 2048)
        infos.append(wheels.checks.WheelInfo(path, (2, 17)))
    aarch64 = tmp_path / "fast_stats-0.1.0-cp39-cp39-manylinux_2_28_aarch64.whl"
    aarch64.write_bytes(b"x" * 4096)
    infos.append(wheels.checks.WheelInfo(aarch64, (2, 17)))
    lines = wheels.checks.report(infos).splitlines()
    assert max(map(len, lines)) <= 100
    assert lines[0].split() == ["wheel", "newest", "glibc", "size", "installs", "on"]
    rows = [line.split()[0] for line in lines if line.startswith("cp3")]
    assert rows == [
        "cp39-cp39-manylinux_2_17_x86_64",
        "cp310-cp310-manylinux_2_17_x86_64",
        "cp314-cp314-manylinux_2_17_x86_64",
        "cp314-cp314t-manylinux_2_17_x86_64",
        "cp39-cp39-manylinux_2_28_aarch64",
    ]
    assert "2 KiB" in lines[2]
    assert "GLIBC_2.17" in lines[2]
    text = " ".join(wheels.checks.report(infos).split())
    assert (
        "Debian 8+, Ubuntu 14.04+, RHEL/Alma/Rocky 7+" in text
    )  # wrapped between releases
    assert infos[2].path.name in lines  # every file named in full, on a line of its own


def test_unsupported_python_is_refused(project: Path) -> None:
    proc = script(project, "--python", "3.8")
    assert proc.returncode == 2
    assert "CPython 3.8 is not supported" in proc.stderr


def test_named_engine_that_does_not_work_is_an_error_not_a_fall_back(
    project: Path, tmp_path: Path
) -> None:
    # A docker client that cannot reach an engine, as on a machine with only the CLI.
    env = fake_engines(
        tmp_path, docker="echo 'Cannot connect to the Docker daemon' >&2; exit 1"
    )
    proc = script(project, "--engine", "docker", env=env)
    assert proc.returncode == 1
    assert (
        "--engine docker: `docker info` failed: Cannot connect to the Docker daemon;"
        " start it, or build without a container: --backend zig" in proc.stderr
    )
    assert "Backend" not in proc.stdout
    proc = script(project, "--engine", "podman; create_args: --network=host", env=env)
    assert proc.returncode == 1
    assert "podman is not installed" in proc.stderr


def test_container_backend_without_an_engine(project: Path, tmp_path: Path) -> None:
    env = fake_engines(tmp_path, docker="exit 1", podman="exit 1")
    proc = script(project, "--backend", "container", env=env)
    assert proc.returncode == 1
    assert "no working container engine (docker or podman)" in proc.stderr
    assert "--backend zig" in proc.stderr


def test_auto_picks_the_first_working_engine_else_zig(
    wheels: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli = wheels.cli
    settings = cli.parse_args([*SESSION])
    working = {"podman"}
    monkeypatch.setattr(
        cli, "engine_problem", lambda e: None if e in working else "broken"
    )
    assert cli.choose_route(settings) == "podman"
    working.clear()
    assert cli.choose_route(settings) is None
    assert "Backend: zig (no working docker or podman)" in capsys.readouterr().out


def test_image_that_cannot_be_pulled_points_to_zig(
    project: Path, tmp_path: Path
) -> None:
    env = fake_engines(
        tmp_path,
        podman='case "$1" in info) exit 0;; image) exit 125;; esac\n'
        "echo 'Error: pinging container registry quay.io: no such host' >&2; exit 125",
    )
    image = "quay.io/pypa/manylinux_2_28_x86_64"
    proc = script(project, "--engine", "podman", "--image", image, env=env)
    assert proc.returncode == 1
    assert "pinging container registry quay.io" in proc.stderr  # the engine's own words
    assert (
        f"podman cannot pull {image}; `--backend zig` builds the same wheels without a"
        " container" in proc.stderr
    )


def test_container_route_passes_engine_image_and_pythons_to_cibuildwheel(
    wheels: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(
        cmd: list[str], cwd: Path, env: dict[str, str], check: bool
    ) -> subprocess.CompletedProcess[str]:
        seen.append((cmd, env))
        return subprocess.CompletedProcess(cmd, 0)

    container = wheels.container
    monkeypatch.setattr(container.subprocess, "run", fake_run)
    monkeypatch.setattr(container, "check_image", lambda engine, image: None)
    monkeypatch.setenv("CIBW_ENVIRONMENT", "PIP_INDEX_URL=http://127.0.0.1:1/simple")
    engine = "podman; create_args: --network=host"
    settings = wheels.cli.parse_args(
        [
            *SESSION,
            "--engine",
            engine,
            "--image",
            "localhost/x:1",
            "--python",
            "3.11",
            "3.14t",
        ]
    )
    assert (
        container.container_wheels(
            engine, settings.image, settings.python, settings.arch
        )
        == []
    )
    ((cmd, env),) = seen
    assert cmd[1:] == [
        "-m", "cibuildwheel", "--platform", "linux", "--output-dir", "wheelhouse", ".",
    ]  # fmt: skip
    assert env["CIBW_CONTAINER_ENGINE"] == engine
    assert env["CIBW_MANYLINUX_X86_64_IMAGE"] == "localhost/x:1"
    assert env["CIBW_MANYLINUX_AARCH64_IMAGE"] == "localhost/x:1"
    assert env["CIBW_BUILD"] == "cp311-* cp314t-*"
    assert env["CIBW_ENVIRONMENT"] == "PIP_INDEX_URL=http://127.0.0.1:1/simple"
    # Without --image and --python, [tool.cibuildwheel] and requires-python decide.
    seen.clear()
    settings = wheels.cli.parse_args(SESSION)
    container.container_wheels("docker", settings.image, settings.python, settings.arch)
    ((_, env),) = seen
    assert not {"CIBW_BUILD", "CIBW_MANYLINUX_X86_64_IMAGE"} & set(env)


def test_source_date_epoch_from_the_last_commit(
    wheels: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    zig = wheels.zig
    monkeypatch.setattr(zig, "PROJECT", tmp_path)
    assert zig.source_date_epoch() == zig.FALLBACK_EPOCH == "315532800"
    assert "no git commit" in capsys.readouterr().out
    with monkeypatch.context() as no_git:  # as in a container or root without git
        no_git.setenv("PATH", str(tmp_path / "empty"))
        assert zig.source_date_epoch() == zig.FALLBACK_EPOCH
    run("git", "init", "-q", tmp_path)
    (tmp_path / "f").write_text("x")
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    run(*git, "add", "f")
    run(
        *git,
        "commit",
        "-qm",
        "x",
        env={**os.environ, "GIT_COMMITTER_DATE": "@1700000000 +0000"},
    )
    assert zig.source_date_epoch() == "1700000000"


# --- --arch and the aarch64 cross route ---------------------------------------------------


def test_arch_defaults_to_host(wheels: ModuleType) -> None:
    assert wheels.cli.parse_args(SESSION).arch == (wheels.cli.platform.machine(),)


def test_arch_takes_both_in_a_fixed_order(wheels: ModuleType) -> None:
    settings = wheels.cli.parse_args(
        [*SESSION, "--arch", "aarch64", "x86_64", "aarch64"]
    )
    assert settings.arch == ("x86_64", "aarch64")


def test_unknown_arch_is_refused(project: Path) -> None:
    proc = script(project, "--arch", "riscv64")
    assert proc.returncode == 2
    assert "invalid choice: 'riscv64'" in proc.stderr


def test_container_route_refuses_another_arch(project: Path, tmp_path: Path) -> None:
    env = fake_engines(tmp_path, docker="exit 0")  # `docker info` succeeds
    other = "aarch64" if os.uname().machine == "x86_64" else "x86_64"
    proc = script(project, "--backend", "container", "--arch", other, env=env)
    assert proc.returncode == 1
    assert "--backend zig cross-compiles" in proc.stderr


@pytest.mark.parametrize(
    ("version", "suffix"),
    [
        ("3.11", ".cpython-311-aarch64-linux-gnu.so"),
        ("3.14t", ".cpython-314t-aarch64-linux-gnu.so"),
    ],
)
def test_cross_env_targets_aarch64(
    wheels: ModuleType, tmp_path: Path, version: str, suffix: str
) -> None:
    tools = {t: f"/zig/{t}" for t in ("cc", "c++", "ar", "ranlib")}
    target_python = "/emulated/bin/python" + version
    env, config = wheels.cross.cross_env(
        "aarch64", version, tools, tmp_path, target_python
    )
    assert env == {
        "SETUPTOOLS_EXT_SUFFIX": suffix,
        "_PYTHON_HOST_PLATFORM": "linux-aarch64",
    }
    toolchain = tmp_path / "toolchain-aarch64.cmake"
    assert f"cmake.define.CMAKE_TOOLCHAIN_FILE={toolchain}" in config
    assert f"cmake.define.PYTHON_MODULE_EXTENSION={suffix}" in config
    assert f"cmake.define.Python_EXECUTABLE={target_python}" in config
    text = toolchain.read_text()
    assert "set(CMAKE_SYSTEM_NAME Linux)" in text
    # The processor is what CMakeLists.txt reads to leave the x86 per-ISA files out.
    assert "set(CMAKE_SYSTEM_PROCESSOR aarch64)" in text
    assert 'set(CMAKE_CXX_COMPILER "/zig/c++")' in text


def test_zig_runs_from_one_copy_per_ziglang_version(
    wheels: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # zig's own cache holds only for the same zig files at the same path: every run and
    # every project use the copy in the cache, not their session venv's new install.
    installed = tmp_path / "venv-a" / "ziglang"
    installed.mkdir(parents=True)
    (installed / "zig").write_text("zig 0.16.0")

    class Ziglang:
        version = "0.16.0"

        @staticmethod
        def locate_file(name: str) -> Path:
            return installed.parent / name

    zig = wheels.zig
    monkeypatch.setattr(zig, "install_once", lambda *args: None)
    monkeypatch.setattr(zig.importlib.metadata, "distribution", lambda name: Ziglang)
    cache = tmp_path / "cache"
    first = zig.zig_executable(cache)
    assert first == cache / "ziglang-0.16.0" / "zig"
    assert first.read_text() == "zig 0.16.0"
    assert f"--> copy ziglang to {first.parent}" in capsys.readouterr().out
    # The next run's venv is another install: the copy is used, as it is, not renewed.
    installed = tmp_path / "venv-b" / "ziglang"
    installed.mkdir(parents=True)
    (installed / "zig").write_text("zig 0.16.0, another install")
    inode = first.stat().st_ino
    assert zig.zig_executable(cache) == first
    assert first.stat().st_ino == inode
    assert "copy ziglang" not in capsys.readouterr().out
    assert sorted(p.name for p in cache.iterdir()) == ["ziglang-0.16.0"]
    # A new ziglang gets a copy of its own.
    Ziglang.version = "0.17.0"
    assert zig.zig_executable(cache) == cache / "ziglang-0.17.0" / "zig"


def test_two_runs_at_once_build_the_emulated_root_once(
    wheels: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cold machine's first runs: two projects (or the template's tests on two workers)
    # asked for the same root at once, and one deleted the other's half-built root.
    cross = wheels.cross
    monkeypatch.setattr(cross.os, "geteuid", lambda: 0)
    monkeypatch.setattr(cross.shutil, "which", lambda name: f"/usr/sbin/{name}")
    builds: list[str] = []

    def slow_build(step: str, cmd: list[str]) -> str:
        builds.append(step)
        root = tmp_path / cross.EMULATED_RECIPE.format("arm64")
        (root / "usr").mkdir(parents=True)
        time.sleep(0.2)  # the other run arrives while this one builds
        (root / ".complete").touch()
        return ""

    monkeypatch.setattr(cross, "run", slow_build)
    with ThreadPoolExecutor(2) as pool:
        roots = list(pool.map(lambda _: cross.emulated_root("aarch64", tmp_path), "ab"))
    assert roots[0] == roots[1] == tmp_path / "debian-bookworm-arm64-1"
    assert len(builds) == 1, builds
    assert (roots[0] / "usr").is_dir()


def test_emulated_python_runs_itself_as_argv0(
    wheels: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "python3.11").touch()
    cross = wheels.cross
    monkeypatch.setattr(cross.shutil, "which", lambda name: f"/usr/bin/{name}")
    bin_dir = tmp_path / "bin"
    python = cross.emulated_python(root, "aarch64", "3.11", bin_dir)
    assert python == str(bin_dir / "python3.11")
    text = Path(python).read_text()
    assert f'-L "{root}" -0 "$0" "{root}/usr/bin/python3.11"' in text
    # The test command's `python` and `pytest` run the same emulated CPython.
    assert (bin_dir / "python").read_text() == text
    assert f'exec "{bin_dir}/python" -m pytest' in (bin_dir / "pytest").read_text()
    assert cross.emulated_python(root, "aarch64", "3.12", bin_dir) is None


# --- every argument checked: usage errors, not tracebacks or silent fall-backs -------------


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--python", "abc"], "argument --python: 'abc' is not a CPython version"),
        (["--python", "3.11", "3"], "argument --python: '3' is not a CPython version"),
        (["--engine", ""], "argument --engine: '' is not docker or podman"),
        (
            ["--engine", "nerdctl"],
            "argument --engine: 'nerdctl' is not docker or podman",
        ),
        (["--image", ""], "argument --image: must not be empty"),
        (["--cache", " "], "argument --cache: must not be empty"),
        (
            ["--backend", "zig", "--engine", "podman"],
            "--engine is for the container route: --backend zig has no use for it",
        ),
        (
            ["--backend", "zig", "--image", "localhost/x:1"],
            "--image is for the container route: --backend zig has no use for it",
        ),
        (
            ["--backend", "container", "--cache", "/tmp/elsewhere"],
            "--cache is for the zig route: --backend container has no use for it",
        ),
        (
            ["--image", "localhost/x:1", "--cache", "/tmp/elsewhere"],
            "--image is for the container route and --cache for the zig route",
        ),
    ],
)
def test_bad_arguments_are_usage_errors(
    project: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    # No engine works here: nothing may fall back to a build.
    proc = script(project, *args, env=fake_engines(tmp_path, docker="exit 1"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert f"nox -s wheels --: error: {message}" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Backend" not in proc.stdout


def test_image_without_a_working_engine_is_an_error_not_a_zig_build(
    project: Path, tmp_path: Path
) -> None:
    env = fake_engines(tmp_path, docker="exit 1", podman="exit 1")
    proc = script(project, "--image", "localhost/x:1", env=env)
    assert proc.returncode == 1
    assert (
        "no working container engine (docker or podman) for --image, which is for the"
        " container route" in proc.stderr
    )
    assert "Backend" not in proc.stdout


def test_a_route_option_chooses_its_route_under_auto(
    wheels: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cli = wheels.cli
    monkeypatch.setattr(cli, "engine_problem", lambda e: None)  # every engine works
    settings = cli.parse_args([*SESSION, "--cache", "/tmp/elsewhere"])
    assert cli.choose_route(settings) is None
    assert "Backend: zig (--cache asks for it)" in capsys.readouterr().out
    settings = cli.parse_args([*SESSION, "--image", "localhost/x:1"])
    assert cli.choose_route(settings) == "docker"


# --- the package's rooms --------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [{}, {"bindings": "nanobind", "python_min": "3.10", "stable_abi": True}],
    ids=["default", "stable-abi"],
)
def test_each_module_is_small_documented_and_strictly_typed(
    tmp_path: Path, data: dict[str, object]
) -> None:
    project = render(tmp_path / "p", **data)
    modules = sorted((project / "tools" / "wheels").glob("*.py"))
    assert [m.stem for m in modules] == [
        "__init__", "__main__", "checks", "cli", "common", "container", "cross", "zig",
    ]  # fmt: skip
    for module in modules:
        text = module.read_text(encoding="utf-8")
        assert len(text.splitlines()) <= 250, module.name
        assert ast.get_docstring(ast.parse(text)), f"{module.name} has no docstring"
    # With the project's [tool.mypy] (strict), as its `nox -s lint` runs it.
    mypy = [tool("mypy"), "--no-incremental", "tools/wheels"]
    proc = subprocess.run(
        mypy, cwd=project, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout


def test_tests_keep_their_bytecode_in_the_scratch_directory(
    wheels: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Bytecode of the test run goes under its scratch directory: none in the project's
    tests/, and it is written even where the environment says not to (PYTHONDONTWRITEBYTECODE),
    so the test processes do not each compile numpy from source (minutes under qemu-user)."""
    common = wheels.common
    project = tmp_path / "project"
    (project / "tests").mkdir(parents=True)
    (project / "tests" / "helper.py").write_text("VALUE = 1\n")
    monkeypatch.setattr(common, "PROJECT", project)
    command = f"{sys.executable} -c 'import helper' && echo 1 passed"
    tests = common.Tests(command, (), tmp_path / "cache")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPYCACHEPREFIX"}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = str(project / "tests")
    work = tmp_path / "work"
    common.run_tests(tests, "test", Path(sys.executable).parent, work, env)
    assert "1 passed" in capsys.readouterr().out
    assert sorted(p.name for p in (project / "tests").iterdir()) == ["helper.py"]
    assert list((work / "pycache").rglob("helper.*.pyc"))
