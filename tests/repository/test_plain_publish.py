"""Publishing works on the metadata as plain data (no python-tuf in the process), and what
it writes is what python-tuf writes: every file round-trips through python-tuf byte for
byte and verifies under python-tuf's own signature checks. A staged role python-tuf could
not load is refused before anything is written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer

from signing.key_files import INSECURE, load_private_key
from tests.repository.helpers import Fixture, init_repo, release, run, tree_digest
from tests.support.published import metadata_dir
from tuf_metadata import layout
from tuf_metadata.canonical import canonical_json

COMPACT = JSONSerializer(compact=True)


@pytest.fixture
def fx(tmp_path: Path) -> Fixture:
    fixture = init_repo(tmp_path, authors=["alice"])
    assert release(fixture, "alice", "1.0.0", ["alice"]).exit_code == 0
    return fixture


def publish(fx: Fixture) -> Result:
    return run(["publish", "--no-build", "--repo", str(fx.repo_dir)])


def test_published_files_are_python_tufs_bytes_and_verify_under_python_tuf(fx: Fixture) -> None:
    metadata = metadata_dir(fx.repo_dir)
    before = {path.name for path in metadata.iterdir()}
    assert publish(fx).output == "published alice 1.0.0\n"
    written = sorted(path for path in metadata.iterdir() if path.name not in before
                     or path.name == "timestamp.json")
    role = layout.package_role("alice")
    assert {path.name.split(".", 1)[1] for path in written} == {
        f"{role}.json", "snapshot.json", "json"}  # N.pkg-alice, N.snapshot, timestamp.json
    for path in written:
        data = path.read_bytes()
        assert Metadata.from_bytes(data).to_bytes(COMPACT) == data, path.name
    root = Metadata[Root].from_bytes(max(metadata.glob("*.root.json")).read_bytes())
    timestamp = Metadata[Timestamp].from_bytes((metadata / "timestamp.json").read_bytes())
    root.verify_delegate(Timestamp.type, timestamp)
    listed = timestamp.signed.snapshot_meta
    snapshot_bytes = (metadata / f"{listed.version}.snapshot.json").read_bytes()
    listed.verify_length_and_hashes(snapshot_bytes)
    snapshot = Metadata[Snapshot].from_bytes(snapshot_bytes)
    root.verify_delegate(Snapshot.type, snapshot)
    shard_name = layout.DEFAULT_SHARDS.shard_role("alice")
    shard = Metadata[Targets].from_bytes(
        (metadata / f"{snapshot.signed.meta[f'{shard_name}.json'].version}.{shard_name}.json"
         ).read_bytes())
    package = Metadata[Targets].from_bytes((metadata / f"1.{role}.json").read_bytes())
    shard.verify_delegate(role, package)
    assert snapshot.signed.meta[f"{role}.json"].version == 1


def restage(fx: Fixture, edit: object) -> None:
    """Edit the staged release.json as JSON (EDIT(signed)), re-signed by its author."""
    path = fx.repo_dir / "staging" / "alice" / "1.0.0" / "release.json"
    document = json.loads(path.read_bytes())
    assert callable(edit)
    edit(document["signed"])
    private = load_private_key(fx.keys["alice"], INSECURE)
    assert isinstance(private, Ed25519PrivateKey)
    keyid = document["signatures"][0]["keyid"]
    signature = private.sign(canonical_json(document["signed"])).hex()
    document["signatures"] = [{"keyid": keyid, "sig": signature}]
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(("edit", "reason"), [
    (lambda signed: signed.update(version="1"), "bad version"),
    (lambda signed: signed.update(expires="2030-01-01T00:00:00.5Z"), "bad expires"),
    (lambda signed: signed.update(spec_version="2.0.0"), "unsupported spec_version"),
    (lambda signed: [tf.pop("hashes") for tf in signed["targets"].values()], "bad hashes"),
    (lambda signed: [tf.update(length=-1) for tf in signed["targets"].values()], "bad length"),
    (lambda signed: signed.update(_type="snapshot"), "has type snapshot, expected targets"),
], ids=["string-version", "fractional-expires", "spec-2", "no-hashes", "negative-length",
        "wrong-type"])
def test_a_staged_role_python_tuf_could_not_load_is_refused(
    fx: Fixture, edit: object, reason: str
) -> None:
    """Signed by its author, so only the format check stands between it and every client."""
    restage(fx, edit)
    before = tree_digest(fx.repo_dir)
    result = publish(fx)
    assert result.exit_code == 1
    assert result.output.startswith("error: pkg-alice: release.json") and reason in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert tree_digest(fx.repo_dir) == before


def test_a_signatures_list_naming_one_key_twice_is_refused(fx: Fixture) -> None:
    path = fx.repo_dir / "staging" / "alice" / "1.0.0" / "release.json"
    document = json.loads(path.read_bytes())
    document["signatures"] = document["signatures"] * 2
    path.write_text(json.dumps(document))
    before = tree_digest(fx.repo_dir)
    result = publish(fx)
    assert result.exit_code == 1 and "duplicate signature by keyid" in result.output
    assert tree_digest(fx.repo_dir) == before


def test_the_spec_version_written_is_python_tufs() -> None:
    from tuf.api.metadata import SPECIFICATION_VERSION

    from tuf_metadata.repo_types import SPEC_VERSION

    assert SPEC_VERSION == ".".join(SPECIFICATION_VERSION)
