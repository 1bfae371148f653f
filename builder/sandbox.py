"""The bubblewrap sandbox: argv construction (pure) and running it.

Every namespace is private: bwrap unshares user, ipc, pid, net and cgroup;
the UTS namespace is made by `unshare --uts` just outside bwrap so both the
hostname and the NIS domain name can be set (bwrap can set only the first).
The root is empty except: /usr read-only (the toolchain), the usual /bin,
/lib, /lib64 symlinks, stub /etc/passwd and /etc/group, private /proc, a
minimal /dev, a size-limited tmpfs /tmp, the Solo5 tree read-only at /solo5,
and the build tree (only the declared inputs) read-write at the build path.
The environment is cleared and replaced by Conditions.environment().

Every sandboxed process runs under builder.limits (rlimits set by prlimit)
as the unprivileged host uid SANDBOX_HOST_UID, never as root:

  prlimit -> unshare --uts --mount (root: names; host paths bind-mounted onto a
  private tmpfs at STAGE_DIR) -> setpriv (drop to the sandbox uid) -> bwrap
  (unprivileged user namespace: build user -> sandbox uid) -> ...

The staging step is what lets the unprivileged bwrap reach inputs whose
parent directories it may not traverse; it happens in a private mount
namespace, so the host sees none of it. The build tree is chowned to the
sandbox uid.
"""

from __future__ import annotations

import os
import platform
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from builder.errors import BuildError
from builder.limits import (
    DEFAULT_LIMITS,
    SANDBOX_HOST_UID,
    Limits,
    drop_privileges_argv,
    limit_reason,
    prlimit_argv,
)
from builder.variations import Conditions

SOLO5_MOUNT = "/solo5"
# Mount point of each sandbox's private staging tmpfs (an empty directory on the host).
STAGE_DIR = "/run/unirepo-sandbox"
REQUIRED_PROGRAMS = (
    "bwrap", "unshare", "hostname", "domainname", "taskset", "setarch", "prlimit", "setpriv"
)
LOG_KEEP_BYTES = 1 << 20  # of a (possibly huge) log, the last MiB is kept
# Runs as root in the new UTS + mount namespaces: set the names, stage the host paths
# (pairs of source and stage name up to "--"), then exec the rest (setpriv ...).
_STAGE_SCRIPT = (
    'hostname "$1"; domainname "$2"; stage="$3"; shift 3\n'
    'mount -t tmpfs -o mode=0755,size=64k unirepo-stage "$stage"\n'
    'while [ "$1" != "--" ]; do\n'
    '  if [ -d "$1" ]; then mkdir "$stage/$2"; else : > "$stage/$2"; fi\n'
    '  mount --bind "$1" "$stage/$2"; shift 2\n'
    "done\n"
    'shift; exec "$@"\n'
)


class SandboxError(BuildError):
    """The sandbox could not be set up or did not run."""


@dataclass(frozen=True)
class SandboxResult:
    returncode: int
    output: str
    seconds: float
    argv: tuple[str, ...]
    limit: str | None = None  # "resource limit: ..." when a limit ended the run


@dataclass(frozen=True)
class Contained:
    """How one contained process tree ended."""

    returncode: int
    output: str
    seconds: float
    limit: str | None


def staging_argv(
    hostname: str, domainname: str, staged: Sequence[tuple[Path, str]], limits: Limits
) -> list[str]:
    """prlimit -> unshare (UTS, mount) staging `staged` (host path, name) -> setpriv."""
    pairs = [part for source, name in staged for part in (str(source), name)]
    return [
        *prlimit_argv(limits),
        "unshare",
        "--uts",
        "--mount",
        "--propagation",
        "private",
        "--",
        "/bin/sh",
        "-ec",
        _STAGE_SCRIPT,
        "stage",
        hostname,
        domainname,
        STAGE_DIR,
        *pairs,
        "--",
        *drop_privileges_argv(),
    ]


def staged(name: str) -> str:
    return f"{STAGE_DIR}/{name}"


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


