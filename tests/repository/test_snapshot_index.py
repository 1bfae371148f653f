"""The incremental snapshot (tuf_metadata.snapshot_index): byte-identical to canonical JSON of
the whole snapshot, lookups through the index, and a stale or lying index never signed over."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from fsio.write import TEMP_SUFFIX, is_temp_name
from tests.repository.helpers import Fixture, init_repo, make_release_files
from tests.repository.test_crash_concurrency import run_and_kill
from tests.support.published import metadata_dir
from tuf_metadata import layout, snapshot_index
from tuf_metadata.canonical import canonical_json
from tuf_metadata.repo_types import CorruptMetadataError
from tuf_metadata.repo_verify import verify_repository
from tuf_metadata.repository import Repository
from tuf_metadata.snapshot_index import (
    INDEX_NAME,
    IndexedMeta,
    SnapshotIndex,
    encode_full,
    index_of_file,
)

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

PACKAGES = ("alpha", "beta", "gamma")


def random_entry(rng: random.Random) -> dict[str, Any]:
    entry: dict[str, Any] = {"version": rng.randrange(1, 10**6)}
    if rng.random() < 0.2:  # rotate files carry length and hashes
        entry["length"] = rng.randrange(1, 10**5)
        entry["hashes"] = {"sha256": f"{rng.getrandbits(256):064x}"}
    return entry


def random_key(rng: random.Random) -> str:
    kind = rng.choice(["pkg", "shard", "rotate"])
    name = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789-") for _ in range(6))
    if kind == "shard":
        return f"shard-{rng.randrange(256):02x}.json"
    if kind == "rotate":
        return f"rotate/pkg-{name}.rotate.{rng.randrange(1, 4)}.json"
    return f"pkg-{name}.json"


def as_file(encoded: snapshot_index.EncodedSnapshot) -> bytes:
    return encoded.file_bytes(b'[{"keyid":"00","sig":"00"}]')


@pytest.mark.parametrize("seed", range(6))
def test_incremental_snapshot_is_canonical_json_of_the_whole_snapshot(
    monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """Random histories of changes and insertions (keys before, between and after every
    chunk), with chunks of 4 entries so that splits happen: after every step the bytes equal
    canonical_json of the whole signed object, and lookups through the index agree."""
    monkeypatch.setattr(snapshot_index, "CHUNK_ENTRIES", 4)
    rng = random.Random(seed)
    meta = {random_key(rng): random_entry(rng) for _ in range(rng.randrange(0, 30))}
    signed: dict[str, Any] = {"_type": "snapshot", "expires": "2030-01-01T00:00:00Z",
                              "spec_version": "1.0.31", "version": 1}
    if seed % 2:
        signed["x-extra"] = {"custom": [1, "two"]}  # unknown fields after "meta" too
    data = as_file(encode_full({**signed, "meta": meta}))
    index = index_of_file(data, {**signed, "meta": meta}, 1)
    assert index is not None
    for step in range(2, 40):
        changes = {}
        for _ in range(rng.randrange(1, 6)):
            key = rng.choice(sorted(meta)) if meta and rng.random() < 0.5 else random_key(rng)
            changes[key] = random_entry(rng)
        view = IndexedMeta(data, index)
        signed = {**signed, "version": step}
        encoded = view.encode_next(signed, changes)
        meta.update(changes)
        assert encoded.payload == canonical_json({**signed, "meta": meta})
        data = as_file(encoded)
        index = encoded.index(step, data)
        assert json.loads(data)["signed"]["meta"] == meta
        read_back = SnapshotIndex.from_json(index.to_json())
        assert read_back == index and read_back.describes(data, step)
        view = IndexedMeta(data, index)
        assert list(view) == sorted(meta) and len(view) == len(meta)
        for key in rng.sample(sorted(meta), min(5, len(meta))):
            assert view.raw(key) == meta[key]
        assert "pkg-absent-.json" not in view
        assert all(count < 8 for _, _, count in index.chunks)


def test_an_index_binds_to_one_file() -> None:
    signed = {"_type": "snapshot", "expires": "2030-01-01T00:00:00Z", "spec_version": "1.0.31",
              "version": 3, "meta": {"targets.json": {"version": 1}}}
    data = as_file(encode_full(signed))
    index = index_of_file(data, signed, 3)
    assert index is not None and index.describes(data, 3)
    assert not index.describes(data, 4)
    assert not index.describes(data.replace(b'"version":1', b'"version":2'), 3)
    # A file whose signed part is not its canonical bytes cannot be indexed.
    loose = json.dumps({"signatures": [], "signed": signed}, indent=1).encode()
    assert index_of_file(loose, signed, 3) is None
    assert SnapshotIndex.from_json(b"not json") is None
    assert SnapshotIndex.from_json(b'{"format": 99}') is None


def publish(fx: Fixture, rng: random.Random, version: int) -> None:
    package = rng.choice(PACKAGES)
    files = make_release_files(fx.work / str(version), package, str(version))
    repo = fx.repo
    staged = repo.stage_release(package, str(version), files["manifest"], files["source"],
                                {"hvt": files["hvt"]}, [fx.signer(package)])
    Repository(fx.repo_dir).publish_release(staged, repo.author_images(staged))


def newest_snapshot(repo_dir: Path) -> tuple[int, bytes]:
    metadata = metadata_dir(repo_dir)
    versions = [int(p.name.split(".")[0]) for p in metadata.glob("*.snapshot.json")]
    version = max(versions)
    return version, (metadata / f"{version}.snapshot.json").read_bytes()


def assert_snapshot_is_canonical(repo_dir: Path) -> SnapshotIndex | None:
    """The newest snapshot file is {"signatures":..., "signed": canonical bytes}; returns
    the persisted index if it describes that file."""
    version, data = newest_snapshot(repo_dir)
    signed = json.loads(data)["signed"]
    assert data.endswith(b'"signed":' + canonical_json(signed) + b"}")
    index = SnapshotIndex.from_json((repo_dir / INDEX_NAME).read_bytes())
    return index if index is not None and index.describes(data, version) else None


def test_every_publish_writes_canonical_snapshot_bytes_and_its_index(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, maintainers=1, threshold=1, authors=list(PACKAGES))
    rng = random.Random(7)
    for version in range(1, 6):
        publish(fx, rng, version)
        assert assert_snapshot_is_canonical(fx.repo_dir) is not None
    verify_repository(fx.repo_dir)
    # The role a lookup through the index finds is the one the file lists.
    root = fx.repo.load_root().signed
    snapshot = fx.repo.load_snapshot(root).signed
    assert isinstance(snapshot.meta, IndexedMeta)
    listed = json.loads(newest_snapshot(fx.repo_dir)[1])["signed"]["meta"]
    for role in ("targets", layout.package_role("alpha"), SHARDS.shard_role("beta")):
        assert snapshot.meta[f"{role}.json"].version == listed[f"{role}.json"]["version"]


def test_a_missing_or_stale_index_costs_one_full_read_and_is_rewritten(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, maintainers=1, threshold=1, authors=list(PACKAGES))
    rng = random.Random(8)
    publish(fx, rng, 1)
    stale = (fx.repo_dir / INDEX_NAME).read_bytes()
    publish(fx, rng, 2)
    (fx.repo_dir / INDEX_NAME).write_bytes(stale)  # describes the previous snapshot
    publish(fx, rng, 3)
    assert assert_snapshot_is_canonical(fx.repo_dir) is not None
    (fx.repo_dir / INDEX_NAME).unlink()
    publish(fx, rng, 4)
    assert assert_snapshot_is_canonical(fx.repo_dir) is not None
    verify_repository(fx.repo_dir)


def test_an_index_that_lies_about_its_file_is_refused_not_signed_over(tmp_path: Path) -> None:
    """An index bound to the right file (same sha256) but with wrong chunk boundaries: the
    writer refuses with a clear error instead of signing a snapshot cut in the wrong places."""
    fx = init_repo(tmp_path, maintainers=1, threshold=1, authors=list(PACKAGES))
    rng = random.Random(9)
    publish(fx, rng, 1)
    doc = json.loads((fx.repo_dir / INDEX_NAME).read_bytes())
    first, size, count = doc["chunks"][0]
    doc["chunks"][0] = [first, size, count + 1]
    (fx.repo_dir / INDEX_NAME).write_text(json.dumps(doc))
    before = newest_snapshot(fx.repo_dir)
    with pytest.raises(CorruptMetadataError, match="does not match its index"):
        publish(fx, rng, 2)
    assert newest_snapshot(fx.repo_dir) == before
    doc["chunks"][0] = [first, size - 1, count]
    (fx.repo_dir / INDEX_NAME).write_text(json.dumps(doc))
    with pytest.raises(CorruptMetadataError, match="does not add up"):
        publish(fx, rng, 2)
    assert newest_snapshot(fx.repo_dir) == before


@pytest.mark.parametrize("label", ["snapshot", "snapshot:index", "timestamp"])
def test_crash_around_the_index_write(tmp_path: Path, label: str) -> None:
    """Killed after the snapshot file, after its index, or after timestamp: the published
    repository verifies, the next publish completes, and its snapshot is canonical and
    indexed."""
    fx = init_repo(tmp_path, maintainers=1, threshold=1, authors=list(PACKAGES))
    rng = random.Random(10)
    publish(fx, rng, 1)
    assert run_and_kill(lambda: publish(fx, rng, 2), label)
    verify_repository(fx.repo_dir)
    index = SnapshotIndex.from_json((fx.repo_dir / INDEX_NAME).read_bytes())
    version, data = newest_snapshot(fx.repo_dir)
    assert index is not None
    assert index.describes(data, version) == (label != "snapshot")
    publish(fx, rng, 3)
    verify_repository(fx.repo_dir)
    assert assert_snapshot_is_canonical(fx.repo_dir) is not None


def test_only_a_writer_that_did_not_finish_makes_the_next_one_sweep(tmp_path: Path) -> None:
    """Listing metadata/ for temporary files costs O(roles), so it is skipped after a writer
    that finished; after one that was killed, the next writer removes what it left."""
    fx = init_repo(tmp_path, maintainers=1, threshold=1, authors=list(PACKAGES))
    rng = random.Random(11)
    publish(fx, rng, 1)
    clean = fx.repo_dir / ".clean"
    assert clean.exists()
    assert run_and_kill(lambda: publish(fx, rng, 2), "snapshot")
    assert not clean.exists()
    leftover = metadata_dir(fx.repo_dir) / f".9.snapshot.json.{'0' * 16}{TEMP_SUFFIX}"
    leftover.write_bytes(b"half a file")
    assert is_temp_name(leftover.name)
    publish(fx, rng, 3)
    assert not leftover.exists() and clean.exists()
    verify_repository(fx.repo_dir)
