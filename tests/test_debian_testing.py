"""Fast checks of tests/debian_testing.py: what a command in the root sees, and where it lives."""

from __future__ import annotations

from pathlib import Path

import debian_testing
import pytest


def test_chroot_command_passes_nothing_of_the_host(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The host's pip settings name files outside the root; in it they would break pip.
    monkeypatch.setenv("PIP_INDEX_URL", "file:///opt/pypi/simple")
    argv = debian_testing.chroot_command(Path("/r"), "pip", "install", "numpy")
    chroot = argv.index("/r")
    assert argv[chroot + 1 : chroot + 3] == ["env", "-i"]
    assert argv[-3:] == ["pip", "install", "numpy"]
    assignments = dict(a.split("=", 1) for a in argv[chroot + 3 : -3])
    assert assignments == debian_testing.env()
    assert assignments["PIP_NO_INDEX"] == "1"
    assert assignments["PIP_FIND_LINKS"] == "/wheels"
    assert assignments["UV_CONFIG_FILE"] == "/etc/uv/uv.toml"
    assert "no-index = true" in debian_testing.UV_SETTINGS
    assert not any("pypi" in a for a in argv)


def test_nox_wheels_command_is_the_projects_own_session() -> None:
    argv = debian_testing.nox_wheels_command("/root/work/p", "3.14", "3.15")
    assert argv == [
        *(debian_testing.NOX, "-f", "/root/work/p/noxfile.py", "-s", "wheels", "--"),
        *("--backend", "zig", "--python", "3.14", "3.15"),
    ]


def test_root_is_cached_per_recipe_version(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    name = f"debian-{debian_testing.VERSION}"
    assert debian_testing.root_path() == tmp_path / "fast-cpp-extension-tests" / name
