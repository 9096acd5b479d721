"""Build, repair, check and test manylinux wheels into wheelhouse/ (run by `nox -s wheels`).

Two routes, one report:
- container (docker or podman): cibuildwheel builds, repairs and tests the wheel set that
  [tool.cibuildwheel] in pyproject.toml describes, with the same settings as CD.
- zig: no container. zig's C/C++ compilers (the `ziglang` package, installed on first use)
  target the policy's glibc, so the CPythons of this host build wheels that `auditwheel
  repair` accepts as manylinux; each is tested in a fresh venv with [tool.cibuildwheel]'s
  test-groups and test-command. cibuildwheel has no such route, hence this package.
Every new wheel is then checked with `auditwheel show --json` and listed with the distro
releases it installs on.

`python tools/wheels` runs it (__main__.py). One module per job:
- cli: the command line, checked and typed, and the choice of route;
- checks: the policies and the distro table, the checks of each wheel, the report;
- container: the container route;
- zig: the zig route;
- cross: the zig route for another architecture, with tests under qemu-user;
- common: what they share: running a step, its error, the test command.
"""
