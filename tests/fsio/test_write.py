"""fsio: atomic and create-only writes another local user cannot hijack; stale temps swept.

"Another user" is simulated as root would see it: files pre-created in the
destination directory and chowned to nobody, and symbolic links pointing at
a victim file. The writes under test must neither write into those files nor
follow those links, and the result must be our own file with the exact mode.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

import fsio
from fsio import write as fsio_write

NOBODY = 65534


def planted_file(path: Path) -> Path:
    """A world-writable empty file owned by another user, as an attacker would leave it."""
    path.write_bytes(b"")
    os.chown(path, NOBODY, NOBODY)
    path.chmod(0o666)
    return path


def assert_ours(path: Path, data: bytes, mode: int) -> None:
    info = os.lstat(path)
    assert stat.S_ISREG(info.st_mode)
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (os.geteuid(), mode)
    assert path.read_bytes() == data


@pytest.fixture
def predictable_names(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Make the "random" part of temp names a known sequence, so a test can plant them."""
    names = ["a" * 16, "b" * 16, "c" * 16]
    pending = list(names)
    monkeypatch.setattr(fsio_write, "token_hex", lambda nbytes: pending.pop(0))
    yield names


@pytest.mark.parametrize("writer", ["atomic_write", "create_exclusive"])
def test_taken_temp_names_are_skipped_not_written_or_followed(
    tmp_path: Path, predictable_names: list[str], writer: str
) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"victim")
    dest = tmp_path / "keys" / "k.key"
    dest.parent.mkdir()
    first, second, _ = (dest.parent / f".k.key.{n}{fsio.TEMP_SUFFIX}" for n in predictable_names)
    planted_file(first)
    second.symlink_to(victim)

    getattr(fsio, writer)(dest, b"secret key", 0o600)

    assert_ours(dest, b"secret key", 0o600)
    assert first.read_bytes() == b"" and first.stat().st_uid == NOBODY
    assert victim.read_bytes() == b"victim" and second.is_symlink()
    assert sorted(p.name for p in dest.parent.iterdir()) == sorted(
        [dest.name, first.name, second.name])


def test_atomic_write_sets_exact_mode_whatever_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        fsio.atomic_write(tmp_path / "public.json", b"{}", 0o644)
        fsio.atomic_write(tmp_path / "public.json", b"{1}", 0o640)
    finally:
        os.umask(old)
    assert_ours(tmp_path / "public.json", b"{1}", 0o640)
    assert [p.name for p in tmp_path.iterdir()] == ["public.json"]


def test_atomic_write_refuses_a_symlink_at_the_destination(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"victim")
    (tmp_path / "timestamp.json").symlink_to(victim)
    with pytest.raises(fsio.UnsafePathError, match="symbolic link"):
        fsio.atomic_write(tmp_path / "timestamp.json", b"evil")
    assert victim.read_bytes() == b"victim"
    assert (tmp_path / "timestamp.json").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["timestamp.json", "victim"]


def test_atomic_write_replaces_a_file_owned_by_someone_else_with_our_own(tmp_path: Path) -> None:
    dest = planted_file(tmp_path / "repo.json")
    planted_inode = dest.stat().st_ino
    fsio.atomic_write(dest, b"config", 0o644)
    assert_ours(dest, b"config", 0o644)
    assert dest.stat().st_ino != planted_inode


@pytest.mark.parametrize("planted", ["file", "symlink", "dangling symlink"])
def test_create_exclusive_never_replaces_or_follows(tmp_path: Path, planted: str) -> None:
    dest = tmp_path / "k.key"
    elsewhere = tmp_path / "elsewhere"
    if planted == "file":
        planted_file(dest)
    else:
        if planted == "symlink":
            elsewhere.write_bytes(b"victim")
        dest.symlink_to(elsewhere)
    with pytest.raises(fsio.DestinationExistsError, match="already exists"):
        fsio.create_exclusive(dest, b"secret", 0o600)
    if planted == "file":
        assert dest.read_bytes() == b"" and dest.stat().st_uid == NOBODY
    elif planted == "symlink":
        assert elsewhere.read_bytes() == b"victim"
    else:
        assert not elsewhere.exists()  # the link was not followed to create its target
    assert not [p for p in tmp_path.iterdir() if fsio.is_temp_name(p.name)]


