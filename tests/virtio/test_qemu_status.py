"""solo5.qemu without booting QEMU: the exit-status mapping, the QEMU command
line and every refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from solo5.launcher import LaunchError, tender_command
from solo5.qemu import QemuError, guest_status, qemu_command
from tests.solo5.support import build_unikernel

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("status", [0, 1, 2, 42, 127, 128, 200, 254, 255])
def test_status_byte_and_debug_exit_code_give_the_guest_status(status: int) -> None:
    qemu_code = ((status << 1) | 1) & 0xFF
    assert guest_status(qemu_code, bytes([status])) == status


def test_a_status_byte_that_disagrees_with_qemu_is_refused() -> None:
    with pytest.raises(QemuError, match="guest reported exit status 3 but QEMU exited with 1"):
        guest_status(1, bytes([3]))


def test_without_a_status_byte_qemu_ending_is_never_a_guest_status() -> None:
    # QEMU's own failures exit 1, the same code as a guest status 0 via
    # isa-debug-exit: only the status byte tells them apart.
    with pytest.raises(QemuError, match=r"failed \(exit 1\): could not open tap0"):
        guest_status(1, b"", "\nqemu-system-x86_64: could not open tap0\n")
    with pytest.raises(QemuError, match="stopped without calling solo5_exit"):
        guest_status(0, b"")
    with pytest.raises(QemuError, match="killed by signal 9"):
        guest_status(-9, b"")
    with pytest.raises(QemuError, match="expected exactly one"):
        guest_status(1, b"\0\0")


def test_command_places_devices_in_manifest_order(virtio_images: dict[str, Path],
                                                 tmp_path: Path) -> None:
    disk = tmp_path / "disk,1.img"
    disk.write_bytes(bytes(4096))
    argv = qemu_command(virtio_images["test_badargs"], status_path=tmp_path / "s",
                        accel="tcg", nets={"service": "tap7"}, blocks={"storage": str(disk)},
                        args=["a", "b"])
    joined = " ".join(argv)
    assert "-machine pc,accel=tcg" in joined
    net = argv.index(next(a for a in argv if a.startswith("virtio-net-pci")))
    blk = argv.index(next(a for a in argv if a.startswith("virtio-blk-pci")))
    assert "addr=0x2" in argv[net] and "addr=0x3" in argv[blk]  # manifest: service, storage
    assert "tap,id=net0,ifname=tap7,script=no,downscript=no" in argv
    assert f"file={str(disk).replace(',', ',,')}," in joined  # commas doubled for QEMU
    assert argv[-2:] == ["-append", "a b"]
    mac = argv[net].rsplit("mac=", 1)[1]
    assert int(mac[:2], 16) & 0x03 == 0x02  # locally administered unicast


def test_devices_must_match_the_manifest(virtio_images: dict[str, Path],
                                         tmp_path: Path) -> None:
    image = virtio_images["test_block"]
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    status = tmp_path / "s"
    with pytest.raises(LaunchError, match=r"not attached: storage \(BLOCK_BASIC\)"):
        qemu_command(image, status_path=status, accel="tcg")
    with pytest.raises(LaunchError, match="declared as BLOCK_BASIC, not NET_BASIC"):
        qemu_command(image, status_path=status, accel="tcg", nets={"storage": "tap0"})
    with pytest.raises(LaunchError, match="'extra' is not declared"):
        qemu_command(image, status_path=status, accel="tcg",
                     blocks={"storage": str(disk), "extra": str(disk)})


def test_bad_options_are_refused_with_one_line(virtio_images: dict[str, Path],
                                               tmp_path: Path) -> None:
    image = virtio_images["test_block"]
    status = tmp_path / "s"
    odd = tmp_path / "odd.img"
    odd.write_bytes(bytes(1000))
    with pytest.raises(QemuError, match="not a non-zero multiple of 512"):
        qemu_command(image, status_path=status, accel="tcg", blocks={"storage": str(odd)})
    with pytest.raises(QemuError, match="not a regular file"):
        qemu_command(image, status_path=status, accel="tcg",
                     blocks={"storage": str(tmp_path / "missing.img")})
    with pytest.raises(QemuError, match="--accel must be one of kvm, tcg"):
        qemu_command(virtio_images["hello"], status_path=status, accel="xen")
    with pytest.raises(QemuError, match="at most 8191"):
        qemu_command(virtio_images["hello"], status_path=status, accel="tcg",
                     args=["x" * 8192])


def test_images_of_other_targets_and_tenders_for_virtio_are_refused(
        virtio_images: dict[str, Path], tmp_path: Path) -> None:
    with pytest.raises(LaunchError, match="virtio images run under QEMU"):
        tender_command(virtio_images["hello"])
    spt_hello = build_unikernel("hello", "spt", tmp_path / "spt")
    with pytest.raises(QemuError, match="target 'spt' is not virtio"):
        qemu_command(spt_hello, status_path=tmp_path / "s", accel="tcg")
