"""virtio images booted under QEMU, with TCG and with KVM: console, command
line, exit status, clocks and yield, TLS, aborts, block I/O on a file."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from solo5.qemu import qemu_command
from solo5.recipe import image_plan, run_plan
from tests.solo5.support import build_unikernel
from tests.virtio.support import ACCELS, run_qemu

pytestmark = pytest.mark.slow

EXIT_WITH_ARGUMENT = """
#include <solo5.h>
int solo5_app_main(const struct solo5_start_info *si)
{
    int status = 0;
    for (const char *p = si->cmdline; *p >= '0' && *p <= '9'; p++)
        status = status * 10 + (*p - '0');
    solo5_console_write("exiting\\n", 8);
    solo5_exit(status);
}
"""


@pytest.fixture(scope="module")
def exit_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("exit-virtio")
    (build / "main.c").write_text(EXIT_WITH_ARGUMENT)
    return run_plan(image_plan("virtio", "exit", ["main.c"], [], []), build)


@pytest.mark.parametrize("accel", ACCELS)
def test_hello_prints_its_command_line_and_exits_0(virtio_images: dict[str, Path],
                                                   accel: str) -> None:
    done = run_qemu(virtio_images["hello"], accel, args=["one,two", "three", "--solo5:debug"])
    assert done.status == 0, done.console + done.stderr
    assert "Hello, World\nCommand line is: 'one,two three'\n" in done.console
    assert "Solo5: solo5_exit(0) called" in done.console


@pytest.mark.parametrize("accel", ACCELS)
@pytest.mark.parametrize("status", [1, 42, 200])
def test_exit_status_is_the_guests(exit_image: Path, accel: str, status: int) -> None:
    done = run_qemu(exit_image, accel, args=[str(status)])
    assert "exiting\n" in done.console
    assert done.status == status


@pytest.mark.parametrize("accel", ACCELS)
def test_abort_and_stack_smashing_exit_255(virtio_images: dict[str, Path], accel: str) -> None:
    aborted = run_qemu(virtio_images["test_abort"], accel)
    assert aborted.status == 255
    assert "Solo5: ABORT: solo5_abort() called" in aborted.console
    smashed = run_qemu(virtio_images["test_ssp"], accel)
    assert smashed.status == 255
    assert "stack smashing detected" in smashed.console


@pytest.mark.parametrize("accel", ACCELS)
def test_clocks_and_yield(virtio_images: dict[str, Path], accel: str) -> None:
    before = time.time_ns()
    done = run_qemu(virtio_images["test_time"], accel)
    after = time.time_ns()
    assert done.status == 0, done.console
    assert "monotonic advances" in done.console
    wall = re.search(r"wall_ns: (\d+)", done.console)
    assert wall is not None, done.console
    # The RTC has one-second resolution: the guest's wall clock may lag by up to 1 s.
    assert before - 1_500_000_000 <= int(wall.group(1)) <= after + 500_000_000
    slept = re.search(r"yield\(\+100ms\) slept_ms: (\d+)", done.console)
    assert slept is not None and 100 <= int(slept.group(1)) < 400, done.console
    assert "past deadline returns promptly" in done.console


@pytest.mark.parametrize("accel", ACCELS)
def test_tls_after_set_tls_base(virtio_images: dict[str, Path], accel: str) -> None:
    # solo5_set_tls_base is a WRMSR, completed by the #GP path at CPL 3.
    done = run_qemu(virtio_images["test_tls"], accel)
    assert done.status == 0, done.console
    assert "SUCCESS" in done.console


@pytest.mark.parametrize("accel", ACCELS)
def test_block_reads_and_writes_the_file(virtio_images: dict[str, Path], accel: str,
                                         tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(64 * 1024))
    done = run_qemu(virtio_images["test_block"], accel, blocks={"storage": str(disk)})
    assert done.status == 0, done.console
    assert "capacity: 65536 block_size: 512" in done.console
    assert "SUCCESS" in done.console
    assert disk.read_bytes()[512:512 + 18] == b"unirepo block test"


@pytest.mark.parametrize("accel", ACCELS)
def test_missing_device_on_the_bus_aborts(virtio_images: dict[str, Path], accel: str,
                                          tmp_path: Path) -> None:
    """Booted by hand without its disk, the guest refuses to start (as a tender would)."""
    argv = qemu_command(virtio_images["hello"], status_path=tmp_path / "s", accel=accel)
    kernel = argv.index("-kernel")
    argv[kernel + 1] = str(virtio_images["test_block"])
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=120, check=False)
    assert "Device 'storage' of type BLOCK_BASIC declared but not attached" in result.stdout
    assert (tmp_path / "s").read_bytes() == b"\xff"


REPO_TOOL = str(Path(sys.executable).parent / "repo-tool")


def test_repo_tool_run_streams_the_console_and_returns_the_status(
        virtio_images: dict[str, Path], exit_image: Path, tmp_path: Path) -> None:
    hello = subprocess.run([REPO_TOOL, "run", str(virtio_images["hello"]), "--accel", "tcg",
                            "--", "from", "cli"], capture_output=True, text=True, timeout=120,
                           check=False)
    assert hello.returncode == 0, hello.stderr
    assert "Command line is: 'from cli'" in hello.stdout
    seven = subprocess.run([REPO_TOOL, "run", str(exit_image), "--accel", "tcg", "--", "7"],
                           capture_output=True, text=True, timeout=120, check=False)
    assert seven.returncode == 7, seven.stderr
    missing = subprocess.run([REPO_TOOL, "run", str(virtio_images["test_block"]),
                              "--accel", "tcg"], capture_output=True, text=True, timeout=120,
                             check=False)
    assert missing.returncode == 1
    assert missing.stderr.strip().endswith("declared device(s) not attached: storage "
                                           "(BLOCK_BASIC)")
    no_tap = subprocess.run([REPO_TOOL, "run", str(virtio_images["test_net"]), "--accel", "tcg",
                             "--net", "service=nosuchtap0"], capture_output=True, text=True,
                            timeout=120, check=False)
    assert no_tap.returncode == 1
    assert "no TAP interface 'nosuchtap0' here" in no_tap.stderr


def test_accel_is_refused_for_tender_targets(tmp_path: Path) -> None:
    spt_hello = build_unikernel("hello", "spt", tmp_path / "spt")
    result = subprocess.run([REPO_TOOL, "run", str(spt_hello), "--accel", "kvm"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 1
    assert "--accel applies to virtio images only" in result.stderr


FAULTING = """
#include <solo5.h>
#include <stdint.h>
int solo5_app_main(const struct solo5_start_info *si)
{
    solo5_console_write("faulting\\n", 9);
    if (si->cmdline[0] == 'p') /* above the 4 GiB identity map: #PF */
        return (int)*(volatile uint64_t *)(uintptr_t)0x100000008ULL;
    __asm__ __volatile__("ud2"); /* #UD */
    return 0;
}
"""


@pytest.fixture(scope="module")
def faulting_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build = tmp_path_factory.mktemp("fault-virtio")
    (build / "main.c").write_text(FAULTING)
    return run_plan(image_plan("virtio", "fault", ["main.c"], [], []), build)


@pytest.mark.parametrize("accel", ACCELS)
def test_fatal_traps_report_the_frame_and_exit_255(faulting_image: Path, accel: str) -> None:
    # The shared x86_64 stubs (bindings/x86_64/traps.S) for an exception
    # without an error code (#UD, 6) and one with (#PF, 14), from user mode.
    for arg, vector, cr2 in (("ud", 6, None), ("pf", 14, "0x100000008")):
        done = run_qemu(faulting_image, accel, args=[arg])
        assert done.status == 255, done.console + done.stderr
        trap = re.search(r"Solo5: trap: vector=(\d+) ec=0x([0-9a-f]+) rip=0x[0-9a-f]+ "
                         r"rsp=0x[0-9a-f]+ rflags=0x[0-9a-f]+ cr2=(0x[0-9a-f]+)\n"
                         r"Solo5: ABORT: fatal trap\n", done.console)
        assert trap is not None, done.console
        assert int(trap.group(1)) == vector
        if cr2 is not None:  # a user-mode read of a not-present page: error code U=1
            assert trap.group(3) == cr2 and int(trap.group(2), 16) == 0x4
