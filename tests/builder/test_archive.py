"""Source archives: deterministic bytes; malicious archives refused before any extraction."""

from __future__ import annotations

import gzip
import io
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from builder.archive import (
    ArchiveError,
    SourceFile,
    archive_from_tree,
    create_archive,
    read_archive,
    write_tree,
)
from builder.plan import load_index
from tests.builder.conftest import PACKAGES, REPO

FILES = {
    "src/b.c": SourceFile("src/b.c", b"int b;\n"),
    "src/a.c": SourceFile("src/a.c", b"int a;\n"),
    "tools/gen": SourceFile("tools/gen", b"#!/bin/true\n", executable=True),
}


def test_archive_bytes_depend_only_on_contents_and_epoch(tmp_path: Path) -> None:
    first = create_archive(FILES, 1700000000)
    assert create_archive(dict(reversed(list(FILES.items()))), 1700000000) == first
    assert create_archive(FILES, 1700000001) != first
    # gzip header: no name, mtime 0 (RFC 1952 §2.3: MTIME at bytes 4-7, FLG.FNAME bit 3).
    assert first[4:8] == b"\0\0\0\0" and not first[3] & 0x08
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["src", "src/a.c", "src/b.c", "tools", "tools/gen"]
    for member in members:
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (
            1700000000,
            0,
            0,
            "",
            "",
        )
        assert not member.pax_headers
    assert {m.name: m.mode for m in members}["tools/gen"] == 0o755
    assert {m.name: m.mode for m in members}["src/a.c"] == 0o644


def test_round_trip_and_repository_archives_are_reproducible(tmp_path: Path) -> None:
    assert read_archive(create_archive(FILES, 1)) == FILES
    hello = load_index(PACKAGES)[("hello", "1.0.0")]
    one = archive_from_tree(REPO, hello.sources, hello.source_date_epoch)
    copy = tmp_path / "copy"
    write_tree(read_archive(one), copy, 12345)  # other mtimes on disk must not matter
    assert archive_from_tree(copy, hello.sources, hello.source_date_epoch) == one
    write_tree(read_archive(one), tmp_path / "out", hello.source_date_epoch, order="reverse")
    written = tmp_path / "out" / hello.sources[0]
    assert written.read_bytes() == (REPO / hello.sources[0]).read_bytes()
    assert written.stat().st_mtime == hello.source_date_epoch


def tar_gz(add: Callable[[tarfile.TarFile], None], *, compress: bool = True) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
        add(tar)
    return gzip.compress(raw.getvalue()) if compress else raw.getvalue()


def regular(name: str, data: bytes = b"x") -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))

    return add


def special(name: str, kind: bytes, link: str = "") -> Callable[[tarfile.TarFile], None]:
    def add(tar: tarfile.TarFile) -> None:
        regular("ok.c")(tar)
        info = tarfile.TarInfo(name)
        info.type = kind
        info.linkname = link
        tar.addfile(info)

    return add


MALICIOUS = [
    ("absolute", tar_gz(regular("/etc/cron.d/evil")), "absolute path refused"),
    ("dotdot", tar_gz(regular("src/../../evil.c")), "'..' component refused"),
    ("symlink-out", tar_gz(special("src/link", tarfile.SYMTYPE, "/etc/shadow")), "link to"),
    ("symlink-up", tar_gz(special("src/link", tarfile.SYMTYPE, "../../x")), "link to"),
    ("hardlink", tar_gz(special("src/hard", tarfile.LNKTYPE, "/etc/passwd")), "link to"),
    ("chardev", tar_gz(special("dev/null", tarfile.CHRTYPE)), "device or FIFO refused"),
    ("blockdev", tar_gz(special("dev/sda", tarfile.BLKTYPE)), "device or FIFO refused"),
    ("fifo", tar_gz(special("pipe", tarfile.FIFOTYPE)), "device or FIFO refused"),
    ("duplicate", tar_gz(lambda t: (regular("a.c")(t), regular("a.c", b"y")(t))), "duplicate"),
    ("not-gzip", b"PK\x03\x04 not a tarball", "not valid gzip"),
    ("not-tar", gzip.compress(b"\x01" * 1024), "not a valid tar"),
]


@pytest.mark.parametrize(
    ("data", "message"), [(d, m) for _, d, m in MALICIOUS], ids=[i for i, _, _ in MALICIOUS]
)
def test_malicious_archive_refused(data: bytes, message: str) -> None:
    with pytest.raises(ArchiveError) as raised:
        read_archive(data)
    assert message in str(raised.value)


def test_size_limits_refused_before_reading_contents() -> None:
    big = tar_gz(regular("big.c", b"\0" * 5000))
    with pytest.raises(ArchiveError, match="over the limit"):
        read_archive(big, max_member_bytes=4096)
    many = tar_gz(lambda t: [regular(f"f{i}.c")(t) for i in range(20)])
    with pytest.raises(ArchiveError, match="members, over the 10 limit"):
        read_archive(many, max_members=10)
    total = tar_gz(lambda t: [regular(f"f{i}.c", b"\0" * 3000)(t) for i in range(4)])
    with pytest.raises(ArchiveError, match=r"(beyond|exceed) the 8000-byte"):
        read_archive(total, max_total_bytes=8000)


def test_gzip_bomb_stops_at_the_limit() -> None:
    bomb = gzip.compress(b"\0" * (80 << 20))  # 80 MiB of zeros, ~80 KiB compressed
    assert len(bomb) < 1 << 20
    with pytest.raises(ArchiveError, match="expands beyond"):
        read_archive(bomb)


def test_refused_archive_writes_nothing(tmp_path: Path) -> None:
    """Extraction is read_archive (all checks) then write_tree: a refusal leaves dest empty."""
    evil = tar_gz(lambda t: (regular("good.c")(t), regular("/tmp/evil")(t)))
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(ArchiveError):
        write_tree(read_archive(evil), dest, 0)
    assert list(dest.iterdir()) == []
