"""Resource limits of every sandboxed process, and how a breach is named (pure).

This machine's cgroup v2 hierarchy offers no memory, pids or cpu controller
(only hugetlb; the others are cgroup v1), so the limits are rlimits, set by
`prlimit` on the sandbox's first process and inherited by every process in it:

* RLIMIT_AS     address space per process (a compiler reading /dev/zero stops here)
* RLIMIT_CPU    CPU seconds per process (SIGXCPU)
* RLIMIT_NPROC  processes of the sandbox's host uid; enforced because sandboxed
                processes run as an unprivileged host uid (SANDBOX_HOST_UID), never root
* RLIMIT_FSIZE  bytes of any one file written, the build log included (SIGXFSZ)
* tmpfs size    of the sandbox's /tmp
* wall clock    the whole sandbox is killed after `wall_seconds`
"""

from __future__ import annotations

import signal
from dataclasses import dataclass

# The host uid/gid of every sandboxed process (mapped to the build user inside). Not
# root, so RLIMIT_NPROC counts its processes and a sandbox escape lands unprivileged.
SANDBOX_HOST_UID = 64_917
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    memory_bytes: int = 2048 * MIB
    cpu_seconds: int = 300
    processes: int = 256
    output_bytes: int = 256 * MIB
    tmp_bytes: int = 256 * MIB
    wall_seconds: float = 600.0


DEFAULT_LIMITS = Limits()


def prlimit_argv(limits: Limits) -> list[str]:
    """`prlimit` setting the rlimits, then exec'ing the rest of the argv."""
    return [
        "prlimit",
        f"--as={limits.memory_bytes}",
        # SIGXCPU at the soft limit; SIGKILL 5 s later if a process ignores it.
        f"--cpu={limits.cpu_seconds}:{limits.cpu_seconds + 5}",
        f"--nproc={limits.processes}",
        f"--fsize={limits.output_bytes}",
        "--",
    ]


def drop_privileges_argv() -> list[str]:
    """`setpriv` to the unprivileged sandbox uid/gid with no supplementary groups."""
    return [
        "setpriv",
        f"--reuid={SANDBOX_HOST_UID}",
        f"--regid={SANDBOX_HOST_UID}",
        "--clear-groups",
        "--",
    ]


_MEMORY_MARKERS = ("out of memory", "memory exhausted", "Cannot allocate memory")
_PROCESS_MARKERS = ("Cannot fork", "fork: Resource temporarily unavailable",
                    "fork: retry: Resource temporarily unavailable")


def _killed_by(returncode: int, sig: int) -> bool:
    # A signal death shows as -sig for the direct child, as 128+sig through a shell.
    return returncode in (-sig, 128 + sig)


def limit_reason(
    returncode: int, log_tail: str, limits: Limits, *, timed_out: bool, output_cut: bool
) -> str | None:
    """Which limit ended a failed run ("resource limit: ..."), or None if none did.

    The evidence is the exit status (a signal death) and the tools' own
    messages: GCC reports "CPU time limit exceeded signal terminated program
    cc1" (strsignal of SIGXCPU), "out of memory allocating N bytes", and so on.
    """
    if timed_out:
        return f"resource limit: wall-clock time ({limits.wall_seconds:g} s)"
    if returncode == 0:
        return None
    if _killed_by(returncode, signal.SIGXCPU) or "CPU time limit exceeded" in log_tail:
        return f"resource limit: CPU time ({limits.cpu_seconds} s per process)"
    if (
        output_cut
        or _killed_by(returncode, signal.SIGXFSZ)
        or "File size limit exceeded" in log_tail
    ):
        return f"resource limit: output size ({limits.output_bytes // MIB} MiB per file)"
    if any(marker in log_tail for marker in _MEMORY_MARKERS):
        return f"resource limit: memory ({limits.memory_bytes // MIB} MiB of address space)"
    if any(marker in log_tail for marker in _PROCESS_MARKERS):
        return f"resource limit: processes ({limits.processes})"
    return None
