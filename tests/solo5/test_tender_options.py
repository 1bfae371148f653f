"""The tenders' options as upstream Solo5 has them (issue 17.1): --version,
--mem's default, --block-sector-size:NAME=N, --net-mac:NAME=MAC and spt's
--x-exec-heap, with upstream's syntax; a bad value is refused with one line
that names the option, exit 1, and the guest never runs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from solo5.tenders import tender_path
from tests.solo5.support import build_unikernel
from tests.support.netns import tap_namespace

MIB = 1024 * 1024
TARGETS = ("spt", "hvt")
# Cases that boot a guest: hvt needs /dev/kvm.
BOOT_TARGETS = ("spt", pytest.param("hvt", marks=pytest.mark.kvm))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("options")
    jobs = [("hello", "spt"), ("hello", "hvt"), ("test_block", "spt"), ("test_block", "hvt"),
            ("test_wx", "spt"), ("test_net", "spt")]
    return {f"{name}.{target}": build_unikernel(name, target, root / f"{name}-{target}")
            for name, target in jobs}


def tender(target: str, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tender_path(target)), *map(str, args)], capture_output=True,
                          text=True, timeout=60, check=False)


def refused(result: subprocess.CompletedProcess[str], target: str, message: str) -> None:
    """Exit 1, exactly one line on stderr naming the problem, no guest output."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr.splitlines() == [f"solo5-{target}: {message}"]
    assert result.stdout == ""


@pytest.mark.slow  # builds and starts the tenders
@pytest.mark.parametrize("target", TARGETS)
def test_version(target: str) -> None:
    result = tender(target, "--version")
    assert result.returncode == 0
    assert result.stdout == (f"solo5-{target} unirepo-1 (Solo5 {target} ABI version 2,"
                             " manifest version 1)\n")
    assert result.stderr == ""


@pytest.mark.parametrize("target", BOOT_TARGETS)
def test_mem_defaults_to_upstreams_512_mib(target: str, built: dict[str, Path]) -> None:
    result = tender(target, built[f"hello.{target}"], "--solo5:debug")
    assert result.returncode == 0, result.stdout + result.stderr
    heap = re.search(r"heap @0x([0-9a-f]+), (\d+) bytes", result.stdout)
    assert heap is not None, result.stdout
    assert int(heap.group(1), 16) + int(heap.group(2)) == 512 * MIB
    assert "(default 512)" in tender(target, "--help").stdout


