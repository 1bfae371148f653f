"""The project's writers of keys and metadata resist another local user predicting temp names.

The writers fsio replaced used ".NAME.tmpPID" (keys) and ".NAME.PID.tmp"
(metadata and published target files): a local user who could write to the
directory planted a file or a symlink there and ended up owning the private
key, or made the repository write through the link. These tests plant
exactly those names.
"""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from signing.keys import generate_key, write_key_pair
from tests.repository.helpers import init_repo, release, run
from tests.support.published import targets_dir
from tuf_metadata import layout
from tuf_metadata.store import atomic_write

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

NOBODY = 65534


def test_planted_temp_names_do_not_give_another_user_the_private_key(tmp_path: Path) -> None:
    planted = [tmp_path / f".k.key.tmp{os.getpid()}", tmp_path / f".k.pub.json.tmp{os.getpid()}"]
    for path in planted:
        path.write_bytes(b"")
        os.chown(path, NOBODY, NOBODY)
        path.chmod(0o666)

    write_key_pair(generate_key(), tmp_path / "k.key", None)

    key = os.lstat(tmp_path / "k.key")
    assert stat.S_ISREG(key.st_mode)
    assert (key.st_uid, stat.S_IMODE(key.st_mode)) == (os.geteuid(), 0o600)
    assert b"PRIVATE KEY" in (tmp_path / "k.key").read_bytes()
    public = os.lstat(tmp_path / "k.pub.json")
    assert (public.st_uid, stat.S_IMODE(public.st_mode)) == (os.geteuid(), 0o644)
    for path in planted:
        assert path.read_bytes() == b"" and path.stat().st_uid == NOBODY


def test_planted_temp_symlink_is_not_written_through_by_metadata_writes(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_bytes(b"victim")
    link = tmp_path / "metadata" / f".timestamp.json.{os.getpid()}.tmp"
    link.parent.mkdir()
    link.symlink_to(victim)

    atomic_write(tmp_path / "metadata" / "timestamp.json", b'{"signed": {}}')

    assert victim.read_bytes() == b"victim"
    assert not (tmp_path / "metadata" / "timestamp.json").is_symlink()
    assert (tmp_path / "metadata" / "timestamp.json").read_bytes() == b'{"signed": {}}'


@pytest.mark.slow  # a key ceremony and a publish
def test_planted_temp_symlinks_in_targets_are_not_followed_by_publish(tmp_path: Path) -> None:
    fx = init_repo(tmp_path / "r", authors=["alice"])
    assert release(fx, "alice", "1.0.0", ["alice"]).exit_code == 0, "staging failed"
    victim = tmp_path / "victim"
    victim.write_bytes(b"victim")
    release_dir = targets_dir(fx.repo_dir) / SHARDS.target_path("alice", "1.0.0", "")
    release_dir.mkdir(parents=True)
    staged = [p for p in (fx.repo_dir / "staging" / "alice" / "1.0.0").rglob("*") if p.is_file()]
    for local in staged:
        digest = hashlib.sha256(local.read_bytes()).hexdigest()
        (release_dir / f".{digest}.{local.name}.{os.getpid()}.tmp").symlink_to(victim)

    published = run(["publish", "--no-build", "--repo", str(fx.repo_dir)])

    assert published.exit_code == 0, published.output
    assert victim.read_bytes() == b"victim"
    published_files = [p for p in release_dir.iterdir() if not p.name.startswith(".")]
    assert published_files, "nothing was published"
    for path in published_files:
        assert not path.is_symlink() and path.is_file(), path


@pytest.mark.slow  # a key ceremony and a release
def test_planted_staging_temp_dir_does_not_capture_a_release(tmp_path: Path) -> None:
    fx = init_repo(tmp_path / "r", authors=["alice"])
    attacker = tmp_path / "attacker"
    attacker.mkdir()
    package_dir = fx.repo_dir / "staging" / "alice"
    package_dir.mkdir(parents=True, exist_ok=True)
    (package_dir / f".1.0.0.{os.getpid()}.tmp").symlink_to(attacker)

    assert release(fx, "alice", "1.0.0", ["alice"]).exit_code == 0

    staged = package_dir / "1.0.0"
    assert staged.is_dir() and not staged.is_symlink()
    assert list(attacker.iterdir()) == []
