"""Read a Solo5 image: target, ABI version, devices, segments, sha256.

A pure parser over the image bytes, following the tenders' rules
(reference: solo5.md §2.5, §2.8, §2.10): it reads only the first note of
each PT_NOTE and validates the manifest as a tender would.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from solo5.errors import Solo5Error
from solo5.manifest import Device, parse_manifest_desc

ABI_TARGETS: dict[int, str] = {1: "hvt", 2: "spt", 3: "virtio", 4: "muen", 5: "genode",
                               6: "xen"}
NT_ABI = 0x31494241  # "ABI1"
NT_MANIFEST = 0x3154464D  # "MFT1"
ABI_DESC_MAX = 32
MANIFEST_DESC_MAX = 6668
NOTE_HEADER = 20
# Xen's PVH entry note (solo5.md §10; xen/include/public/elfnote.h).
XEN_NOTE_NAME = b"Xen\0"
XEN_ELFNOTE_PHYS32_ENTRY = 18

PT_LOAD = 1
PT_NOTE = 4
ET_EXEC = 2
EM_X86_64 = 62
EM_AARCH64 = 183
PF_X, PF_W, PF_R = 1, 2, 4


class ImageError(Solo5Error):
    """The file is not a valid Solo5 image."""


@dataclass(frozen=True)
class Segment:
    vaddr: int
    filesz: int
    memsz: int
    flags: str  # e.g. "R-X"


@dataclass(frozen=True)
class ImageInfo:
    target: str
    abi_version: int
    devices: tuple[Device, ...]
    segments: tuple[Segment, ...]
    entry: int
    size: int
    sha256: str
    # xen only: the PVH entry from XEN_ELFNOTE_PHYS32_ENTRY. xen images are
    # build-only here (booting needs a Xen hypervisor).
    pvh_entry: int | None = None

    def to_json(self) -> dict[str, Any]:
        xen = {} if self.pvh_entry is None else {"pvh_entry": self.pvh_entry,
                                                  "build_only": True}
        return {**xen,
            "target": self.target,
            "abi_version": self.abi_version,
            "devices": [{"name": d.name, "type": d.kind} for d in self.devices],
            "segments": [
                {"vaddr": s.vaddr, "filesz": s.filesz, "memsz": s.memsz, "flags": s.flags}
                for s in self.segments
            ],
            "entry": self.entry,
            "size": self.size,
            "sha256": self.sha256,
        }


@dataclass(frozen=True)
class _Phdr:
    type: int
    flags: int
    offset: int
    vaddr: int
    filesz: int
    memsz: int


def _program_headers(data: bytes) -> tuple[int, list[_Phdr]]:
    if len(data) < 64:
        raise ImageError("file is too short to be an ELF executable")
    if data[:4] != b"\x7fELF":
        raise ImageError("not an ELF file")
    if data[4] != 2 or data[5] != 1 or data[6] != 1:
        raise ImageError("not a 64-bit little-endian ELF file")
    (e_type, e_machine, _version, e_entry, e_phoff, _shoff, _flags, e_ehsize,
     e_phentsize, e_phnum) = struct.unpack_from("<HHIQQQIHHH", data, 16)
    if e_type != ET_EXEC:
        raise ImageError("ELF file is not a static executable (ET_EXEC)")
    if e_machine not in (EM_X86_64, EM_AARCH64):
        raise ImageError(f"ELF machine {e_machine} is not x86_64 or aarch64")
    if e_ehsize != 64 or e_phentsize != 56 or e_phnum < 1:
        raise ImageError("ELF header sizes are wrong")
    if e_phoff > len(data) or e_phnum * 56 > len(data) - e_phoff:
        raise ImageError("ELF program headers lie outside the file")
    headers = []
    for index in range(e_phnum):
        p_type, p_flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz, _align = (
            struct.unpack_from("<IIQQQQQQ", data, e_phoff + index * 56))
        headers.append(_Phdr(p_type, p_flags, p_offset, p_vaddr, p_filesz, p_memsz))
    return e_entry, headers


def _find_note(data: bytes, headers: list[_Phdr], note_type: int, max_desc: int,
               align: int) -> bytes | None:
    for header in headers:
        if header.type != PT_NOTE:
            continue
        if header.filesz < 12:
            raise ImageError("ELF note segment is too short")
        if header.offset > len(data) or header.filesz > len(data) - header.offset:
            raise ImageError("ELF note segment lies outside the file")
        if header.filesz < NOTE_HEADER:
            continue
        namesz, descsz, n_type = struct.unpack_from("<III", data, header.offset)
        name = data[header.offset + 12:header.offset + 18]
        if namesz != 6 or name != b"Solo5\0" or n_type != note_type:
            continue
        start = (NOTE_HEADER + align - 1) & ~(align - 1)
        padding = start - NOTE_HEADER
        if not padding < descsz <= max_desc or header.filesz < NOTE_HEADER + descsz:
            raise ImageError("Solo5 note has an invalid size")
        begin = header.offset + start
        return data[begin:begin + descsz - padding]
    return None


def _pvh_entry(data: bytes, headers: list[_Phdr]) -> int:
    """The checked XEN_ELFNOTE_PHYS32_ENTRY address (first note of a PT_NOTE)."""
    for header in headers:
        if header.type != PT_NOTE or header.filesz < 16:
            continue
        if header.offset > len(data) or header.filesz > len(data) - header.offset:
            raise ImageError("ELF note segment lies outside the file")
        namesz, descsz, n_type = struct.unpack_from("<III", data, header.offset)
        if (namesz, n_type) != (4, XEN_ELFNOTE_PHYS32_ENTRY) or \
                data[header.offset + 12:header.offset + 16] != XEN_NOTE_NAME:
            continue
        if descsz not in (4, 8) or header.filesz < 16 + descsz:
            raise ImageError("Xen PVH entry note has an invalid size")
        entry = int.from_bytes(data[header.offset + 16:header.offset + 16 + descsz], "little")
        if not any(h.type == PT_LOAD and h.flags & PF_X and h.vaddr <= entry < h.vaddr + h.memsz
                   for h in headers) or entry >= 1 << 32:
            raise ImageError(f"Xen PVH entry {entry:#x} is not in executable code below 4 GiB")
        return entry
    raise ImageError("xen image has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)")


def _flags(value: int) -> str:
    return ("R" if value & PF_R else "-") + ("W" if value & PF_W else "-") + (
        "X" if value & PF_X else "-")


def parse_image(data: bytes) -> ImageInfo:
    """Everything `repo-tool image inspect` shows, from the image bytes."""
    entry, headers = _program_headers(data)
    abi = _find_note(data, headers, NT_ABI, ABI_DESC_MAX, 4)
    if abi is None:
        raise ImageError("No Solo5 ABI information found in executable")
    if len(abi) < 8:
        raise ImageError("Solo5 ABI note is too short")
    target_number, version = struct.unpack_from("<II", abi)
    manifest = _find_note(data, headers, NT_MANIFEST, MANIFEST_DESC_MAX, 8)
    if manifest is None:
        raise ImageError("No Solo5 manifest found in executable")
    devices = parse_manifest_desc(manifest)
    segments = tuple(
        Segment(vaddr=h.vaddr, filesz=h.filesz, memsz=h.memsz, flags=_flags(h.flags))
        for h in headers if h.type == PT_LOAD and h.memsz > 0)
    target = ABI_TARGETS.get(target_number, "unknown")
    return ImageInfo(
        target=target,
        abi_version=version,
        devices=tuple(devices),
        segments=segments,
        entry=entry,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        pvh_entry=_pvh_entry(data, headers) if target == "xen" else None,
    )


def inspect_file(path: str | Path) -> ImageInfo:
    """Read and parse an image file."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise ImageError(f"{path}: {error.strerror}") from None
    try:
        return parse_image(data)
    except ImageError as error:
        raise ImageError(f"{path}: {error}") from None
