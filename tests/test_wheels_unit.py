"""Fast tests of the generated tools/wheels.py: commands, guards, checks and error paths."""

from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest
from conftest import render, run

OFFICIAL = "quay.io/pypa/manylinux_2_28_x86_64"


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render(tmp_path_factory.mktemp("wheels-unit") / "fast-stats")


@pytest.fixture(scope="module")
def wheels(project: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "wheels", project / "tools" / "wheels.py"
    )
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def script(
    project: Path,
    *args: str,
    env: dict[str, str] | None = None,
    python: str = sys.executable,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [python, str(project / "tools" / "wheels.py"), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )


def namespace(engine: str, **extra: object) -> argparse.Namespace:
    values = {
        "engine": engine,
        "python": ["3.9", "3.13"],
        "test_requires": ["pytest>=8"],
        "static_libstdcxx": False,
        "engine_arg": [],
        "abi3_from": None,
    }
    return argparse.Namespace(**{**values, **extra})


def test_docker_command_line(wheels: ModuleType, project: Path) -> None:
    cmd = wheels.container_command(
        namespace("docker"), OFFICIAL, Path("/tmp/out"), "manylinux_2_28_x86_64"
    )
    assert cmd[:3] == ["docker", "run", "--rm"]
    assert cmd[cmd.index("--user") + 1] == f"{os.getuid()}:{os.getgid()}"
    assert f"{project}:/project:ro" in cmd
    assert "/tmp/out:/output:rw" in cmd
    image = cmd.index(OFFICIAL)
    assert cmd[image + 1 : image + 3] == ["sh", "-c"]
    assert "/opt/python/cp3*/bin/python" in cmd[image + 3]
    assert cmd[image + 4 :] == [
        "sh", "/project/tools/wheels.py", "inside", "--plat", "manylinux_2_28_x86_64",
        "--python", "3.9", "3.13", "--test-requires", "pytest>=8",
    ]  # fmt: skip


def test_podman_command_line(wheels: ModuleType) -> None:
    args = namespace("podman", engine_arg=["--network=none"], static_libstdcxx=True)
    cmd = wheels.container_command(
        args, "quay.io/pypa/manylinux2014_x86_64", Path("/o"), "manylinux2014_x86_64"
    )
    assert cmd[:3] == ["podman", "run", "--rm"]
    # Rootless podman maps container root to the caller; --user would map to a subuid.
    assert "--user" not in cmd
    assert cmd.index("--network=none") < cmd.index("quay.io/pypa/manylinux2014_x86_64")
    assert cmd[-1] == "--static-libstdcxx"
    assert "manylinux2014_x86_64" in cmd


def test_default_image_is_official(
    wheels: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []

    def fake_run(cmd: list[str], check: bool) -> subprocess.CompletedProcess[str]:
        seen.append(cmd)
        return subprocess.CompletedProcess(cmd, 0)

    monkeypatch.setattr(wheels.subprocess, "run", fake_run)
    monkeypatch.setattr(wheels.platform, "machine", lambda: "aarch64")
    args = namespace("podman", image=None)
    wheels.build_in_container(args, "manylinux_2_34", Path("/o"))
    assert "quay.io/pypa/manylinux_2_34_aarch64" in seen[0]
    assert "manylinux_2_34_aarch64" in seen[0]


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
    assert bool(wheels.STATIC_GLIBC.search(flags)) is refused


def test_static_glibc_refused_before_building(project: Path) -> None:
    proc = script(
        project,
        "--supported",
        "3.11",
        "--backend",
        "zig",
        env={**os.environ, "LDFLAGS": "-static"},
    )
    assert proc.returncode == 1
    assert "$LDFLAGS asks for '-static', which links glibc statically" in proc.stderr
    assert "Backend" not in proc.stdout  # refused before choosing or building anything


def test_static_glibc_in_cmakelists_refused(project: Path, tmp_path: Path) -> None:
    copy = tmp_path / "p"
    run("cp", "-r", project, copy)
    cmake = copy / "CMakeLists.txt"
    cmake.write_text(cmake.read_text() + "target_link_options(_core PRIVATE -static)\n")
    proc = script(copy, "--supported", "3.11", "--backend", "zig")
    assert proc.returncode == 1
    assert "CMakeLists.txt asks for '-static'" in proc.stderr


def test_extension_without_dynamic_libc_fails_check(
    wheels: ModuleType, tmp_path: Path
) -> None:
    src = tmp_path / "x.c"
    src.write_text(
        "#include <string.h>\nsize_t length(const char* s) { return strlen(s); }\n"
    )
    for name, flags in (("dynamic", []), ("nolibc", ["-nostdlib"])):
        so = tmp_path / f"{name}.so"
        run("gcc", "-shared", "-fPIC", *flags, "-o", so, src)
        wheel = tmp_path / f"{name}-1.0-cp311-cp311-linux_x86_64.whl"
        with zipfile.ZipFile(wheel, "w") as zf:
            zf.write(so, "pkg/_core.so")
        dynamic_libc, _ = wheels.elf_facts(wheel)
        assert dynamic_libc is (name == "dynamic")


def test_distro_table(wheels: ModuleType) -> None:
    covered = wheels.distros((2, 28))
    for release in (
        "Debian 10+",
        "Ubuntu 18.10+",
        "RHEL/Alma/Rocky 8+",
        "Fedora 29+",
        "Amazon Linux 2023+",
    ):
        assert release in covered
    assert "RHEL/Alma/Rocky 7+" in wheels.distros((2, 17))
    assert "Amazon Linux 2+" in wheels.distros((2, 17))
    assert (
        "Amazon Linux 2+" not in covered
    )  # glibc 2.26 cannot install manylinux_2_28 wheels


def test_unsupported_python_is_refused(project: Path) -> None:
    proc = script(project, "--supported", "3.9", "3.10", "--python", "3.8")
    assert proc.returncode == 2
    assert "CPython 3.8 is not supported" in proc.stderr


def test_no_engine_and_no_zig_says_what_to_install(
    project: Path, tmp_path: Path
) -> None:
    # A docker client that cannot reach an engine, as on a machine with only the CLI.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "docker").write_text(
        "#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n"
    )
    (fake / "docker").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    # A bare venv: no ziglang in it.
    run(sys.executable, "-m", "venv", "--without-pip", tmp_path / "venv")
    bare = str(tmp_path / "venv" / "bin" / "python")
    proc = script(
        project, "--supported", "3.11", "--engine", "docker", env=env, python=bare
    )
    assert proc.returncode == 1
    assert (
        "no working docker or podman, and zig is missing: `pip install ziglang`"
        in proc.stderr
    )

    proc = script(
        project,
        "--supported",
        "3.11",
        "--backend",
        "container",
        "--engine",
        "docker",
        env=env,
    )
    assert proc.returncode == 1
    assert (
        "no working container engine (docker): install and start docker or podman"
        in proc.stderr
    )


def test_failed_container_build_points_to_zig(project: Path, tmp_path: Path) -> None:
    # An engine that answers but cannot pull the image, as without access to quay.io.
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "podman").write_text(
        "#!/bin/sh\n"
        'if [ "$1" = info ]; then exit 0; fi\n'
        "echo 'Error: pinging container registry quay.io: no such host' >&2\n"
        "exit 125\n"
    )
    (fake / "podman").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    proc = script(project, "--supported", "3.11", "--engine", "podman", env=env)
    assert proc.returncode == 1
    assert "pinging container registry quay.io" in proc.stderr
    assert (
        "the build in quay.io/pypa/manylinux_2_28_x86_64 failed (its log is above); if"
        " the image could not be pulled, `--backend zig` builds the same wheels without"
        " a container" in proc.stderr
    )


