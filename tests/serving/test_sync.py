"""`repo-tool sync --to DIR` (issue 19.1/19.3): only public files, in a client-consistent order.

The crash tests stop sync after every single file it writes (after every
stage boundary for a maintainer change) and check that the destination, as
a client would read it, verifies from 1.root.json with no repair step.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest

import fsio
from tests.repository.helpers import Fixture, make_keys, pub, release, run, tree_digest
from tests.serving.support import published_repo
from tests.support.published import published_dir, targets_dir
from tuf_metadata import sync_destinations
from tuf_metadata.repo_verify import now_utc, verify_repository
from tuf_metadata.sync import STATE_NAME, SyncError, referenced_files, sync_tree

pytestmark = pytest.mark.slow  # starts servers or signs whole repositories


class Crash(Exception):
    pass


def _recorded_sync(source: Path, destination: Path, crash_at: int | None = None) -> list[str]:
    """sync_tree, recording each file written; raises Crash before write number crash_at."""
    written: list[str] = []
    real_write = fsio.atomic_write

    def write(path: Path, data: bytes, mode: int = 0o644, sync_dir: bool = True) -> None:
        if crash_at is not None and len(written) == crash_at:
            raise Crash(str(path))
        real_write(path, data, mode, sync_dir)
        written.append(str(path.relative_to(destination)))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sync_destinations, "atomic_write", write)
        sync_tree(source, destination)
    return written


def _stage(path: str) -> int:
    name = Path(path).name
    if name == STATE_NAME:
        return 5
    if path.startswith("targets/"):
        return 0
    if name == "timestamp.json":
        return 3
    if name.endswith(".root.json") and "/rotate/" not in path:
        return 4
    if name.endswith(".snapshot.json"):
        return 2
    return 1


def _maintainer_change(fx: Fixture, tmp_path: Path) -> None:
    fx.keys.update(make_keys(tmp_path / "keys", ["m3"]))
    key_args = [arg for m in ("m1", "m2", "m3") for arg in ("--pubkey", str(pub(fx.keys[m])))]
    proposed = run(["maintainers", "--repo", str(fx.repo_dir), "-t", "2", "--json", *key_args])
    change = json.loads(proposed.output)["id"]
    signed = run(["sign", change, "--repo", str(fx.repo_dir), "--insecure-plaintext", "--json",
                  "--key", str(fx.keys["m1"]), "--key", str(fx.keys["m2"])])
    assert json.loads(signed.output)["committed"] is True


def _new_release(fx: Fixture, tmp_path: Path) -> None:
    assert release(fx, "hello", "2.0.0", ["hello"], ("hvt", "spt")).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fx.repo_dir)]).exit_code == 0


def test_published_tree_holds_only_metadata_and_targets_and_verifies(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    public = tmp_path / "public"
    result = run(["sync", "--repo", str(fx.repo_dir), "--to", str(public), "--json"])
    assert result.exit_code == 0, result.output
    # Besides the two public folders, only sync's record of what it published (no secret).
    assert sorted(p.name for p in public.iterdir()) == [STATE_NAME, "metadata", "targets"]
    for path in public.rglob("*"):
        assert not path.is_symlink()
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path
    verify_repository(public, now_utc())
    # A second run copies nothing and keeps the same timestamp.
    again = json.loads(run(["sync", "--repo", str(fx.repo_dir), "--to", str(public),
                            "--json"]).output)
    assert again["copied"] == [] and again["timestamp_written"] is False


@pytest.mark.parametrize("change", ["release", "maintainers"])
def test_sync_interrupted_after_any_write_leaves_a_verifying_tree(
    tmp_path: Path, change: str
) -> None:
    fx = published_repo(tmp_path)
    baseline = tmp_path / "baseline"
    sync_tree(fx.repo_dir, baseline)
    make_change: Callable[[Fixture, Path], None] = (
        _new_release if change == "release" else _maintainer_change
    )
    make_change(fx, tmp_path)

    full = tmp_path / "full"
    shutil.copytree(baseline, full)
    order = _recorded_sync(fx.repo_dir, full)
    stages = [_stage(path) for path in order]
    assert stages == sorted(stages), order  # targets, roles, snapshot, timestamp, root
    assert stages.count(3) == 1 and stages[-1] == 5
    assert (4 in stages) == (change == "maintainers")
    assert verify_repository(full, now_utc()).root_version == (2 if 4 in stages else 1)

    if change == "release":
        crash_points = list(range(len(order)))
    else:  # 260 role files: crash at each stage's first and last write
        crash_points = sorted({i for i in range(len(order))
                               if i in (0, len(order) - 1) or stages[i] != stages[i - 1]
                               or stages[i] != stages[min(i + 1, len(order) - 1)]})
    for crash_at in crash_points:
        destination = tmp_path / f"crash-{crash_at}"
        shutil.copytree(baseline, destination)
        with pytest.raises(Crash):
            _recorded_sync(fx.repo_dir, destination, crash_at)
        # Root 2 comes after timestamp: a copy interrupted before it still holds root 1.
        expected_root = 2 if 4 in stages[:crash_at] else 1
        assert verify_repository(destination, now_utc()).root_version == expected_root
        shutil.rmtree(destination)


def test_destination_overlapping_the_repository_is_refused(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    before = tree_digest(fx.repo_dir)
    for destination in (fx.repo_dir, fx.repo_dir / "site", published_dir(fx.repo_dir),
                        fx.repo_dir.parent):
        result = run(["sync", "--repo", str(fx.repo_dir), "--to", str(destination)])
        assert result.exit_code == 1
        assert "error:" in result.output and "repository" in result.output
    assert not (fx.repo_dir / "site").exists()
    assert tree_digest(fx.repo_dir) == before


def test_private_files_in_the_published_folder_are_warned_about(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    public = tmp_path / "public"
    (public / "online").mkdir(parents=True)
    result = run(["sync", "--repo", str(fx.repo_dir), "--to", str(public)])
    assert result.exit_code == 0
    assert "warning:" in result.output and "online: not metadata or targets" in result.output


def test_symlink_in_source_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    (targets_dir(fx.repo_dir) / "leak").symlink_to(fx.repo_dir / "online")
    result = run(["sync", "--repo", str(fx.repo_dir), "--to", str(tmp_path / "public")])
    assert result.exit_code == 1 and "targets/leak: symbolic link" in result.output
    assert not (tmp_path / "public").exists()


def test_sync_never_rolls_back_nor_overwrites(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    public = tmp_path / "public"
    old = tmp_path / "old-repo"
    shutil.copytree(fx.repo_dir, old)
    _new_release(fx, tmp_path)
    sync_tree(fx.repo_dir, public)
    with pytest.raises(SyncError, match="refusing to roll it back"):
        sync_tree(old, public)
    other = published_repo(tmp_path / "other")
    with pytest.raises(SyncError, match="already published with other content"):
        sync_tree(other.repo_dir, public)


def test_prune_deletes_only_what_no_unexpired_timestamp_reaches(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    public = tmp_path / "public"
    sync_tree(fx.repo_dir, public)
    before, old_expiry = referenced_files(public)
    _new_release(fx, tmp_path)
    unreferenced_forever = public / "metadata" / "999.pkg-zzz.json"  # never in any timestamp
    unreferenced_forever.write_text("{}")

    # The previous timestamp has not expired: a client or cache holding it still needs
    # its snapshot and roles, so nothing goes.
    assert sync_tree(fx.repo_dir, public, prune=True).deleted == []
    after, _ = referenced_files(public)
    old_only = before - after
    assert any(path.endswith(".snapshot.json") for path in old_only)
    assert any("pkg-hello" in path for path in old_only)
    assert all((public / path).is_file() for path in old_only)

    just_expired = old_expiry + timedelta(seconds=1)
    # Within the grace period (clients still mid-update, slow clocks) nothing goes ...
    assert sync_tree(fx.repo_dir, public, prune=True, now=just_expired).deleted == []
    # ... and once it passed, exactly the files only the old timestamp reached are deleted.
    report = sync_tree(fx.repo_dir, public, prune=True, now=just_expired,
                       prune_grace=timedelta(0))
    assert sorted(report.deleted) == sorted(old_only)
    assert not any((public / path).exists() for path in old_only)
    assert unreferenced_forever.exists()
    assert (public / "metadata" / "1.root.json").exists()
    verify_repository(public, now_utc())
    # Without --prune nothing is ever deleted.
    assert sync_tree(fx.repo_dir, public, now=old_expiry + timedelta(days=9)).deleted == []
