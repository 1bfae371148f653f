"""Boot a Solo5 virtio image under QEMU (qemu-system-x86_64).

virtio images have no tender: QEMU loads them through their Multiboot
header (`-kernel`), and the guest drives legacy virtio-PCI devices. This
module turns an image and its devices into a QEMU command line and turns
QEMU's ending back into the guest's exit status.

Devices: the image's manifest is checked exactly as for hvt and spt
(`solo5.launcher.check_devices`). They are placed on the root PCI bus in
manifest order from slot 2, which is the order in which the guest binds
found devices to manifest entries of each type.

Exit status: the guest writes its status byte to QEMU's isa-debugcon port
(0xE9), connected here to a file, then to the isa-debug-exit port (0x501),
which ends QEMU with `(status << 1) | 1` (mod 256). `guest_status` takes the
exact byte from the file and checks it against QEMU's code; without it,
QEMU ended for another reason (its own error, or a guest that stopped
without solo5_exit), which is an error, never a guest status.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from solo5.errors import Solo5Error
from solo5.image import ImageInfo, inspect_file
from solo5.launcher import check_devices

VIRTIO_ABI_VERSION = 1
ACCELERATORS: tuple[str, ...] = ("kvm", "tcg")
DEFAULT_MEM_MB = 128  # as upstream's solo5-virtio-run
CMDLINE_MAX = 8191  # the bindings keep at most this many characters
FIRST_PCI_SLOT = 2  # 0: host bridge, 1: PIIX3 (i440fx "pc" machine)
# qboot (Debian: qemu-system-data) starts a -kernel in ~0.1 s; SeaBIOS, the
# fallback, takes seconds where KVM emulates the guest's ring 0 (kvm-pvm).
QBOOT = Path("/usr/share/qemu/qboot.rom")
DEBUGCON_PORT = 0xE9
DEBUG_EXIT_PORT = 0x501


class QemuError(Solo5Error):
    """A virtio image cannot be started under QEMU, or QEMU failed."""


def qemu_binary() -> str:
    found = shutil.which("qemu-system-x86_64", path="/usr/bin:/bin")
    if found is None:
        raise QemuError("qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")
    return found


def default_accelerator() -> str:
    """KVM when /dev/kvm is usable, else QEMU's TCG emulator."""
    return "kvm" if os.access("/dev/kvm", os.R_OK | os.W_OK) else "tcg"


def random_mac() -> str:
    """A random locally administered unicast MAC, as Solo5's tenders pick."""
    octets = bytearray(secrets.token_bytes(6))
    octets[0] = (octets[0] & 0xFE) | 0x02
    return ":".join(f"{octet:02x}" for octet in octets)


def _escape(value: str) -> str:
    """A value inside a QEMU option list: commas are doubled."""
    return value.replace(",", ",,")


def _check_image(image: str | Path, info: ImageInfo) -> None:
    if info.target != "virtio":
        raise QemuError(f"{image}: target {info.target!r} is not virtio")
    if info.abi_version != VIRTIO_ABI_VERSION:
        raise QemuError(f"{image}: virtio ABI version {info.abi_version} is not supported "
                        f"(expected {VIRTIO_ABI_VERSION})")


