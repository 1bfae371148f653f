"""The ustar index (runtime/blk) on the host: archives made by Python's
tarfile and by GNU tar, read through block devices of several block sizes,
give exactly the expected entries and bytes; corrupt archives give exactly
the expected one-line errors."""

from __future__ import annotations

import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.www.archives import (
    BLOCK,
    MTIME,
    add_entry,
    add_file,
    gnu_tar,
    header_offsets,
    patched,
    python_archive,
)
from tests.www.host_c import BLK_SOURCES, RUNTIME, compile_host

LONG_DIR = "d" * 120  # over the 100-byte name field: stored in prefix


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ustar") / "ustar_dump"
    return compile_host(out, [RUNTIME / "harness" / "ustar_dump.c", *BLK_SOURCES])


def run_dump(dump: Path, tmp_path: Path, archive: bytes, *queries: str,
             block_size: int = BLOCK) -> tuple[int, list[str]]:
    device = tmp_path / "device.img"
    device.write_bytes(archive + bytes(-len(archive) % block_size))
    proc = subprocess.run([str(dump), str(device), str(block_size), *queries],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.stderr == "", proc.stderr   # sanitizers report on stderr
    return proc.returncode, proc.stdout.splitlines()


def site(tar: tarfile.TarFile) -> None:
    add_file(tar, "index.html", b"<h1>home</h1>\n")
    add_entry(tar, "css", tarfile.DIRTYPE)
    add_file(tar, "css/main.css", b"body { color: black }\n", mtime=MTIME + 60, mode=0o600)
    add_file(tar, f"{LONG_DIR}/deep.txt", b"x" * 1500)
    add_entry(tar, "copy.html", tarfile.LNKTYPE, link="index.html")
    add_entry(tar, "link.html", tarfile.SYMTYPE, link="index.html")
    add_entry(tar, "pipe", tarfile.FIFOTYPE, mode=0o644)
    add_file(tar, "empty.txt", b"")


@pytest.mark.parametrize("block_size", [512, 1024, 4096])
def test_python_tarfile_archive_indexed_exactly(dump: Path, tmp_path: Path,
                                                block_size: int) -> None:
    archive = python_archive(site)
    data = [at + BLOCK for at in header_offsets(archive)]
    code, lines = run_dump(dump, tmp_path, archive, "find:index.html", "find:css",
                           "find:css/", "find:nothing", "dir:css", "dir:" + LONG_DIR,
                           "dir:d", "dir:index.html", "dir:",
                           "read:index.html:0:14", "read:copy.html:4:4",
                           "read:css/main.css:5:1", f"read:{LONG_DIR}/deep.txt:1499:1",
                           "read:index.html:10:5", "read:link.html:0:0", "read:empty.txt:0:0",
                           block_size=block_size)
    assert code == 0
    assert lines == [
        f"entry file 14 {MTIME} 755 {data[0]} copy.html",  # its own mode, its target's data
        f"entry dir 0 {MTIME} 755 {data[1]} css",
        f"entry file 22 {MTIME + 60} 600 {data[2]} css/main.css",
        f"entry file 1500 {MTIME} 644 {data[3]} {LONG_DIR}/deep.txt",
        f"entry file 0 {MTIME} 644 {data[7]} empty.txt",
        f"entry file 14 {MTIME} 644 {data[0]} index.html",
        f"entry symlink 0 {MTIME} 755 {data[5]} link.html",
        f"entry other 0 {MTIME} 644 {data[6]} pipe",
        "ok 8",
        "find index.html yes file",
        "find css yes dir",
        "find css/ no",                   # lookups take normalised names
        "find nothing no",
        "dir css 1",
        f"dir {LONG_DIR} 1",              # no directory entry, but files under it
        "dir d 0",
        "dir index.html 0",
        "dir  1",
        "read index.html " + b"<h1>home</h1>\n".hex(),
        "read copy.html " + b"home".hex(),  # a hard link reads its target's data
        "read css/main.css " + b"{".hex(),
        f"read {LONG_DIR}/deep.txt " + b"x".hex(),
        "read index.html fail",           # bytes 10..14 of a 14-byte file
        "read link.html fail",            # symbolic links have no data
        "read empty.txt ",
    ]


def test_gnu_tar_archive_of_a_directory(dump: Path, tmp_path: Path) -> None:
    public = tmp_path / "public"
    (public / "img").mkdir(parents=True)
    (public / "index.html").write_bytes(b"<p>gnu</p>\n")
    (public / "img" / "a.svg").write_bytes(b"<svg/>" * 200)
    for path in (public / "img" / "a.svg", public / "index.html", public / "img", public):
        os.utime(path, (MTIME, MTIME))
    archive = gnu_tar(public, tmp_path / "site.tar")
    code, lines = run_dump(dump, tmp_path, archive, "read:img/a.svg:1194:6",
                           "read:index.html:0:11")
    assert code == 0
    entries = [line.split(" ", 6) for line in lines if line.startswith("entry ")]
    assert [(e[1], e[2], e[3], e[6]) for e in entries] == [
        ("dir", "0", str(MTIME), ""),          # "./" is the root
        ("dir", "0", str(MTIME), "img"),
        ("file", "1200", str(MTIME), "img/a.svg"),
        ("file", "11", str(MTIME), "index.html"),
    ]
    assert lines[-3:] == ["ok 4", "read img/a.svg " + b"<svg/>".hex(),
                          "read index.html " + b"<p>gnu</p>\n".hex()]


def test_later_duplicate_replaces_earlier(dump: Path, tmp_path: Path) -> None:
    def build(tar: tarfile.TarFile) -> None:
        add_file(tar, "a.txt", b"old")
        add_file(tar, "./a.txt", b"newer", mtime=MTIME + 1)

    code, lines = run_dump(dump, tmp_path, python_archive(build), "read:a.txt:0:5")
    assert code == 0
    assert lines == [f"entry file 5 {MTIME + 1} 644 {3 * BLOCK} a.txt", "ok 1",
                     "read a.txt " + b"newer".hex()]


def two_files(tar: tarfile.TarFile) -> None:
    add_file(tar, "a.txt", b"a" * 600)
    add_file(tar, "b.txt", b"b")


SIZE = slice(124, 136)
NAME = slice(0, 100)


def entries(*specs: tuple[str, bytes, str]) -> bytes:
    """An archive of data-less entries (name, type, link target)."""
    def build(tar: tarfile.TarFile) -> None:
        for name, kind, link in specs:
            add_entry(tar, name, kind, link=link)
    return python_archive(build)


def corrupt_cases() -> list[tuple[str, bytes, str]]:
    good = python_archive(two_files)
    second = header_offsets(good)[1]
    end = second + 2 * BLOCK              # after b.txt's header and data
    return [
        ("empty device", b"", "the device (0 bytes) is too small for a ustar archive"),
        ("not a tar", b"hello world\n" * 100,
         "invalid ustar header at byte 0: no ustar magic (make the archive with "
         "tar --format=ustar)"),
        ("checksum", patched(good, second, slice(0, 1), b"c", fix_checksum=False),
         f"invalid ustar header at byte {second}: header checksum mismatch"),
        ("size not octal", patched(good, 0, SIZE, b"00000001238\0"),
         "invalid ustar header at byte 0: size field is not an octal number"),
        ("base-256 size", patched(good, 0, SIZE, b"\x80" + bytes(10) + b"\x01"),
         "invalid ustar header at byte 0: size field is not an octal number"),
        ("mtime blank", patched(good, second, slice(136, 148), bytes(12)),
         f"invalid ustar header at byte {second}: mtime field is not an octal number"),
        ("size past the device", patched(good, second, SIZE, b"00000100000\0"),
         f'entry "b.txt" at byte {second}: its 32768 bytes run past the end of the device '
         f"({len(good)} bytes)"),
        ("truncated", good[:end],
         f"the archive has no end-of-archive blocks before the end of the device ({end} bytes): "
         "truncated?"),
        ("lone zero block", good[:second] + bytes(BLOCK) + good[second:],
         f"a single zero block at byte {second} is followed by more headers (not a valid "
         "archive)"),
        ("dot-dot", patched(good, 0, NAME, b"../etc/passwd".ljust(100, b"\0")),
         'invalid ustar header at byte 0: name with an empty, "." or ".." component'),
        ("absolute", patched(good, 0, NAME, b"/etc/passwd".ljust(100, b"\0")),
         "invalid ustar header at byte 0: absolute name"),
        ("empty component", patched(good, 0, NAME, b"a//b".ljust(100, b"\0")),
         'invalid ustar header at byte 0: name with an empty, "." or ".." component'),
        ("empty name", patched(good, 0, NAME, bytes(100)),
         "invalid ustar header at byte 0: empty name"),
        ("root as a file", patched(good, 0, NAME, b"./".ljust(100, b"\0")),
         "entry at byte 0 names the root but is not a directory"),
        ("old GNU magic", patched(good, 0, slice(257, 265), b"ustar  \0"),
         "invalid ustar header at byte 0: GNU tar format, not ustar (make the archive with "
         "tar --format=ustar)"),
        ("dangling hard link", entries(("a", tarfile.LNKTYPE, "missing")),
         'hard link "a" names "missing", which is not a regular file in the archive'),
        ("hard link to a directory", entries(("d", tarfile.DIRTYPE, ""),
                                             ("a", tarfile.LNKTYPE, "d")),
         'hard link "a" names "d", which is not a regular file in the archive'),
        ("hard link loop", entries(("a", tarfile.LNKTYPE, "b"), ("b", tarfile.LNKTYPE, "a")),
         'hard link "a" names "b", which is not a regular file in the archive'),
    ]


@pytest.mark.parametrize("case", corrupt_cases(), ids=lambda c: c[0])
def test_corrupt_archive_refused_with_its_reason(dump: Path, tmp_path: Path,
                                                 case: tuple[str, bytes, str]) -> None:
    _, archive, message = case
    code, lines = run_dump(dump, tmp_path, archive)
    assert (code, lines) == (1, [f"error {message}"])


def test_pax_and_gnu_archives_refused(dump: Path, tmp_path: Path) -> None:
    public = tmp_path / "public"
    public.mkdir()
    (public / ("n" * 150)).write_bytes(b"long")      # needs a long-name extension
    for fmt, message in (("pax", "invalid ustar header at byte 0: pax extended header, not ustar"),
                         ("gnu", "invalid ustar header at byte 0: GNU tar format")):
        out = tmp_path / f"{fmt}.tar"
        subprocess.run(["tar", f"--format={fmt}", "-cf", str(out), "-C", str(public), "."],
                       check=True, timeout=60)
        code, lines = run_dump(dump, tmp_path, out.read_bytes())
        assert code == 1 and lines[0].startswith(f"error {message}"), lines
    # ustar cannot hold the name: GNU tar refuses, so operators see it when packing
    refused = subprocess.run(["tar", "--format=ustar", "-cf", str(tmp_path / "u.tar"), "-C",
                              str(public), "."], capture_output=True, text=True, timeout=60,
                             check=False)
    assert refused.returncode != 0 and "file name is too long" in refused.stderr


def test_bad_block_geometry(dump: Path, tmp_path: Path) -> None:
    code, lines = run_dump(dump, tmp_path, python_archive(two_files), block_size=768)
    assert (code, lines) == (1, ["error block size must be a power of two from 512 to "
                                 "65536 bytes"])
