"""The trust state machine of the client workflow (TUF spec 1.0.34 section 5).

`TrustedSet` takes bytes and returns verified metadata; it never does I/O and
never decides where bytes come from. Each update method either accepts the
bytes (they become trusted) or raises a ClientError and leaves the set as it
was. The only exception is documented per method: an expired or mismatching
*intermediate* timestamp/snapshot still becomes the rollback baseline, while
the method raises so that the update stops.

Delegated roles are verified per (delegator, role) edge: a role reached via a
second delegator is re-verified with that delegator's keys (the "diamond"
case), and TAP 8 rotate chains are walked from that delegator's keys.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any, Generic, TypeVar

from securesystemslib.signer import Key
from tuf.api.exceptions import LengthOrHashMismatchError
from tuf.api.metadata import (
    DelegatedRole,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    SuccinctRoles,
    Targets,
    Timestamp,
)

from signing.threshold import KeyDict, check_threshold
from tuf_metadata import layout
from tuf_metadata.canonical import CanonicalJsonError, canonical_json
from tuf_metadata.client.errors import (
    BadSignatureError,
    DelegationError,
    EqualVersionError,
    ExpiredError,
    MalformedMetadataError,
    MismatchError,
    RollbackError,
)
from tuf_metadata.client.tree import (
    TrustedTree,
    check_bundle_rollback,
    check_listing_kept,
    check_node_rollback,
    parse_kept_bundle,
    timestamp_tree_ref,
    verify_bundle,
    verify_node,
)
from tuf_metadata.rotate import (
    RotationError,
    superseded_rotations,
    verify_rotation_chain,
)
from tuf_metadata.snapshot_tree import FileRef, Node, group_of_role
from tuf_metadata.trust import (
    delegated_keys,
    is_delegated_path,
    key_dicts,
    role_keys,
    signatures_of,
    sslib_keys,
)

SignedT = TypeVar("SignedT", Root, Timestamp, Snapshot, Targets)

TOP_LEVEL_DELEGATOR = "root"


@dataclass(frozen=True)
class Delegation:
    """What a delegator says about one delegated role, for one target path."""

    delegator: str
    role: str
    keys: Mapping[str, Key]
    threshold: int
    terminating: bool
    superseded: int = 0
    """Rotate files of the role this delegation supersedes: its chain starts after them."""


@dataclass(frozen=True)
class VerifiedRole:
    """A record of one verification, for reports: who signed what."""

    role: str
    delegator: str
    version: int
    keyids: tuple[str, ...]
    threshold: int
    rotations: int


@dataclass(frozen=True)
class Parsed(Generic[SignedT]):
    """Parsed metadata and the canonical bytes of its signed part."""

    metadata: Metadata[SignedT]
    signed_bytes: bytes

    @property
    def signed(self) -> SignedT:
        return self.metadata.signed


def parse_metadata(data: bytes, expected: type[SignedT], what: str) -> Parsed[SignedT]:
    """Parse DATA as metadata whose signed part is of type EXPECTED."""
    try:
        document = json.loads(data)
        signed = document.get("signed") if isinstance(document, dict) else None
        signed_bytes = canonical_json(signed)
        metadata: Metadata[Any] = Metadata.from_dict(document)
    except CanonicalJsonError as error:
        raise MalformedMetadataError(
            f"{what}: signed part is not canonical JSON: {error}"
        ) from None
    except Exception as error:  # the Metadata API raises many types for bad input
        raise MalformedMetadataError(f"{what}: not valid TUF metadata: {error}") from None
    if not isinstance(metadata.signed, expected):
        raise MalformedMetadataError(
            f"{what}: _type is {metadata.signed.type!r}, expected {expected.type!r}"
        )
    return Parsed(metadata, signed_bytes)


def _require_signed(
    what: str, keys: Mapping[str, KeyDict], threshold: int, parsed: Parsed[Any]
) -> None:
    """Refuse PARSED unless the one threshold rule (signing.threshold) accepts it."""
    result = check_threshold(parsed.signed_bytes, signatures_of(parsed.metadata), keys,
                             threshold)
    if not result.satisfied:
        raise BadSignatureError(f"{what}: {result.describe()} from trusted keys")


def _top_level_keys(root: Root, role: str) -> tuple[dict[str, KeyDict], int]:
    """The keys and threshold ROOT assigns to a top-level ROLE."""
    assigned = role_keys(root.to_dict(), role)
    if assigned is None:
        raise MalformedMetadataError(f"root: assigns no keys to top-level role {role!r}")
    return assigned.keys, assigned.threshold


def check_length_and_hashes(meta: MetaFile, data: bytes, what: str) -> None:
    try:
        meta.verify_length_and_hashes(data)
    except LengthOrHashMismatchError as error:
        raise MismatchError(f"{what}: {error}") from None


def role_covers_path(role: DelegatedRole, path: str) -> bool:
    """Whether a delegation's paths or hash prefixes include PATH (the repository's rule)."""
    return is_delegated_path(role.to_dict(), path)


def delegations_for_path(delegator: str, targets: Targets, path: str) -> Iterator[Delegation]:
    """The delegations of TARGETS that cover PATH, in priority order."""
    delegations = targets.delegations
    if delegations is None:
        return
    if delegations.roles is not None:
        for role in delegations.roles.values():
            if role_covers_path(role, path):
                yield Delegation(
                    delegator,
                    role.name,
                    delegated_keys(delegations.keys, role.keyids),
                    role.threshold,
                    role.terminating,
                    superseded_rotations(role.name, role.unrecognized_fields),
                )
    elif delegations.succinct_roles is not None:
        succinct: SuccinctRoles = delegations.succinct_roles
        yield Delegation(
            delegator,
            succinct.get_role_for_target(path),
            delegated_keys(delegations.keys, succinct.keyids),
            succinct.threshold,
            False,  # TAP 15: bins are never terminating
        )


def find_delegation(delegator: str, targets: Targets, role: str) -> Delegation | None:
    """The delegation of ROLE by TARGETS, whatever the target path."""
    delegations = targets.delegations
    if delegations is None:
        return None
    if delegations.roles is not None:
        found = delegations.roles.get(role)
        if found is None:
            return None
        return Delegation(
            delegator,
            role,
            delegated_keys(delegations.keys, found.keyids),
            found.threshold,
            found.terminating,
            superseded_rotations(role, found.unrecognized_fields),
        )
    succinct = delegations.succinct_roles
    if succinct is not None and succinct.is_delegated_role(role):
        return Delegation(
            delegator, role, delegated_keys(delegations.keys, succinct.keyids), succinct.threshold,
            False,
        )
    return None


class TrustedSet:
    """Verified metadata of one update cycle; bytes in, verified metadata out."""

    def __init__(self, root_data: bytes, reference_time: datetime) -> None:
        """Start from root metadata trusted out of band (its expiry is not checked yet)."""
        self.reference_time = reference_time
        root = parse_metadata(root_data, Root, "trusted root")
        keys, threshold = _top_level_keys(root.signed, Root.type)
        _require_signed("trusted root", keys, threshold, root)
        self.initial_root: Root = root.signed
        self._root: Metadata[Root] = root.metadata
        self._timestamp: Metadata[Timestamp] | None = None
        self._snapshot: Metadata[Snapshot] | None = None
        self._targets: Metadata[Targets] | None = None
        self._delegated: dict[str, tuple[Metadata[Targets], bytes]] = {}
        self._verified_edges: dict[tuple[str, str], VerifiedRole] = {}
        self._edge_keys: dict[tuple[str, str], dict[str, Key]] = {}
        self._rotate_index: tuple[object, dict[str, dict[int, MetaFile]]] | None = None
        self._tree: TrustedTree | None = None  # snapshot tree mode (docs/tap16-profile.md)

    # -- accessors ---------------------------------------------------------

    @property
    def root(self) -> Root:
        return self._root.signed

    @property
    def timestamp(self) -> Timestamp | None:
        return self._timestamp.signed if self._timestamp else None

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot.signed if self._snapshot else None

    @property
    def targets(self) -> Targets | None:
        return self._targets.signed if self._targets else None

    def verified(self) -> list[VerifiedRole]:
        """Every (delegator, role) verification made so far, in order."""
        return list(self._verified_edges.values())

    # -- root (5.3) ------------------------------------------------------

    def update_root(self, data: bytes) -> Root:
        """Accept root version N+1 signed by thresholds of root N and of itself."""
        if self._timestamp is not None:
            raise RuntimeError("root cannot change after timestamp was loaded")
        expected = self.root.version + 1
        new = parse_metadata(data, Root, f"root version {expected}")
        old_keys, old_threshold = _top_level_keys(self.root, Root.type)
        _require_signed(
            f"root version {expected} (keys of root {self.root.version})",
            old_keys,
            old_threshold,
            new,
        )
        new_keys, new_threshold = _top_level_keys(new.signed, Root.type)
        _require_signed(f"root version {expected} (its own keys)", new_keys, new_threshold, new)
        if new.signed.version != expected:
            raise RollbackError(
                f"root: expected version {expected}, got version {new.signed.version}"
            )
        self._root = new.metadata
        return new.signed

    def check_final_root(self) -> None:
        """Freeze check of the final root (5.3.10)."""
        if self.root.is_expired(self.reference_time):
            raise ExpiredError(f"root version {self.root.version} expired at {self.root.expires}")

    def rotated_online_roles(self) -> set[str]:
        """Timestamp/snapshot if root removed any of their keys since the initial root."""
        return {
            role
            for role in (Timestamp.type, Snapshot.type)
            if set(self.initial_root.roles[role].keyids) - set(self.root.roles[role].keyids)
        }

    # -- timestamp (5.4) -------------------------------------------------

    def update_timestamp(self, data: bytes) -> Timestamp:
        """Accept a newer timestamp; EqualVersionError when the version is unchanged.

        An expired timestamp still becomes the rollback baseline before
        ExpiredError is raised.
        """
        if self._snapshot is not None:
            raise RuntimeError("timestamp cannot change after snapshot was loaded")
        self.check_final_root()
        new = parse_metadata(data, Timestamp, "timestamp")
        keys, threshold = _top_level_keys(self.root, Timestamp.type)
        _require_signed("timestamp", keys, threshold, new)
        old = self.timestamp
        if old is not None:
            if new.signed.version < old.version:
                raise RollbackError(
                    f"timestamp: version {new.signed.version} is lower than trusted {old.version}"
                )
            if new.signed.version == old.version:
                raise EqualVersionError(f"timestamp: version {old.version} unchanged")
            if new.signed.snapshot_meta.version < old.snapshot_meta.version:
                raise RollbackError(
                    f"timestamp: snapshot version {new.signed.snapshot_meta.version} is lower "
                    f"than trusted {old.snapshot_meta.version}"
                )
        self._timestamp = new.metadata
        self.check_final_timestamp()
        return new.signed

    def check_final_timestamp(self) -> None:
        timestamp = self._require_timestamp()
        if timestamp.is_expired(self.reference_time):
            raise ExpiredError(
                f"timestamp version {timestamp.version} expired at {timestamp.expires}"
            )

    # -- snapshot (5.5) --------------------------------------------------

    def update_snapshot(self, data: bytes, *, from_local_store: bool = False) -> Snapshot:
        """Accept snapshot bytes vouched for by the trusted timestamp.

        FROM_LOCAL_STORE skips the hash check against timestamp (the stored
        copy was verified before and may be older). An expired snapshot or one
        whose version differs from timestamp's still becomes the rollback
        baseline before the error is raised.
        """
        if self._targets is not None:
            raise RuntimeError("snapshot cannot change after targets was loaded")
        self.check_final_timestamp()
        timestamp = self._require_timestamp()
        if not from_local_store:
            check_length_and_hashes(timestamp.snapshot_meta, data, "snapshot")
        new = parse_metadata(data, Snapshot, "snapshot")
        keys, threshold = _top_level_keys(self.root, Snapshot.type)
        _require_signed("snapshot", keys, threshold, new)
        old = self.snapshot
        if old is not None:
            check_listing_kept("snapshot", old.meta, new.signed.meta, attrgetter("version"))
        self._snapshot = new.metadata
        self.check_final_snapshot()
        return new.signed

    def older_snapshot(self, data: bytes, version: int) -> Snapshot:
        """Snapshot VERSION as it was published (`N.snapshot.json`), signed by the snapshot
        keys of the trusted root. It only answers what was listed then (`repo-tool rebuild
        --since`); it never becomes the trusted snapshot."""
        parsed = parse_metadata(data, Snapshot, f"snapshot {version}")
        keys, threshold = _top_level_keys(self.root, Snapshot.type)
        _require_signed(f"snapshot {version}", keys, threshold, parsed)
        if parsed.signed.version != version:
            raise MalformedMetadataError(
                f"snapshot {version}: the file is snapshot version {parsed.signed.version}"
            )
        return parsed.signed

    def check_final_snapshot(self) -> None:
        snapshot = self._require_snapshot()
        timestamp = self._require_timestamp()
        if snapshot.is_expired(self.reference_time):
            raise ExpiredError(f"snapshot version {snapshot.version} expired at {snapshot.expires}")
        if snapshot.version != timestamp.snapshot_meta.version:
            raise MismatchError(
                f"snapshot: version {snapshot.version} is not the version "
                f"{timestamp.snapshot_meta.version} timestamp lists"
            )

    # -- snapshot tree instead of snapshot (docs/tap16-profile.md) ---------

    @property
    def tree(self) -> TrustedTree | None:
        return self._tree

    def tree_ref(self) -> FileRef | None:
        """The node the trusted timestamp pins; None if the repository publishes no tree."""
        return timestamp_tree_ref(self._require_timestamp())

    def update_tree_node(self, data: bytes, *, from_local_store: bool = False) -> Node:
        """Accept the node of timestamp's snapshot version, instead of snapshot.

        FROM_LOCAL_STORE: the copy kept from an earlier run; its signature is checked
        and it becomes the rollback baseline, then MismatchError is raised unless it is
        the very node timestamp pins. A new node must not drop or lower anything the
        baseline listed.
        """
        if self._targets is not None or self._snapshot is not None:
            raise RuntimeError("the snapshot tree comes after timestamp, instead of snapshot")
        self.check_final_timestamp()
        timestamp = self._require_timestamp()
        ref = timestamp_tree_ref(timestamp)
        if ref is None:
            raise MismatchError("timestamp: publishes no snapshot tree")
        keys, threshold = _top_level_keys(self.root, Snapshot.type)
        version = timestamp.snapshot_meta.version
        node = verify_node(data, None if from_local_store else ref, version, keys, threshold)
        if self._tree is not None:
            check_node_rollback(self._tree.node, node)
        self._tree = TrustedTree(node)
        if from_local_store:
            verify_node(data, ref, version, keys, threshold)  # MismatchError unless current
        self.check_final_tree()
        return node

    def check_final_tree(self) -> None:
        node = self._require_tree().node
        timestamp = self._require_timestamp()
        if node.expires <= self.reference_time:
            raise ExpiredError(f"snapshot tree node {node.version} expired at {node.expires}")
        if node.version != timestamp.snapshot_meta.version:
            raise MismatchError(
                f"snapshot tree: node version {node.version} is not the version "
                f"{timestamp.snapshot_meta.version} timestamp lists"
            )

    def tree_bundle_needed(self, role: str) -> str | None:
        """The bundle ROLE's entry lies in if it is not loaded yet (None: nothing to load)."""
        tree = self._tree
        group = group_of_role(role)
        if tree is None or group is None or group in tree.bundles:
            return None
        return group if group in tree.node.bundles else None

    def update_tree_bundle(self, group: str, data: bytes, kept: bytes | None) -> None:
        """Accept bundle GROUP pinned by the trusted node; KEPT is the copy saved in an
        earlier run, the rollback baseline (no entry may vanish or go down)."""
        tree = self._require_tree()
        self.check_final_tree()
        bundle = verify_bundle(data, group, tree.node)
        old = tree.bundles.get(group) or parse_kept_bundle(kept, group)
        if old is not None:
            check_bundle_rollback(old, bundle)
        tree.bundles[group] = bundle

    def _require_tree(self) -> TrustedTree:
        if self._tree is None:
            raise RuntimeError("snapshot tree not loaded")
        return self._tree

    def _check_final_listing(self) -> None:
        if self._tree is not None:
            self.check_final_tree()
        else:
            self.check_final_snapshot()

    # -- targets (5.6) ---------------------------------------------------

    def update_targets(self, data: bytes) -> Targets:
        """Accept top-level targets bytes vouched for by the trusted snapshot."""
        self._check_final_listing()
        keys, threshold = _top_level_keys(self.root, Targets.type)
        new = self._verify_targets(data, Targets.type, keys, threshold)
        self._targets = new
        self._verified_edges[(TOP_LEVEL_DELEGATOR, Targets.type)] = VerifiedRole(
            Targets.type, TOP_LEVEL_DELEGATOR, new.signed.version, tuple(keys), threshold, 0
        )
        return new.signed

    def role_meta(self, role: str) -> MetaFile | None:
        """Snapshot's entry for ROLE's metadata file (in tree mode: the node's or its
        bundle's, which must have been loaded)."""
        if self._tree is not None:
            return self._tree.role_meta(role)
        return self._require_snapshot().meta.get(f"{role}.json")

    def rotate_entries(self, role: str) -> list[tuple[int, MetaFile]]:
        """Snapshot's TAP 8 entries for ROLE, numbered 1..N without gaps.

        Raises RotationError when the numbering has a gap, so that a withheld
        rotate file cannot shorten the chain.
        """
        listing: Mapping[str, MetaFile] = (
            self._tree.rotate_meta(role) if self._tree is not None
            else self._require_snapshot().meta
        )
        if self._rotate_index is None or self._rotate_index[0] is not listing:
            index: dict[str, dict[int, MetaFile]] = {}
            for name, meta in listing.items():
                parsed = layout.parse_rotate_file_name(name)
                if parsed is not None:
                    index.setdefault(parsed[0], {})[parsed[1]] = meta
            self._rotate_index = (listing, index)
        entries = self._rotate_index[1].get(role, {})
        if len(entries) > layout.MAX_ROTATIONS:
            # Refused before anything is downloaded: a long chain is a DoS attempt.
            raise RotationError(
                f"role {role!r} has {len(entries)} rotate files, more than the cap of "
                f"{layout.MAX_ROTATIONS}"
            )
        numbers = sorted(entries)
        if numbers != list(range(1, len(numbers) + 1)):
            missing = next(n for n in range(1, len(numbers) + 2) if n not in entries)
            raise RotationError(
                f"role {role!r}: snapshot lists rotate files {numbers} (gap at {missing})"
            )
        return [(number, entries[number]) for number in numbers]

    def verification(self, delegator: str, role: str) -> VerifiedRole:
        """The record of ROLE's verification through DELEGATOR."""
        return self._verified_edges[(delegator, role)]

    def is_verified(self, delegator: str, role: str) -> bool:
        return (delegator, role) in self._verified_edges

    def delegated_bytes(self, role: str) -> bytes | None:
        """The bytes of ROLE already accepted through some delegator, if any."""
        loaded = self._delegated.get(role)
        return loaded[1] if loaded else None

    def delegated(self, role: str) -> Targets:
        if role == Targets.type:
            targets = self.targets
            if targets is None:
                raise RuntimeError("targets not loaded")
            return targets
        return self._delegated[role][0].signed

    def update_delegated_targets(
        self,
        data: bytes,
        role: str,
        delegator: str,
        rotate_files: Sequence[bytes] = (),
        previous_rotate_files: Sequence[bytes | None] = (),
    ) -> Targets:
        """Accept ROLE's metadata as reached through DELEGATOR.

        ROTATE_FILES are the role's TAP 8 files 1..N, as snapshot lists them;
        PREVIOUS_ROTATE_FILES the copies verified in earlier runs (a changed
        file is refused unless it is a revocation). Keys and threshold come
        from DELEGATOR's delegation, then from the rotation chain.
        """
        if not self.is_verified_role(delegator):
            raise RuntimeError(f"delegator {delegator!r} is not trusted")
        delegation = find_delegation(delegator, self.delegated(delegator), role)
        if delegation is None:
            raise DelegationError(f"role {role!r} is not delegated by {delegator!r}")
        known = self._delegated.get(role)
        if known is not None and known[1] != data:
            raise MismatchError(f"role {role!r}: bytes differ from those already verified")
        entries = self.rotate_entries(role)
        if len(rotate_files) != len(entries):
            raise RotationError(
                f"role {role!r}: snapshot lists {len(entries)} rotate files, "
                f"{len(rotate_files)} provided (a listed rotate file is missing)"
            )
        for (number, meta), rotate_data in zip(entries, rotate_files, strict=True):
            check_length_and_hashes(meta, rotate_data, layout.rotate_file_name(role, number))
        keys, threshold = verify_rotation_chain(
            role, key_dicts(delegation.keys), delegation.threshold, rotate_files,
            previous_rotate_files, delegation.superseded,
        )
        new = self._verify_targets(data, role, keys, threshold)
        self._delegated[role] = (new, data)
        self._verified_edges[(delegator, role)] = VerifiedRole(
            role, delegator, new.signed.version, tuple(keys), threshold, len(entries)
        )
        self._edge_keys[(delegator, role)] = sslib_keys(keys)
        return new.signed

    def keys_in_force(self, delegator: str, role: str) -> dict[str, Key]:
        """The keys ROLE was verified with through DELEGATOR (after its TAP 8 chain): what
        anything ROLE signs outside its metadata (e.g. a rebuilder's attestations) must be
        signed with."""
        return dict(self._edge_keys[(delegator, role)])

    def is_verified_role(self, role: str) -> bool:
        """Whether ROLE has been verified through at least one edge."""
        if role == Targets.type:
            return self._targets is not None
        return role in self._delegated

    def _verify_targets(
        self, data: bytes, role: str, keys: Mapping[str, KeyDict], threshold: int
    ) -> Metadata[Targets]:
        meta = self.role_meta(role)
        if meta is None:
            raise DelegationError(f"role {role!r} is not listed in snapshot")
        check_length_and_hashes(meta, data, f"role {role!r}")
        new = parse_metadata(data, Targets, f"role {role!r}")
        _require_signed(f"role {role!r}", keys, threshold, new)
        if new.signed.version != meta.version:
            raise MismatchError(
                f"role {role!r}: version {new.signed.version} is not the version "
                f"{meta.version} snapshot lists"
            )
        if new.signed.is_expired(self.reference_time):
            raise ExpiredError(
                f"role {role!r} version {new.signed.version} expired at {new.signed.expires}"
            )
        return new.metadata

    def _require_timestamp(self) -> Timestamp:
        if self._timestamp is None:
            raise RuntimeError("timestamp not loaded")
        return self._timestamp.signed

    def _require_snapshot(self) -> Snapshot:
        if self._snapshot is None:
            raise RuntimeError("snapshot not loaded")
        return self._snapshot.signed
