"""Deployable test images built FROM scratch (no registry is reachable to pull a base from).

`busybox_service`: Debian's static busybox serving /www with `httpd`; /healthz answers 200 and
/version.json says which version it is. A shell as PID 1 traps TERM so `docker stop` is graceful.
`python_base`: a rootfs of this machine's python3 and the shared libraries `ldd` lists, so
examples/service/Dockerfile builds with `--build-arg BASE=<it>` like it does on python:3.11-slim.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

BUSYBOX = "/bin/busybox"
BUSYBOX_DOCKERFILE = """FROM scratch
COPY busybox /bin/busybox
COPY www /www
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/bin/busybox", "sh", "-c", "trap 'exit 0' TERM; /bin/busybox httpd -f -p 8080 -h /www & wait"]
"""
BROKEN_DOCKERFILE = """FROM scratch
COPY busybox /bin/busybox
ENTRYPOINT ["/bin/busybox", "sh", "-c", "echo 'boom: missing configuration' >&2; exit 3"]
"""


def busybox_context(root: Path, version: str, *, broken: bool = False) -> Path:
    ctx = root / f"busybox-{version}{'-broken' if broken else ''}"
    (ctx / "www").mkdir(parents=True, exist_ok=True)
    shutil.copy2(BUSYBOX, ctx / "busybox")
    (ctx / "www" / "healthz").write_text("ok\n")
    (ctx / "www" / "version.json").write_text(json.dumps({"version": version}) + "\n")
    (ctx / "Dockerfile").write_text(BROKEN_DOCKERFILE if broken else BUSYBOX_DOCKERFILE)
    return ctx


def _copy_with_parents(path: Path, rootfs: Path) -> None:
    target = rootfs / path.relative_to("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        if not target.exists():
            shutil.copytree(path, target, symlinks=True, ignore=shutil.ignore_patterns(
                "__pycache__", "test", "tests", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3",
                "site-packages", "config-*", "*.a", "_tkinter*", "pydoc_data"))
    elif not target.exists():
        shutil.copy2(path, target)  # follows links: the loader path ldd names exists as a file


def python_rootfs(root: Path) -> Path:
    """A minimal rootfs: this interpreter, its standard library, the libraries ldd lists, /tmp."""
    rootfs = root / "python-base" / "rootfs"
    if rootfs.exists():
        return rootfs
    python = Path(getattr(sys, "_base_executable", sys.executable)).resolve()  # not the venv's link
    stdlib = Path(sysconfig.get_paths(vars={"base": sys.base_prefix, "platbase": sys.base_prefix})["stdlib"])
    for path in (python, stdlib):
        _copy_with_parents(path, rootfs)
    libs = subprocess.run(["ldd", str(python)], capture_output=True, text=True, check=True).stdout
    for lib_dynload in (rootfs / stdlib.relative_to("/")).glob("lib-dynload/*.so"):
        libs += subprocess.run(["ldd", str(lib_dynload)], capture_output=True, text=True).stdout
    for line in libs.splitlines():
        for word in line.split():
            if word.startswith("/") and Path(word).exists():
                _copy_with_parents(Path(word), rootfs)
    (rootfs / "usr" / "bin").mkdir(parents=True, exist_ok=True)
    link = rootfs / "usr" / "bin" / "python3"
    if not link.exists():
        link.symlink_to(python)
    (rootfs / "tmp").mkdir(mode=0o1777, exist_ok=True)
    (rootfs / "etc").mkdir(exist_ok=True)
    (rootfs / "etc" / "passwd").write_text("root:x:0:0::/:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n")
    return rootfs


def python_base_context(root: Path) -> Path:
    rootfs = python_rootfs(root)
    ctx = rootfs.parent
    (ctx / "Dockerfile").write_text(
        "FROM scratch\nCOPY rootfs/ /\nENV PATH=/usr/local/bin:/usr/bin:/bin\n"
        'CMD ["python3"]\n'
    )
    return ctx
