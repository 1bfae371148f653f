"""solo5-spt refuses bad images and bad options: one line, exit 1, guest never runs."""

from __future__ import annotations

import struct
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

Images = dict[tuple[str, str], Path]
PHDR = struct.Struct("<IIQQQQQQ")  # type, flags, offset, vaddr, paddr, filesz, memsz, align


def _phdrs(data: bytes | bytearray) -> list[tuple[int, tuple[int, ...]]]:
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    return [(phoff + i * PHDR.size, PHDR.unpack_from(data, phoff + i * PHDR.size))
            for i in range(phnum)]


def _set_phdr(data: bytearray, kind: int, index: int, field: int, value: int) -> None:
    """Set field of the index-th program header of type kind."""
    offset, header = [h for h in _phdrs(data) if h[1][0] == kind][index]
    fields = list(header)
    fields[field] = value
    PHDR.pack_into(data, offset, *fields)


def _note_offset(data: bytes | bytearray, note_type: int) -> int:
    for _, header in _phdrs(data):
        if header[0] == 4 and struct.unpack_from("<I", data, header[2] + 8)[0] == note_type:
            return header[2]
    raise AssertionError("note not found")


ABI, MFT = 0x31494241, 0x3154464D
PT_LOAD, PT_NOTE = 1, 4


def _abi_version_3(d: bytearray) -> None:
    struct.pack_into("<I", d, _note_offset(d, ABI) + 24, 3)


def _no_abi_note(d: bytearray) -> None:
    struct.pack_into("<I", d, _note_offset(d, ABI) + 8, 0x12345678)


def _no_manifest(d: bytearray) -> None:
    struct.pack_into("<I", d, _note_offset(d, MFT) + 8, 0x12345678)


def _manifest_entries(d: bytearray) -> None:
    struct.pack_into("<I", d, _note_offset(d, MFT) + 28, 5)


def _manifest_oversize(d: bytearray) -> None:
    struct.pack_into("<I", d, _note_offset(d, MFT) + 4, 7000)


def _manifest_beyond_segment(d: bytearray) -> None:
    _set_phdr(d, PT_NOTE, 2, 5, 30)  # p_filesz smaller than the note


def _manifest_attached(d: bytearray) -> None:
    d[_note_offset(d, MFT) + 32 + 96] = 1


def _manifest_name_unterminated(d: bytearray) -> None:
    d[_note_offset(d, MFT) + 32 + 67] = ord("x")


def _reserved_entry_named(d: bytearray) -> None:
    d[_note_offset(d, MFT) + 32] = ord("x")


def _segment_past_memory(d: bytearray) -> None:
    _set_phdr(d, PT_LOAD, 2, 3, 0x40000000)  # data segment at 1 GiB, memory is 32 MiB


def _segment_below_base(d: bytearray) -> None:
    _set_phdr(d, PT_LOAD, 0, 3, 0x10000)


def _segment_huge(d: bytearray) -> None:
    _set_phdr(d, PT_LOAD, 2, 6, 0xFFFFFFFFFFFFF000)


def _segment_w_x(d: bytearray) -> None:
    _set_phdr(d, PT_LOAD, 0, 1, 7)


def _segment_beyond_file(d: bytearray) -> None:
    _set_phdr(d, PT_LOAD, 0, 2, 0x7FFFFFFF)


def _segments_overlap(d: bytearray) -> None:
    text = next(h for h in _phdrs(d) if h[1][0] == PT_LOAD)[1]
    _set_phdr(d, PT_LOAD, 1, 3, text[3])


def _entry_outside(d: bytearray) -> None:
    struct.pack_into("<Q", d, 24, 0x80000000)


def _not_exec(d: bytearray) -> None:
    struct.pack_into("<H", d, 16, 3)  # ET_DYN


def _wrong_machine(d: bytearray) -> None:
    struct.pack_into("<H", d, 18, 183)  # aarch64


def _phdrs_outside(d: bytearray) -> None:
    struct.pack_into("<Q", d, 32, len(d) - 10)


MUTATIONS: list[tuple[Callable[[bytearray], None], str]] = [
    (_abi_version_3, "Executable requests unsupported ABI version 3"),
    (_no_abi_note, "No Solo5 ABI information found in executable"),
    (_no_manifest, "No Solo5 manifest found in executable"),
    (_manifest_entries, "Solo5 manifest is invalid: manifest size does not match"),
    (_manifest_oversize, "Solo5 note has an invalid size"),
    (_manifest_beyond_segment, "Solo5 note is larger than its segment"),
    (_manifest_attached, "Solo5 manifest is invalid: manifest entry is marked attached"),
    (_manifest_name_unterminated, "Solo5 manifest is invalid: manifest entry name is not"),
    (_reserved_entry_named, "Solo5 manifest is invalid: manifest entry 0 is not"),
    (_segment_past_memory, "ELF segment lies outside guest memory"),
    (_segment_below_base, "ELF segment lies below the guest image base"),
    (_segment_huge, "ELF segment lies outside guest memory"),
    (_segment_w_x, "ELF segment is both writable and executable"),
    (_segment_beyond_file, "ELF segment lies outside the file"),
    (_segments_overlap, "ELF segments"),
    (_entry_outside, "ELF entry point lies outside guest memory"),
    (_not_exec, "ELF file is not a static executable (ET_EXEC)"),
    (_wrong_machine, "ELF file is for another machine"),
    (_phdrs_outside, "ELF program headers lie outside the file"),
]


