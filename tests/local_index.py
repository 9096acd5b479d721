"""A PEP 503 package index on 127.0.0.1, served from wheels downloaded on the host.

cibuildwheel has no offline mode: inside the container it installs build requirements
(``python -m build``'s isolated environment), ``virtualenv`` (pinned by its constraints)
and the test requirements with pip, from an index. Containers here cannot reach PyPI (and
pip in them fails the TLS check), so the host downloads every wheel once (``pip download
--only-binary=:all:`` for the container's CPython and platform), lays them out as a "simple"
index, and serves it with ``http.server`` on 127.0.0.1. A container started with
``--network=host`` reaches it there, and nothing else on the network.

``download(cache_dir, requirements)`` is cached on the requirement set; ``serve(root)`` is a
context manager yielding the index URL (``http://127.0.0.1:PORT/simple/``).
"""

from __future__ import annotations

import contextlib
import hashlib
import html
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")


def download(
    cache_dir: Path,
    requirements: Sequence[str],
    *,
    python_version: str,
    constraints: str = "",
) -> Path:
    """The index root for these requirements (downloaded and laid out once), keyed on them.

    pip runs under ``python<python_version>`` itself, so environment markers
    (``python_version < "3.11"``) are evaluated for the container's CPython, not the host's.
    """
    key = hashlib.sha256(
        repr((python_version, sorted(requirements), constraints, PLATFORMS)).encode()
    ).hexdigest()[:12]
    root = cache_dir / f"index-cp{python_version.replace('.', '')}-{key}"
    if (root / ".complete").is_file():
        return root
    shutil.rmtree(root, ignore_errors=True)
    files = root / "files"
    files.mkdir(parents=True)
    cmd = [f"python{python_version}", "-m", "pip", "download", "--quiet"]
    cmd += ["--only-binary=:all:", "--implementation=cp"]
    cmd += [f"--python-version={python_version}", "-d", str(files)]
    cmd += [f"--platform={p}" for p in PLATFORMS]
    if constraints:
        (root / "constraints.txt").write_text(constraints)
        cmd += ["-c", str(root / "constraints.txt")]
    proc = subprocess.run(
        [*cmd, *requirements], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        msg = f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}"
        raise RuntimeError(msg)
    _write_simple_tree(root)
    (root / ".complete").touch()
    return root


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _write_simple_tree(root: Path) -> None:
    """simple/index.html and simple/<name>/index.html linking to ../../files/<wheel>."""
    projects: dict[str, list[str]] = {}
    for wheel in sorted((root / "files").glob("*.whl")):
        projects.setdefault(_normalize(wheel.name.split("-", 1)[0]), []).append(
            wheel.name
        )
    simple = root / "simple"
    for name, wheels in projects.items():
        (simple / name).mkdir(parents=True)
        links = "".join(
            f'<a href="../../files/{html.escape(w)}">{html.escape(w)}</a>\n'
            for w in wheels
        )
        (simple / name / "index.html").write_text(f"<!DOCTYPE html>\n{links}")
    links = "".join(f'<a href="{n}/">{n}</a>\n' for n in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html>\n{links}")


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextlib.contextmanager
def serve(root: Path) -> Iterator[str]:
    """Serve root on 127.0.0.1 (a free port) while the block runs; yield the index URL."""
    handler = partial(_QuietHandler, directory=str(root))
    with ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}/simple/"
        finally:
            server.shutdown()
            thread.join()
