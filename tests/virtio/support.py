"""Running virtio images under QEMU for the tests in this folder."""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from solo5.qemu import guest_status, qemu_command
from tests.runtime.unikernel import Guest, running
from tests.support.netns import TapNamespace

# TCG always; KVM where /dev/kvm is (tests/conftest.py skips it elsewhere).
ACCELS = [pytest.param("tcg"), pytest.param("kvm", marks=pytest.mark.kvm)]
GUEST_IP = "10.77.0.2"


@dataclass(frozen=True)
class Finished:
    status: int  # the guest's exit status, decoded by solo5.qemu.guest_status
    console: str
    stderr: str


def run_qemu(image: Path, accel: str, *, nets: Mapping[str, str] | None = None,
             blocks: Mapping[str, str] | None = None, args: Sequence[str] = (),
             mem_mb: int | None = None, wrap: Sequence[str] = (),
             timeout: float = 120) -> Finished:
    """Boot image to completion under QEMU; console and exit status."""
    with tempfile.TemporaryDirectory(prefix="virtio-test-") as scratch:
        status_path = Path(scratch) / "status"
        argv = qemu_command(image, status_path=status_path, accel=accel, nets=nets,
                            blocks=blocks, args=args, mem_mb=mem_mb)
        result = subprocess.run([*wrap, *argv], stdin=subprocess.DEVNULL,
                                capture_output=True, text=True, timeout=timeout, check=False)
        status = status_path.read_bytes() if status_path.exists() else b""
        return Finished(guest_status(result.returncode, status, result.stderr),
                        result.stdout, result.stderr)


@contextmanager
def booted(image: Path, accel: str, ns: TapNamespace, args: Sequence[str], ready: str,
           timeout: float = 60, blocks: Mapping[str, str] | None = None) -> Iterator[Guest]:
    """image running under QEMU on ns's tap (and blocks' files); waits for the
    console line `ready`."""
    with tempfile.TemporaryDirectory(prefix="virtio-test-") as scratch:
        argv = qemu_command(image, status_path=Path(scratch) / "status", accel=accel,
                            nets={"service": ns.tap}, blocks=blocks, args=args)
        with running(ns, argv, ready, timeout) as guest:
            yield guest