@pytest.mark.slow  # a child interpreter under a file size limit
def test_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path: Path) -> None:
    """A write that fails half-way (file size limit: EFBIG, like a full disk) changes nothing."""
    dest = tmp_path / "snapshot.json"
    dest.write_bytes(b"old")
    child = textwrap.dedent(f"""
        import resource, signal, sys
        import fsio
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))
        for write in (fsio.atomic_write, fsio.create_exclusive):
            try:
                write({str(dest)!r} if write is fsio.atomic_write else {str(dest)!r} + ".new",
                      b"x" * 100_000)
            except OSError as error:
                print(error.errno)
            else:
                sys.exit("the write did not fail")
    """)
    result = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["27", "27"]  # EFBIG, twice
    assert dest.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.json"]


def test_sweep_removes_only_stale_temp_files(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"victim")
    stale = [
        tmp_path / f".timestamp.json.{'0123456789abcdef'}{fsio.TEMP_SUFFIX}",
        tmp_path / ".snapshot.json.4242.tmp",  # left by the old metadata writer
        tmp_path / ".alice.key.tmp4242",  # left by the old key writer
    ]
    for path in stale:
        path.write_bytes(b"partial")
    link = tmp_path / f".x.{'f' * 16}{fsio.TEMP_SUFFIX}"
    link.symlink_to(victim)
    stale.append(link)
    fresh = tmp_path / f".root.json.{'1' * 16}{fsio.TEMP_SUFFIX}"
    fresh.write_bytes(b"in progress")
    kept = [tmp_path / "1.root.json", tmp_path / ".hidden", tmp_path / "x.tmp"]
    for path in kept:
        path.write_bytes(b"keep")
    (tmp_path / "1.0").mkdir()
    kept.append(tmp_path / "1.0")
    stale_dir = fsio.make_temp_dir(tmp_path, "1.0")  # a half-built tree
    (stale_dir / "files").mkdir()
    (stale_dir / "files" / "link").symlink_to(victim)
    stale.append(stale_dir)
    legacy_dir = tmp_path / ".2.0.4242.tmp"  # left by the old staging code
    legacy_dir.mkdir()
    stale.append(legacy_dir)
    for path in stale:
        os.utime(path, (1, 1), follow_symlinks=False)

    removed = fsio.sweep_temp_files(tmp_path)

    assert sorted(removed) == sorted(p.name for p in stale)
    assert victim.read_bytes() == b"victim"
    assert all(p.exists() for p in [*kept, fresh])
    assert fsio.sweep_temp_files(tmp_path, min_age=0) == [fresh.name]
    assert fsio.sweep_temp_files(tmp_path / "missing") == []


def test_every_writer_in_the_project_is_fsio() -> None:
    """One implementation: the names other packages import are fsio's functions."""
    from builder import pipeline
    from reports import dashboard
    from tuf_metadata import store

    for module in (store, pipeline, dashboard):
        assert vars(module)["atomic_write"] is fsio.atomic_write, module.__name__


def test_make_temp_dir_is_new_exact_mode_and_never_a_planted_one(
    tmp_path: Path, predictable_names: list[str]
) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    planted = tmp_path / f".1.0.{predictable_names[0]}{fsio.TEMP_SUFFIX}"
    planted.symlink_to(victim)
    old = os.umask(0o077)
    try:
        made = fsio.make_temp_dir(tmp_path, "1.0", 0o755)
    finally:
        os.umask(old)
    assert made == tmp_path / f".1.0.{predictable_names[1]}{fsio.TEMP_SUFFIX}"
    info = os.lstat(made)
    assert stat.S_ISDIR(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o755
    assert list(made.iterdir()) == [] and list(victim.iterdir()) == []
