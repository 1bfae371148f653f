"""Whole-repository check from the published files alone, as a thorough client would see them.

Walks root's chain from 1.root.json, then timestamp -> snapshot -> targets ->
every shard -> every package role, and every rebuilder role (each after its
TAP 8 rotate chain), and checks every listed target file exists under its
hash-prefixed name with the right length and sha256. The summary lists the
published images and attestations, so that `repo-tool verify` can say how many
rebuilders confirmed each image (builder.rebuilder_policy decides that).
Used by `repo-tool verify` and the crash-consistency tests.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key
from tuf.api.metadata import DelegatedRole, Metadata, Root, Snapshot, Targets, Timestamp
from tuf.api.serialization import DeserializationError

from signing.threshold import KeyDict, check_threshold
from tuf_metadata import layout
from tuf_metadata.errors import TufError
from tuf_metadata.hosting import check_published_tree
from tuf_metadata.repo_paths import read_config, repository_paths
from tuf_metadata.repo_types import SHARD_DIGITS_KEY
from tuf_metadata.rotate import (
    RoleRevokedError,
    RotationError,
    superseded_rotations,
    verify_rotation_chain,
)
from tuf_metadata.snapshot_tree_files import audit_tree
from tuf_metadata.trust import (
    check_role,
    delegated_keys,
    key_dicts,
    role_keys,
    signatures_of,
    signed_payload,
    sslib_keys,
)


class VerificationFailure(TufError):
    """The published repository fails a check; the message names the role and the check."""


@dataclass(frozen=True)
class PublishedImage:
    """An image target a verified package role lists."""

    package: str
    version: str
    target: str
    sha256: str
    length: int


@dataclass(frozen=True)
class PublishedAttestation:
    """An attestation target a verified rebuilder role lists, with the rebuilder's keys in
    force (its DSSE signature is judged by builder.rebuilder_policy, not here)."""

    rebuilder: str
    package: str
    version: str
    target: str
    envelope: bytes
    keys: Mapping[str, Key]


@dataclass(frozen=True)
class VerifySummary:
    root_version: int
    snapshot_version: int
    timestamp_version: int
    roles: int
    targets: int
    revoked: tuple[str, ...]
    images: tuple[PublishedImage, ...] = ()
    attestations: tuple[PublishedAttestation, ...] = ()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _parse(role: str, data: bytes, name: str) -> Metadata[Any]:
    try:
        return Metadata.from_bytes(data)
    except DeserializationError:
        raise VerificationFailure(f"{role}: {name} does not parse") from None


def _read(metadata_dir: Path, role: str, name: str) -> bytes:
    try:
        return (metadata_dir / name).read_bytes()
    except FileNotFoundError:
        raise VerificationFailure(f"{role}: {name} is missing") from None


SignatureCache = dict[tuple[str, str, str], bool]
"""Signature checks already passed: (role, digest of payload and signatures, digest of the
delegator's keys and threshold for the role). Files are immutable per version, so a caller
verifying the same repository repeatedly (the crash tests) can reuse them."""


def _delegation_digest(role: str, delegator: Root | Targets) -> str:
    assigned = role_keys(delegator.to_dict(), role)
    doc = None if assigned is None else {
        "threshold": assigned.threshold,
        "keys": assigned.keys,
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def _check_signed(
    role: str, delegator: Root | Targets, md: Metadata[Any], by: str,
    cache: SignatureCache | None = None,
) -> None:
    payload = signed_payload(md)
    key = None
    if cache is not None:
        signatures = json.dumps(
            sorted((k, s.signature) for k, s in md.signatures.items())
        ).encode()
        key = (role, _sha256(payload + b"\0" + signatures), _delegation_digest(role, delegator))
        if cache.get(key):
            return
    result = check_role(delegator.to_dict(), role, payload, signatures_of(md))
    if not result.satisfied:
        raise VerificationFailure(
            f"{role}: version {md.signed.version} has {result.describe()} by {by}"
        )
    if key is not None and cache is not None:
        cache[key] = True


def _check_fresh(role: str, md: Metadata[Any], now: datetime | None) -> None:
    if now is not None and md.signed.is_expired(now):
        raise VerificationFailure(f"{role}: version {md.signed.version} is expired")


def _shard_layout(top: Targets, config: Mapping[str, Any] | None) -> layout.ShardLayout:
    """The shard layout top-level targets delegates; repo.json's cached shard digits (if
    this is the repository itself, not a synced copy) must agree with it."""
    try:
        shards = layout.shard_layout_of(top)
    except layout.ShardLayoutError as error:
        raise VerificationFailure(f"targets: {error}") from None
    cached = (config or {}).get(SHARD_DIGITS_KEY, layout.DEFAULT_SHARD_DIGITS)
    if config is not None and cached != shards.digits:
        raise VerificationFailure(
            f"repo.json: {SHARD_DIGITS_KEY} is {cached!r} but targets delegates shards of "
            f"{shards.digits} hex digits; set it to {shards.digits}"
        )
    return shards


def _check_package_delegation(shards: layout.ShardLayout, shard_name: str, role: str,
                              delegation: DelegatedRole) -> None:
    """A shard delegates only package roles of its own prefix, each exactly its paths."""
    package = layout.package_of_role(role)
    if package is None:
        raise VerificationFailure(f"{shard_name}: delegates {role}, which is not a package role")
    if shards.shard_role(package) != shard_name:
        raise VerificationFailure(
            f"{role}: delegated by {shard_name}, but its shard is {shards.shard_role(package)}"
        )
    if delegation.paths != shards.package_paths(package):
        raise VerificationFailure(
            f"{role}: delegated paths {delegation.paths}, not {shards.package_paths(package)}"
        )


def verify_repository(
    root_dir: Path, now: datetime | None = None, cache: SignatureCache | None = None,
    trusted_root: bytes | None = None,
) -> VerifySummary:
    """Verify the published tree of the repository (or synced copy) at root_dir
    (tuf_metadata.repo_paths); raise VerificationFailure on any problem.

    now=None skips expiry checks (crash tests); pass the current time to include them.
    trusted_root: the root a client already holds (spec 5.2), as bytes; the walk starts
    from it instead of from 1.root.json.
    """
    paths = repository_paths(Path(root_dir))
    metadata_dir = paths.metadata
    targets_dir = paths.targets
    check_published_tree(paths.published)  # no symlink or private key where clients read

    # Root chain (spec 5.3): N+1 signed by a threshold of N's root keys and of its own.
    if trusted_root is None:
        trusted = _parse("root", _read(metadata_dir, "root", "1.root.json"), "1.root.json")
        if not isinstance(trusted.signed, Root) or trusted.signed.version != 1:
            raise VerificationFailure("root: 1.root.json is not root version 1")
    else:
        trusted = _parse("root", trusted_root, "the trusted root")
        if not isinstance(trusted.signed, Root):
            raise VerificationFailure("root: the trusted root is not a root")
    _check_signed("root", trusted.signed, trusted, "its own root keys", cache)
    version = trusted.signed.version
    while (metadata_dir / f"{version + 1}.root.json").exists():
        name = f"{version + 1}.root.json"
        new = _parse("root", _read(metadata_dir, "root", name), name)
        if not isinstance(new.signed, Root) or new.signed.version != version + 1:
            raise VerificationFailure(f"root: {name} is not root version {version + 1}")
        _check_signed("root", trusted.signed, new, f"root version {version}'s root keys", cache)
        _check_signed("root", new.signed, new, "its own root keys", cache)
        trusted, version = new, version + 1
    root: Root = trusted.signed
    _check_fresh("root", trusted, now)

    ts_bytes = _read(metadata_dir, "timestamp", "timestamp.json")
    timestamp = _parse("timestamp", ts_bytes, "timestamp.json")
    if not isinstance(timestamp.signed, Timestamp):
        raise VerificationFailure("timestamp: timestamp.json is not a timestamp")
    _check_signed("timestamp", root, timestamp, "root's timestamp keys", cache)
    _check_fresh("timestamp", timestamp, now)

    snap_meta = timestamp.signed.snapshot_meta
    snap_name = f"{snap_meta.version}.snapshot.json"
    snap_bytes = _read(metadata_dir, "snapshot", snap_name)
    try:
        snap_meta.verify_length_and_hashes(snap_bytes)
    except Exception:
        raise VerificationFailure(f"snapshot: {snap_name} fails timestamp's length/hash") from None
    snapshot = _parse("snapshot", snap_bytes, snap_name)
    if not isinstance(snapshot.signed, Snapshot) or snapshot.signed.version != snap_meta.version:
        raise VerificationFailure(
            f"snapshot: {snap_name} is not snapshot version {snap_meta.version}"
        )
    _check_signed("snapshot", root, snapshot, "root's snapshot keys", cache)
    _check_fresh("snapshot", snapshot, now)
    snap: Snapshot = snapshot.signed
    tree_problem = audit_tree(metadata_dir, root, timestamp.signed, snap_bytes)
    if tree_problem is not None:
        raise VerificationFailure(f"snapshot tree: {tree_problem}")

    def load_role(role: str) -> Metadata[Any]:
        meta = snap.meta.get(f"{role}.json")
        if meta is None:
            raise VerificationFailure(f"{role}: delegated but not listed in snapshot")
        name = f"{meta.version}.{role}.json"
        data = _read(metadata_dir, role, name)
        if meta.length is not None or meta.hashes:
            try:
                meta.verify_length_and_hashes(data)
            except Exception:
                raise VerificationFailure(f"{role}: {name} fails snapshot's length/hash") from None
        md = _parse(role, data, name)
        if not isinstance(md.signed, Targets) or md.signed.version != meta.version:
            raise VerificationFailure(f"{role}: {name} is not targets version {meta.version}")
        _check_fresh(role, md, now)
        return md

    revoked: list[str] = []

    def load_in_force(role: str, delegator: Targets, delegation: DelegatedRole, by: str
                      ) -> tuple[Metadata[Any], dict[str, KeyDict]] | None:
        """A delegated role that may rotate its keys (TAP 8), checked against the keys in
        force; None if it is revoked (recorded) or has published nothing yet."""
        keys, threshold, revoked_role = _role_keys_in_force(
            metadata_dir, snap, role, delegator, delegation,
        )
        if revoked_role:
            revoked.append(role)
            return None
        if f"{role}.json" not in snap.meta:
            return None  # delegated, nothing published yet
        md = load_role(role)
        _check_threshold(role, md, keys, threshold, by)
        return md, keys

    targets = load_role("targets")
    _check_signed("targets", root, targets, "root's targets keys", cache)
    top: Targets = targets.signed
    roles = 1
    target_count = 0
    if top.delegations is None or top.delegations.roles is None:
        raise VerificationFailure("targets: has no shard delegations")
    shards = _shard_layout(top, read_config(paths.root))
    images: list[PublishedImage] = []
    attestations: list[PublishedAttestation] = []
    for shard_name, shard_delegation in top.delegations.roles.items():
        rebuilder = layout.rebuilder_of_role(shard_name)
        if rebuilder is not None:
            loaded = load_in_force(shard_name, top, shard_delegation, "the rebuilder")
            if loaded is None:
                continue
            role_md, keys = loaded
            roles += 1
            for path, data in _target_files(targets_dir, shard_name, role_md.signed,
                                            (shard_delegation,)):
                parsed = layout.parse_attestation_path(path)
                if parsed is None or parsed[3] != rebuilder:
                    raise VerificationFailure(f"{shard_name}: {path} is not its attestation path")
                attestations.append(PublishedAttestation(rebuilder, *parsed[:3], data,
                                                         sslib_keys(keys)))
                target_count += 1
            continue
        if not shard_name.startswith(layout.SHARD_PREFIX):
            raise VerificationFailure(
                f"targets: delegates {shard_name}, neither a shard nor a rebuilder role"
            )
        if shard_delegation.paths != shards.shard_paths(shard_name[len(layout.SHARD_PREFIX):]):
            raise VerificationFailure(
                f"targets: delegates {shard_name} paths {shard_delegation.paths}, not its prefix"
            )
        shard = load_role(shard_name)
        _check_signed(shard_name, top, shard, "the maintainers' targets keys", cache)
        roles += 1
        shard_targets: Targets = shard.signed
        if shard_targets.targets:
            raise VerificationFailure(f"{shard_name}: a shard role must not list targets itself")
        if shard_targets.delegations is None or shard_targets.delegations.roles is None:
            continue
        for pkg_name, pkg_delegation in shard_targets.delegations.roles.items():
            for pattern in pkg_delegation.paths or []:
                probe = pattern.replace("*", "x")
                if not shard_delegation.is_delegated_path(probe):
                    raise VerificationFailure(
                        f"{pkg_name}: delegated paths {pattern} lie outside {shard_name}'s paths"
                    )
            _check_package_delegation(shards, shard_name, pkg_name, pkg_delegation)
            loaded = load_in_force(pkg_name, shard_targets, pkg_delegation, "its authors")
            if loaded is None:
                continue
            pkg = loaded[0]
            roles += 1
            package = layout.package_of_role(pkg_name)
            for path, data in _target_files(targets_dir, pkg_name, pkg.signed,
                                            (pkg_delegation, shard_delegation)):
                parts = path.split("/")
                name = parts[-1]
                if package is not None and len(parts) == 4 and name.startswith(f"{package}."):
                    target = name[len(package) + 1:]
                    if target in layout.IMAGE_TARGETS:
                        images.append(PublishedImage(package, parts[2], target, _sha256(data),
                                                     len(data)))
                target_count += 1
    return VerifySummary(
        root_version=root.version,
        snapshot_version=snap.version,
        timestamp_version=timestamp.signed.version,
        roles=roles,
        targets=target_count,
        revoked=tuple(revoked),
        images=tuple(images),
        attestations=tuple(attestations),
    )


def _role_keys_in_force(
    metadata_dir: Path, snap: Snapshot, role: str, delegator: Targets, delegation: DelegatedRole,
) -> tuple[dict[str, KeyDict], int, bool]:
    """(keys, threshold, revoked) of a delegated role after its TAP 8 rotate chain (from the
    rotate file after those its delegation supersedes)."""
    assert delegator.delegations is not None
    keys = delegated_keys(key_dicts(delegator.delegations.keys), delegation.keyids)
    threshold = delegation.threshold
    chain = _rotate_chain(metadata_dir, snap, role)
    try:
        keys, threshold = verify_rotation_chain(
            role, keys, threshold, chain,
            superseded=superseded_rotations(role, delegation.unrecognized_fields),
        )
    except RoleRevokedError:
        return {}, threshold, True
    except RotationError as error:
        raise VerificationFailure(f"{role}: rotate chain check: {error}") from None
    return keys, threshold, False


def _check_threshold(
    role: str, md: Metadata[Any], keys: Mapping[str, KeyDict], threshold: int, by: str
) -> None:
    result = check_threshold(signed_payload(md), signatures_of(md), keys, threshold)
    if not result.satisfied:
        raise VerificationFailure(
            f"{role}: version {md.signed.version} has {result.describe()} by {by}"
        )


def _target_files(
    targets_dir: Path, role: str, md: Targets, delegations: Sequence[DelegatedRole]
) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of every target ROLE lists, each inside every one of DELEGATIONS'
    paths and present under its hash-prefixed name with its length and sha256."""
    for path, target in md.targets.items():
        if not all(delegation.is_delegated_path(path) for delegation in delegations):
            raise VerificationFailure(f"{role}: target {path} is outside its delegated paths")
        directory, name = path.rsplit("/", 1)
        local = targets_dir / directory / f"{target.hashes['sha256']}.{name}"
        try:
            data = local.read_bytes()
        except FileNotFoundError:
            raise VerificationFailure(f"{role}: target file {path} is missing") from None
        if len(data) != target.length or _sha256(data) != target.hashes["sha256"]:
            raise VerificationFailure(f"{role}: target file {path} fails its hash")
        yield path, data


def _rotate_chain(metadata_dir: Path, snap: Snapshot, role: str) -> list[bytes]:
    files = []
    number = 1
    while number <= layout.MAX_ROTATIONS + 1:
        meta = snap.meta.get(layout.rotate_file_name(role, number))
        if meta is None:
            break
        name = layout.rotate_file_path(role, number, meta.version)
        data = _read(metadata_dir, role, name)
        try:
            meta.verify_length_and_hashes(data)
        except Exception:
            raise VerificationFailure(
                f"{role}: rotate file {number} fails snapshot's length/hash"
            ) from None
        files.append(data)
        number += 1
    return files


def now_utc() -> datetime:
    return datetime.now(UTC)
