"""Deterministic source archives and safe, all-checks-first extraction.

Creation: entries sorted by path, every mtime = SOURCE_DATE_EPOCH, uid/gid 0
with empty owner names, modes 0644/0755, no extended attributes or PAX
headers, gzip header without name or timestamp (mtime 0).

Reading: the whole archive is inspected before a single byte is written;
absolute paths, '..', links of any kind, device files, FIFOs, duplicate
names and anything over the size limits are refused with one line.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from builder.errors import BuildError
from builder.manifest import ManifestError, check_relative_path

MAX_MEMBERS = 4096
MAX_MEMBER_BYTES = 16 << 20
MAX_TOTAL_BYTES = 64 << 20
MAX_COMPRESSED_BYTES = 32 << 20


class ArchiveError(BuildError):
    """A source archive is malformed, unsafe, or too large."""


@dataclass(frozen=True)
class SourceFile:
    path: str
    data: bytes
    executable: bool = False


def create_archive(files: Mapping[str, SourceFile], source_date_epoch: int) -> bytes:
    """The deterministic .tar.gz bytes of `files` (keys are relative paths)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        directories: set[str] = set()
        for path in sorted(files):
            check_relative_path(path, "archive member")
            parts = path.split("/")
            for depth in range(1, len(parts)):
                directory = "/".join(parts[:depth])
                if directory not in directories:
                    directories.add(directory)
                    tar.addfile(
                        _header(directory + "/", tarfile.DIRTYPE, 0o755, 0, source_date_epoch)
                    )
            source = files[path]
            mode = 0o755 if source.executable else 0o644
            info = _header(path, tarfile.REGTYPE, mode, len(source.data), source_date_epoch)
            tar.addfile(info, io.BytesIO(source.data))
    compressed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=compressed, mtime=0, compresslevel=9) as gz:
        gz.write(raw.getvalue())
    return compressed.getvalue()


def _header(name: str, kind: bytes, mode: int, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def archive_from_tree(
    root: Path, paths: list[str] | tuple[str, ...], source_date_epoch: int
) -> bytes:
    """Archive the named files of a tree (symlinks and non-regular files refused)."""
    files: dict[str, SourceFile] = {}
    for rel in paths:
        check_relative_path(rel, "sources")
        full = root / rel
        if full.is_symlink() or not full.is_file():
            raise ArchiveError(f"{rel}: not a regular file in {root}")
        files[rel] = SourceFile(rel, full.read_bytes(), os.access(full, os.X_OK))
    return create_archive(files, source_date_epoch)


def read_archive(
    data: bytes,
    *,
    max_members: int = MAX_MEMBERS,
    max_member_bytes: int = MAX_MEMBER_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
) -> dict[str, SourceFile]:
    """Validate every member of a .tar.gz, then return its regular files in memory."""
    if len(data) > MAX_COMPRESSED_BYTES:
        raise ArchiveError(f"archive is {len(data)} bytes, over the {MAX_COMPRESSED_BYTES} limit")
    try:
        # Decompress with a hard cap so a gzip bomb stops at the limit.
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as gz:
            raw = gz.read(max_total_bytes + 512 * (2 * max_members + 2) + 1)
    except (OSError, EOFError) as error:
        raise ArchiveError(f"archive is not valid gzip ({error})") from None
    if len(raw) > max_total_bytes + 512 * (2 * max_members + 2):
        raise ArchiveError(f"archive expands beyond the {max_total_bytes}-byte limit")
    try:
        tar = tarfile.open(fileobj=io.BytesIO(raw), mode="r:")
        members = tar.getmembers()
    except tarfile.TarError as error:
        raise ArchiveError(f"archive is not a valid tar ({error})") from None
    if len(members) > max_members:
        raise ArchiveError(f"archive has {len(members)} members, over the {max_members} limit")
    seen: set[str] = set()
    total = 0
    for member in members:
        name = member.name[:-1] if member.isdir() and member.name.endswith("/") else member.name
        if name.startswith("/"):
            raise ArchiveError(f"archive member {member.name!r}: absolute path refused")
        if ".." in name.split("/"):
            raise ArchiveError(f"archive member {member.name!r}: '..' component refused")
        if member.issym() or member.islnk():
            raise ArchiveError(
                f"archive member {member.name!r}: link to {member.linkname!r} refused"
            )
        if member.isdev() or member.isfifo():
            raise ArchiveError(f"archive member {member.name!r}: device or FIFO refused")
        if not (member.isfile() or member.isdir()):
            raise ArchiveError(f"archive member {member.name!r}: unsupported type refused")
        try:
            check_relative_path(name, "archive member")
        except ManifestError as error:
            raise ArchiveError(str(error)) from None
        if name in seen:
            raise ArchiveError(f"archive member {name!r}: duplicate entry refused")
        seen.add(name)
        if member.size > max_member_bytes:
            raise ArchiveError(f"archive member {name!r}: {member.size} bytes, over the limit")
        total += member.size
        if total > max_total_bytes:
            raise ArchiveError(f"archive contents exceed the {max_total_bytes}-byte limit")
    files: dict[str, SourceFile] = {}
    for member in members:
        if member.isfile():
            handle = tar.extractfile(member)
            assert handle is not None  # regular members always have data
            files[member.name] = SourceFile(member.name, handle.read(), bool(member.mode & 0o100))
    return files


def write_tree(
    files: Mapping[str, SourceFile], dest: Path, mtime: int, *, order: str = "sorted"
) -> None:
    """Write already-validated files under dest with the given mtime, in the given order.

    order="reverse" creates them in reverse path order, so a second build also
    gets a different on-disk creation order (besides disorderfs shuffling).
    """
    paths = sorted(files, reverse=order == "reverse")
    root = dest.resolve()
    for rel in paths:
        target = (root / rel).resolve()
        if root not in target.parents:
            raise ArchiveError(f"{rel}: resolves outside {dest}")
        target.parent.mkdir(parents=True, exist_ok=True)
        source = files[rel]
        target.write_bytes(source.data)
        target.chmod(0o755 if source.executable else 0o644)
        os.utime(target, (mtime, mtime))


def tree_digest(files: Mapping[str, SourceFile]) -> str:
    """sha256 over (path, mode, content) of every file, path-sorted."""
    digest = hashlib.sha256()
    for rel in sorted(files):
        source = files[rel]
        digest.update(f"{rel}\0{int(source.executable)}\0{len(source.data)}\0".encode())
        digest.update(source.data)
    return digest.hexdigest()