def bwrap_root(isolation: Sequence[str], etc: Sequence[str], limits: Limits) -> list[str]:
    """bwrap with the `isolation` options, over the root every sandbox has: /usr read-only
    with the /bin, /sbin, /lib, /lib64 symlinks into it, the `etc` mounts, a private
    /proc, a minimal /dev and a tmpfs /tmp of limits.tmp_bytes."""
    return [
        "bwrap",
        *isolation,
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
        *etc,
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--size",
        str(limits.tmp_bytes),
        "--tmpfs",
        "/tmp",
    ]


@dataclass(frozen=True)
class SandboxedBuild:
    """One run of build commands in a fresh sandbox.

    tree is mounted read-write at build_dir; etc_dir receives the stub passwd and
    group; each overlay (host path, path relative to build_dir) is mounted over the
    tree (e.g. a disorderfs view of an input subtree)."""

    conditions: Conditions
    tree: Path
    build_dir: str
    etc_dir: Path
    solo5_root: Path | None
    source_date_epoch: int
    commands: Sequence[Sequence[str]]
    overlays: Sequence[tuple[Path, str]] = ()
    limits: Limits = DEFAULT_LIMITS


def sandbox_argv(build: SandboxedBuild) -> list[str]:
    """The full argv: prlimit -> unshare (UTS, mount; staging) -> setpriv -> bwrap ->
    taskset -> setarch -> [faketime] -> sh running the build's commands."""
    conditions, build_dir = build.conditions, build.build_dir
    stage = [(build.etc_dir / "passwd", "passwd"), (build.etc_dir / "group", "group"),
             (build.tree, "tree")]
    if build.solo5_root is not None:
        stage.append((build.solo5_root, "solo5"))
    stage += [(host, f"overlay-{index}") for index, (host, _) in enumerate(build.overlays)]
    outer = staging_argv(conditions.hostname, conditions.domainname, stage, build.limits)
    bwrap = bwrap_root(
        [
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
        ],
        ["--ro-bind", staged("passwd"), "/etc/passwd", "--ro-bind", staged("group"), "/etc/group"],
        build.limits,
    )
    if conditions.home.startswith("/home/"):
        bwrap += ["--dir", conditions.home]
    if build.solo5_root is not None:
        bwrap += ["--ro-bind", staged("solo5"), SOLO5_MOUNT]
    bwrap += ["--bind", staged("tree"), build_dir]
    for index, (_, relative) in enumerate(build.overlays):
        bwrap += ["--bind", staged(f"overlay-{index}"), f"{build_dir}/{relative}"]
    bwrap += ["--chdir", build_dir]
    for key, value in sorted(conditions.environment(build.source_date_epoch).items()):
        bwrap += ["--setenv", key, value]
    inner = ["taskset", "-c", conditions.cpus, "setarch", platform.machine()]
    if not conditions.aslr:
        inner.append("-R")
    if conditions.uname_26:
        inner.append("--uname-2.6")
    if conditions.faketime is not None:
        inner += ["faketime", "-f", conditions.faketime]
    inner += ["/bin/sh", "-ec", commands_script(build.commands)]
    return [*outer, *bwrap, "--", *inner]


def commands_script(commands: Sequence[Sequence[str]]) -> str:
    """A POSIX sh script running each argv in order, stopping at the first failure."""
    return "\n".join(shlex.join(list(argv)) for argv in commands) + "\n"


def give_to_sandbox(tree: Path) -> None:
    """Make the sandbox uid own the build tree (it writes its objects and image there)."""
    for directory, dirnames, filenames in os.walk(tree):
        os.chown(directory, SANDBOX_HOST_UID, SANDBOX_HOST_UID, follow_symlinks=False)
        for name in [*dirnames, *filenames]:
            path = os.path.join(directory, name)
            os.chown(path, SANDBOX_HOST_UID, SANDBOX_HOST_UID, follow_symlinks=False)


def _tail(handle: BinaryIO, size: int) -> tuple[str, bool]:
    """The last LOG_KEEP_BYTES of the captured output, and whether some was cut."""
    cut = size > LOG_KEEP_BYTES
    handle.seek(max(0, size - LOG_KEEP_BYTES))
    text = handle.read().decode("utf-8", "replace")
    if cut:
        text = f"[... first {size - LOG_KEEP_BYTES} bytes of output not kept ...]\n" + text
    return text, cut


