"""A guest must start with no host pointer reachable and find no host secret
(issue 11.3). unikernels/test_hostleak reports every non-zero start-up value
that is not an address in its own memory (callee-saved registers and xmm
at solo5_app_main, ymm upper halves, the FS/GS bases) and, on spt, scans the
host memory around each of them for the operator's environment, probing
pages with a syscall that fails with EFAULT instead of faulting."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

import pytest

from solo5.launcher import tender_command

Images = dict[tuple[str, str], Path]
REPO_TOOL = str(Path(sys.executable).parent / "repo-tool")
MARKER = "UNIREPO_HOSTLEAK_SECRET"


def cpu_flags() -> set[str]:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def spt_probes() -> list[str]:
    """Every probe this host supports (rdfsbase needs the kernel's FSGSBASE)."""
    flags = cpu_flags()
    return ["spt", *(probe for probe in ("avx", "fsgsbase") if probe in flags)]


def secret_environment() -> tuple[str, dict[str, str]]:
    value = secrets.token_hex(16)
    return value, {**os.environ, MARKER: value}


def test_the_scanner_finds_the_marker_where_it_is(images: Images) -> None:
    """Control: the marker placed in the tender's copy of the command line
    (low guest memory) is found, so "not found" below means something."""
    value = secrets.token_hex(8)
    argv = tender_command(images[("test_hostleak", "spt")],
                          args=["control", f"{MARKER}={value}"])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"hostleak: found {MARKER}={value}\n" in result.stdout


def test_spt_guest_finds_no_host_pointer_and_no_environment(images: Images) -> None:
    """The tender itself (not only the launcher) clears what the guest inherits:
    run directly, with a secret in its environment."""
    value, env = secret_environment()
    argv = tender_command(images[("test_hostleak", "spt")], args=spt_probes())
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                            env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "holds host value" not in result.stdout, result.stdout
    assert "hostleak: 0 host values, secret not found\n" in result.stdout
    assert value not in result.stdout


def test_repo_tool_run_finds_nothing_either(images: Images) -> None:
    value, env = secret_environment()
    result = subprocess.run([REPO_TOOL, "run", str(images[("test_hostleak", "spt")]), "--",
                             *spt_probes()], capture_output=True, text=True, timeout=60,
                            check=False, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hostleak: 0 host values, secret not found\n" in result.stdout
    assert value not in result.stdout


def _process_of(image: Path, parent: int) -> int | None:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if ppid == parent and str(image).encode() in cmdline:
            return int(entry.name)
    return None


def test_repo_tool_run_starts_the_tender_with_an_empty_environment(images: Images) -> None:
    image = images[("test_hostleak", "spt")].resolve()
    value, env = secret_environment()
    proc = subprocess.Popen([REPO_TOOL, "run", str(image), "--", "sleep"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        tender = None
        deadline = time.monotonic() + 20
        while tender is None and time.monotonic() < deadline and proc.poll() is None:
            tender = _process_of(image, proc.pid)
            time.sleep(0.02)
        assert tender is not None, "the tender process was not seen"
        assert Path(f"/proc/{tender}/environ").read_bytes() == b""
    finally:
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, out + err
    assert value.encode() not in out


@pytest.mark.kvm
def test_hvt_guest_starts_with_nothing_of_the_host(images: Images) -> None:
    value, env = secret_environment()
    argv = tender_command(images[("test_hostleak", "hvt")])
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False,
                            env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "hostleak: 0 host values, secret not found\n" in result.stdout
    assert value not in result.stdout