@pytest.mark.parametrize("target", BOOT_TARGETS)
@pytest.mark.parametrize("size", [512, 4096])
def test_block_sector_size(target: str, size: int, built: dict[str, Path],
                           tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(64 * 1024))
    # The setting may come before or after the device it sets.
    result = tender(target, f"--block:storage={disk}", f"--block-sector-size:storage={size}",
                    built[f"test_block.{target}"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"capacity: 65536 block_size: {size}\n" in result.stdout
    assert "two blocks: refused" in result.stdout and "half a block: refused" in result.stdout
    data = disk.read_bytes()
    assert data[size:size + 18] == b"unirepo block test"  # sector 1 is at byte `size`


@pytest.mark.parametrize(("value", "reason"), [
    ("1000", "must be a power of two from 512 to 32768"),
    ("256", "must be a power of two from 512 to 32768"),
    ("0", "must be a power of two from 512 to 32768"),
    ("65536", "must be a power of two from 512 to 32768"),
    ("4k", "must be a power of two from 512 to 32768"),
    ("+4096", "must be a power of two from 512 to 32768"),
    ("", "must be a power of two from 512 to 32768"),
])
def test_bad_sector_size_is_refused(value: str, reason: str, built: dict[str, Path],
                                    tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(64 * 1024))
    option = f"--block-sector-size:storage={value}"
    result = tender("spt", f"--block:storage={disk}", option, built["test_block.spt"])
    refused(result, "spt", f"{option}: {reason}")


@pytest.mark.parametrize("target", TARGETS)
def test_backing_file_must_be_a_multiple_of_the_sector_size(target: str,
                                                            built: dict[str, Path],
                                                            tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096 * 3 + 512))  # whole 512-byte blocks, not 4096-byte ones
    result = tender(target, f"--block:storage={disk}", "--block-sector-size:storage=4096",
                    built[f"test_block.{target}"])
    refused(result, target, f"{disk}: block file size must be a non-zero multiple of the "
                            "block size (block size 4096)")


def test_sector_size_for_an_undeclared_or_repeated_device(built: dict[str, Path],
                                                         tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(8192))
    image = built["test_block.spt"]
    option = "--block-sector-size:other=4096"
    refused(tender("spt", f"--block:storage={disk}", option, image), "spt",
            f"Resource not declared in manifest: 'other' ({option})")
    twice = "--block-sector-size:storage=1024"
    refused(tender("spt", f"--block:storage={disk}", "--block-sector-size:storage=512", twice,
                   image), "spt", f"{twice}: the sector size of 'storage' is given twice")


@pytest.mark.parametrize("value", ["02:00:00:00:00", "02:00:00:00:00:01:02", "zz:00:00:00:00:01",
                                   "02-00-00-00-00-01", "2:0:0:0:0:1", "02:00:00:00:00:1g",
                                   ""])
def test_bad_mac_is_refused(value: str, built: dict[str, Path]) -> None:
    option = f"--net-mac:service={value}"
    result = tender("spt", option, "--net:service=tap-none", built["test_net.spt"])
    refused(result, "spt", f"{option}: not a MAC address (six hex pairs, e.g. "
                           "02:00:00:00:00:01)")


def test_mac_for_an_undeclared_device(built: dict[str, Path]) -> None:
    option = "--net-mac:other=02:00:00:00:00:01"
    refused(tender("spt", option, "--net:service=tap-none", built["test_net.spt"]), "spt",
            f"Resource not declared in manifest: 'other' ({option})")


@pytest.mark.netadmin
def test_net_mac_is_the_guests_address(built: dict[str, Path]) -> None:
    mac = "02:12:34:56:78:9a"
    with tap_namespace() as ns:
        argv = [str(tender_path("spt")), f"--net-mac:service={mac}",
                f"--net:service={ns.tap}", str(built["test_net.spt"]), "10.77.0.2", "2"]
        guest = subprocess.Popen(ns.command(argv), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            # Look at the neighbour table while the guest still runs (its exit
            # takes the TAP's carrier down, which flushes the table).
            ping = ns.run(["ping", "-c", "1", "-W", "2", "10.77.0.2"], check=False, timeout=30)
            neighbour = ns.run(["ip", "neigh", "show", "10.77.0.2"], check=False, timeout=30)
            ns.run(["ping", "-c", "1", "-W", "2", "10.77.0.2"], check=False, timeout=30)
            out, err = guest.communicate(timeout=30)
        finally:
            if guest.poll() is None:
                guest.kill()
                guest.wait()
    assert "1 received" in ping.stdout, ping.stdout
    assert f"lladdr {mac}" in neighbour.stdout  # Linux learned it from the guest's ARP reply
    assert f"mac: {mac}" in out, out + err


def test_x_exec_heap_makes_the_heap_executable(built: dict[str, Path]) -> None:
    plain = tender("spt", built["test_wx.spt"], "exec-heap")
    assert plain.returncode == -11  # SIGSEGV: W^X by default
    result = tender("spt", "--x-exec-heap", built["test_wx.spt"], "exec-heap")
    assert result.returncode == 1  # the guest ran the code and reports the access allowed
    assert "FAIL: the access was allowed" in result.stdout
    assert result.stderr == ("solo5-spt: warning: --x-exec-heap: the guest heap is writable "
                             "and executable\n")


def test_x_exec_heap_is_spt_only(built: dict[str, Path]) -> None:
    result = tender("hvt", "--x-exec-heap", built["hello.hvt"])
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == "solo5-hvt: Invalid option: '--x-exec-heap'"
