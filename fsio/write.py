"""Atomic replace, create-only write, directory fsync and the sweep of stale temporary files.

All operations work relative to an open descriptor of the destination's
directory (openat/renameat/linkat), so the directory cannot be swapped
between the steps of one write.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import time
from pathlib import Path
from typing import BinaryIO

from fsio.errors import DestinationExistsError, FsioError, UnsafePathError


def token_hex(nbytes: int) -> str:
    """NBYTES random bytes as hex: secrets.token_hex, whose module (random, hmac) would cost
    every command's start-up."""
    return os.urandom(nbytes).hex()


# Temporary names: ".<name>.<16 random hex digits>.fsio-tmp". 64 random bits
# make a name another user cannot predict; O_EXCL makes a pre-created one harmless.
TEMP_SUFFIX = ".fsio-tmp"
_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{16}" + re.escape(TEMP_SUFFIX))
# Names the writers replaced by this module used (".<name>.<pid>.tmp" and
# ".<name>.tmp<pid>"); a crashed old writer may have left them behind.
_LEGACY_TEMP_NAME = re.compile(r"\..+\.(?:[0-9]+\.tmp|tmp[0-9]+)")
_NAME_KEEP = 200  # bytes of the destination name kept in a temp name (NAME_MAX is 255)
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
_CREATE_ATTEMPTS = 8
DEFAULT_SWEEP_AGE = 60.0
_COPY_CHUNK = 1 << 20


def is_temp_name(name: str) -> bool:
    """Whether name is a temporary file name of this module (or of the writers it replaced)."""
    return bool(_TEMP_NAME.fullmatch(name) or _LEGACY_TEMP_NAME.fullmatch(name))


