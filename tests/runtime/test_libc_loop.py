"""The freestanding libc against glibc (differential), the event loop on a
fake Solo5 clock, and boot-argument parsing."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.runtime.stack_harness import build, run_script


@pytest.fixture(scope="module")
def host_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("runtime-host")
    build("libc-test", directory)
    build("loop-test", directory)
    return directory


def run_checked(binary: Path) -> str:
    proc = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_libc_matches_glibc(host_build: Path) -> None:
    out = run_checked(host_build / "libc_test")
    match = re.fullmatch(r"libc: (\d+) cases, 0 failures\n", out)
    assert match and int(match.group(1)) > 600, out


def test_event_loop_sleeps_until_the_next_deadline(host_build: Path) -> None:
    assert run_checked(host_build / "loop_test") == "loop: 4 cases, 0 failures\n"


def test_heap_corruption_aborts(host_build: Path, tmp_path: Path) -> None:
    # A double free must abort, not corrupt the free list: the libc test
    # binary is not the place, so compile a two-line program against it.
    source = tmp_path / "double_free.c"
    source.write_text(
        "#include <stddef.h>\n"
        "void rt_heap_init(void *, size_t); void *rt_malloc(size_t); void rt_free(void *);\n"
        "void abort(void); void rt_abort(void) { abort(); }\n"
        "static _Alignas(16) unsigned char arena[4096];\n"
        "int main(void) { rt_heap_init(arena, sizeof arena); void *p = rt_malloc(10);\n"
        "  rt_free(p); rt_free(p); return 0; }\n")
    binary = tmp_path / "double_free"
    subprocess.run(["gcc", "-o", str(binary), str(source), str(host_build / "libc" / "malloc.o"),
                    str(host_build / "libc" / "string.o")], check=True, capture_output=True)
    proc = subprocess.run([str(binary)], capture_output=True, timeout=30, check=False)
    assert proc.returncode == -6  # SIGABRT


BOOTARGS = [
    ("--ipv4=10.77.0.2/24", "dhcp=0 addr=10.77.0.2 prefix=24 gateway=0.0.0.0"),
    ("app-arg --ipv4=10.0.0.9/8 --ipv4-gateway=10.0.0.1 x",
     "dhcp=0 addr=10.0.0.9 prefix=8 gateway=10.0.0.1"),
    ("--dhcp", "dhcp=1 addr=0.0.0.0 prefix=0 gateway=0.0.0.0"),
    ("", "error give exactly one of --ipv4=ADDRESS/PREFIX and --dhcp"),
    ("--ipv4=10.0.0.2/24 --dhcp", "error give exactly one of --ipv4=ADDRESS/PREFIX and --dhcp"),
    ("--ipv4=10.0.0.256/24", "error --ipv4 address is not a dotted-quad unicast address"),
    ("--ipv4=010.0.0.1/24", "error --ipv4 address is not a dotted-quad unicast address"),
    ("--ipv4=10.0.0.1.5/24", "error --ipv4 address is not a dotted-quad unicast address"),
    ("--ipv4=10.0.0.1", "error --ipv4 needs ADDRESS/PREFIX, e.g. --ipv4=10.0.0.2/24"),
    ("--ipv4=10.0.0.1/33", "error --ipv4 prefix length must be 0-32"),
    ("--ipv4=10.0.0.1/2x", "error --ipv4 prefix length must be 0-32"),
    ("--ipv4=10.0.0.2/24 --ipv4-gateway=10.1.0.1",
     "error --ipv4-gateway is not on the --ipv4 subnet"),
    ("--dhcp --ipv4-gateway=10.1.0.1", "error --ipv4-gateway goes with --ipv4, not --dhcp"),
]


def test_boot_arguments(stack_harness: Path) -> None:
    steps = run_script(stack_harness, [f"bootargs {text}" for text, _ in BOOTARGS])
    assert [" ".join(s.values("bootargs")[0]) for s in steps] == [want for _, want in BOOTARGS]
