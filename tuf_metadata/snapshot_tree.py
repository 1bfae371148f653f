"""Snapshot Merkle tree (our TAP 16 profile, docs/tap16-profile.md): names, formats, building.

snapshot.json lists every role, so a fresh client downloads O(packages) bytes. The
tree splits the same entries along the first two hex digits of the repository's shard
prefixes (tuf_metadata.layout; 256 bundles whatever the shard count):

- a *bundle* per two-digit prefix `XX` holds the snapshot entries of every shard
  `shard-XX...`, of every `pkg-NAME` in those shards and of their TAP 8 rotate files; it
  is not signed, it is
  named by the snapshot version that wrote it and pinned by its sha256;
- the *node* (one per snapshot version) lists the 256 bundles (version, length,
  sha256) and, itself, the entries of every other role (targets, rebuilder roles:
  what top-level targets delegates besides shards, which every client downloads
  anyway); the snapshot keys sign it, like snapshot.json;
- timestamp.json carries the node's version, length and sha256 in an extra signed
  field, TIMESTAMP_FIELD (clients that do not know it ignore it).

The node's sha256 is the tree's root: it commits to every bundle's sha256, so to
every entry. A publish rewrites only the bundles of the shards it changed and the
node (`next_tree`); an unchanged bundle keeps its file and name.

Everything here is pure (values in, values out); tuf_metadata.snapshot_tree_files
writes the files and the client (tuf_metadata.client.tree) verifies them.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tuf_metadata import layout
from tuf_metadata.canonical import canonical_json

TREE_DIR = "snapshot-tree"
TIMESTAMP_FIELD = "snapshot_tree"
NODE_TYPE = "snapshot-tree"
BUNDLE_TYPE = "snapshot-bundle"
BUNDLE_DIGITS = 2  # 256 bundles, whatever layout.SHARD_DIGITS the repository uses
_GROUP = re.compile(r"[0-9a-f]{2}")
_SHARD = re.compile(
    "|".join(f"[0-9a-f]{{{digits}}}" for digits in layout.SHARD_DIGITS))
_SHA256 = re.compile(r"[0-9a-f]{64}")
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def role_of_meta_name(meta_name: str) -> str:
    """The role a snapshot meta key belongs to: `ROLE.json` or a TAP 8 rotate file's role."""
    rotate = layout.parse_rotate_file_name(meta_name)
    if rotate is not None:
        return rotate[0]
    return meta_name.removesuffix(".json")


def group_of_role(role: str) -> str | None:
    """The bundle holding ROLE's entries, or None for the node's own entries.

    Bundles are keyed by the first BUNDLE_DIGITS hex digits whatever the repository's shard
    prefix length: bundle XX holds every shard `shard-XX...` and every package whose name
    hashes to XX..., so the node stays 256 references long (docs/tap16-profile.md)."""
    if role.startswith(layout.SHARD_PREFIX):
        prefix = role[len(layout.SHARD_PREFIX):]
        return prefix[:BUNDLE_DIGITS] if _SHARD.fullmatch(prefix) else None
    package = layout.package_of_role(role)
    return layout.name_hash(package)[:BUNDLE_DIGITS] if package is not None else None


def group_of(meta_name: str) -> str | None:
    """The bundle of a snapshot meta key (None: listed in the node itself)."""
    return group_of_role(role_of_meta_name(meta_name))


def node_file_name(version: int) -> str:
    """Path of snapshot version VERSION's node under the metadata URL."""
    return f"{TREE_DIR}/{version}.node.json"


def bundle_file_name(version: int, group: str) -> str:
    """Path of shard GROUP's bundle written at snapshot version VERSION."""
    return f"{TREE_DIR}/{version}.bundle-{group}.json"


@dataclass(frozen=True)
class FileRef:
    """Version, length and sha256 of a tree file: the shape of a snapshot meta entry."""

    version: int
    length: int
    sha256: str

    def to_dict(self) -> dict[str, Any]:
        return {"hashes": {"sha256": self.sha256}, "length": self.length,
                "version": self.version}

    @classmethod
    def of(cls, version: int, data: bytes) -> FileRef:
        return cls(version, len(data), hashlib.sha256(data).hexdigest())

    @classmethod
    def from_dict(cls, value: Any, what: str) -> FileRef:
        """Parse; ValueError naming WHAT if VALUE is not {version, length, hashes.sha256}."""
        try:
            version, length = value["version"], value["length"]
            digest = value["hashes"]["sha256"]
        except (KeyError, TypeError):
            raise ValueError(f"{what}: needs version, length and hashes.sha256") from None
        if (not isinstance(version, int) or isinstance(version, bool) or version < 1
                or not isinstance(length, int) or isinstance(length, bool) or length < 1
                or not isinstance(digest, str) or not _SHA256.fullmatch(digest)):
            raise ValueError(f"{what}: version and length must be positive integers, "
                             f"sha256 64 lowercase hex digits")
        return cls(version, length, digest)


@dataclass(frozen=True)
class Node:
    """A parsed node's signed part."""

    version: int
    expires: datetime
    top: dict[str, dict[str, Any]]  # meta entries of roles in no bundle
    bundles: dict[str, FileRef]  # shard prefix -> its bundle


@dataclass(frozen=True)
class Bundle:
    """A parsed bundle."""

    group: str
    version: int
    meta: dict[str, dict[str, Any]]


