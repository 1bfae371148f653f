"""The fast tier's process rule (tests/support/tiers.py): which started programs make a test
slow."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.support.tiers import command_of, slow_program


@pytest.mark.parametrize(("event", "args", "slow"), [
    # the installed commands, by any path, list or tuple, str, bytes or Path
    ("subprocess.Popen", ("/work/.venv/bin/repo-tool", ["repo-tool", "serve"], None, None),
     "repo-tool"),
    ("subprocess.Popen", (Path("/usr/bin/gcc"), (Path("/usr/bin/gcc"), "-c", "a.c"), None, None),
     "gcc"),
    ("os.posix_spawn", (b"/usr/bin/bwrap", [b"bwrap", b"--ro-bind"], {}), "bwrap"),
    ("os.exec", ("/usr/sbin/ip", ["ip", "netns", "add", "x"], {}), "ip"),
    ("subprocess.Popen", ("/usr/bin/qemu-system-x86_64", ["qemu-system-x86_64"], None, None),
     "qemu-system-x86_64"),
    # another interpreter imports the project again
    ("subprocess.Popen", (sys.executable, [sys.executable, "-c", "pass"], None, None),
     Path(sys.executable).name),
    # through a shell: what the shell runs first
    ("subprocess.Popen", ("/bin/sh", ["/bin/sh", "-c", "make -C solo5 >/dev/null"], None, None),
     "make"),
    ("os.system", (b"nginx -c /tmp/x.conf",), "nginx"),
    # asking the compiler about itself compiles nothing
    ("subprocess.Popen", ("/usr/bin/gcc", ["gcc", "-print-file-name=include"], None, None), None),
    ("subprocess.Popen", ("gcc", ["gcc", "--version"], None, None), None),
    # ordinary small programs, and events that start nothing
    ("subprocess.Popen", ("/usr/bin/true", ["true"], None, None), None),
    ("subprocess.Popen", ("/bin/sh", ["/bin/sh", "-c", "git status"], None, None), None),
    ("open", ("/usr/bin/gcc", "r", 0), None),
])
def test_which_started_programs_make_a_test_slow(
        event: str, args: tuple[object, ...], slow: str | None) -> None:
    assert slow_program(command_of(event, args)) == slow
