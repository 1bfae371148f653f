"""`repo-tool run` as an operator types it (issue 13 items 5 and 6): only
the arguments after `--` reach the guest, a mistyped option is a usage error,
Ctrl-C exits 130 with one line, and a host without usable /dev/kvm is told
what is wrong and what to do."""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.solo5.support import build_unikernel

REPO_TOOL = str(Path(sys.executable).parent / "repo-tool")
NEEDS_BWRAP = pytest.mark.skipif(shutil.which("bwrap") is None,
                                 reason="bubblewrap is not installed")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("run-cli")
    return {f"{name}.{target}": build_unikernel(name, target, root / f"{name}-{target}")
            for name, target in (("hello", "spt"), ("hello", "hvt"), ("test_hostleak", "spt"))}


def repo_tool(*args: str, wrap: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*wrap, REPO_TOOL, *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_mistyped_option_is_a_usage_error_and_the_guest_never_runs(
        built: dict[str, Path]) -> None:
    result = repo_tool("run", str(built["hello.spt"]), "--memm", "64")
    assert result.returncode == 2
    assert "No such option '--memm'" in result.stderr
    assert "Did you mean '--mem'?" in result.stderr
    assert result.stdout == ""


def test_arguments_without_separator_are_refused(built: dict[str, Path]) -> None:
    result = repo_tool("run", str(built["hello.spt"]), "hi")
    assert result.returncode == 2
    assert "unexpected extra argument (hi)" in result.stderr
    assert result.stdout == ""


def test_only_arguments_after_the_separator_reach_the_guest(built: dict[str, Path]) -> None:
    result = repo_tool("run", "--mem", "8", str(built["hello.spt"]), "--",
                       "--memm", "64", "--", "x")
    assert result.returncode == 0, result.stderr
    assert "Command line is: '--memm 64 -- x'" in result.stdout
    options_after_image = repo_tool("run", str(built["hello.spt"]), "--mem", "8", "--", "y")
    assert options_after_image.returncode == 0, options_after_image.stderr
    assert "Command line is: 'y'" in options_after_image.stdout


@pytest.mark.slow  # starts the installed repo-tool
def test_usage_shows_the_separator() -> None:
    result = repo_tool("run", "--help")
    assert result.returncode == 0
    assert "Usage: repo-tool run [OPTIONS] IMAGE [-- ARGS...]" in result.stdout


def test_ctrl_c_exits_130_with_one_line(built: dict[str, Path]) -> None:
    # SIGINT back to its default in the child: a runner started in the background (`cmd &`)
    # ignores SIGINT, and Python installs no KeyboardInterrupt handler where it is ignored.
    proc = subprocess.Popen([REPO_TOOL, "run", str(built["test_hostleak.spt"]), "--", "sleep"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert proc.stdout is not None
        # Wait for the guest's banner, then interrupt the whole process group
        # as a terminal's Ctrl-C does (the guest sleeps 3 s before its report).
        seen = b""
        deadline = time.monotonic() + 20
        while b"Solo5:" not in seen and time.monotonic() < deadline:
            ready, _, _ = select.select([proc.stdout], [], [], 0.1)
            if ready:
                seen += os.read(proc.stdout.fileno(), 4096)
        assert b"Solo5:" in seen, seen
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, (seen + out, err)
    assert err == b"interrupted\n"
    assert b"host values" not in seen + out  # stopped before its report


@NEEDS_BWRAP
def test_missing_dev_kvm_says_what_to_do(built: dict[str, Path]) -> None:
    # A fresh /dev without kvm in it, the rest of the system as it is.
    result = repo_tool("run", str(built["hello.hvt"]), wrap=("bwrap", "--bind", "/", "/",
                                                             "--dev", "/dev", "--"))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "solo5-hvt: /dev/kvm does not exist: this host offers no KVM (enable virtualisation"
        " and load the kvm module, or run the image's spt build with solo5-spt)"]
    assert result.stdout == ""


@NEEDS_BWRAP
def test_dev_kvm_that_is_not_kvm_is_named(built: dict[str, Path]) -> None:
    result = repo_tool("run", str(built["hello.hvt"]),
                       wrap=("bwrap", "--bind", "/", "/", "--dev", "/dev",
                             "--dev-bind", "/dev/null", "/dev/kvm", "--"))
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("solo5-hvt: /dev/kvm is not a KVM device (KVM_GET_API_VERSION:")
    assert "character device 10:232" in lines[0]
