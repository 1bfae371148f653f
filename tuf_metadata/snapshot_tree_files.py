"""The repository side of the snapshot tree (tuf_metadata.snapshot_tree): its files.

When repo.json has `"snapshot_tree": true`, every snapshot version V also gets
metadata/snapshot-tree/V.node.json (signed by the snapshot keys) and a new
V.bundle-XX.json for each shard XX whose entries changed since V-1; timestamp.json
then carries the node's version, length and sha256 (`timestamp_field`).

Cost of a publish: the previous node and the previous bundles of the changed shards
are read (each checked against the sha256 the previous node lists), and only those
bundles are re-encoded. When the previous node is missing or does not check out (the
tree was just turned on, or a crash fell between snapshot V and its node), the tree of
V is built in full from snapshot V's entries, once.

Files are written in the order a client reads them backwards: bundles, node, then
(by the caller) timestamp, whose rename is the commit point. Tree files are never
deleted by the repository, like old snapshot files.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signing.key_files import KeySigner
from signing.threshold import signature_map
from tuf_metadata.canonical import canonical_json
from tuf_metadata.metadata_reader import MetadataReader
from tuf_metadata.repo_types import TREE_KEY, CorruptMetadataError
from tuf_metadata.snapshot_tree import (
    TIMESTAMP_FIELD,
    FileRef,
    Node,
    bundle_file_name,
    changed_groups,
    next_tree,
    node_file_name,
    parse_bundle,
    parse_node,
    tree_mismatch,
)
from tuf_metadata.store import atomic_write, repository_lock, write_once
from tuf_metadata.trust import check_role

if TYPE_CHECKING:
    from tuf.api.metadata import Root, Timestamp


def set_tree_enabled(files: MetadataReader, enabled: bool) -> None:
    """Record in repo.json whether snapshot versions from the next one on get a tree."""
    with repository_lock(files.root_dir):
        config = files.config()
        config[TREE_KEY] = enabled
        atomic_write(files.config_path, (json.dumps(config, indent=2) + "\n").encode())


def _read_node(files: MetadataReader, version: int) -> Node | None:
    """Our own node of VERSION, or None if it is missing or unreadable (then: full build)."""
    try:
        document = json.loads((files.metadata_dir / node_file_name(version)).read_bytes())
        return parse_node(document["signed"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _read_bundle(files: MetadataReader, group: str, ref: FileRef) -> dict[str, Any] | None:
    """Bundle GROUP's entries if its file is exactly the one REF pins, else None."""
    try:
        data = (files.metadata_dir / bundle_file_name(ref.version, group)).read_bytes()
        if len(data) != ref.length or hashlib.sha256(data).hexdigest() != ref.sha256:
            return None
        return parse_bundle(json.loads(data)).meta
    except (OSError, ValueError):
        return None


def write_tree(
    files: MetadataReader, signed: Mapping[str, Any], changes: Mapping[str, Any],
    whole_meta: Callable[[], Mapping[str, Any]], signers: Sequence[KeySigner], *,
    incremental: bool = True,
) -> FileRef:
    """Write the tree of snapshot SIGNED (its "meta" ignored), which is snapshot version
    V-1 plus CHANGES; WHOLE_META gives its entire meta for a full build. Returns the
    node's reference for timestamp. An existing node of V (a rerun) is kept."""
    version = int(signed["version"])
    node_path = files.metadata_dir / node_file_name(version)
    if node_path.exists():
        return FileRef.of(version, node_path.read_bytes())
    previous = _read_node(files, version - 1) if incremental else None
    old: dict[str, Mapping[str, Any]] = {}
    if previous is not None:
        for group in changed_groups(changes) & set(previous.bundles):
            entries = _read_bundle(files, group, previous.bundles[group])
            if entries is None:
                previous = None
                break
            old[group] = entries
    expires, spec_version = str(signed["expires"]), str(signed["spec_version"])
    if previous is None:
        update = next_tree(version, expires, spec_version, None, {}, whole_meta())
    else:
        update = next_tree(version, expires, spec_version, previous, old, changes)
    for path, data in update.bundles.items():
        write_once(files.metadata_dir / path, data, sync_dir=False)
    payload = canonical_json(update.node_signed)
    signatures = [signer.sign(payload) for signer in signers]
    node = canonical_json({"signatures": signatures, "signed": update.node_signed})
    write_once(node_path, node)  # its directory fsync also covers the bundles' names
    return FileRef.of(version, node)


def audit_tree(metadata_dir: Path, root: Root, timestamp: Timestamp, snapshot_bytes: bytes
               ) -> str | None:
    """What is wrong with the tree TIMESTAMP pins (None: nothing, or no tree): the node must
    match timestamp's length and sha256 and be signed by ROOT's snapshot keys, every bundle
    must match the node, and together they must list exactly snapshot's entries. The
    auditor's check of TAP 16, made by `repo-tool verify` on every published version."""
    value = timestamp.unrecognized_fields.get(TIMESTAMP_FIELD)
    if value is None:
        return None
    try:
        ref = FileRef.from_dict(value, f"timestamp's {TIMESTAMP_FIELD}")
        name = node_file_name(ref.version)
        data = (metadata_dir / name).read_bytes()
        if FileRef.of(ref.version, data) != ref:
            return f"{name} does not match timestamp's length and sha256"
        document = json.loads(data)
        node = parse_node(document["signed"])
        signatures = signature_map(document["signatures"])
        if not check_role(root.to_dict(), "snapshot", canonical_json(document["signed"]),
                          signatures).satisfied:
            return f"{name} is not signed by a threshold of root's snapshot keys"
        bundles = {}
        for group, bundle_ref in node.bundles.items():
            bundle_name = bundle_file_name(bundle_ref.version, group)
            bundle_data = (metadata_dir / bundle_name).read_bytes()
            if FileRef.of(bundle_ref.version, bundle_data) != bundle_ref:
                return f"{bundle_name} does not match the length and sha256 {name} lists"
            bundles[group] = parse_bundle(json.loads(bundle_data))
        snapshot_meta = json.loads(snapshot_bytes)["signed"]["meta"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        return f"unreadable ({error})"
    mismatch = tree_mismatch(node, bundles, snapshot_meta)
    return None if mismatch is None else f"{name}: {mismatch}"


def timestamp_field(files: MetadataReader, snapshot_version: int, snapshot_bytes: bytes,
                    signers: Sequence[KeySigner]) -> dict[str, Any]:
    """The extra signed timestamp field for SNAPSHOT_VERSION of a repository that
    publishes the tree.

    The node is normally written with its snapshot; when it is missing (the tree was
    turned on since, or a crash came between the two) it is built in full here."""
    path = files.metadata_dir / node_file_name(snapshot_version)
    if path.exists():
        ref = FileRef.of(snapshot_version, path.read_bytes())
    else:
        try:
            signed = dict(json.loads(snapshot_bytes)["signed"])
            meta = dict(signed.pop("meta"))
        except (ValueError, KeyError, TypeError):
            raise CorruptMetadataError(
                f"snapshot: version {snapshot_version} does not parse; run repo-tool verify"
            ) from None
        ref = write_tree(files, signed, {}, lambda: meta, signers, incremental=False)
    return {TIMESTAMP_FIELD: ref.to_dict()}