def _run(tender: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(tender), *args], capture_output=True, text=True, timeout=30,
                          check=False)


def _refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 1
    assert result.stdout == ""  # the guest never ran
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith("solo5-spt: ")
    assert message in lines[-1], lines


@pytest.mark.parametrize(("mutate", "message"), MUTATIONS,
                         ids=[m.__name__.lstrip("_") for m, _ in MUTATIONS])
def test_mutated_image_is_refused(images: Images, spt_tender: Path, tmp_path: Path,
                                  mutate: Callable[[bytearray], None], message: str) -> None:
    data = bytearray(images[("hello", "spt")].read_bytes())
    mutate(data)
    image = tmp_path / "mutated.spt"
    image.write_bytes(data)
    result = _run(spt_tender, str(image))
    _refused(result, message)
    assert len(result.stderr.strip().splitlines()) == 1


def test_hvt_image_is_refused(images: Images, spt_tender: Path) -> None:
    _refused(_run(spt_tender, str(images[("hello", "hvt")])),
             "Executable is not for the solo5-spt target")


@pytest.mark.parametrize(("content", "message"), [
    (b"", "file is too short"),
    (b"#!/bin/sh\necho hi\n" * 10, "not an ELF file"),
])
def test_non_images_are_refused(spt_tender: Path, tmp_path: Path, content: bytes,
                                message: str) -> None:
    image = tmp_path / "junk"
    image.write_bytes(content)
    _refused(_run(spt_tender, str(image)), message)


def test_truncated_image_is_refused(images: Images, spt_tender: Path, tmp_path: Path) -> None:
    image = tmp_path / "short.spt"
    image.write_bytes(images[("hello", "spt")].read_bytes()[:200])
    result = _run(spt_tender, str(image))
    assert result.returncode == 1 and result.stdout == ""


def test_declared_device_must_be_attached(images: Images, spt_tender: Path) -> None:
    result = _run(spt_tender, str(images[("test_block", "spt")]))
    _refused(result, "All declared devices must be attached")
    assert "Device 'storage' of type BLOCK_BASIC declared but not attached." in result.stderr


@pytest.mark.parametrize(("options", "message"), [
    (["--net:service=tap0"], "Resource not declared in manifest: 'service'"),
    (["--block:storage=/dev/null"], "Resource not declared in manifest: 'storage'"),
    (["--frobnicate"], "Invalid option: '--frobnicate'"),
    (["--mem=abc"], "--mem=abc: must be a decimal number"),
    (["--mem=99999"], "--mem=99999: must be a decimal number of MiB, at most 4096"),
    (["--mem=-5"], "must be a decimal number"),
    (["--mem=1"], "guest memory is too small"),
])
def test_bad_options_are_refused(images: Images, spt_tender: Path, options: list[str],
                                 message: str) -> None:
    result = _run(spt_tender, *options, str(images[("hello", "spt")]))
    assert result.returncode == 1 and result.stdout == ""
    assert any(line.startswith("solo5-spt: ") and message in line
               for line in result.stderr.splitlines()), result.stderr


def test_missing_kernel_and_block_errors(images: Images, spt_tender: Path,
                                         tmp_path: Path) -> None:
    result = _run(spt_tender)
    assert result.returncode == 1 and "Missing KERNEL operand" in result.stderr
    result = _run(spt_tender, f"--block:storage={tmp_path / 'absent'}",
                  str(images[("test_block", "spt")]))
    _refused(result, "cannot open the block file read-write")


def test_guest_command_line_limit(images: Images, spt_tender: Path) -> None:
    result = _run(spt_tender, str(images[("hello", "spt")]), "x" * 8192)
    _refused(result, "Guest command line too long")
    fits = _run(spt_tender, str(images[("hello", "spt")]), "y" * 8191)
    assert fits.returncode == 0
    assert "y" * 8191 in fits.stdout


def test_device_name_with_control_bytes_is_refused(images: Images, spt_tender: Path,
                                                   tmp_path: Path) -> None:
    # Untrusted names must never reach the terminal: only alphanumerics pass.
    data = bytearray(images[("test_net", "spt")].read_bytes())
    data[_note_offset(data, MFT) + 32 + 104] = 0x1B
    image = tmp_path / "escape.spt"
    image.write_bytes(bytes(data))
    _refused(_run(spt_tender, str(image)),
             "Solo5 manifest is invalid: manifest entry name is not 1-67 ASCII letters")


def test_closed_console_reader_does_not_kill_the_guest(images: Images, spt_tender: Path) -> None:
    # The console is best effort: an operator piping into `head` must still
    # get the guest's own exit status, not death by SIGPIPE.
    proc = subprocess.Popen([str(spt_tender), str(images[("hello", "spt")])],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    assert proc.stdout is not None
    proc.stdout.close()
    assert proc.wait(timeout=30) == 0
