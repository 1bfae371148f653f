"""Boot the test unikernels on spt: console output and exit statuses."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from solo5.launcher import LaunchError, run_image, tender_command
from tests.solo5.support import assert_block_guest_passed, assert_time_guest_passed, run_tender

Images = dict[tuple[str, str], Path]


def test_hello_prints_greeting_and_command_line(images: Images) -> None:
    result = run_tender(images[("hello", "spt")], args=["one", "two", "--solo5:quiet"])
    assert result.returncode == 0, result.stderr
    assert "Hello, World\nCommand line is: 'one two'\n" in result.stdout
    assert "Solo5:" not in result.stdout  # --solo5:quiet silenced the bindings
    assert result.stderr == ""


def test_repo_tool_run_returns_guest_status(images: Images) -> None:
    repo_tool = str(Path(sys.executable).parent / "repo-tool")
    ok = subprocess.run([repo_tool, "run", str(images[("hello", "spt")]), "--", "hi"],
                        capture_output=True, text=True, check=False, timeout=30)
    assert ok.returncode == 0
    assert "Command line is: 'hi'" in ok.stdout
    aborted = subprocess.run([repo_tool, "run", "--mem", "8", str(images[("test_abort", "spt")])],
                             capture_output=True, text=True, check=False, timeout=30)
    assert aborted.returncode == 255
    assert "Solo5: ABORT: solo5_abort() called" in aborted.stdout


def test_time(images: Images) -> None:
    before = time.time_ns()
    result = run_tender(images[("test_time", "spt")])
    assert_time_guest_passed(result, before, time.time_ns())


def test_tls_variables_work_after_set_tls_base(images: Images) -> None:
    result = run_tender(images[("test_tls", "spt")])
    assert result.returncode == 0, result.stdout
    assert "tls size: 136\nSUCCESS" in result.stdout


def test_abort_exits_255(images: Images) -> None:
    result = run_tender(images[("test_abort", "spt")])
    assert result.returncode == 255
    assert "Solo5: ABORT: solo5_abort() called" in result.stdout


def test_stack_smash_is_detected(images: Images) -> None:
    result = run_tender(images[("test_ssp", "spt")])
    assert result.returncode == 255
    assert "Solo5: ABORT: stack smashing detected" in result.stdout
    assert "FAIL" not in result.stdout


@pytest.mark.parametrize("attack", ["getpid", "openat", "read-stdin", "write-stderr",
                                    "clock-cputime",
                                    "arch-prctl-gs", "pread-two-blocks", "pwrite-past-end"])
def test_seccomp_kills_calls_outside_the_allow_list(images: Images, tmp_path: Path,
                                                    attack: str) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    result = run_tender(images[("test_seccomp", "spt")], blocks={"storage": str(disk)},
                        args=[attack])
    assert result.returncode == -31, result.stdout  # SIGSYS: the filter killed the process
    assert f"attacking: {attack}\n" in result.stdout
    if attack.startswith("p"):
        assert "legit ok" in result.stdout  # the same call within the rules is allowed
    assert "FAIL" not in result.stdout
    assert disk.read_bytes() == bytes(4096)


def test_block_write_read_back(images: Images, tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(64 * 1024))
    result = run_tender(images[("test_block", "spt")], blocks={"storage": str(disk)})
    data = disk.read_bytes()
    assert_block_guest_passed(result, data)
    assert data[-512:-510] == bytes([(999 * 7) & 0xFF, (999 * 7 + 1) & 0xFF])


def test_block_file_size_must_be_whole_blocks(images: Images, tmp_path: Path) -> None:
    disk = tmp_path / "odd.img"
    disk.write_bytes(bytes(1000))
    result = run_tender(images[("test_block", "spt")], blocks={"storage": str(disk)})
    assert result.returncode == 1
    assert result.stderr.strip().endswith("non-zero multiple of the block size (block size 512)")


def test_launcher_refuses_missing_undeclared_and_mistyped_devices(images: Images,
                                                                 tmp_path: Path) -> None:
    block_image = images[("test_block", "spt")]
    with pytest.raises(LaunchError, match=r"not attached: storage \(BLOCK_BASIC\)"):
        tender_command(block_image)
    with pytest.raises(LaunchError, match="'extra' is not declared"):
        tender_command(block_image, blocks={"storage": "x", "extra": "y"})
    with pytest.raises(LaunchError, match="declared as BLOCK_BASIC, not NET_BASIC"):
        tender_command(block_image, nets={"storage": "tap0"})
    with pytest.raises(LaunchError, match="ABI version"):
        data = bytearray(images[("hello", "spt")].read_bytes())
        abi = data.index(b"Solo5\0\0\0\x02\0\0\0\x02\0\0\0")
        data[abi + 12] = 3
        patched = tmp_path / "v3.spt"
        patched.write_bytes(data)
        tender_command(patched)


def test_run_image_streams_to_given_stdout(images: Images, tmp_path: Path) -> None:
    out = tmp_path / "console.txt"
    with out.open("wb") as sink:
        status = run_image(images[("hello", "spt")], args=["x"], stdout=sink)
    assert status == 0
    assert "Command line is: 'x'" in out.read_text()


@pytest.mark.parametrize("attack", ["write-text", "write-rodata", "write-boot-info",
                                    "exec-heap"])
def test_memory_protections_fault(images: Images, attack: str) -> None:
    behaving = run_tender(images[("test_wx", "spt")], args=["none"])
    assert behaving.returncode == 0 and "SUCCESS" in behaving.stdout
    result = run_tender(images[("test_wx", "spt")], args=[attack])
    assert result.returncode == -11, result.stdout  # SIGSEGV: W^X and read-only pages hold
    assert f"attacking: {attack}\n" in result.stdout
    assert "FAIL" not in result.stdout
