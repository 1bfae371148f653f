"""Verifying the snapshot tree (docs/tap16-profile.md): bytes in, trusted entries out.

The chain a tree-mode client checks, each link pure:

    timestamp (signed by the timestamp keys) --field snapshot_tree: length, sha256-->
    node V   (signed by the snapshot keys, version V = timestamp's snapshot version)
             --per shard: version, length, sha256--> bundle XX --> role entries

so a role entry is trusted exactly when snapshot.json's would be: the same two online
keys vouch for it, and the timestamp pins the node byte for byte. Rollback: a new
node must keep every entry and bundle the trusted one had, at no lower version; a
new bundle every entry of the bundle kept from an earlier run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from typing import Any, TypeVar

from tuf.api.metadata import MetaFile, Timestamp

from signing.threshold import KeyDict, check_threshold, signature_map
from tuf_metadata.canonical import CanonicalJsonError, canonical_json
from tuf_metadata.client.errors import (
    BadSignatureError,
    MalformedMetadataError,
    MismatchError,
    RollbackError,
)
from tuf_metadata.snapshot_tree import (
    TIMESTAMP_FIELD,
    Bundle,
    FileRef,
    Node,
    bundle_file_name,
    group_of_role,
    node_file_name,
    parse_bundle,
    parse_node,
)

E = TypeVar("E")  # one entry of a listing (a MetaFile, a FileRef or a plain dict)


def timestamp_tree_ref(timestamp: Timestamp) -> FileRef | None:
    """The node the signed TIMESTAMP pins, or None if it publishes no tree."""
    value = timestamp.unrecognized_fields.get(TIMESTAMP_FIELD)
    if value is None:
        return None
    try:
        ref = FileRef.from_dict(value, f"timestamp: field {TIMESTAMP_FIELD}")
    except ValueError as error:
        raise MalformedMetadataError(str(error)) from None
    if ref.version != timestamp.snapshot_meta.version:
        raise MalformedMetadataError(
            f"timestamp: field {TIMESTAMP_FIELD} names node version {ref.version}, not the "
            f"snapshot version {timestamp.snapshot_meta.version}"
        )
    return ref


def _check_pinned(ref: FileRef, data: bytes, what: str) -> None:
    meta = MetaFile(version=ref.version, length=ref.length, hashes={"sha256": ref.sha256})
    try:
        meta.verify_length_and_hashes(data)
    except Exception as error:  # LengthOrHashMismatchError: refused either way
        raise MismatchError(f"{what}: {error}") from None


def verify_node(data: bytes, ref: FileRef | None, version: int, keys: Mapping[str, KeyDict],
                threshold: int) -> Node:
    """Node bytes for snapshot VERSION, pinned by REF (None: our own stored copy, whose
    signature is checked again but whose version may be older). Expiry is the caller's."""
    what = node_file_name(ref.version if ref is not None else version)
    if ref is not None:
        _check_pinned(ref, data, what)
    try:
        document = json.loads(data)
        signed = document["signed"]
        signatures = signature_map(document["signatures"])
        payload = canonical_json(signed)
        node = parse_node(signed)
    except (ValueError, KeyError, TypeError, AttributeError, CanonicalJsonError) as error:
        raise MalformedMetadataError(f"{what}: not a snapshot tree node ({error})") from None
    result = check_threshold(payload, signatures, keys, threshold)
    if not result.satisfied:
        raise BadSignatureError(f"{what}: {result.describe()} from the snapshot keys")
    if ref is not None and node.version != version:
        raise MismatchError(f"{what}: node version {node.version} is not the snapshot "
                            f"version {version} timestamp lists")
    return node


def check_listing_kept(what: str, old: Mapping[str, E], new: Mapping[str, E],
                       version: Callable[[E], int], entry: str = "") -> None:
    """The rollback rule for every listing of versions (TUF 5.5.5 for snapshot's meta; the
    snapshot tree's node and bundles the same): refuse the newer listing NEW (file WHAT)
    if it drops a name the trusted listing OLD has, or lists one at a lower version."""
    for name, trusted in old.items():
        listed = new.get(name)
        if listed is None:
            raise RollbackError(f"{what}: {entry}{name} is no longer listed")
        if version(listed) < version(trusted):
            raise RollbackError(f"{what}: {entry}{name} version {version(listed)} is lower "
                                f"than trusted {version(trusted)}")


def check_node_rollback(old: Node, new: Node) -> None:
    """Refuse NEW if it drops or lowers anything the trusted node OLD listed."""
    what = node_file_name(new.version)
    if new.version < old.version:
        raise RollbackError(f"{what}: version {new.version} is lower than trusted "
                            f"{old.version}")
    check_listing_kept(what, old.top, new.top, itemgetter("version"))
    check_listing_kept(what, old.bundles, new.bundles, attrgetter("version"), "bundle ")


def verify_bundle(data: bytes, group: str, node: Node) -> Bundle:
    """Bundle GROUP's bytes, pinned by the trusted NODE."""
    ref = node.bundles.get(group)
    if ref is None:
        raise MismatchError(f"bundle {group}: node {node.version} lists no such bundle")
    what = bundle_file_name(ref.version, group)
    _check_pinned(ref, data, what)
    try:
        bundle = parse_bundle(json.loads(data))
    except ValueError as error:
        raise MalformedMetadataError(f"{what}: not a snapshot bundle ({error})") from None
    if bundle.group != group or bundle.version != ref.version:
        raise MismatchError(f"{what}: holds bundle {bundle.group} version {bundle.version}")
    return bundle


def check_bundle_rollback(old: Bundle, new: Bundle) -> None:
    """Refuse NEW if it drops or lowers an entry of OLD, the copy kept from an earlier run."""
    what = bundle_file_name(new.version, new.group)
    if new.version < old.version:
        raise RollbackError(f"{what}: version {new.version} is lower than trusted "
                            f"{old.version}")
    check_listing_kept(what, old.meta, new.meta, itemgetter("version"))


def parse_kept_bundle(data: bytes | None, group: str) -> Bundle | None:
    """The bundle kept in the client's store (verified when it was saved), if it parses."""
    if data is None:
        return None
    try:
        bundle = parse_bundle(json.loads(data))
    except ValueError:
        return None
    return bundle if bundle.group == group else None


def _meta_file(name: str, value: Mapping[str, Any]) -> MetaFile:
    try:
        return MetaFile.from_dict(dict(value))
    except (KeyError, TypeError, ValueError):
        raise MalformedMetadataError(f"snapshot tree: entry {name} is malformed") from None


@dataclass
class TrustedTree:
    """The trusted node of this update and the bundles verified against it so far."""

    node: Node
    bundles: dict[str, Bundle] = field(default_factory=dict)

    def entries_for(self, role: str) -> Mapping[str, Any]:
        """Every entry of the group ROLE's entries live in (the node's own, or a bundle's).

        RuntimeError if that bundle was not loaded: the updater loads it first."""
        group = group_of_role(role)
        if group is None:
            return self.node.top
        if group not in self.node.bundles:
            return {}
        bundle = self.bundles.get(group)
        if bundle is None:
            raise RuntimeError(f"bundle {group} not loaded")
        return bundle.meta

    def role_meta(self, role: str) -> MetaFile | None:
        name = f"{role}.json"
        value = self.entries_for(role).get(name)
        return None if value is None else _meta_file(name, value)

    def rotate_meta(self, role: str) -> dict[str, MetaFile]:
        """The entries of ROLE's group, as MetaFiles (rotate files included)."""
        return {name: _meta_file(name, value) for name, value in self.entries_for(role).items()}
