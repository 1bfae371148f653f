"""Builds unikernels on the runtime (libc, loop, network stack) with the
shared Solo5 recipe, and boots them on a tap in a namespace."""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from solo5.launcher import tender_command
from solo5.recipe import Device, image_plan, load_devices, run_plan
from tests.runtime.stack_harness import RUNTIME
from tests.support.netns import TapNamespace

UNIKERNELS = RUNTIME.parent / "unikernels"
RUNTIME_DIRS = ("include", "libc", "loop", "net")
INCLUDE_DIRS = ["runtime/include", "runtime/libc/include"]


def runtime_sources(build_dir: Path, with_tcp: bool) -> list[str]:
    """Copies the runtime into build_dir; its sources, relative to build_dir."""
    for folder in RUNTIME_DIRS:
        shutil.copytree(RUNTIME / folder, build_dir / "runtime" / folder, dirs_exist_ok=True)
    sources = []
    for folder in ("libc", "loop", "net"):
        for source in sorted((build_dir / "runtime" / folder).glob("*.c")):
            if source.name.startswith("tcp") and not with_tcp:
                continue
            sources.append(source.relative_to(build_dir).as_posix())
    return sources


def build_unikernel(name: str, target: str, build_dir: Path, *, with_tcp: bool = False) -> Path:
    """unikernels/<name> linked with the runtime, built for target in build_dir."""
    build_dir.mkdir(parents=True, exist_ok=True)
    sources = runtime_sources(build_dir, with_tcp)
    app_dir = UNIKERNELS / name
    for source in sorted(app_dir.glob("*.c")):
        shutil.copy(source, build_dir / source.name)
        sources.append(source.name)
    devices: list[Device] = load_devices((app_dir / "manifest.json").read_bytes())
    plan = image_plan(target, name, sources, INCLUDE_DIRS, devices)
    return run_plan(plan, build_dir)


class Guest:
    """A running unikernel whose console is collected as it arrives."""

    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc
        self.console = b""

    def wait_for(self, text: str, timeout: float) -> bool:
        """Reads the console until text appears, the guest exits or time runs out."""
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while text.encode() not in self.console:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            readable, _, _ = select.select([fd], [], [], left)
            if readable:
                chunk = os.read(fd, 65536)
                if not chunk:
                    return False
                self.console += chunk
        return True

    def text(self) -> str:
        return self.console.decode(errors="replace")


@contextmanager
def running(ns: TapNamespace, argv: Sequence[str], ready: str,
            timeout: float) -> Iterator[Guest]:
    """argv (a tender or QEMU) running in ns with no stdin, its console collected; waits
    for the console line `ready` (AssertionError with the console if it does not come
    within timeout seconds); killed on exit."""
    guest = Guest(subprocess.Popen(ns.command(argv), stdin=subprocess.DEVNULL,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT))
    try:
        if not guest.wait_for(ready, timeout):
            raise AssertionError(f"no {ready!r} within {timeout} s: {guest.text()}")
        yield guest
    finally:
        guest.proc.kill()
        guest.proc.wait(timeout=10)
        if guest.proc.stdout is not None:
            guest.proc.stdout.close()


@contextmanager
def booted(image: Path, ns: TapNamespace, args: list[str], ready: str,
           timeout: float = 20) -> Iterator[Guest]:
    """The image running on ns's tap; waits for the console line `ready`."""
    with running(ns, tender_command(image, nets={"service": ns.tap}, args=args), ready,
                 timeout) as guest:
        yield guest


def manifest_devices(name: str) -> list[str]:
    data = json.loads((UNIKERNELS / name / "manifest.json").read_text())
    return [device["name"] for device in data["devices"]]
