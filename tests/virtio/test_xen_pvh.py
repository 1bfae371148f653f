"""xen (PVH) images: built like every target, their PVH entry note checked by
`image inspect`, refused by the launcher (build-only here), and their PVH
entry path run under QEMU's PVH loader, which passes an hvm_start_info as
Xen does (there is no Xen hypervisor here, so the guest stops after boot)."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from repo_tool.cli import cli
from solo5.image import ImageError, parse_image
from solo5.launcher import LaunchError, tender_command
from solo5.qemu import QBOOT, qemu_binary
from tests.solo5.support import build_unikernel
from tests.virtio.support import ACCELS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def xen_hello(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_unikernel("hello", "xen", tmp_path_factory.mktemp("xen") / "hello")


def _xen_note_offset(data: bytes) -> int:
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    for index in range(phnum):
        p_type, _flags, p_offset = struct.unpack_from("<IIQ", data, phoff + index * 56)
        if p_type == 4 and data[p_offset + 12:p_offset + 16] == b"Xen\0":
            return int(p_offset)
    raise AssertionError("no Xen note")


def test_inspect_reports_the_pvh_entry_and_build_only(xen_hello: Path) -> None:
    data = xen_hello.read_bytes()
    info = parse_image(data)
    assert (info.target, info.abi_version) == ("xen", 1)
    entry, = struct.unpack_from("<Q", data, 24)
    assert info.pvh_entry == entry  # the note names _start32, the ELF entry
    note = _xen_note_offset(data)
    assert struct.unpack_from("<III", data, note) == (4, 4, 18)
    runner = CliRunner()
    text = runner.invoke(cli, ["image", "inspect", str(xen_hello)])
    assert text.exit_code == 0, text.output
    assert f"pvh entry:   {entry:#x} (xen is build-only here" in text.output
    doc = json.loads(runner.invoke(cli, ["image", "inspect", "--json", str(xen_hello)]).output)
    assert doc["build_only"] is True and doc["pvh_entry"] == entry


def test_bad_pvh_notes_are_refused(xen_hello: Path) -> None:
    data = bytearray(xen_hello.read_bytes())
    note = _xen_note_offset(bytes(data))
    missing = bytearray(data)
    missing[note + 8] = 17  # another Xen note type
    with pytest.raises(ImageError, match="no PVH entry note"):
        parse_image(bytes(missing))
    outside = bytearray(data)
    struct.pack_into("<I", outside, note + 16, 0x1000)  # below the image
    with pytest.raises(ImageError, match="not in executable code"):
        parse_image(bytes(outside))
    in_data = bytearray(data)
    struct.pack_into("<I", in_data, note + 16, parse_image(bytes(data)).segments[2].vaddr)
    with pytest.raises(ImageError, match="not in executable code"):
        parse_image(bytes(in_data))
    oversize = bytearray(data)
    struct.pack_into("<I", oversize, note + 4, 12)
    with pytest.raises(ImageError, match="invalid size"):
        parse_image(bytes(oversize))


def test_launcher_refuses_xen_images(xen_hello: Path) -> None:
    with pytest.raises(LaunchError, match="xen images are build-only here"):
        tender_command(xen_hello)


@pytest.mark.parametrize("accel", ACCELS)
def test_pvh_entry_boots_and_reads_hvm_start_info(xen_hello: Path, accel: str,
                                                  tmp_path: Path) -> None:
    """QEMU's PVH loader: 32-bit entry, long mode, memory map and command line
    from hvm_start_info; then no Xen CPUID leaves, reported on QEMU's debug port."""
    report = tmp_path / "debugcon"
    cpu = "host,-arch-capabilities" if accel == "kvm" else "qemu64"
    argv = [qemu_binary(), "-machine", f"pc,accel={accel}", "-cpu", cpu,
            *(["-bios", str(QBOOT)] if QBOOT.is_file() else []),
            "-m", "64", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot",
            "-debugcon", f"file:{report}", "-device", "isa-debug-exit,iobase=0x501,iosize=2",
            "-kernel", str(xen_hello), "-append", "one two"]
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 255, result.stderr  # isa-debug-exit with 0xFF
    assert report.read_text() == ("Solo5: PVH start without Xen: memory top "
                                  "0x0000000004000000, cmdline 'one two'\n")