def run_contained(
    argv: Sequence[str],
    limits: Limits,
    *,
    umask: int = 0o022,
) -> Contained:
    """Run argv (already wrapped in prlimit/bwrap) with output captured to a file.

    The output goes to an unnamed file, so RLIMIT_FSIZE bounds it too; only
    its last MiB is read back. After `limits.wall_seconds` the whole process
    group is killed. Never raises on failure of the program itself.
    """
    os.makedirs(STAGE_DIR, mode=0o755, exist_ok=True)
    started = time.monotonic()
    with tempfile.TemporaryFile() as log:
        try:
            process = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                umask=umask,
                env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
                start_new_session=True,
            )
        except FileNotFoundError as error:
            raise SandboxError(
                f"cannot start the sandbox: {error.filename} is not installed"
            ) from None
        timed_out = False
        try:
            returncode = process.wait(timeout=limits.wall_seconds)
        except subprocess.TimeoutExpired:
            timed_out = True
            os.killpg(process.pid, signal.SIGKILL)
            returncode = process.wait()
        size = log.seek(0, os.SEEK_END)
        output, cut = _tail(log, size)
    tail = output[-4096:]
    return Contained(
        returncode=returncode,
        output=output,
        seconds=time.monotonic() - started,
        limit=limit_reason(returncode, tail, limits, timed_out=timed_out, output_cut=cut),
    )


def run_sandboxed(build: SandboxedBuild) -> SandboxResult:
    """Run the build's commands in a fresh sandbox under its conditions and limits.

    Never raises on build failure: a failed build (including one stopped by a
    resource limit, named in `limit` and at the end of the output) is a result.
    """
    build.etc_dir.mkdir(parents=True, exist_ok=True)
    for name, text in identity_files(build.conditions).items():
        (build.etc_dir / name).write_text(text)
    give_to_sandbox(build.tree)
    argv = sandbox_argv(build)
    done = run_contained(argv, build.limits, umask=build.conditions.umask)
    return SandboxResult(
        returncode=done.returncode,
        output=done.output,
        seconds=done.seconds,
        argv=tuple(argv),
        limit=done.limit,
    )


# The whole environment of a sandboxed tool: nothing is inherited from the builder.
TOOL_ENVIRONMENT = {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "LC_ALL": "C.UTF-8", "TZ": "UTC"}
TOOL_INPUTS = "/in"
TOOL_OUTPUT = "/out"


def tool_argv(
    argv: Sequence[str], inputs: Sequence[tuple[Path, str]], out_dir: Path, limits: Limits
) -> list[str]:
    """A tool (e.g. diffoscope) in the sandbox: inputs read-only at /in/NAME, out_dir
    writable at /out, no network, the fixed TOOL_ENVIRONMENT, unprivileged, limited."""
    stage = [(host, f"in-{index}") for index, (host, _) in enumerate(inputs)]
    stage.append((out_dir, "out"))
    bwrap = bwrap_root(
        ["--unshare-all", "--die-with-parent", "--new-session", "--clearenv"],
        # ctypes.util.find_library (diffoscope's libarchive binding) runs `ldconfig -p`.
        ["--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache"],
        limits,
    )
    for index, (_, name) in enumerate(inputs):
        bwrap += ["--ro-bind", staged(f"in-{index}"), f"{TOOL_INPUTS}/{name}"]
    bwrap += ["--bind", staged("out"), TOOL_OUTPUT, "--chdir", "/tmp"]
    for key, value in sorted(TOOL_ENVIRONMENT.items()):
        bwrap += ["--setenv", key, value]
    outer = staging_argv("tool", "(none)", stage, limits)
    return [*outer, *bwrap, "--", *argv]


def run_tool_sandboxed(
    argv: Sequence[str],
    *,
    inputs: Sequence[tuple[Path, str]],
    out_dir: Path,
    limits: Limits = DEFAULT_LIMITS,
) -> Contained:
    """Run a tool on untrusted inputs in the sandbox (see tool_argv); out_dir is created."""
    out_dir.mkdir(parents=True, exist_ok=True)
    give_to_sandbox(out_dir)
    return run_contained(tool_argv(argv, inputs, out_dir, limits), limits)
