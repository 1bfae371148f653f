"""The www unikernel for the tests: built with the shared Solo5 recipe from
the same sources its package lists (runtime, runtime_tcp, runtime_blk and
unikernels/www), booted on a tap in a namespace with a site archive as its
block device; and the site archives themselves, made with GNU tar."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from solo5.launcher import tender_command
from solo5.recipe import image_plan, load_devices, run_plan
from tests.runtime.unikernel import INCLUDE_DIRS, Guest, running, runtime_sources
from tests.support.netns import TapNamespace
from tests.www.host_c import RUNTIME, WWW

GUEST_IP = "10.77.0.2"
MTIME = 1_700_000_000
BIG_SIZE = 1_048_576


def build_www(target: str, build_dir: Path) -> Path:
    """unikernels/www linked with the runtime, TCP and the block reader."""
    build_dir.mkdir(parents=True, exist_ok=True)
    sources = runtime_sources(build_dir, with_tcp=True)
    shutil.copytree(RUNTIME / "blk", build_dir / "runtime" / "blk", dirs_exist_ok=True)
    sources += sorted(p.relative_to(build_dir).as_posix()
                      for p in (build_dir / "runtime" / "blk").glob("*.c"))
    for source in sorted([*WWW.glob("*.c"), *WWW.glob("*.h")]):
        shutil.copy(source, build_dir / source.name)
    sources += sorted(p.name for p in WWW.glob("*.c"))
    devices = load_devices((WWW / "manifest.json").read_bytes())
    return run_plan(image_plan(target, "www", sources, INCLUDE_DIRS, devices), build_dir)


def big_file_bytes() -> bytes:
    """1 MiB that shows any misplaced or repeated block: byte k is k*k mod 251."""
    return bytes((k * k) % 251 for k in range(BIG_SIZE))


SITE_FILES: dict[str, bytes] = {
    "index.html": b"<!doctype html><title>www</title><p>hello from www</p>\n",
    "about/index.html": b"<p>about</p>\n",
    "css/site.css": b"body { font-family: sans-serif }\n" * 20,
    "js/app.js": b"console.log('www');\n",
    "img/logo.svg": b"<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    "docs/a b.txt": b"a file with a space\n",
    "docs/caf\u00e9.txt": "caf\u00e9\n".encode(),
    "noindex/file.txt": b"listed nowhere\n",
    "big.bin": big_file_bytes(),
    "empty.txt": b"",
}


def make_site(root: Path) -> Path:
    """A small site as an operator lays it out, packed with
    `tar --format=ustar`; every file and directory has mtime MTIME."""
    public = root / "public"
    for name, data in SITE_FILES.items():
        path = public / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    for path in sorted(public.rglob("*"), reverse=True):
        os.utime(path, (MTIME, MTIME))
    os.utime(public, (MTIME, MTIME))
    archive = root / "site.tar"
    subprocess.run(["tar", "--format=ustar", "-cf", str(archive), "-C", str(public), "."],
                   check=True, capture_output=True, timeout=60)
    return archive


@contextmanager
def booted_www(image: Path, ns: TapNamespace, site: Path, args: Sequence[str] = (),
               mem_mb: int | None = None, timeout: float = 20) -> Iterator[Guest]:
    """www running on ns's tap with site attached; waits for "www: ready"."""
    argv = tender_command(image, mem_mb=mem_mb, nets={"service": ns.tap},
                          blocks={"site": str(site)}, args=[f"--ipv4={GUEST_IP}/24", *args])
    with running(ns, argv, "www: ready", timeout) as guest:
        yield guest