def fsync_dir(path: Path) -> None:
    """Make the names in directory path durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(
    path: Path, data: bytes | BinaryIO, mode: int = 0o644, sync_dir: bool = True
) -> None:
    """Replace path atomically with data (bytes, or an open file to copy), with exactly mode.

    The umask does not apply. Missing parent directories are created. A
    symbolic link (or a directory) at path is refused with UnsafePathError.
    sync_dir=False leaves the directory fsync to a later write in the same
    directory that must be durable first anyway (one fsync then covers both
    names).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    dir_fd = _open_directory(path.parent)
    try:
        _refuse_non_regular(dir_fd, path)
        temp, _ = _write_temp(dir_fd, path, data, mode)
        try:
            os.rename(temp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        except BaseException:
            _unlink_quietly(temp, dir_fd)
            raise
        if sync_dir:
            os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def atomic_copy(source: Path, path: Path, mode: int = 0o644, sync_dir: bool = True) -> None:
    """Replace path with a copy of the file source, like atomic_write (streamed, not in memory)."""
    with open(source, "rb") as handle:
        atomic_write(path, handle, mode, sync_dir)


def create_exclusive(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Create path with data and exactly mode; never replace or follow anything at path.

    For private keys: the complete file appears at once under its name
    (hard link of a fully written temporary file), an existing file or
    symbolic link at path raises DestinationExistsError, and the result is
    checked to be our own regular file with the requested mode.
    """
    path = Path(path)
    dir_fd = _open_directory(path.parent)
    try:
        temp, written = _write_temp(dir_fd, path, data, mode)
        try:
            os.link(temp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd,
                    follow_symlinks=False)
        except FileExistsError:
            raise DestinationExistsError(f"{path} already exists; refusing to overwrite it") \
                from None
        finally:
            _unlink_quietly(temp, dir_fd)
        result = os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False)
        if (result.st_dev, result.st_ino) != (written.st_dev, written.st_ino) or (
            stat.S_IMODE(result.st_mode) != mode or result.st_uid != os.geteuid()
        ):
            raise UnsafePathError(
                f"{path} is not the file just written with mode {mode:o}; "
                "check who else can write to its directory"
            )
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def make_temp_dir(parent: Path, name: str, mode: int = 0o755) -> Path:
    """A new empty directory in parent with an unpredictable temporary name derived from name.

    For building a tree that is then renamed into place. mkdir never follows
    or reuses anything planted under the name; the directory gets exactly mode.
    """
    prefix = "." + name.encode()[:_NAME_KEEP].decode(errors="ignore")
    for _ in range(_CREATE_ATTEMPTS):
        path = parent / f"{prefix}.{token_hex(8)}{TEMP_SUFFIX}"
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            continue
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            os.fchmod(fd, mode)
        finally:
            os.close(fd)
        return path
    raise FsioError(f"cannot create a temporary directory in {parent}: "
                    f"{_CREATE_ATTEMPTS} random names were all taken")


def sweep_temp_files(directory: Path, min_age: float = DEFAULT_SWEEP_AGE) -> list[str]:
    """Remove temporary files and directories crashed writers left in directory.

    Returns the names removed. Only names of this module's temporary files
    (and of the writers it replaced) are touched, symbolic links are removed
    and never followed, and only entries last modified at least min_age
    seconds ago, so a write in progress in another process survives. A
    caller that holds the lock all writers of the directory take passes
    min_age=0. A missing directory is not an error.
    """
    removed: list[str] = []
    now = time.time()
    try:
        entries = os.scandir(directory)
    except FileNotFoundError:
        return removed
    with entries:
        for entry in entries:
            if not is_temp_name(entry.name):
                continue
            try:
                info = entry.stat(follow_symlinks=False)
                if now - info.st_mtime < min_age:
                    continue
                if stat.S_ISDIR(info.st_mode):
                    shutil.rmtree(entry.path)  # does not follow symbolic links inside
                else:
                    os.unlink(entry.path)
            except FileNotFoundError:
                continue
            removed.append(entry.name)
    return removed


def _open_directory(directory: Path) -> int:
    return os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


def _refuse_non_regular(dir_fd: int, path: Path) -> None:
    try:
        info = os.stat(path.name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise UnsafePathError(f"{path} is a symbolic link; refusing to write through it "
                              "(remove the link if it is not someone else's)")
    if not stat.S_ISREG(info.st_mode):
        raise UnsafePathError(f"{path} exists and is not a regular file; refusing to replace it")


def _write_temp(
    dir_fd: int, path: Path, data: bytes | BinaryIO, mode: int
) -> tuple[str, os.stat_result]:
    """Create, chmod, fill (from bytes or a file) and fsync a new temporary file beside path.

    Returns the temporary name and its stat.
    """
    prefix = "." + path.name.encode()[:_NAME_KEEP].decode(errors="ignore")
    for _ in range(_CREATE_ATTEMPTS):
        temp = f"{prefix}.{token_hex(8)}{TEMP_SUFFIX}"
        try:
            fd = os.open(temp, _CREATE_FLAGS, 0o600, dir_fd=dir_fd)
            break
        except FileExistsError:
            continue
    else:
        raise FsioError(f"cannot create a temporary file beside {path}: "
                        f"{_CREATE_ATTEMPTS} random names were all taken")
    try:
        os.fchmod(fd, mode)
        info = os.fstat(fd)
        if stat.S_IMODE(info.st_mode) != mode:
            raise UnsafePathError(f"{path.parent} does not keep file mode {mode:o} "
                                  f"(got {stat.S_IMODE(info.st_mode):o}); use another file system")
        if isinstance(data, bytes):
            _write_all(fd, data)
        else:
            while chunk := data.read(_COPY_CHUNK):
                _write_all(fd, chunk)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        _unlink_quietly(temp, dir_fd)
        raise
    os.close(fd)
    return temp, info


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _unlink_quietly(name: str, dir_fd: int) -> None:
    try:
        os.unlink(name, dir_fd=dir_fd)
    except FileNotFoundError:
        pass
