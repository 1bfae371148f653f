"""The hvt target end to end: images built with solo5.recipe, booted on solo5-hvt (KVM).

Covers console output and exit codes, the tender's refusals (devices,
memory, segments), the guest-pointer checks (test_hvt_bounds, one case per
hypercall), guest traps, and the seccomp sandbox.
"""

from __future__ import annotations

import os
import selectors
import shutil
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from solo5.recipe import Device, image_plan, load_devices, run_plan
from tests.solo5.support import (
    COMMON,
    UNIKERNELS,
    assert_block_guest_passed,
    assert_time_guest_passed,
)
from tests.support.netns import tap_namespace

REPO = Path(__file__).resolve().parents[2]
TENDER = REPO / "build" / "solo5" / "solo5-hvt"
RUN_TIMEOUT = 30.0

pytestmark = pytest.mark.kvm


def build_image(name: str, directory: Path, devices: Sequence[Device] | None = None,
                extra_cflags: Sequence[str] = ()) -> Path:
    """Build unikernels/<name> for hvt with the shared recipe."""
    directory.mkdir(parents=True, exist_ok=True)
    source_dir = UNIKERNELS / name
    sources = sorted(p.name for p in source_dir.iterdir() if p.suffix in (".c", ".S"))
    for source in sources:
        shutil.copy(source_dir / source, directory / source)
    include_dirs: list[str] = []
    if name.startswith("test_") and name != "test_hvt_bounds":
        shutil.copytree(COMMON, directory / "test_common", dirs_exist_ok=True)
        sources.append("test_common/testlib.c")
        include_dirs.append("test_common")
    if devices is None:
        devices = load_devices((source_dir / "manifest.json").read_bytes())
    plan = image_plan("hvt", name, sources, include_dirs, devices, extra_cflags=extra_cflags)
    return run_plan(plan, directory)


def run_hvt(*args: str | Path, timeout: float = RUN_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(TENDER), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, check=False)


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one stderr line, got {lines!r}"
    return lines[0]


@pytest.fixture(scope="module")
def tender() -> Path:
    subprocess.run(["make", "-s", "-C", str(REPO / "solo5")], check=True, capture_output=True)
    assert TENDER.is_file()
    return TENDER


