"""solo5-hvt-debug --dumpcore=DIR (issue 17.1): on abort or trap the guest's
core is written as an ELF core file that gdb reads with the image, showing
the guest's registers (the trapping instruction for a trap) and memory.
Only the debug tender has the option, as upstream."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from solo5.tenders import tender_path
from tests.solo5.support import build_unikernel

pytestmark = pytest.mark.skipif(shutil.which("gdb") is None, reason="gdb is not installed")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("dumpcore")
    return {name: build_unikernel(name, "hvt", root / name)
            for name in ("test_abort", "test_hvt_bounds", "hello")}


def run_debug(tmp_path: Path, image: Path, *args: str) -> tuple[subprocess.CompletedProcess[str],
                                                                 list[Path]]:
    cores = tmp_path / "cores"
    cores.mkdir()
    result = subprocess.run([str(tender_path("hvt", debug=True)), "--mem=32",
                             f"--dumpcore={cores}", str(image), *args],
                            capture_output=True, text=True, timeout=60, check=False)
    return result, sorted(cores.iterdir())


def gdb(image: Path, core: Path, *commands: str) -> str:
    argv = ["gdb", "-batch", "-nx", *(a for c in commands for a in ("-ex", c)), str(image),
            str(core)]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60,
                          check=True).stdout


@pytest.mark.kvm
def test_abort_core_has_registers_and_memory(built: dict[str, Path], tmp_path: Path) -> None:
    result, cores = run_debug(tmp_path, built["test_abort"], "marker-7c1f")
    assert result.returncode == 255, result.stdout + result.stderr
    assert len(cores) == 1 and re.fullmatch(r"core\.solo5-hvt\.\d+", cores[0].name)
    assert result.stderr == f"solo5-hvt: guest core written to {cores[0]}\n"
    stat = cores[0].stat()
    assert stat.st_mode & 0o777 == 0o600
    assert stat.st_size > 32 * 1024 * 1024  # all of guest memory ...
    assert stat.st_blocks * 512 < 4 * 1024 * 1024  # ... but only touched pages on disk
    out = gdb(built["test_abort"], cores[0], "info symbol $pc", "x/s (char *)&cmdline")
    assert "hvt_halt" in out  # halted in the bindings' HALT hypercall
    assert '"marker-7c1f"' in out  # the command line the bindings copied at run time


@pytest.mark.kvm
def test_trap_core_points_at_the_faulting_instruction(built: dict[str, Path],
                                                      tmp_path: Path) -> None:
    result, cores = run_debug(tmp_path, built["test_hvt_bounds"], "trap-null")
    assert result.returncode == 255
    trap = re.search(r"trap: type=#PF .* rip=0x([0-9a-f]+) rsp=0x([0-9a-f]+)", result.stdout)
    assert trap is not None and len(cores) == 1, result.stdout
    out = gdb(built["test_hvt_bounds"], cores[0], "p/x $pc", "p/x $rsp", "info symbol $pc")
    assert f"= {hex(int(trap.group(1), 16))}" in out
    assert f"= {hex(int(trap.group(2), 16))}" in out
    assert "solo5_app_main + " in out


@pytest.mark.kvm
def test_no_core_when_the_guest_exits_normally(built: dict[str, Path], tmp_path: Path) -> None:
    result, cores = run_debug(tmp_path, built["hello"])
    assert result.returncode == 0
    assert cores == []


def test_only_the_debug_tender_has_dumpcore(built: dict[str, Path], tmp_path: Path) -> None:
    result = subprocess.run([str(tender_path("hvt")), f"--dumpcore={tmp_path}",
                             str(built["hello"])], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == f"solo5-hvt: Invalid option: '--dumpcore={tmp_path}'"
    assert "--dumpcore" in subprocess.run([str(tender_path("hvt", debug=True)), "--help"],
                                          capture_output=True, text=True, check=True).stdout