# --- --arch and the aarch64 cross route ---------------------------------------------------


def test_arch_defaults_to_host(wheels: ModuleType) -> None:
    args = wheels.parse_args(["--supported", "3.11"])
    assert args.arch == [wheels.platform.machine()]


def test_arch_takes_both_in_a_fixed_order(wheels: ModuleType) -> None:
    args = wheels.parse_args(
        ["--supported", "3.11", "--arch", "aarch64", "x86_64", "aarch64"]
    )
    assert args.arch == ["x86_64", "aarch64"]


def test_unknown_arch_is_refused(project: Path) -> None:
    proc = script(project, "--supported", "3.11", "--arch", "riscv64")
    assert proc.returncode == 2
    assert "invalid choice: 'riscv64'" in proc.stderr


def test_container_backend_refuses_another_arch(project: Path, tmp_path: Path) -> None:
    fake = tmp_path / "bin"
    fake.mkdir()
    docker = fake / "docker"
    docker.write_text("#!/bin/sh\nexit 0\n")  # `docker info` succeeds
    docker.chmod(0o755)
    other = "aarch64" if os.uname().machine == "x86_64" else "x86_64"
    env = {**os.environ, "PATH": f"{fake}{os.pathsep}{os.environ['PATH']}"}
    proc = script(
        project,
        "--supported",
        "3.11",
        "--backend",
        "container",
        "--engine",
        "docker",
        "--arch",
        other,
        env=env,
    )
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
    env, config = wheels.cross_env("aarch64", version, tools, tmp_path, target_python)
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


def test_emulated_python_runs_itself_as_argv0(
    wheels: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "root"
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "usr" / "bin" / "python3.11").touch()
    monkeypatch.setattr(wheels.shutil, "which", lambda name: f"/usr/bin/{name}")
    python = wheels.emulated_python(root, "aarch64", "3.11", tmp_path / "bin")
    assert python == str(tmp_path / "bin" / "python3.11")
    text = Path(python).read_text()
    assert f'-L "{root}" -0 "$0" "{root}/usr/bin/python3.11"' in text
    assert wheels.emulated_python(root, "aarch64", "3.12", tmp_path / "bin") is None


def test_report_names_the_architecture(wheels: ModuleType, tmp_path: Path) -> None:
    wheel = tmp_path / "fast_stats-0.1.0-cp311-cp311-manylinux_2_28_aarch64.whl"
    wheel.write_bytes(b"x" * 2048)
    info = wheels.WheelInfo(
        wheel, ["manylinux_2_28_aarch64"], (2, 17), "manylinux_2_17"
    )
    header, _, row = wheels.summary([info]).splitlines()[:3]
    assert header.split()[:3] == ["wheel", "arch", "tag"]
    assert row.split()[:3] == [wheel.name, "aarch64", "cp311-cp311-manylinux_2_28"]