@pytest.fixture(scope="module")
def hvt_images(tender: Path, images: dict[tuple[str, str], Path],
               tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The shared test unikernels (session fixture `images`) plus hvt-only ones."""
    built = {name: path for (name, target), path in images.items() if target == "hvt"}
    root = tmp_path_factory.mktemp("hvt-images")
    jobs: list[tuple[str, str, Sequence[Device] | None, Sequence[str]]] = [
        ("test_hvt_bounds", "test_hvt_bounds", None, ()),
        ("hello_net", "hello", [Device("service", "NET_BASIC")], ()),
    ]
    # For CPL-0 runs on this host's kvm-pvm, whose ring-0 instruction
    # emulator has no SSE arithmetic (see docs/hvt.md, "User mode").
    for name in ("test_hvt_bounds", "test_time"):
        jobs.append((f"{name}_nosse", name, None, ("-mgeneral-regs-only",)))
    with ThreadPoolExecutor(max_workers=2) as pool:
        made = pool.map(lambda job: build_image(job[1], root / job[0], job[2], job[3]), jobs)
        built.update({job[0]: path for job, path in zip(jobs, made, strict=True)})
    return built


def test_hello_prints_greeting_and_command_line(hvt_images: dict[str, Path]) -> None:
    result = run_hvt(hvt_images["hello"], "one", "two")
    assert result.returncode == 0, result.stderr
    assert "Hello, World\n" in result.stdout
    assert "Command line is: 'one two'\n" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("mem", ["2", "4", "512", "4096"])
def test_hello_boots_with_any_memory_size(hvt_images: dict[str, Path], mem: str) -> None:
    result = run_hvt(f"--mem={mem}", hvt_images["hello"], "--solo5:quiet")
    assert result.returncode == 0, result.stderr
    assert "Hello, World" in result.stdout


def test_memory_above_4_gib_refused(hvt_images: dict[str, Path]) -> None:
    result = run_hvt("--mem=4098", hvt_images["hello"])
    assert result.returncode == 1
    assert one_error_line(result).startswith("solo5-hvt: ")


def test_guest_exit_status_becomes_tender_status(hvt_images: dict[str, Path]) -> None:
    result = run_hvt(hvt_images["test_hvt_bounds"], "exit-7")
    assert result.returncode == 7, result.stderr


def test_guest_trap_reports_and_exits_255(hvt_images: dict[str, Path]) -> None:
    result = run_hvt(hvt_images["test_hvt_bounds"], "trap-null")
    assert result.returncode == 255, result.stderr
    assert "Solo5: trap: type=#PF" in result.stdout
    assert "cr2=0x0000000000000008" in result.stdout
    assert "Solo5: ABORT: fatal trap" in result.stdout


def test_declared_device_must_be_attached(hvt_images: dict[str, Path]) -> None:
    result = run_hvt(hvt_images["hello_net"])
    assert result.returncode == 1
    assert "Device 'service' of type NET_BASIC declared but not attached" in result.stderr
    assert "Hello" not in result.stdout


def test_undeclared_device_refused(hvt_images: dict[str, Path], tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    result = run_hvt(f"--block:storage={disk}", hvt_images["hello"])
    assert result.returncode == 1
    assert "Resource not declared in manifest: 'storage'" in one_error_line(result)


def test_wrong_abi_version_refused(hvt_images: dict[str, Path], tmp_path: Path) -> None:
    image = bytearray(hvt_images["hello"].read_bytes())
    marker = struct.pack("<IIII", 1, 2, 0, 0)  # ABI1 descriptor: hvt, version 2
    at = image.index(b"Solo5\0\0\0" + marker)
    struct.pack_into("<I", image, at + 12, 3)
    patched = tmp_path / "v3.hvt"
    patched.write_bytes(bytes(image))
    result = run_hvt(patched)
    assert result.returncode == 1
    assert "unsupported ABI version 3" in one_error_line(result)


def _pt_load_headers(image: bytes) -> list[int]:
    phoff, = struct.unpack_from("<Q", image, 32)
    phentsize, phnum = struct.unpack_from("<HH", image, 54)
    return [phoff + i * phentsize for i in range(phnum)
            if struct.unpack_from("<I", image, phoff + i * phentsize)[0] == 1]


def test_segment_outside_guest_memory_refused(hvt_images: dict[str, Path], tmp_path: Path) -> None:
    image = bytearray(hvt_images["hello"].read_bytes())
    last_load = _pt_load_headers(bytes(image))[-1]
    struct.pack_into("<Q", image, last_load + 40, 64 << 20)  # p_memsz: 64 MiB of bss
    patched = tmp_path / "big.hvt"
    patched.write_bytes(bytes(image))
    result = run_hvt("--mem=32", patched)
    assert result.returncode == 1
    assert one_error_line(result).startswith("solo5-hvt: ")
    assert run_hvt("--mem=128", patched, "--solo5:quiet").returncode == 0


def test_in_range_hypercalls_accepted(hvt_images: dict[str, Path]) -> None:
    result = run_hvt(hvt_images["test_hvt_bounds"], "ok")
    assert result.returncode == 0, result.stderr
    assert "ok: in-range hypercalls accepted" in result.stdout
    result = run_hvt(hvt_images["test_hvt_bounds"], "mmio-ok")
    assert result.returncode == 0, result.stderr
    assert "mmio walltime ok" in result.stdout


BOUNDS_CASES = {
    "walltime-req": "Invalid guest access: write of 8 bytes at GPA 0x2000000",
    "walltime-straddle": "Invalid guest access: write of 8 bytes at GPA 0x1fffffc",
    "low-req": "Invalid guest access: write of 8 bytes at GPA 0x2000 ",
    "puts-req": "Invalid guest access: read of 16 bytes at GPA 0xfffffff0",
    "puts-data": "Invalid guest access: read of 16 bytes at GPA 0x1fffffc",
    "puts-len": "Invalid guest access: read of 18446744073709551615 bytes at GPA 0x100000",
    "poll-req": "Invalid guest access: write of 24 bytes at GPA 0x1fffff8",
    "block-write-data": "Invalid guest access: read of 512 bytes at GPA 0x2001000",
    "block-read-data": "Invalid guest access: write of 512 bytes at GPA 0x1000 ",
    "block-read-text": "Invalid guest access: write of 512 bytes at GPA 0x1",
    "block-req": "Invalid guest access: write of 40 bytes at GPA 0x1fffff0",
    "net-write-data": "Invalid guest access: read of 1514 bytes at GPA 0x1ffff9c",
    "net-read-data": "Invalid guest access: write of 33554432 bytes at GPA 0x100000",
    "net-req": "Invalid guest access: write of 32 bytes at GPA 0xffffffff",
    "halt-cookie": "Invalid guest access: read of 512 bytes at GPA 0x1ffff9c",
    "halt-req": "Invalid guest access: read of 16 bytes at GPA 0x2000000",
    "hypercall-0": "Invalid guest hypercall: 0",
    "bad-port": "Invalid guest port access: port 0x509",
    "mmio-walltime-req": "Invalid guest access: write of 8 bytes at GPA 0x2000000",
    "mmio-nr": "Invalid guest access: MMIO write of 4 bytes at GPA 0x100000048",
    "mmio-unaligned": "Invalid guest access: MMIO write of 4 bytes at GPA 0x10000000c",
    "mmio-read": "Invalid guest access: MMIO read of 4 bytes at GPA 0x100000008",
    "mmio-wide": "Invalid guest access: MMIO write of 8 bytes at GPA 0x100000008",
}


@pytest.mark.parametrize("case", sorted(BOUNDS_CASES))
def test_out_of_range_guest_access_stops_guest(hvt_images: dict[str, Path], case: str) -> None:
    result = run_hvt("--mem=32", hvt_images["test_hvt_bounds"], case)
    assert result.returncode == 1, (result.stdout, result.stderr)
    line = one_error_line(result)
    assert line.startswith("solo5-hvt: " + BOUNDS_CASES[case]), line
    assert "FAIL" not in result.stdout


def test_tender_is_sandboxed_while_guest_runs(hvt_images: dict[str, Path]) -> None:
    process = subprocess.Popen([str(TENDER), str(hvt_images["test_hvt_bounds"]), "sleep"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_output(process, "sleeping", RUN_TIMEOUT)
        status = Path(f"/proc/{process.pid}/status").read_text()
        assert "Seccomp:\t2" in status  # SECCOMP_MODE_FILTER
        started = time.monotonic()
        assert process.wait(timeout=RUN_TIMEOUT) == 0
        assert time.monotonic() - started > 0.5  # the 2 s yield really blocked
    finally:
        process.kill()
        process.wait()


def test_time(hvt_images: dict[str, Path]) -> None:
    before = time.time_ns()
    result = run_hvt(hvt_images["test_time"])
    assert_time_guest_passed(result, before, time.time_ns())


def test_abort_exits_255(hvt_images: dict[str, Path]) -> None:
    result = run_hvt(hvt_images["test_abort"])
    assert result.returncode == 255
    assert "Solo5: ABORT: solo5_abort() called" in result.stdout
    assert result.stderr == ""


def test_stack_smash_is_detected(hvt_images: dict[str, Path]) -> None:
    result = run_hvt(hvt_images["test_ssp"])
    assert result.returncode == 255
    assert "Solo5: ABORT: stack smashing detected" in result.stdout
    assert "FAIL" not in result.stdout


def test_raw_syscall_traps_inside_the_guest(hvt_images: dict[str, Path], tmp_path: Path) -> None:
    # The spt sandbox attacks: on hvt a Linux syscall instruction is a guest
    # fault (#UD with EFER.SCE clear; kvm-pvm instead enters at LSTAR = 0,
    # which faults too). Nothing reaches the host.
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    result = run_hvt(f"--block:storage={disk}", hvt_images["test_seccomp"], "openat")
    assert result.returncode == 255, result.stdout + result.stderr
    assert "attacking: openat" in result.stdout
    assert "Solo5: trap: type=#UD" in result.stdout or "rip=0x0000000000000000" in result.stdout
    assert "FAIL" not in result.stdout
    assert result.stderr == ""


def test_block_write_read_back(hvt_images: dict[str, Path], tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(64 * 1024))
    result = run_hvt(f"--block:storage={disk}", hvt_images["test_block"])
    assert_block_guest_passed(result, disk.read_bytes())


def test_block_file_size_must_be_whole_blocks(hvt_images: dict[str, Path],
                                              tmp_path: Path) -> None:
    disk = tmp_path / "odd.img"
    disk.write_bytes(bytes(1000))
    result = run_hvt(f"--block:storage={disk}", hvt_images["test_block"])
    assert result.returncode == 1
    assert one_error_line(result).endswith("non-zero multiple of the block size (block size 512)")


GUEST_IP = "10.77.0.2"


def wait_for_output(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    """Console output of process up to and including marker (read unbuffered,
    so nothing is held back in a Python buffer while the guest waits)."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while marker.encode() not in seen:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not selector.select(remaining):
                raise AssertionError(f"no {marker!r} within {timeout} s; console: {seen!r}")
            chunk = os.read(fd, 4096)
            if not chunk:
                raise AssertionError(f"guest ended before {marker!r}; console: {seen!r}")
            seen += chunk
    return seen.decode()


@pytest.mark.netadmin
def test_net_answers_ping_on_a_tap(hvt_images: dict[str, Path]) -> None:
    with tap_namespace() as ns:
        guest = subprocess.Popen(
            ns.command([str(TENDER), f"--net:service={ns.tap}", str(hvt_images["test_net"]),
                        GUEST_IP, "3"]),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            console = wait_for_output(guest, "serving ARP and ICMP echo", RUN_TIMEOUT)
            ping = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "5", GUEST_IP],
                          timeout=30, check=False)
            out, err = guest.communicate(timeout=30)
            out = console + out
        finally:
            guest.kill()
            guest.wait()
    assert ping.returncode == 0, ping.stdout + ping.stderr + out + err
    assert "3 packets transmitted, 3 received" in ping.stdout
    assert guest.returncode == 0, out + err
    assert "answered: 3" in out


