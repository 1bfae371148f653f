"""`repo-tool run --net-mac NAME=MAC --block-sector-size NAME=N` (issue 13 item 6): passed to
the tender in upstream's syntax, so the guest sees that MAC and that block size; a setting for
a device not attached in the same run, or for a virtio image, is refused with one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.solo5.support import build_unikernel
from tests.support.netns import tap_namespace

REPO_TOOL = str(Path(sys.executable).parent / "repo-tool")
BOOT_TARGETS = ("spt", pytest.param("hvt", marks=pytest.mark.kvm))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("run-settings")
    jobs = [("test_block", "spt"), ("test_block", "hvt"), ("test_net", "spt"),
            ("test_block", "virtio")]
    return {f"{name}.{target}": build_unikernel(name, target, root / f"{name}-{target}")
            for name, target in jobs}


def repo_tool(*args: str | Path, wrap: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*wrap, REPO_TOOL, *map(str, args)], capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def disk(tmp_path: Path) -> Path:
    path = tmp_path / "disk.img"
    path.write_bytes(bytes(64 * 1024))
    return path


@pytest.mark.parametrize("target", BOOT_TARGETS)
def test_block_sector_size_reaches_the_guest(target: str, built: dict[str, Path],
                                             disk: Path) -> None:
    result = repo_tool("run", built[f"test_block.{target}"], "--block", f"storage={disk}",
                       "--block-sector-size", "storage=4096")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "capacity: 65536 block_size: 4096\n" in result.stdout
    assert disk.read_bytes()[4096:4096 + 18] == b"unirepo block test"  # sector 1


@pytest.mark.netadmin
def test_net_mac_is_the_guests_address(built: dict[str, Path]) -> None:
    mac = "02:12:34:56:78:9b"
    with tap_namespace() as ns:
        guest = subprocess.Popen(
            ns.command([REPO_TOOL, "run", str(built["test_net.spt"]), "--net", f"service={ns.tap}",
                        "--net-mac", f"service={mac}", "--", "10.77.0.2", "1"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            assert guest.stdout is not None
            seen = ""
            while "serving ARP" not in seen:  # the guest holds the tap: ping it now
                line = guest.stdout.readline()
                assert line, seen + guest.communicate(timeout=60)[1]
                seen += line
            ping = ns.run(["ping", "-c", "1", "-W", "5", "10.77.0.2"], check=False, timeout=30)
            out, err = guest.communicate(timeout=60)
            out = seen + out
        finally:
            if guest.poll() is None:
                guest.kill()
                guest.wait()
    assert "1 received" in ping.stdout, ping.stdout + out + err
    assert guest.returncode == 0, out + err
    assert f"mac: {mac}\n" in out


def test_a_setting_needs_its_device_attached(built: dict[str, Path], disk: Path) -> None:
    result = repo_tool("run", built["test_net.spt"], "--net", "service=tap-none",
                       "--block-sector-size", "service=4096")
    assert result.returncode == 1
    assert result.stderr == ("error: --block-sector-size service: no --block service=FILE given; "
                             "a sector size is set on an attached BLOCK_BASIC device\n")
    result = repo_tool("run", built["test_block.spt"], "--block", f"storage={disk}",
                       "--net-mac", "storage=02:00:00:00:00:01")
    assert result.returncode == 1
    assert result.stderr == ("error: --net-mac storage: no --net storage=TAP given; a MAC is set "
                             "on an attached NET_BASIC device\n")
    assert result.stdout == ""


def test_a_bad_value_is_refused_before_the_guest_runs(built: dict[str, Path],
                                                      disk: Path) -> None:
    not_a_number = repo_tool("run", built["test_block.spt"], "--block", f"storage={disk}",
                             "--block-sector-size", "storage=4k")
    assert not_a_number.returncode == 2
    assert "storage=4k: N must be a number of bytes, e.g. 4096" in not_a_number.stderr
    # The tender owns the rules for the values; its one line names the setting.
    not_a_power = repo_tool("run", built["test_block.spt"], "--block", f"storage={disk}",
                            "--block-sector-size", "storage=1000")
    assert not_a_power.returncode == 1
    assert not_a_power.stderr == ("solo5-spt: --block-sector-size:storage=1000: must be a power "
                                  "of two from 512 to 32768\n")
    assert not_a_power.stdout == ""
    bad_mac = repo_tool("run", built["test_net.spt"], "--net", "service=tap-none",
                        "--net-mac", "service=02-00-00-00-00-01")
    assert bad_mac.returncode == 1
    assert bad_mac.stderr == ("solo5-spt: --net-mac:service=02-00-00-00-00-01: not a MAC address "
                              "(six hex pairs, e.g. 02:00:00:00:00:01)\n")


def test_virtio_images_take_neither_setting(built: dict[str, Path], disk: Path) -> None:
    image = built["test_block.virtio"]
    result = repo_tool("run", image, "--block", f"storage={disk}",
                       "--block-sector-size", "storage=4096")
    assert result.returncode == 1
    assert result.stderr == (f"error: {image}: --net-mac and --block-sector-size are tender "
                             "options (hvt, spt images); a virtio image's devices take neither "
                             "here\n")
