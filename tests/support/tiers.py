"""The fast tier's rule about processes: which started programs make a test slow.

`make test-fast` runs the tests not marked slow; tests/conftest.py watches (with an audit
hook) the processes each of them starts and fails one that starts a program named here.
"""

from __future__ import annotations

import os

# Programs a fast-tier test may not start (matched on the executable's file name).
SLOW_PROGRAMS = frozenset(
    {
        # the installed commands: a new interpreter importing the project, seconds under load
        "repo-tool", "tuf-conformance-client",
        # compilers, linkers, build drivers
        "cc", "gcc", "clang", "ld", "ld.lld", "as", "make", "objcopy",
        # the build sandbox and what it drives
        "bwrap", "disorderfs", "faketime", "diffoscope", "reprotest",
        # guests, tenders, debuggers
        "solo5-hvt", "solo5-spt", "gdb",
        # servers
        "nginx", "nsd", "redis-server", "dnsmasq", "socat", "moto_server",
        # network namespaces
        "ip", "unshare", "nsenter",
    }
)
# Guests (qemu-system-x86_64...), any Python interpreter, cross toolchains.
SLOW_PROGRAM_PREFIXES = ("qemu-system-", "python", "x86_64-linux-gnu-")

# Asking a compiler about itself (`gcc -print-file-name=include`, `--version`) compiles nothing.
QUERY_OPTIONS = ("-print-", "-dump", "--version")


def _text(value: object) -> str:
    return os.fsdecode(value) if isinstance(value, str | bytes | os.PathLike) else str(value)


def command_of(event: str, args: tuple[object, ...]) -> list[str]:
    """The command line a process-starting audit event runs, as text; [] for other events."""
    if event == "os.system":
        return _text(args[0]).split()
    if event not in ("subprocess.Popen", "os.exec", "os.posix_spawn"):
        return []
    executable, argv = args[0], args[1]
    words = [_text(executable)]
    if isinstance(argv, list | tuple):
        words += [_text(arg) for arg in argv[1:]]
    if len(words) >= 3 and words[1] == "-c" and os.path.basename(words[0]) in ("sh", "bash"):
        return words[2].split()  # a shell command line: what the shell runs first
    return words


def slow_program(command: list[str]) -> str | None:
    """The name of the slow program this command line starts, or None."""
    if not command:
        return None
    name = os.path.basename(command[0])
    if not (name in SLOW_PROGRAMS or name.startswith(SLOW_PROGRAM_PREFIXES)):
        return None
    if command[1:] and all(arg.startswith(QUERY_OPTIONS) for arg in command[1:]):
        return None
    return name
