"""The peer of `repo-tool publish --no-build`: the same publish with python-tuf's Metadata API.

Run: python -m bench.peer_publish REPO NAME VERSION

One cold process does what ours does for one staged release (tuf_metadata/releases.py):
load and verify root, timestamp, targets and the package's shard; load snapshot without
verifying it (ours reads the snapshot it signed itself without checking its signature again,
so the peer does not either: python-tuf would canonicalise the whole snapshot for that check,
work ours does not do); verify the staged package role against the shard's delegation; check
that it adds only the release's own files; check each file's length and sha256 and copy it to
targets/ under its hash; write the role file; then a new snapshot and a new timestamp, each
signed with its online key; finally remove the staged release. Written the straightforward
way a python-tuf user would write it (Metadata.from_file, verify_delegate, sign, to_file); no
caches survive the process.
"""

# ruff: noqa: I001  (signing first: see below)
from __future__ import annotations

# Loads securesystemslib the way repo-tool does, without the boto3 import its AWS signer
# triggers when boto3 is installed (signing/__init__.py): both sides then pay for the same
# imports, those of an installation without boto3.
import signing  # noqa: F401

import hashlib
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import Metadata, MetaFile, Root, Snapshot, Targets, Timestamp
from tuf.api.serialization.json import JSONSerializer

from tuf_metadata import layout
from tuf_metadata.repo_paths import repository_paths

SERIALIZER = JSONSerializer(compact=True)


def newest_root(metadata: Path) -> Metadata[Root]:
    version = 1
    while (metadata / f"{version + 1}.root.json").exists():
        version += 1
    root = Metadata[Root].from_file(str(metadata / f"{version}.root.json"))
    root.verify_delegate(Root.type, root)
    return root


def online_signer(repo: Path, role: str) -> CryptoSigner:
    key = load_pem_private_key((repo / "online" / f"{role}.key").read_bytes(), None)
    return CryptoSigner(key)


def publish(repo: Path, name: str, version: str) -> None:
    metadata = repository_paths(repo).metadata
    root = newest_root(metadata)
    timestamp = Metadata[Timestamp].from_file(str(metadata / "timestamp.json"))
    root.verify_delegate(Timestamp.type, timestamp)
    snapshot_version = timestamp.signed.snapshot_meta.version
    # Not verified, as ours does not verify the snapshot it signed (see the docstring).
    snapshot = Metadata[Snapshot].from_file(str(metadata / f"{snapshot_version}.snapshot.json"))
    meta = snapshot.signed.meta
    targets = Metadata[Targets].from_file(
        str(metadata / f"{meta['targets.json'].version}.targets.json"))
    root.verify_delegate(Targets.type, targets)
    shards = layout.shard_layout_of(targets.signed)
    shard_role = shards.shard_role(name)
    shard = Metadata[Targets].from_file(
        str(metadata / f"{meta[shard_role + '.json'].version}.{shard_role}.json"))
    targets.verify_delegate(shard_role, shard)

    role = layout.package_role(name)
    staged_dir = repo / "staging" / name / version
    release = Metadata[Targets].from_file(str(staged_dir / "release.json"))
    shard.verify_delegate(role, release)
    current = meta[role + ".json"].version
    if release.signed.version != current + 1:
        raise SystemExit(f"{role}: staged version {release.signed.version}, published {current}")
    before = Metadata[Targets].from_file(str(metadata / f"{current}.{role}.json")).signed.targets
    prefix = shards.target_path(name, version, "")
    for path, target in release.signed.targets.items():
        if path in before:
            if before[path] != target:
                raise SystemExit(f"{role}: release changes {path}")
            continue
        if not path.startswith(prefix):
            raise SystemExit(f"{role}: release adds {path} outside {prefix}")
        base_name = path.rsplit("/", 1)[1]
        folder = "images" if base_name.startswith(f"{name}.") else "files"  # author's images
        local = staged_dir / folder / base_name
        data = local.read_bytes()
        target.verify_length_and_hashes(data)
        directory, base = path.rsplit("/", 1)
        destination = (repository_paths(repo).targets / directory
                       / f"{hashlib.sha256(data).hexdigest()}.{base}")
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not destination.exists():
            shutil.copyfile(local, destination)
    release.to_file(str(metadata / f"{release.signed.version}.{role}.json"), SERIALIZER)

    now = datetime.now(UTC).replace(microsecond=0)
    meta[role + ".json"] = MetaFile(version=release.signed.version)
    snapshot.signed.version += 1
    snapshot.signed.expires = now + timedelta(days=1)
    snapshot.signatures.clear()
    snapshot.sign(online_signer(repo, "snapshot"))
    snapshot_bytes = snapshot.to_bytes(SERIALIZER)
    (metadata / f"{snapshot.signed.version}.snapshot.json").write_bytes(snapshot_bytes)

    timestamp.signed.snapshot_meta = MetaFile(
        version=snapshot.signed.version,
        length=len(snapshot_bytes),
        hashes={"sha256": hashlib.sha256(snapshot_bytes).hexdigest()},
    )
    timestamp.signed.version += 1
    timestamp.signed.expires = now + timedelta(days=1)
    timestamp.signatures.clear()
    timestamp.sign(online_signer(repo, "timestamp"))
    (metadata / "timestamp.json").write_bytes(timestamp.to_bytes(SERIALIZER))
    shutil.rmtree(staged_dir)


def main() -> None:
    repo, name, version = sys.argv[1:4]
    publish(Path(repo), name, version)


if __name__ == "__main__":
    main()
