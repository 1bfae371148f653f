"""ustar archives for the tests: made by Python's tarfile (USTAR_FORMAT)
and by GNU tar (--format=ustar), and corrupted copies of them."""

from __future__ import annotations

import io
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

BLOCK = 512
MTIME = 1_700_000_000


def add_file(tar: tarfile.TarFile, name: str, data: bytes, mtime: int = MTIME,
             mode: int = 0o644) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = mtime
    info.mode = mode
    tar.addfile(info, io.BytesIO(data))


def add_entry(tar: tarfile.TarFile, name: str, kind: bytes, link: str = "",
              mtime: int = MTIME, mode: int = 0o755) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.mtime = mtime
    info.mode = mode
    tar.addfile(info)


def python_archive(build: Callable[[tarfile.TarFile], None]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        build(tar)
    return out.getvalue()


def gnu_tar(directory: Path, out: Path) -> bytes:
    """`tar --format=ustar -cf out -C directory .`, as the docs tell operators."""
    subprocess.run(["tar", "--format=ustar", "-cf", str(out), "-C", str(directory), "."],
                   check=True, capture_output=True, text=True, timeout=60)
    return out.read_bytes()


def header_offsets(archive: bytes) -> list[int]:
    """Offsets of the headers of a well-formed archive, in order."""
    offsets = []
    at = 0
    while at + BLOCK <= len(archive) and archive[at:at + BLOCK] != bytes(BLOCK):
        offsets.append(at)
        size = int(archive[at + 124:at + 136].rstrip(b"\0 ") or b"0", 8)
        kind = archive[at + 156:at + 157]
        data = size if kind in (b"0", b"\0", b"7") else 0
        at += BLOCK + (data + BLOCK - 1) // BLOCK * BLOCK
    return offsets


def with_checksum(header: bytearray) -> bytearray:
    """Recomputes the header checksum (as tar writes it: 6 digits, NUL, space)."""
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    return header


def patched(archive: bytes, at: int, field: slice, value: bytes,
            fix_checksum: bool = True) -> bytes:
    """archive with the header at `at` having field set to value."""
    out = bytearray(archive)
    header = bytearray(out[at:at + BLOCK])
    header[field] = value
    if fix_checksum:
        header = with_checksum(header)
    out[at:at + BLOCK] = header
    return bytes(out)
