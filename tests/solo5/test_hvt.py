"""The hvt target end to end: images built with solo5.recipe, booted on solo5-hvt (KVM).

Covers console output and exit codes, the tender's refusals (devices,
memory, segments), the guest-pointer checks (test_hvt_bounds, one case per
hypercall), guest traps, and the seccomp sandbox.
"""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from solo5.recipe import Device, image_plan, load_devices, run_plan

REPO = Path(__file__).resolve().parents[2]
TENDER = REPO / "build" / "solo5" / "solo5-hvt"
RUN_TIMEOUT = 30.0

# This machine's KVM (kvm-pvm) runs ring-0 guest code through KVM's
# instruction emulator, which has no SSE arithmetic; keep guest code to
# general-purpose registers so the same images run here and on hardware KVM.
GUEST_CFLAGS = ("-mgeneral-regs-only",)

pytestmark = pytest.mark.kvm


def build_image(name: str, directory: Path, devices: Sequence[Device] | None = None) -> Path:
    """Build unikernels/<name> for hvt with the shared recipe."""
    source_dir = REPO / "unikernels" / name
    sources = sorted(p.name for p in source_dir.iterdir() if p.suffix in (".c", ".S"))
    for source in sources:
        shutil.copy(source_dir / source, directory / source)
    if devices is None:
        devices = load_devices((source_dir / "manifest.json").read_bytes())
    plan = image_plan("hvt", name, sources, [], devices, extra_cflags=GUEST_CFLAGS)
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
def images(tender: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    built = {}
    for name in ("hello", "test_hvt_bounds"):
        directory = tmp_path_factory.mktemp(name)
        built[name] = build_image(name, directory)
    directory = tmp_path_factory.mktemp("hello_net")
    built["hello_net"] = build_image("hello", directory, [Device("service", "NET_BASIC")])
    return built


def test_hello_prints_greeting_and_command_line(images: dict[str, Path]) -> None:
    result = run_hvt(images["hello"], "one", "two")
    assert result.returncode == 0, result.stderr
    assert "Hello, World\n" in result.stdout
    assert "Command line is: 'one two'\n" in result.stdout
    assert result.stderr == ""


@pytest.mark.parametrize("mem", ["2", "4", "512", "4096"])
def test_hello_boots_with_any_memory_size(images: dict[str, Path], mem: str) -> None:
    result = run_hvt(f"--mem={mem}", images["hello"], "--solo5:quiet")
    assert result.returncode == 0, result.stderr
    assert "Hello, World" in result.stdout


def test_memory_above_4_gib_refused(images: dict[str, Path]) -> None:
    result = run_hvt("--mem=4098", images["hello"])
    assert result.returncode == 1
    assert one_error_line(result).startswith("solo5-hvt: ")


def test_guest_exit_status_becomes_tender_status(images: dict[str, Path]) -> None:
    result = run_hvt(images["test_hvt_bounds"], "exit-7")
    assert result.returncode == 7, result.stderr


def test_guest_trap_reports_and_exits_255(images: dict[str, Path]) -> None:
    result = run_hvt(images["test_hvt_bounds"], "trap-null")
    assert result.returncode == 255, result.stderr
    assert "Solo5: trap: type=#PF" in result.stdout
    assert "cr2=0x0000000000000008" in result.stdout
    assert "Solo5: ABORT: fatal trap" in result.stdout


def test_declared_device_must_be_attached(images: dict[str, Path]) -> None:
    result = run_hvt(images["hello_net"])
    assert result.returncode == 1
    assert "Device 'service' of type NET_BASIC declared but not attached" in result.stderr
    assert "Hello" not in result.stdout


def test_undeclared_device_refused(images: dict[str, Path], tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(4096))
    result = run_hvt(f"--block:storage={disk}", images["hello"])
    assert result.returncode == 1
    assert "Resource not declared in manifest: 'storage'" in one_error_line(result)


def test_wrong_abi_version_refused(images: dict[str, Path], tmp_path: Path) -> None:
    image = bytearray(images["hello"].read_bytes())
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


def test_segment_outside_guest_memory_refused(images: dict[str, Path], tmp_path: Path) -> None:
    image = bytearray(images["hello"].read_bytes())
    last_load = _pt_load_headers(bytes(image))[-1]
    struct.pack_into("<Q", image, last_load + 40, 64 << 20)  # p_memsz: 64 MiB of bss
    patched = tmp_path / "big.hvt"
    patched.write_bytes(bytes(image))
    result = run_hvt("--mem=32", patched)
    assert result.returncode == 1
    assert one_error_line(result).startswith("solo5-hvt: ")
    assert run_hvt("--mem=128", patched, "--solo5:quiet").returncode == 0


def test_in_range_hypercalls_accepted(images: dict[str, Path]) -> None:
    result = run_hvt(images["test_hvt_bounds"], "ok")
    assert result.returncode == 0, result.stderr
    assert "ok: in-range hypercalls accepted" in result.stdout


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
}


@pytest.mark.parametrize("case", sorted(BOUNDS_CASES))
def test_out_of_range_guest_access_stops_guest(images: dict[str, Path], case: str) -> None:
    result = run_hvt("--mem=32", images["test_hvt_bounds"], case)
    assert result.returncode == 1, (result.stdout, result.stderr)
    line = one_error_line(result)
    assert line.startswith("solo5-hvt: " + BOUNDS_CASES[case]), line
    assert "FAIL" not in result.stdout


def test_tender_is_sandboxed_while_guest_runs(images: dict[str, Path]) -> None:
    process = subprocess.Popen([str(TENDER), str(images["test_hvt_bounds"]), "sleep"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        assert "sleeping" in process.stdout.readline() + process.stdout.readline()
        status = Path(f"/proc/{process.pid}/status").read_text()
        assert "Seccomp:\t2" in status  # SECCOMP_MODE_FILTER
        started = time.monotonic()
        assert process.wait(timeout=RUN_TIMEOUT) == 0
        assert time.monotonic() - started > 0.5  # the 2 s yield really blocked
    finally:
        process.kill()
        process.wait()