def _entry_version(name: str, value: Any) -> int:
    if not isinstance(value, dict):
        raise ValueError(f"entry {name}: not an object")
    version = value.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ValueError(f"entry {name}: no valid version")
    return version


def parse_node(signed: Any) -> Node:
    """The node in SIGNED (a node file's "signed" object); ValueError if malformed."""
    if not isinstance(signed, dict) or signed.get("_type") != NODE_TYPE:
        raise ValueError(f"_type is not {NODE_TYPE!r}")
    version = signed.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("no valid version")
    try:
        expires = datetime.strptime(str(signed["expires"]), _TIME_FORMAT).replace(tzinfo=UTC)
    except (KeyError, ValueError):
        raise ValueError("no valid expires") from None
    top, bundles = signed.get("top"), signed.get("bundles")
    if not isinstance(top, dict) or not isinstance(bundles, dict):
        raise ValueError("top and bundles must be objects")
    for name, value in top.items():
        _entry_version(name, value)
        if group_of(name) is not None:
            raise ValueError(f"entry {name} belongs in bundle {group_of(name)}, not the node")
    refs = {}
    for group, value in bundles.items():
        if not isinstance(group, str) or not _GROUP.fullmatch(group):
            raise ValueError(f"bundle name {group!r} is not a shard prefix")
        refs[group] = FileRef.from_dict(value, f"bundle {group}")
        if refs[group].version > version:  # written by a snapshot after this one: forged
            raise ValueError(f"bundle {group} version {refs[group].version} is above the "
                             f"node's {version}")
    return Node(version, expires, dict(top), refs)


def parse_bundle(document: Any) -> Bundle:
    """The bundle in DOCUMENT (a parsed bundle file); ValueError if malformed."""
    if not isinstance(document, dict) or document.get("_type") != BUNDLE_TYPE:
        raise ValueError(f"_type is not {BUNDLE_TYPE!r}")
    group, version, meta = document.get("bundle"), document.get("version"), document.get("meta")
    if not isinstance(group, str) or not _GROUP.fullmatch(group):
        raise ValueError("bundle name is not a shard prefix")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError("no valid version")
    if not isinstance(meta, dict):
        raise ValueError("meta must be an object")
    for name, value in meta.items():
        _entry_version(name, value)
        if group_of(name) != group:
            raise ValueError(f"entry {name} does not belong in bundle {group}")
    return Bundle(group, version, dict(meta))


def tree_file_names(node_signed: Any) -> list[str]:
    """The bundle files (paths under metadata/) a node's signed part references."""
    node = parse_node(node_signed)
    return [bundle_file_name(ref.version, group) for group, ref in sorted(node.bundles.items())]


def tree_mismatch(node: Node, bundles: Mapping[str, Bundle], snapshot_meta: Mapping[str, Any]
                  ) -> str | None:
    """Why NODE and its BUNDLES do not list exactly SNAPSHOT_META (None: they do)."""
    listed = dict(node.top)
    for group in node.bundles:
        bundle = bundles[group]
        if bundle.group != group or bundle.version != node.bundles[group].version:
            return f"bundle {group} is not the one the node lists"
        listed.update(bundle.meta)
    for name in sorted(set(listed) | set(snapshot_meta)):
        if listed.get(name) != snapshot_meta.get(name):
            return (f"{name} is {listed.get(name)} in the tree but {snapshot_meta.get(name)} "
                    f"in snapshot")
    return None


def encode_bundle(group: str, version: int, meta: Mapping[str, Any]) -> bytes:
    """A bundle file's bytes (canonical JSON; the node pins their sha256)."""
    return canonical_json({"_type": BUNDLE_TYPE, "bundle": group, "meta": dict(meta),
                           "version": version})


def changed_groups(changes: Mapping[str, Any]) -> set[str]:
    """The bundles that CHANGES (snapshot meta key -> new entry) touch."""
    return {group for group in map(group_of, changes) if group is not None}


@dataclass(frozen=True)
class TreeUpdate:
    """What one snapshot version adds to the tree: new bundle files and the node to sign."""

    bundles: dict[str, bytes]  # path under metadata/ -> bytes
    node_signed: dict[str, Any]


def next_tree(
    version: int, expires: str, spec_version: str, previous: Node | None,
    old_bundles: Mapping[str, Mapping[str, Any]], changes: Mapping[str, Any],
) -> TreeUpdate:
    """The tree of snapshot VERSION = PREVIOUS's tree with CHANGES applied.

    OLD_BUNDLES holds the entries of every bundle in changed_groups(CHANGES) that
    PREVIOUS lists. With PREVIOUS None, CHANGES must be the whole snapshot meta (a
    full build: every bundle written). Only changed bundles are encoded.
    """
    top = dict(previous.top) if previous is not None else {}
    refs = dict(previous.bundles) if previous is not None else {}
    by_group: dict[str, dict[str, Any]] = {}
    for name, entry in changes.items():
        group = group_of(name)
        if group is None:
            top[name] = entry
        else:
            by_group.setdefault(group, {})[name] = entry
    files = {}
    for group, entries in sorted(by_group.items()):
        data = encode_bundle(group, version, {**old_bundles.get(group, {}), **entries})
        files[bundle_file_name(version, group)] = data
        refs[group] = FileRef.of(version, data)
    signed = {
        "_type": NODE_TYPE, "spec_version": spec_version, "version": version,
        "expires": expires, "top": top,
        "bundles": {group: ref.to_dict() for group, ref in sorted(refs.items())},
    }
    return TreeUpdate(files, signed)
