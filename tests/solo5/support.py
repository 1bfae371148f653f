"""Building and running the Solo5 test unikernels for the tests in this folder."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from solo5.launcher import tender_command
from solo5.recipe import Device, image_plan, load_devices, run_plan

REPO = Path(__file__).resolve().parents[2]
UNIKERNELS = REPO / "unikernels"
COMMON = UNIKERNELS / "test_common"
TEST_UNIKERNELS = ("hello", "test_time", "test_block", "test_net", "test_abort", "test_ssp",
                   "test_badargs", "test_seccomp", "test_tls", "test_wx", "test_hostleak")


def unikernel_devices(name: str) -> list[Device]:
    return load_devices((UNIKERNELS / name / "manifest.json").read_bytes())


def build_unikernel(name: str, target: str, build_dir: Path) -> Path:
    """Build unikernels/<name> for target in build_dir with the shared recipe."""
    build_dir.mkdir(parents=True, exist_ok=True)
    sources = []
    for source in sorted([*(UNIKERNELS / name).glob("*.c"), *(UNIKERNELS / name).glob("*.S")]):
        shutil.copy(source, build_dir / source.name)
        sources.append(source.name)
    include_dirs: list[str] = []
    if name != "hello":
        shutil.copytree(COMMON, build_dir / "test_common", dirs_exist_ok=True)
        sources.append("test_common/testlib.c")
        include_dirs.append("test_common")
    plan = image_plan(target, name, sources, include_dirs, unikernel_devices(name))
    return run_plan(plan, build_dir)


def run_tender(image: Path, *, nets: Mapping[str, str] | None = None,
               blocks: Mapping[str, str] | None = None, args: Sequence[str] = (),
               mem_mb: int | None = None, timeout: float = 30,
               wrap: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    """Run an image on its tender, capturing console (stdout) and stderr."""
    argv = tender_command(image, mem_mb=mem_mb, nets=nets, blocks=blocks, args=args)
    return subprocess.run([*wrap, *argv], capture_output=True, text=True, timeout=timeout,
                          check=False)


def manifest_json(devices: Sequence[Mapping[str, str]]) -> bytes:
    return json.dumps({"type": "solo5.manifest", "version": 1,
                       "devices": list(devices)}).encode()


def assert_time_guest_passed(result: subprocess.CompletedProcess[str], before_ns: int,
                             after_ns: int) -> None:
    """test_time ran: its clock checks passed, the wall clock it read lies between
    before_ns and after_ns (1 s slack either side), and its 100 ms sleep took under 1 s."""
    assert result.returncode == 0, result.stdout + result.stderr
    assert "monotonic advances" in result.stdout
    assert "past deadline returns promptly" in result.stdout
    assert "SUCCESS" in result.stdout
    wall = int(result.stdout.split("wall_ns: ")[1].split()[0])
    assert before_ns - 1_000_000_000 <= wall <= after_ns + 1_000_000_000
    slept = int(result.stdout.split("slept_ms: ")[1].split()[0])
    assert 100 <= slept < 1000


def assert_block_guest_passed(result: subprocess.CompletedProcess[str], disk: bytes) -> None:
    """test_block ran on a 64 KiB disk: every out-of-range request refused, and `disk`
    (the file afterwards) holds what it wrote."""
    assert result.returncode == 0, result.stdout + result.stderr
    assert "capacity: 65536 block_size: 512" in result.stdout
    for refused in ("offset at capacity", "offset overflowing", "misaligned offset",
                    "two blocks", "half a block"):
        assert f"{refused}: refused" in result.stdout
    assert result.stdout.rstrip().endswith("SUCCESS\nSolo5: solo5_exit(0) called")
    assert disk[512:512 + 18] == b"unirepo block test"
    assert disk[0:4] == bytes([0, 1, 2, 3])  # sector 0: (0 * 7 + i) & 0xff
    assert disk[1024:1028] == bytes([14, 15, 16, 17])  # sector 2
