"""On-disk primitives of the repository: atomic writes, the writer lock, file names.

Atomic write (fsio.atomic_write, re-exported here): temporary file with an
unpredictable name in the same directory, fsync, rename, fsync of the
directory. A reader therefore sees either the old file or the new one, never
a torn one. The lock is an flock on ``<repo>/.lock`` held by every
writer for the whole of one operation, so concurrent writers serialise.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from fsio import atomic_write as atomic_write  # re-exported: the repository's writers use it
from fsio import fsync_dir as fsync_dir
from fsio import sweep_temp_files
from tuf_metadata.errors import TufError

LOCK_NAME = ".lock"
CLEAN_NAME = ".clean"  # the last writer finished: no temporary files to sweep (see below)
DEFAULT_LOCK_TIMEOUT = 120.0

# A test hook: called with a label at each step of a multi-file write, so the
# crash-consistency tests can stop a writer at an exact point. None in normal use.
CrashHook = Callable[[str], None]
_crash_hook: CrashHook | None = None


class LockTimeoutError(TufError):
    """Another writer held the repository lock for too long."""


def set_crash_hook(hook: CrashHook | None) -> None:
    """Install (or clear) the step hook used by crash-consistency tests."""
    global _crash_hook
    _crash_hook = hook


def crash_point(label: str) -> None:
    """Mark a step between two durable writes."""
    if _crash_hook is not None:
        _crash_hook(label)


def write_once(path: Path, data: bytes, sync_dir: bool = True) -> None:
    """Atomically create path with data; an existing identical file is left alone.

    Consistent-snapshot files are immutable once written: a different content
    under an existing name is an error.
    """
    if path.exists():
        if path.read_bytes() == data:
            return
        raise TufError(f"{path.name}: refusing to overwrite an immutable file with other content")
    atomic_write(path, data, sync_dir=sync_dir)


@contextlib.contextmanager
def repository_lock(root: Path, timeout: float = DEFAULT_LOCK_TIMEOUT) -> Iterator[None]:
    """Hold the exclusive writer lock of the repository at root."""
    fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockTimeoutError(
                        f"repository {root} is locked by another writer for over {timeout:.0f}s"
                    ) from None
                time.sleep(0.01)
        # Every writer holds this lock, so any temporary file present now is from a crash.
        # Listing the metadata folder costs O(roles) (a second at 1,000,000 packages), so it is
        # done only when the previous writer did not finish: CLEAN_NAME exists only between
        # writers. Its removal is made durable before this writer creates any file, so after
        # a crash or a power loss a temporary file can exist only without it.
        clean = root / CLEAN_NAME
        if clean.exists():
            clean.unlink()
            fsync_dir(root)
        else:
            # Imported here: the client uses this module's atomic_write, not the layout.
            from tuf_metadata.repo_paths import repository_paths

            for directory in (root, repository_paths(root).metadata):
                sweep_temp_files(directory, min_age=0)
        try:
            yield
        finally:
            # Reached on return and on any exception (fsio removes a failed write's
            # temporary file before raising); never after SIGKILL or a power loss.
            clean.touch()
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