def qemu_command(image: str | Path, *, status_path: str | Path, accel: str | None = None,
                 mem_mb: int | None = None, nets: Mapping[str, str] | None = None,
                 blocks: Mapping[str, str] | None = None,
                 args: Sequence[str] = ()) -> list[str]:
    """The QEMU argv that boots this virtio image with these devices."""
    nets = dict(nets or {})
    blocks = dict(blocks or {})
    info = inspect_file(image)
    _check_image(image, info)
    check_devices(info, nets, blocks)
    accel = accel if accel is not None else default_accelerator()
    if accel not in ACCELERATORS:
        raise QemuError(f"--accel must be one of {', '.join(ACCELERATORS)}, got {accel!r}")
    mem = DEFAULT_MEM_MB if mem_mb is None else mem_mb
    if mem < 2:
        raise QemuError(f"--mem must be at least 2 MiB for QEMU, got {mem}")
    cmdline = " ".join(args)
    if len(cmdline) > CMDLINE_MAX:
        raise QemuError(f"guest command line is {len(cmdline)} characters; "
                        f"at most {CMDLINE_MAX} fit")
    for name, path in blocks.items():
        if not Path(path).is_file():
            raise QemuError(f"--block {name}={path}: not a regular file")
        size = Path(path).stat().st_size
        if size == 0 or size % 512 != 0:
            raise QemuError(f"--block {name}={path}: size {size} is not a non-zero "
                            "multiple of 512 bytes")

    argv = [qemu_binary(), "-machine", f"pc,accel={accel}"]
    # kvm-pvm refuses QEMU's IA32_ARCH_CAPABILITIES for "-cpu host"; the
    # guest never reads it.
    argv += ["-cpu", "host,-arch-capabilities" if accel == "kvm" else "qemu64"]
    if QBOOT.is_file():
        argv += ["-bios", str(QBOOT)]
    argv += ["-m", str(mem), "-nodefaults", "-no-user-config", "-display", "none",
             "-no-reboot",
             "-chardev", "stdio,id=console", "-serial", "chardev:console",
             "-chardev", f"file,id=status,path={_escape(str(status_path))}",
             "-device", f"isa-debugcon,iobase={DEBUGCON_PORT:#x},chardev=status",
             "-device", f"isa-debug-exit,iobase={DEBUG_EXIT_PORT:#x},iosize=2"]
    slot = FIRST_PCI_SLOT
    for index, device in enumerate(info.devices):
        if device.kind == "NET_BASIC":
            argv += ["-netdev", f"tap,id=net{index},ifname={_escape(nets[device.name])},"
                                "script=no,downscript=no",
                     "-device", f"virtio-net-pci,netdev=net{index},addr={slot:#x},"
                                f"mac={random_mac()}"]
        else:
            argv += ["-drive", f"id=blk{index},file={_escape(str(Path(blocks[device.name])))},"
                               "if=none,format=raw",
                     "-device", f"virtio-blk-pci,drive=blk{index},addr={slot:#x}"]
        slot += 1
    kernel = str(Path(image).resolve())
    if " " in kernel:
        raise QemuError(f"{kernel}: the image path must not contain spaces (QEMU passes it "
                        "as the first word of the guest's command line)")
    argv += ["-kernel", kernel, "-append", cmdline]
    return argv


def guest_status(qemu_returncode: int, status: bytes, stderr: str = "") -> int:
    """The guest's exit status from QEMU's exit code and the debugcon bytes."""
    if len(status) == 1:
        expected = ((status[0] << 1) | 1) & 0xFF
        if qemu_returncode == expected:
            return status[0]
        raise QemuError(f"guest reported exit status {status[0]} but QEMU exited with "
                        f"{qemu_returncode} (expected {expected})")
    if status:
        raise QemuError(f"guest wrote {len(status)} bytes to the exit-status port; "
                        "expected exactly one")
    if qemu_returncode < 0:
        raise QemuError(f"QEMU killed by signal {-qemu_returncode}")
    if qemu_returncode == 0:
        raise QemuError("the guest stopped without calling solo5_exit (reset or power-off)")
    detail = next((line for line in stderr.splitlines() if line.strip()), "no message")
    detail = detail.removeprefix("qemu-system-x86_64: ")
    raise QemuError(f"qemu-system-x86_64 failed (exit {qemu_returncode}): {detail}")


def run_virtio(image: str | Path, *, accel: str | None = None, mem_mb: int | None = None,
               nets: Mapping[str, str] | None = None, blocks: Mapping[str, str] | None = None,
               args: Sequence[str] = (), stdout: IO[bytes] | None = None,
               timeout: float | None = None) -> int:
    """Boot the image under QEMU to completion; return the guest's exit status."""
    # QEMU would create a missing TAP; we only attach existing ones. (Checked
    # here, not in qemu_command: a caller may start QEMU in another namespace.)
    for name, tap in (nets or {}).items():
        if not Path("/sys/class/net", tap, "tun_flags").exists():
            raise QemuError(f"--net {name}={tap}: no TAP interface {tap!r} here "
                            "(the launcher never creates interfaces)")
    with tempfile.TemporaryDirectory(prefix="solo5-qemu-") as scratch:
        status_path = Path(scratch) / "exit-status"
        argv = qemu_command(image, status_path=status_path, accel=accel, mem_mb=mem_mb,
                            nets=nets, blocks=blocks, args=args)
        try:
            completed = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                                       stderr=subprocess.PIPE, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise QemuError(f"{image}: still running after {timeout} s; stopped") from None
        status = status_path.read_bytes() if status_path.exists() else b""
        stderr = completed.stderr.decode(errors="replace")
        return guest_status(completed.returncode, status, stderr)
