"""The bubblewrap sandbox: argv construction (pure) and running it.

Every namespace is private: bwrap unshares user, ipc, pid, net and cgroup;
the UTS namespace is made by `unshare --uts` just outside bwrap so both the
hostname and the NIS domain name can be set (bwrap can set only the first).
The root is empty except: /usr read-only (the toolchain), the usual /bin,
/lib, /lib64 symlinks, stub /etc/passwd and /etc/group, private /proc, a
minimal /dev, a tmpfs /tmp, the Solo5 tree read-only at /solo5, and the
build tree (only the declared inputs) read-write at the build path.
The environment is cleared and replaced by Conditions.environment().
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from builder.errors import BuildError
from builder.variations import Conditions

SOLO5_MOUNT = "/solo5"
DEFAULT_TIMEOUT = 300.0
REQUIRED_PROGRAMS = ("bwrap", "unshare", "hostname", "domainname", "taskset", "setarch")


class SandboxError(BuildError):
    """The sandbox could not be set up or did not run."""


@dataclass(frozen=True)
class SandboxResult:
    returncode: int
    output: str
    seconds: float
    argv: tuple[str, ...]


def missing_programs() -> list[str]:
    """What this host lacks to run builds: programs, and /dev/fuse for disorderfs."""
    needed = [*REQUIRED_PROGRAMS, "faketime", "disorderfs", "fusermount"]
    missing = [p for p in needed if shutil.which(p) is None]
    if not os.path.exists("/dev/fuse"):
        missing.append("/dev/fuse")
    return missing


def identity_files(conditions: Conditions) -> dict[str, str]:
    """Stub /etc/passwd and /etc/group naming only the build user."""
    return {
        "passwd": f"{conditions.user}:x:{conditions.uid}:{conditions.gid}:"
        f"{conditions.user}:{conditions.home}:/bin/sh\n",
        "group": f"{conditions.group}:x:{conditions.gid}:\n",
    }


def sandbox_argv(
    conditions: Conditions,
    *,
    tree: Path,
    build_dir: str,
    etc_dir: Path,
    solo5_root: Path | None,
    source_date_epoch: int,
    script: str,
    overlays: Sequence[tuple[Path, str]] = (),
) -> list[str]:
    """The full argv: unshare (UTS) -> bwrap -> taskset -> setarch -> [faketime] -> sh."""
    uts = [
        "unshare",
        "--uts",
        "--",
        "/bin/sh",
        "-ec",
        'hostname "$1"; domainname "$2"; shift 2; exec "$@"',
        "uts",
        conditions.hostname,
        conditions.domainname,
    ]
    bwrap = [
        "bwrap",
        "--unshare-user",
        "--unshare-ipc",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-cgroup",
        "--die-with-parent",
        "--new-session",
        "--clearenv",
        "--uid",
        str(conditions.uid),
        "--gid",
        str(conditions.gid),
        "--ro-bind",
        "/usr",
        "/usr",
        "--symlink",
        "usr/bin",
        "/bin",
        "--symlink",
        "usr/sbin",
        "/sbin",
        "--symlink",
        "usr/lib",
        "/lib",
        "--symlink",
        "usr/lib64",
        "/lib64",
        "--ro-bind",
        str(etc_dir / "passwd"),
        "/etc/passwd",
        "--ro-bind",
        str(etc_dir / "group"),
        "/etc/group",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--tmpfs",
        "/tmp",
    ]
    if conditions.home.startswith("/home/"):
        bwrap += ["--dir", conditions.home]
    if solo5_root is not None:
        bwrap += ["--ro-bind", str(solo5_root), SOLO5_MOUNT]
    bwrap += ["--bind", str(tree), build_dir]
    for host_dir, relative in overlays:  # e.g. disorderfs views of input subtrees
        bwrap += ["--bind", str(host_dir), f"{build_dir}/{relative}"]
    bwrap += ["--chdir", build_dir]
    for key, value in sorted(conditions.environment(source_date_epoch).items()):
        bwrap += ["--setenv", key, value]
    inner = ["taskset", "-c", conditions.cpus, "setarch", platform.machine()]
    if not conditions.aslr:
        inner.append("-R")
    if conditions.uname_26:
        inner.append("--uname-2.6")
    if conditions.faketime is not None:
        inner += ["faketime", "-f", conditions.faketime]
    inner += ["/bin/sh", "-ec", script]
    return [*uts, *bwrap, "--", *inner]


def commands_script(commands: Sequence[Sequence[str]]) -> str:
    """A POSIX sh script running each argv in order, stopping at the first failure."""
    return "\n".join(shlex.join(list(argv)) for argv in commands) + "\n"


def run_sandboxed(
    conditions: Conditions,
    *,
    tree: Path,
    build_dir: str,
    etc_dir: Path,
    solo5_root: Path | None,
    source_date_epoch: int,
    commands: Sequence[Sequence[str]],
    timeout: float = DEFAULT_TIMEOUT,
    overlays: Sequence[tuple[Path, str]] = (),
) -> SandboxResult:
    """Run the commands in a fresh sandbox under `conditions`; never raises on build failure."""
    etc_dir.mkdir(parents=True, exist_ok=True)
    for name, text in identity_files(conditions).items():
        (etc_dir / name).write_text(text)
    argv = sandbox_argv(
        conditions,
        tree=tree,
        build_dir=build_dir,
        etc_dir=etc_dir,
        solo5_root=solo5_root,
        source_date_epoch=source_date_epoch,
        script=commands_script(commands),
        overlays=overlays,
    )
    started = time.monotonic()
    try:
        done = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            umask=conditions.umask,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise SandboxError(f"sandboxed build exceeded {timeout:.0f} s and was killed") from None
    except FileNotFoundError as error:
        raise SandboxError(f"cannot start the sandbox: {error.filename} is not installed") from None
    return SandboxResult(
        returncode=done.returncode,
        output=done.stdout.decode("utf-8", "replace"),
        seconds=time.monotonic() - started,
        argv=tuple(argv),
    )