@pytest.mark.netadmin
def test_bad_arguments_refused_by_bindings(hvt_images: dict[str, Path], tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    with tap_namespace() as ns:
        result = ns.run([str(TENDER), f"--net:service={ns.tap}", f"--block:storage={disk}",
                         str(hvt_images["test_badargs"])], check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "UNEXPECTED" not in result.stdout
    assert "SUCCESS" in result.stdout


def test_sigterm_stops_the_tender_with_status_1(hvt_images: dict[str, Path]) -> None:
    process = subprocess.Popen([str(TENDER), str(hvt_images["test_hvt_bounds"]), "sleep"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_for_output(process, "sleeping", RUN_TIMEOUT)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=RUN_TIMEOUT)
    finally:
        process.kill()
        process.wait()
    assert process.returncode == 1
    assert err.strip() == "solo5-hvt: Exiting on signal 15"


def test_application_runs_in_user_mode_with_tls(hvt_images: dict[str, Path]) -> None:
    result = run_hvt(hvt_images["test_hvt_bounds"], "cpl")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cpl=3\ntls ok\n" in result.stdout


def test_upstream_abi_mode_keeps_images_working(hvt_images: dict[str, Path]) -> None:
    # --no-extensions offers exactly upstream's ABI, as an upstream tender
    # would: our bindings then stay at CPL 0 and use port I/O only. Without
    # the extensions this host runs CPL 0 code emulated, without SSE.
    result = run_hvt("--no-extensions", hvt_images["test_hvt_bounds_nosse"], "cpl")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "cpl=0\ntls ok\n" in result.stdout
    result = run_hvt("--no-extensions", hvt_images["test_time_nosse"])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout
    # No MMIO window is mapped: a store there is a guest page fault.
    result = run_hvt("--no-extensions", hvt_images["test_hvt_bounds_nosse"], "mmio-ok")
    assert result.returncode == 255
    assert "Solo5: trap: type=#PF" in result.stdout


def test_repo_tool_run_picks_hvt_and_returns_guest_status(hvt_images: dict[str, Path]) -> None:
    repo_tool = str(Path(sys.executable).parent / "repo-tool")
    ok = subprocess.run([repo_tool, "run", str(hvt_images["hello"]), "--", "hi"],
                        capture_output=True, text=True, check=False, timeout=RUN_TIMEOUT)
    assert ok.returncode == 0, ok.stderr
    assert "Command line is: 'hi'" in ok.stdout
    aborted = subprocess.run([repo_tool, "run", "--mem", "8", str(hvt_images["test_abort"])],
                             capture_output=True, text=True, check=False, timeout=RUN_TIMEOUT)
    assert aborted.returncode == 255
    assert "Solo5: ABORT: solo5_abort() called" in aborted.stdout


def test_guest_write_to_its_text_is_stopped(hvt_images: dict[str, Path]) -> None:
    # W^X through the host mapping: text is PROT_READ, KVM_RUN fails EFAULT.
    result = run_hvt(hvt_images["test_hvt_bounds"], "write-text")
    assert result.returncode == 1
    assert "writing to text" in result.stdout
    assert one_error_line(result).startswith("solo5-hvt: host/guest translation fault")
    assert "FAIL" not in result.stdout


def test_closed_console_does_not_kill_the_tender(hvt_images: dict[str, Path]) -> None:
    # The guest's exit message is written 2 s after the reader is gone.
    process = subprocess.Popen([str(TENDER), str(hvt_images["test_hvt_bounds"]), "sleep"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.close()
    _, err = process.communicate(timeout=RUN_TIMEOUT)
    assert process.returncode == 0  # not -SIGPIPE
    assert err == b""
