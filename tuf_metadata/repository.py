"""The repository side: key ceremony, quorum changes, staging, publish, TAP 8, snapshot/timestamp.

Directory of a repository (``root_dir``)::

    repo.json              expiry policy, online key files, their passphrase source
    online/                online snapshot and timestamp private keys
    metadata/              published, served as-is: N.root.json, V.ROLE.json,
                           timestamp.json, rotate/V.ROLE.rotate.N.json
    targets/XX/NAME/VER/   published target files, named SHA256.FILENAME
    staging/NAME/VER/      author-signed releases waiting for the builder
    pending/ID.json        proposed root/targets/shard changes collecting signatures
    .lock                  writer lock (flock)

Every write is atomic and made under the lock, in an order that keeps the
published repository verifiable at every instant: target files, then the
role files (new names nobody references yet), then snapshot, then
timestamp.json, whose rename is the commit point, and last a new root
(N+1.root.json) if the change has one: the targets it points to is signed
by a threshold of both the old and the new root's targets keys, so clients
holding either root verify every moment. A crash leaves only unreferenced
files; the next snapshot picks up complete role files that verify against
their delegator ("orphans") and ignores the rest.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar, cast

from securesystemslib.signer import Key, Signature, Signer
from tuf.api.metadata import (
    SPECIFICATION_VERSION,
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Role,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization import DeserializationError
from tuf.api.serialization.json import JSONSerializer

from fsio import atomic_copy, make_temp_dir, sweep_temp_files
from signing.keys import PassphraseSource, load_signer
from signing.threshold import check_threshold
from tuf_metadata import layout
from tuf_metadata.canonical import EncodedObject, canonical_json, canonical_with
from tuf_metadata.errors import TufError
from tuf_metadata.rotate import (
    RoleRevokedError,
    RotateFile,
    RotationError,
    rotate_file_path,
    sign_rotate,
    verify_rotate_step,
    verify_rotation_chain,
)
from tuf_metadata.store import atomic_write, crash_point, fsync_dir, repository_lock, write_once
from tuf_metadata.trust import check_role, delegated_keys, signed_payload

CONFIG_NAME = "repo.json"
TOP_ROLES = ("root", "targets", "snapshot", "timestamp")
SERIALIZER = JSONSerializer(compact=True)
RELEASE_NAME = "release.json"
STATUS_NAME = "status.json"
MANIFEST_FILE = "manifest.json"
VERIFIED_CACHE_LIMIT = 4096
SPEC_VERSION = ".".join(SPECIFICATION_VERSION)

T = TypeVar("T", Root, Timestamp, Snapshot, Targets)


class RepositoryError(TufError):
    """A repository operation was refused; the message names the role and the check."""


class CorruptMetadataError(RepositoryError):
    """A metadata file on disk is unreadable, of the wrong type, or fails its signature check."""


class QuorumError(RepositoryError):
    """A signature does not belong in a pending change, or its threshold is not met."""


class StagingError(RepositoryError):
    """A release cannot be staged, or a staged release cannot be published."""


class ImageMismatchError(StagingError):
    """A built image differs from the author-signed length and sha256."""


class NotInitialisedError(RepositoryError):
    """The directory holds no repository."""


@dataclass(frozen=True)
class ExpiryPolicy:
    """Lifetimes of newly signed metadata, in days (RSTUF's defaults)."""

    root: float = 365.0
    targets: float = 365.0
    snapshot: float = 1.0
    timestamp: float = 1.0

    def for_role(self, role: str) -> timedelta:
        days = {"root": self.root, "snapshot": self.snapshot, "timestamp": self.timestamp}
        return timedelta(days=days.get(role, self.targets))


@dataclass(frozen=True)
class StagedRelease:
    """A release signed by its authors and waiting in staging for the builder."""

    package: str
    version: str
    source_archive: Path
    manifest: Path
    image_targets: dict[str, TargetFile]


@dataclass(frozen=True)
class PendingChange:
    """A proposed change to root/targets/shard roles collecting maintainer signatures."""

    change_id: str
    description: str
    documents: list[tuple[str, Metadata[Any]]]


@dataclass(frozen=True)
class DocumentStatus:
    """How far one document of a pending change is from its threshold(s)."""

    role: str
    version: int
    needed: list[tuple[str, int, int]]  # (which keys, valid signatures, threshold)

    @property
    def satisfied(self) -> bool:
        return all(valid >= threshold for _, valid, threshold in self.needed)


@dataclass(frozen=True)
class PackageContext:
    """What signing or publishing a package role is checked against."""

    snapshot: Snapshot
    delegation: DelegatedRole
    delegation_keys: dict[str, Key]
    keys: dict[str, Key]
    threshold: int


def _signed_by(md: Metadata[Any], key: Key) -> bool:
    """True if md carries a valid signature by key."""
    return check_threshold(signed_payload(md), md.signatures, {key.keyid: key}, 1).satisfied


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _to_bytes(md: Metadata[Any]) -> bytes:
    return md.to_bytes(SERIALIZER)


class _RawMeta(Mapping[str, MetaFile]):
    """Snapshot meta over its parsed JSON object; a MetaFile is built only when read."""

    def __init__(self, raw: Mapping[str, Any]):
        self.raw = raw

    def __getitem__(self, key: str) -> MetaFile:
        value = self.raw[key]
        try:
            return MetaFile.from_dict(dict(value))
        except (KeyError, TypeError, ValueError):
            raise CorruptMetadataError(f"snapshot: meta entry {key} is malformed") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __len__(self) -> int:
        return len(self.raw)


@dataclass
class _SnapshotFile:
    """A parsed snapshot, its signed object as JSON and (once needed) its encoded meta,
    so that the next snapshot re-encodes only the entries that changed."""

    identity: tuple[int, int, int]
    metadata: Metadata[Snapshot]
    raw_signed: dict[str, Any]
    encoded_meta: EncodedObject | None = None


def _parse_snapshot(data: bytes, name: str) -> tuple[Metadata[Snapshot], dict[str, Any]]:
    try:
        doc = json.loads(data)
        signed = doc["signed"]
        if signed["_type"] != "snapshot":
            raise CorruptMetadataError(
                f"snapshot: {name} has type {signed['_type']}, expected snapshot"
            )
        meta = signed["meta"]
        version = signed["version"]
        if not isinstance(meta, dict) or not isinstance(version, int) or version < 1:
            raise ValueError("bad meta or version")
        expires = datetime.strptime(signed["expires"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        signatures = {}
        for entry in doc["signatures"]:
            signature = Signature.from_dict(dict(entry))
            if signature.keyid in signatures:
                raise ValueError(f"duplicate signature by {signature.keyid}")
            signatures[signature.keyid] = signature
    except CorruptMetadataError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CorruptMetadataError(f"snapshot: {name} does not parse ({error})") from None
    snapshot = Snapshot(
        version=version, spec_version=str(signed["spec_version"]), expires=expires,
        meta=cast(dict[str, MetaFile], _RawMeta(meta)),
    )
    return Metadata(snapshot, signatures), signed


class Repository:
    """A TUF repository on local disk; every method that writes holds the repository lock."""

    def __init__(self, root_dir: Path, online_passphrase: PassphraseSource | str | None = None):
        self.root_dir = Path(root_dir)
        self.metadata_dir = self.root_dir / "metadata"
        self.targets_dir = self.root_dir / "targets"
        self.staging_dir = self.root_dir / "staging"
        self.pending_dir = self.root_dir / "pending"
        self._online_passphrase = online_passphrase
        self._online_signers: dict[str, Signer] = {}
        # Versioned metadata files never change once written (consistent snapshots), so a
        # parsed file is reused while its inode, size and mtime are unchanged; a signature
        # check is reused for the same (file object, delegator object) pair.
        self._parsed: dict[Path, tuple[tuple[int, int, int], Metadata[Any]]] = {}
        self._verified: dict[tuple[str, int, int], tuple[Metadata[Any], Root | Targets]] = {}
        self._snapshots: dict[int, _SnapshotFile] = {}
        self.log: Callable[[str], None] = lambda message: None

    # ------------------------------------------------------------------ config

    @property
    def config_path(self) -> Path:
        return self.root_dir / CONFIG_NAME

    def config(self) -> dict[str, Any]:
        try:
            return cast(dict[str, Any], json.loads(self.config_path.read_text()))
        except FileNotFoundError:
            raise NotInitialisedError(
                f"{self.root_dir} is not a repository (no {CONFIG_NAME})"
            ) from None
        except ValueError:
            raise CorruptMetadataError(f"{CONFIG_NAME}: not valid JSON") from None

    def expiry(self) -> ExpiryPolicy:
        return ExpiryPolicy(**self.config().get("expiry_days", {}))

    def online_signer(self, role: str) -> Signer:
        """The online signer of snapshot or timestamp (loaded once)."""
        if role not in self._online_signers:
            config = self.config()
            source = self._online_passphrase or config.get("online_passphrase", "prompt")
            path = self.root_dir / config["online_keys"][role]
            self._online_signers[role] = load_signer(path, source)
        return self._online_signers[role]

    def _require_online(self) -> None:
        """Unlock both online keys before an operation writes anything."""
        self.online_signer("snapshot")
        self.online_signer("timestamp")

    # ------------------------------------------------------------------ reading

    def _role_file(self, role: str, version: int) -> Path:
        return self.metadata_dir / f"{version}.{role}.json"

    def _load(self, role: str, path: Path, kind: type[T]) -> Metadata[T]:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CorruptMetadataError(f"{role}: file {path.name} is missing") from None
        try:
            md: Metadata[Any] = Metadata.from_bytes(data)
        except DeserializationError as error:
            reason = str(error).splitlines()[0] if str(error) else "malformed"
            raise CorruptMetadataError(f"{role}: {path.name} does not parse ({reason})") from None
        if not isinstance(md.signed, kind):
            raise CorruptMetadataError(
                f"{role}: {path.name} has type {md.signed.type}, expected {kind.type}"
            )
        return md

    def _load_version(self, role: str, version: int, kind: type[T]) -> Metadata[T]:
        path = self._role_file(role, version)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise CorruptMetadataError(f"{role}: file {path.name} is missing") from None
        identity = (info.st_ino, info.st_size, info.st_mtime_ns)
        cached = self._parsed.get(path)
        if cached is not None and cached[0] == identity and isinstance(cached[1].signed, kind):
            return cached[1]
        md = self._load(role, path, kind)
        if md.signed.version != version:
            raise CorruptMetadataError(
                f"{role}: {version}.{role}.json carries version {md.signed.version}"
            )
        self._parsed[path] = (identity, md)
        return md

    def _highest_version(self, role: str, start: int) -> int:
        """Highest N >= start with N.ROLE.json on disk (start itself is assumed present)."""
        version = start
        while self._role_file(role, version + 1).exists():
            version += 1
        return version

    def root_version(self) -> int:
        if not self._role_file("root", 1).exists():
            raise NotInitialisedError(f"{self.root_dir} has no published root (1.root.json)")
        return self._highest_version("root", 1)

    def load_root(self) -> Metadata[Root]:
        """The newest root, checked to be signed by a threshold of its own root keys."""
        return self._load_root_version(self.root_version())

    def _load_root_version(self, version: int) -> Metadata[Root]:
        md = self._load_version("root", version, Root)
        self._verify("root", md.signed, md, "its own root keys")
        return md

    def _verify(self, role: str, delegator: Root | Targets, md: Metadata[Any], by: str) -> None:
        key = (role, id(md), id(delegator))
        seen = self._verified.get(key)
        if seen is not None and seen[0] is md and seen[1] is delegator:
            return
        if not check_role(delegator, role, signed_payload(md), md.signatures).satisfied:
            raise CorruptMetadataError(
                f"{role}: version {md.signed.version} is not signed by a threshold of {by}"
            )
        if len(self._verified) >= VERIFIED_CACHE_LIMIT:
            self._verified.clear()
        # The entry holds both objects, so their ids cannot be reused while it exists.
        self._verified[key] = (md, delegator)

    def load_timestamp(self, root: Root) -> Metadata[Timestamp]:
        md = self._load("timestamp", self.metadata_dir / "timestamp.json", Timestamp)
        self._verify("timestamp", root, md, "the timestamp keys in root")
        return md

    def load_snapshot(self, root: Root, verify: bool = True) -> Metadata[Snapshot]:
        """The newest snapshot on disk (a crash may have left one newer than timestamp's)."""
        return self._snapshot_file(root, verify).metadata

    def _snapshot_file(self, root: Root, verify: bool) -> _SnapshotFile:
        timestamp = self.load_timestamp(root)
        version = self._highest_version("snapshot", timestamp.signed.snapshot_meta.version)
        path = self._role_file("snapshot", version)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise CorruptMetadataError(f"snapshot: file {path.name} is missing") from None
        identity = (info.st_ino, info.st_size, info.st_mtime_ns)
        cached = self._snapshots.get(version)
        if cached is None or cached.identity != identity:
            md, raw = _parse_snapshot(path.read_bytes(), path.name)
            if md.signed.version != version:
                raise CorruptMetadataError(
                    f"snapshot: {path.name} carries version {md.signed.version}"
                )
            cached = _SnapshotFile(identity, md, raw)
            self._snapshots = {version: cached}
        if verify:
            payload = canonical_json(cached.raw_signed)
            if not check_role(root, "snapshot", payload, cached.metadata.signatures).satisfied:
                raise CorruptMetadataError(
                    f"snapshot: version {version} is not signed by a threshold of the snapshot "
                    "keys in root"
                )
        return cached

    def role_version(self, snapshot: Snapshot, role: str) -> int:
        """Version of a targets-type role that snapshot lists (0 if none)."""
        meta = snapshot.meta.get(f"{role}.json")
        if meta is None:
            return 0
        return meta.version

    def package_version_on_disk(self, snapshot: Snapshot, package: str) -> int:
        """Newest complete version of a package role: snapshot's, or a newer one a crash
        left between writing the role file and signing snapshot (0 if none)."""
        role = layout.package_role(package)
        listed = self.role_version(snapshot, role)
        if listed == 0:
            return 1 if self._role_file(role, 1).exists() else 0
        return self._highest_version(role, listed)

    def load_targets(self, root: Root, snapshot: Snapshot) -> Metadata[Targets]:
        md = self._load_version("targets", self.role_version(snapshot, "targets"), Targets)
        self._verify("targets", root, md, "the targets keys in root")
        return md

    def load_shard(self, targets: Targets, snapshot: Snapshot, shard: str) -> Metadata[Targets]:
        version = self.role_version(snapshot, shard)
        if version == 0:
            raise CorruptMetadataError(f"{shard}: not listed in snapshot")
        md = self._load_version(shard, version, Targets)
        self._verify(shard, targets, md, "the maintainers' targets keys")
        return md

    # ------------------------------------------------------------------ TAP 8 keys

    def rotate_chain(self, snapshot: Snapshot, role: str) -> list[bytes]:
        """The bytes of ROLE's rotate files 1..N as snapshot lists them (hash-checked)."""
        files: list[bytes] = []
        number = 1
        while number <= layout.MAX_ROTATIONS + 1:
            meta = snapshot.meta.get(layout.rotate_file_name(role, number))
            if meta is None:
                break
            path = self.metadata_dir / rotate_file_path(role, number, meta.version)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise CorruptMetadataError(
                    f"{role}: rotate file {number} listed in snapshot is missing"
                ) from None
            if meta.hashes and meta.hashes.get("sha256") != _sha256(data):
                raise CorruptMetadataError(f"{role}: rotate file {number} fails its snapshot hash")
            files.append(data)
            number += 1
        return files

    def package_keys(
        self, shard_md: Metadata[Targets], snapshot: Snapshot, package: str
    ) -> tuple[dict[str, Key], int]:
        """Keys and threshold that must sign the package role now (delegation + TAP 8 chain)."""
        role = layout.package_role(package)
        delegation = self._package_delegation(shard_md.signed, package)
        delegations = shard_md.signed.delegations
        assert delegations is not None
        keys = delegated_keys(delegations.keys, delegation.keyids)
        try:
            return verify_rotation_chain(
                role, keys, delegation.threshold, self.rotate_chain(snapshot, role)
            )
        except RoleRevokedError as error:
            raise RepositoryError(str(error)) from None
        except RotationError as error:
            raise CorruptMetadataError(f"{role}: rotate chain check failed: {error}") from None

    def _package_delegation(self, shard: Targets, package: str) -> DelegatedRole:
        role = layout.package_role(package)
        if shard.delegations is None or shard.delegations.roles is None:
            raise RepositoryError(f"{role}: package {package!r} is not delegated")
        delegation = shard.delegations.roles.get(role)
        if delegation is None:
            raise RepositoryError(f"{role}: package {package!r} is not delegated")
        return delegation

    def _check_package_metadata(
        self, md: Metadata[Targets], package: str, keys: Mapping[str, Key], threshold: int,
        delegation: DelegatedRole,
    ) -> None:
        role = layout.package_role(package)
        result = check_threshold(signed_payload(md), md.signatures, keys, threshold)
        if not result.satisfied:
            raise StagingError(
                f"{role}: {result.valid} of {threshold} required author signatures valid"
            )
        for path in md.signed.targets:
            if not delegation.is_delegated_path(path):
                raise StagingError(
                    f"{role}: target {path} is outside the package's delegated paths"
                )
        if md.signed.delegations is not None:
            raise StagingError(f"{role}: package roles may not delegate further")

    # ------------------------------------------------------------------ init

    def check_ceremony(self, maintainers: Sequence[Key], threshold: int) -> None:
        """Refuse a key ceremony that init would refuse, before anything is written."""
        if not maintainers:
            raise RepositoryError("root: at least one maintainer key is required")
        ids = [key.keyid for key in maintainers]
        if len(set(ids)) != len(ids):
            raise RepositoryError("root: a maintainer key is listed twice")
        if not 1 <= threshold <= len(maintainers):
            raise RepositoryError(
                f"root: threshold {threshold} must be between 1 and {len(maintainers)} maintainers"
            )
        if self.config_path.exists():
            raise RepositoryError(f"{self.root_dir} already holds a repository")

    def init(
        self,
        maintainers: Sequence[Key],
        threshold: int,
        snapshot_key: Key,
        timestamp_key: Key,
        online_keys: Mapping[str, Path],
        online_passphrase: str,
        expiry: ExpiryPolicy = ExpiryPolicy(),
    ) -> PendingChange:
        """Start the key ceremony: write the config and propose root, targets and 256 shards v1.

        Nothing is published until `threshold` maintainers signed the pending change.
        """
        self.check_ceremony(maintainers, threshold)
        ids = [key.keyid for key in maintainers]
        self.root_dir.mkdir(parents=True, exist_ok=True)
        for sub in (self.metadata_dir, self.targets_dir, self.staging_dir, self.pending_dir):
            sub.mkdir(exist_ok=True)
        config = {
            "expiry_days": {
                "root": expiry.root, "targets": expiry.targets,
                "snapshot": expiry.snapshot, "timestamp": expiry.timestamp,
            },
            "online_keys": {role: str(path) for role, path in online_keys.items()},
            "online_passphrase": online_passphrase,
        }
        with repository_lock(self.root_dir):
            now = _now()
            root = Root(expires=now + expiry.for_role("root"), consistent_snapshot=True)
            for key in maintainers:
                root.add_key(key, "root")
                root.add_key(key, "targets")
            root.roles["root"].threshold = threshold
            root.roles["targets"].threshold = threshold
            root.add_key(snapshot_key, "snapshot")
            root.add_key(timestamp_key, "timestamp")
            targets = Targets(expires=now + expiry.for_role("targets"))
            targets.delegations = Delegations(
                keys={key.keyid: key for key in maintainers},
                roles={
                    layout.shard_role_for_prefix(prefix): DelegatedRole(
                        name=layout.shard_role_for_prefix(prefix),
                        keyids=sorted(ids),
                        threshold=threshold,
                        terminating=True,
                        paths=layout.shard_paths(prefix),
                    )
                    for prefix in layout.all_shard_prefixes()
                },
            )
            documents: list[tuple[str, Metadata[Any]]] = [
                ("root", Metadata(root)),
                ("targets", Metadata(targets)),
            ]
            for prefix in layout.all_shard_prefixes():
                shard = Targets(expires=now + expiry.for_role("targets"))
                shard.delegations = Delegations(keys={}, roles={})
                documents.append((layout.shard_role_for_prefix(prefix), Metadata(shard)))
            atomic_write(self.config_path, (json.dumps(config, indent=2) + "\n").encode())
            return self._write_pending("initial key ceremony", documents)

    # ------------------------------------------------------------------ pending changes

    def _write_pending(
        self, description: str, documents: list[tuple[str, Metadata[Any]]]
    ) -> PendingChange:
        digest = hashlib.sha256()
        for role, md in documents:
            digest.update(role.encode() + b"\0" + signed_payload(md) + b"\0")
        change = PendingChange(digest.hexdigest()[:12], description, documents)
        self._save_pending(change)
        return change

    def _save_pending(self, change: PendingChange) -> None:
        doc = {
            "id": change.change_id,
            "description": change.description,
            "documents": [
                {"role": role, "metadata": md.to_dict()} for role, md in change.documents
            ],
        }
        atomic_write(self.pending_dir / f"{change.change_id}.json", json.dumps(doc).encode())

    def pending_changes(self) -> list[PendingChange]:
        changes = []
        if not self.pending_dir.is_dir():
            return []
        for path in sorted(self.pending_dir.glob("*.json")):
            changes.append(self._read_pending(path))
        return changes

    def _read_pending(self, path: Path) -> PendingChange:
        try:
            doc = json.loads(path.read_bytes())
            documents = [
                (str(entry["role"]), Metadata.from_dict(entry["metadata"]))
                for entry in doc["documents"]
            ]
            return PendingChange(str(doc["id"]), str(doc["description"]), documents)
        except (ValueError, KeyError, TypeError) as error:
            raise CorruptMetadataError(f"pending change {path.stem}: malformed ({error})") from None

    def pending_change(self, change_id: str) -> PendingChange:
        path = self.pending_dir / f"{change_id}.json"
        if not change_id.isalnum() or not path.exists():
            raise QuorumError(f"pending change {change_id!r} does not exist")
        return self._read_pending(path)

    def _post_change_roles(
        self, change: PendingChange
    ) -> tuple[Root | None, Root, Targets | None]:
        """(current root or None at init, root after the change, targets after the change)."""
        proposed = dict(change.documents)
        current: Root | None
        if "root" in proposed:
            # The root the proposal replaces, even if a crashed commit already wrote the new
            # one: a re-run must ask for the same signatures as the first attempt.
            base = proposed["root"].signed.version - 1
            current = self._load_root_version(base).signed if base >= 1 else None
        else:
            try:
                current = self.load_root().signed
            except NotInitialisedError:
                current = None
        new_root = cast(Root, proposed["root"].signed) if "root" in proposed else current
        if new_root is None:
            raise CorruptMetadataError("root: no root published and none proposed")
        if "targets" in proposed:
            new_targets: Targets | None = cast(Targets, proposed["targets"].signed)
        elif current is not None:
            snapshot = self.load_snapshot(current).signed
            new_targets = self.load_targets(current, snapshot).signed
        else:
            new_targets = None
        return current, new_root, new_targets

    def _signing_requirements(
        self, role: str, md: Metadata[Any], current_root: Root | None, new_root: Root,
        new_targets: Targets | None,
    ) -> list[tuple[str, Mapping[str, Key], Role | DelegatedRole]]:
        """For one document: (label, keys, role) triples that must each reach their threshold."""
        if role == "root":
            needs: list[tuple[str, Mapping[str, Key], Role | DelegatedRole]] = [
                ("new root keys", new_root.keys, new_root.roles["root"])
            ]
            if current_root is not None:
                current = ("current root keys", current_root.keys, current_root.roles["root"])
                needs.insert(0, current)
            return needs
        if role == "targets":
            needs = [("new targets keys", new_root.keys, new_root.roles["targets"])]
            if current_root is not None and current_root is not new_root:
                # Published before the new root (see _commit), so it must also verify
                # under the root that clients hold until then.
                current = ("current targets keys", current_root.keys, current_root.roles["targets"])
                needs.insert(0, current)
            return needs
        if new_targets is None or new_targets.delegations is None:
            raise QuorumError(f"{role}: no targets delegation to check it against")
        delegated = new_targets.get_delegated_role(role)
        return [("maintainers' targets keys", new_targets.delegations.keys, delegated)]

    def pending_status(self, change: PendingChange) -> list[DocumentStatus]:
        current_root, new_root, new_targets = self._post_change_roles(change)
        statuses = []
        for role, md in change.documents:
            needed = []
            for label, keys, spec in self._signing_requirements(
                role, md, current_root, new_root, new_targets
            ):
                result = check_threshold(
                    signed_payload(md), md.signatures, delegated_keys(keys, spec.keyids),
                    spec.threshold,
                )
                needed.append((label, result.valid, spec.threshold))
            statuses.append(DocumentStatus(role, md.signed.version, needed))
        return statuses

    def sign_pending(self, change_id: str, signers: Sequence[Signer]) -> tuple[PendingChange, bool]:
        """Add each signer's signature to every document it may sign; commit at threshold.

        Returns (the change, whether it was committed). A signer whose key may
        sign none of the documents is refused (nothing changes).
        """
        with repository_lock(self.root_dir):
            change = self.pending_change(change_id)
            current_root, new_root, new_targets = self._post_change_roles(change)
            for signer in signers:
                used = False
                for role, md in change.documents:
                    for _, _, spec in self._signing_requirements(
                        role, md, current_root, new_root, new_targets
                    ):
                        if signer.public_key.keyid in spec.keyids:
                            used = True
                            # Keep a valid earlier signature: documents a crashed commit
                            # already wrote must come out byte-identical when it is re-run.
                            if not _signed_by(md, signer.public_key):
                                md.sign(signer, append=True)
                            break
                if not used:
                    raise QuorumError(
                        f"key {signer.public_key.keyid[:16]} is not a maintainer key of any role "
                        f"in pending change {change_id}"
                    )
            ready = all(status.satisfied for status in self.pending_status(change))
            if ready:
                self._require_online()  # fail before saving anything if they are locked
            self._save_pending(change)
            if ready:
                self._commit(change)
                return change, True
            return change, False

    def _commit(self, change: PendingChange) -> None:
        """Publish a fully signed change. Called under the lock; idempotent if interrupted.

        Order: delegated roles, targets (new names nobody references yet), snapshot,
        timestamp.json (the commit point for clients holding the current root), and a
        new root last. The new targets carries a threshold of the current root's
        targets keys as well as the new root's (see _signing_requirements), so every
        moment verifies both for a client that holds the current root and, once the
        timestamp is written, for one that holds the new root.
        """
        self._require_online()
        is_init = not self._role_file("root", 1).exists()
        roles = dict(change.documents)
        updates = {
            f"{role}.json": MetaFile(version=md.signed.version)
            for role, md in change.documents if role != "root"
        }
        if is_init:
            # Without 1.root.json nothing is published: these are a crashed ceremony's.
            self._role_file("snapshot", 1).unlink(missing_ok=True)
            (self.metadata_dir / "timestamp.json").unlink(missing_ok=True)
        else:
            root = self.load_root().signed
            snapshot = self.load_snapshot(root).signed
            for role, md in change.documents:
                if role == "root":
                    expected = self.root_version() + 1
                    self._require_same_online_keys(root, cast(Root, md.signed))
                else:
                    expected = self.role_version(snapshot, role) + 1
                    if expected > md.signed.version:
                        # Already listed by an interrupted run of this commit: keep the
                        # listed entry (an older version would be a rollback).
                        del updates[f"{role}.json"]
                on_disk = self._role_file(role, md.signed.version)
                if md.signed.version != expected and not (
                    on_disk.exists() and on_disk.read_bytes() == _to_bytes(md)
                ):
                    raise QuorumError(
                        f"{role}: pending change {change.change_id} proposes version "
                        f"{md.signed.version} but the next version is {expected}; propose it again"
                    )
        order = [r for r in roles if r not in ("root", "targets")]
        order += [r for r in ("targets",) if r in roles]
        for role in order:
            write_once(self._role_file(role, roles[role].signed.version), _to_bytes(roles[role]))
            crash_point(f"commit:{role}")
        if is_init:
            self._write_initial_snapshot(updates)
        else:
            # Even with nothing left to list: timestamp must reach the newest snapshot,
            # which an interrupted run may have written but not timestamped.
            self._new_snapshot_and_timestamp(updates)
        if "root" in roles:
            write_once(self._role_file("root", roles["root"].signed.version),
                       _to_bytes(roles["root"]))
            crash_point("commit:root")
        (self.pending_dir / f"{change.change_id}.json").unlink(missing_ok=True)

    @staticmethod
    def _require_same_online_keys(current: Root, new: Root) -> None:
        """The online keys in repo.json sign snapshot and timestamp under both roots only if
        the new root keeps them; online key rotation is not part of a maintainer change."""
        for role in ("snapshot", "timestamp"):
            before, after = current.roles[role], new.roles[role]
            same_keys = set(before.keyids) == set(after.keyids) and all(
                current.keys[keyid] == new.keys.get(keyid) for keyid in before.keyids
            )
            if not same_keys or before.threshold != after.threshold:
                raise QuorumError(
                    f"root: version {new.version} changes the {role} keys, which a maintainer "
                    "change may not do"
                )

    def _write_initial_snapshot(self, meta: dict[str, MetaFile]) -> None:
        base = {"_type": "snapshot", "spec_version": SPEC_VERSION, "version": 0, "meta": {}}
        self._write_snapshot_and_timestamp(base, meta)

    def _current_timestamp_version(self) -> int:
        path = self.metadata_dir / "timestamp.json"
        if not path.exists():
            return 0
        return self._load("timestamp", path, Timestamp).signed.version

    def _write_snapshot_and_timestamp(
        self, base: Mapping[str, Any], updates: Mapping[str, MetaFile],
        base_encoded: EncodedObject | None = None,
    ) -> int:
        """Sign snapshot = base + updates (next version), write it, then timestamp."""
        changes = {name: entry.to_dict() for name, entry in updates.items()}
        meta = dict(base["meta"])
        meta.update(changes)
        encoded = (base_encoded or EncodedObject.encode(base["meta"])).updated(changes)
        version = int(base["version"]) + 1
        expires = _now() + self.expiry().for_role("snapshot")
        signed = {
            **base, "version": version, "meta": meta,
            "expires": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        payload, plain = canonical_with(signed, "meta", encoded)
        signature = self.online_signer("snapshot").sign(payload)
        signatures = json.dumps([signature.to_dict()], sort_keys=True, separators=(",", ":"))
        body = payload if plain else json.dumps(
            signed, sort_keys=True, separators=(",", ":")
        ).encode()
        data = b'{"signatures":' + signatures.encode() + b',"signed":' + body + b"}"
        path = self._role_file("snapshot", version)
        write_once(path, data)
        info = path.stat()
        snapshot = Metadata(
            Snapshot(version=version, spec_version=str(signed["spec_version"]), expires=expires,
                     meta=cast(dict[str, MetaFile], _RawMeta(meta))),
            {signature.keyid: signature},
        )
        self._snapshots = {
            version: _SnapshotFile(
                (info.st_ino, info.st_size, info.st_mtime_ns), snapshot, signed, encoded
            )
        }
        self.log(f"signed snapshot version {version}")
        crash_point("snapshot")
        self._write_timestamp(version, data)
        return version

    def _write_timestamp(self, snapshot_version: int, snapshot_bytes: bytes) -> Metadata[Timestamp]:
        version = self._current_timestamp_version() + 1
        timestamp = Metadata(
            Timestamp(
                version=version,
                expires=_now() + self.expiry().for_role("timestamp"),
                snapshot_meta=MetaFile(
                    version=snapshot_version,
                    length=len(snapshot_bytes),
                    hashes={"sha256": _sha256(snapshot_bytes)},
                ),
            )
        )
        timestamp.sign(self.online_signer("timestamp"))
        atomic_write(self.metadata_dir / "timestamp.json", _to_bytes(timestamp))
        self.log(f"signed timestamp version {version} (snapshot {snapshot_version})")
        crash_point("timestamp")
        return timestamp

    def _new_snapshot_and_timestamp(self, updates: Mapping[str, MetaFile]) -> int:
        """Write snapshot = newest snapshot + updates, then timestamp (the commit point).

        Returns the new snapshot version.
        """
        root = self.load_root().signed
        base = self._snapshot_file(root, verify=False)
        return self._write_snapshot_and_timestamp(base.raw_signed, updates, base.encoded_meta)

    # ------------------------------------------------------------------ maintainer changes

    def propose_maintainers(
        self, description: str, keys: Sequence[Key], threshold: int
    ) -> PendingChange:
        """Propose root N+1 whose root/targets keys are exactly `keys` with `threshold`.

        Also proposes targets (shard delegations to the new keys) and every shard
        re-signed by the new maintainers, so no role is left signed only by old keys.
        """
        if not keys or not 1 <= threshold <= len(keys):
            raise RepositoryError(
                f"root: threshold {threshold} must be between 1 and {len(keys)} maintainers"
            )
        with repository_lock(self.root_dir):
            root_md = self.load_root()
            snapshot = self.load_snapshot(root_md.signed).signed
            targets_md = self.load_targets(root_md.signed, snapshot)
            now = _now()
            expiry = self.expiry()
            # Deep copies: to_dict shares the keyids lists, and revoke_key would edit the
            # cached current root in place.
            root = Root.from_dict(copy.deepcopy(root_md.signed.to_dict()))
            for role in ("root", "targets"):
                for keyid in list(root.roles[role].keyids):
                    root.revoke_key(keyid, role)
                for key in keys:
                    root.add_key(key, role)
                root.roles[role].threshold = threshold
            root.version += 1
            root.expires = now + expiry.for_role("root")
            targets = Targets.from_dict(copy.deepcopy(targets_md.signed.to_dict()))
            assert targets.delegations is not None and targets.delegations.roles is not None
            targets.delegations.keys = {key.keyid: key for key in keys}
            for delegated in targets.delegations.roles.values():
                delegated.keyids = sorted(key.keyid for key in keys)
                delegated.threshold = threshold
            targets.version += 1
            targets.expires = now + expiry.for_role("targets")
            documents: list[tuple[str, Metadata[Any]]] = [
                ("root", Metadata(root)), ("targets", Metadata(targets))
            ]
            for prefix in layout.all_shard_prefixes():
                name = layout.shard_role_for_prefix(prefix)
                shard_md = self.load_shard(targets_md.signed, snapshot, name)
                shard = Targets.from_dict(shard_md.signed.to_dict())
                shard.version += 1
                shard.expires = now + expiry.for_role("targets")
                documents.append((name, Metadata(shard)))
            return self._write_pending(description, documents)

    # ------------------------------------------------------------------ packages

    def propose_package(
        self, package: str, authors: Sequence[Key], threshold: int
    ) -> PendingChange:
        """Propose delegating (terminating) the package's paths to its authors in its shard."""
        layout.validate_package_name(package)
        role = layout.package_role(package)
        ids = [key.keyid for key in authors]
        if not authors or len(set(ids)) != len(ids):
            raise RepositoryError(f"{role}: give at least one author key, each once")
        if not 1 <= threshold <= len(authors):
            raise RepositoryError(
                f"{role}: threshold {threshold} must be between 1 and {len(authors)} authors"
            )
        with repository_lock(self.root_dir):
            root = self.load_root().signed
            snapshot = self.load_snapshot(root).signed
            targets = self.load_targets(root, snapshot).signed
            shard_name = layout.shard_role(package)
            shard_md = self.load_shard(targets, snapshot, shard_name)
            shard = Targets.from_dict(shard_md.signed.to_dict())
            assert shard.delegations is not None and shard.delegations.roles is not None
            if role in shard.delegations.roles:
                raise RepositoryError(f"{role}: package {package!r} is already delegated")
            for change in self.pending_changes():
                if any(r == shard_name for r, _ in change.documents):
                    raise RepositoryError(
                        f"{shard_name}: pending change {change.change_id} already changes this "
                        "shard; sign or withdraw it first"
                    )
            for key in authors:
                shard.delegations.keys[key.keyid] = key
            shard.delegations.roles[role] = DelegatedRole(
                name=role, keyids=sorted(ids), threshold=threshold, terminating=True,
                paths=layout.package_paths(package),
            )
            shard.version += 1
            shard.expires = _now() + self.expiry().for_role("targets")
            description = f"delegate package {package}"
            return self._write_pending(description, [(shard_name, Metadata(shard))])

    def withdraw_pending(self, change_id: str) -> None:
        with repository_lock(self.root_dir):
            self.pending_change(change_id)
            (self.pending_dir / f"{change_id}.json").unlink()

    def _package_context(self, package: str) -> PackageContext:
        """Snapshot, delegation and effective (post-rotation) keys of a delegated package."""
        layout.validate_package_name(package)
        root = self.load_root().signed
        snapshot = self.load_snapshot(root, verify=False).signed
        targets = self.load_targets(root, snapshot).signed
        shard_md = self.load_shard(targets, snapshot, layout.shard_role(package))
        delegation = self._package_delegation(shard_md.signed, package)
        keys, threshold = self.package_keys(shard_md, snapshot, package)
        assert shard_md.signed.delegations is not None
        delegation_keys = delegated_keys(shard_md.signed.delegations.keys, delegation.keyids)
        return PackageContext(snapshot, delegation, delegation_keys, keys, threshold)

    def current_package(self, package: str) -> Metadata[Targets] | None:
        """The published package role, or None if no release was published yet."""
        context = self._package_context(package)
        role = layout.package_role(package)
        version = self.role_version(context.snapshot, role)
        if version == 0:
            return None
        md = self._load_version(role, version, Targets)
        keys, threshold = context.keys, context.threshold
        result = check_threshold(signed_payload(md), md.signatures, keys, threshold)
        if not result.satisfied:
            raise CorruptMetadataError(
                f"{role}: version {version} is not signed by a threshold of the author keys"
            )
        return md

    # ------------------------------------------------------------------ staging

    def _staging_path(self, package: str, version: str) -> Path:
        return self.staging_dir / package / version

    def stage_release(
        self,
        package: str,
        version: str,
        manifest: Path,
        source_archive: Path,
        images: Mapping[str, Path],
        signers: Sequence[Signer],
    ) -> StagedRelease:
        """Author side: sign the next package role version listing the release; put it in staging.

        images maps a Solo5 target (hvt, spt, ...) to the author's own build of it;
        only its length and sha256 are signed; the builder must reproduce them.
        """
        layout.validate_package_name(package)
        layout.validate_version(version)
        role = layout.package_role(package)
        for target in images:
            if not target.isalnum():
                raise StagingError(f"{role}: bad Solo5 target name {target!r}")
        with repository_lock(self.root_dir):
            context = self._package_context(package)
            snapshot, keys = context.snapshot, context.keys
            for signer in signers:
                if signer.public_key.keyid not in keys:
                    raise StagingError(
                        f"{role}: key {signer.public_key.keyid[:16]} is not an author key of "
                        f"package {package!r}"
                    )
            current_version = self.package_version_on_disk(snapshot, package)
            if current_version:
                current = self._load_version(role, current_version, Targets).signed
                targets = dict(current.targets)
            else:
                targets = {}
            prefix = layout.target_path(package, version, "")
            if any(path.startswith(prefix) for path in targets):
                raise StagingError(f"{role}: version {version} is already published")
            final = self._staging_path(package, version)
            if final.exists():
                raise StagingError(f"{role}: version {version} is already staged")
            files = {
                MANIFEST_FILE: manifest,
                f"{package}-{version}.tar.gz": source_archive,
            }
            image_files = {f"{package}.{target}": path for target, path in images.items()}
            new_targets: dict[str, TargetFile] = {}
            for name, path in {**files, **image_files}.items():
                try:
                    data = Path(path).read_bytes()
                except OSError as error:
                    raise StagingError(f"{role}: cannot read {path}: {error.strerror}") from None
                tpath = layout.target_path(package, version, name)
                new_targets[tpath] = TargetFile.from_data(tpath, data, ["sha256"])
            targets.update(new_targets)
            md = Metadata(
                Targets(
                    version=current_version + 1,
                    expires=_now() + self.expiry().for_role("targets"),
                    targets=targets,
                )
            )
            for signer in signers:
                md.sign(signer, append=True)
            self._check_package_metadata(
                md, package, keys, context.threshold, context.delegation
            )
            # Build the staging entry under a temporary name, then rename it into place.
            (self.staging_dir / package).mkdir(parents=True, exist_ok=True)
            sweep_temp_files(self.staging_dir / package, min_age=0)  # we hold the lock
            tmp = make_temp_dir(self.staging_dir / package, version)
            (tmp / "files").mkdir()
            (tmp / "images").mkdir()
            for name, path in files.items():
                shutil.copyfile(path, tmp / "files" / name)
            for name, path in image_files.items():
                shutil.copyfile(path, tmp / "images" / name)
            atomic_write(tmp / RELEASE_NAME, _to_bytes(md))
            os.rename(tmp, final)
            return self._staged_from_dir(package, version)

    def _staged_from_dir(self, package: str, version: str) -> StagedRelease:
        directory = self._staging_path(package, version)
        md = self._load(layout.package_role(package), directory / RELEASE_NAME, Targets)
        image_prefix = layout.target_path(package, version, f"{package}.")
        images = {
            path: tf for path, tf in md.signed.targets.items() if path.startswith(image_prefix)
        }
        return StagedRelease(
            package=package,
            version=version,
            source_archive=directory / "files" / f"{package}-{version}.tar.gz",
            manifest=directory / "files" / MANIFEST_FILE,
            image_targets=images,
        )

    def staged_releases(self, include_rejected: bool = False) -> list[StagedRelease]:
        """Releases in staging, oldest package first; rejected ones only if asked."""
        releases = []
        if not self.staging_dir.is_dir():
            return []
        for package_dir in sorted(self.staging_dir.iterdir()):
            if not package_dir.is_dir() or package_dir.name.startswith("."):
                continue
            for version_dir in sorted(package_dir.iterdir()):
                if version_dir.name.startswith(".") or not (version_dir / RELEASE_NAME).exists():
                    continue
                if not include_rejected and (version_dir / STATUS_NAME).exists():
                    continue
                releases.append(self._staged_from_dir(package_dir.name, version_dir.name))
        return releases

    def rejection(self, release: StagedRelease) -> dict[str, Any] | None:
        """The recorded rejection of a staged release, or None."""
        path = self._staging_path(release.package, release.version) / STATUS_NAME
        if not path.exists():
            return None
        return cast(dict[str, Any], json.loads(path.read_text()))

    def reject_release(self, release: StagedRelease, reason: str, report_dir: Path | None) -> None:
        """Keep the release staged and record why it was not published."""
        with repository_lock(self.root_dir):
            directory = self._staging_path(release.package, release.version)
            if not (directory / RELEASE_NAME).exists():
                raise StagingError(
                    f"{layout.package_role(release.package)}: {release.version} is not staged"
                )
            status = {
                "state": "rejected",
                "reason": reason,
                "report_dir": str(report_dir) if report_dir else None,
                "time": _now().isoformat(),
            }
            atomic_write(directory / STATUS_NAME, (json.dumps(status, indent=2) + "\n").encode())

    def author_images(self, release: StagedRelease) -> dict[str, Path]:
        """The author's own image files kept in staging (used by `publish --no-build`)."""
        directory = self._staging_path(release.package, release.version) / "images"
        return {
            path: directory / path.rsplit("/", 1)[1] for path in release.image_targets
        }

    def publish_release(self, release: StagedRelease, built_images: Mapping[str, Path]) -> None:
        """Publish only if every built image's length+sha256 equals the author-signed TargetFile.

        Raises a TufError subclass otherwise, with nothing changed. Re-signs
        O(1) metadata: writes the author-signed package role, then snapshot and
        timestamp.
        """
        role = layout.package_role(release.package)
        with repository_lock(self.root_dir):
            self._require_online()
            directory = self._staging_path(release.package, release.version)
            md = self._load(role, directory / RELEASE_NAME, Targets)
            context = self._package_context(release.package)
            self._check_package_metadata(
                md, release.package, context.keys, context.threshold, context.delegation
            )
            current = self.package_version_on_disk(context.snapshot, release.package)
            already_written = current == md.signed.version and (
                self._role_file(role, current).read_bytes() == _to_bytes(md)
            )
            if already_written and self.role_version(context.snapshot, role) == current:
                self._remove_staged(directory)  # published before a crash stopped the cleanup
                return
            if md.signed.version != current + 1 and not already_written:
                raise StagingError(
                    f"{role}: staged release {release.version} signs version {md.signed.version} "
                    f"but the published version is {current}; release it again"
                )
            self._check_only_this_release_added(md, release, md.signed.version - 1)
            signed_images = {
                path: tf for path, tf in md.signed.targets.items()
                if path in release.image_targets
            }
            if signed_images != release.image_targets or set(built_images) != set(signed_images):
                raise ImageMismatchError(
                    f"{role}: built images {sorted(built_images)} do not match the "
                    f"author-signed images {sorted(signed_images)}"
                )
            sources: dict[str, Path] = {}
            for path, tf in signed_images.items():
                self._require_match(role, path, tf, Path(built_images[path]))
                sources[path] = Path(built_images[path])
            for path, tf in md.signed.targets.items():
                name = path.rsplit("/", 1)[1]
                if path.startswith(layout.target_path(release.package, release.version, "")) and (
                    path not in signed_images
                ):
                    local = directory / "files" / name
                    self._require_match(role, path, tf, local)
                    sources[path] = local
            for path, local in sources.items():
                tf = md.signed.targets[path]
                directory_part, name = path.rsplit("/", 1)
                dest = self.targets_dir / directory_part / f"{tf.hashes['sha256']}.{name}"
                dest.parent.mkdir(parents=True, exist_ok=True)
                if not dest.exists():
                    atomic_copy(local, dest, sync_dir=False)  # the loop below syncs the dirs
            # Make the new names durable before any metadata can reference them.
            release_path = layout.target_path(release.package, release.version, "")
            release_dir = self.targets_dir / release_path
            for durable in (release_dir, release_dir.parent, release_dir.parent.parent):
                fsync_dir(durable)
            crash_point("publish:targets")
            # The snapshot written next, in the same directory, makes this name durable too.
            write_once(self._role_file(role, md.signed.version), _to_bytes(md), sync_dir=False)
            crash_point("publish:role")
            self._new_snapshot_and_timestamp({f"{role}.json": MetaFile(version=md.signed.version)})
            self._remove_staged(directory)

    @staticmethod
    def _remove_staged(directory: Path) -> None:
        """Take a staging entry away atomically (rename), then delete it."""
        trash = directory.with_name(f".{directory.name}.{os.getpid()}.done")
        os.rename(directory, trash)
        shutil.rmtree(trash)

    def _check_only_this_release_added(
        self, md: Metadata[Targets], release: StagedRelease, previous: int
    ) -> None:
        """The staged role must list the previous version's targets unchanged plus only files
        of this release (so nothing is published without its file, nothing silently changed)."""
        role = layout.package_role(release.package)
        before = self._load_version(role, previous, Targets).signed.targets if previous else {}
        prefix = layout.target_path(release.package, release.version, "")
        kept = {path: tf for path, tf in md.signed.targets.items() if not path.startswith(prefix)}
        if kept != before:
            raise StagingError(
                f"{role}: staged release {release.version} changes targets of other releases"
            )
        if any(path.startswith(prefix) for path in before):
            raise StagingError(f"{role}: version {release.version} is already published")

    @staticmethod
    def _require_match(role: str, path: str, tf: TargetFile, local: Path) -> None:
        try:
            data = local.read_bytes()
        except OSError as error:
            raise ImageMismatchError(f"{role}: cannot read {local}: {error.strerror}") from None
        if len(data) != tf.length or _sha256(data) != tf.hashes.get("sha256"):
            raise ImageMismatchError(
                f"{role}: {path}: built file (length {len(data)}, sha256 {_sha256(data)[:16]}) "
                f"differs from the author-signed one (length {tf.length}, "
                f"sha256 {tf.hashes.get('sha256', '')[:16]})"
            )

    # ------------------------------------------------------------------ TAP 8

    def rotate(
        self,
        package: str,
        new_keys: Sequence[Key],
        threshold: int,
        signers: Sequence[Signer],
        new_signers: Sequence[Signer] = (),
        revoke: bool = False,
        replace_last: bool = False,
    ) -> int:
        """Write the package role's next rotate file, signed by the keys being replaced.

        If the package has a published release, its role is re-signed (next
        version, same targets) by new_signers, which must reach the new
        threshold, and published in the same snapshot: the role never stops
        verifying. revoke=True rotates to the null key (TAP 20), revoking the
        role. replace_last=True (with revoke) replaces the last rotate file N by a
        revocation signed by the keys that signed N, for when N's new keys are
        lost or compromised (TAP 20's one exception to immutability; its snapshot
        entry goes to version 2). Returns the rotate file's number N.
        """
        role = layout.package_role(package)
        with repository_lock(self.root_dir):
            self._require_online()
            context = self._package_context(package)
            keys, current_threshold = context.keys, context.threshold
            chain = self.rotate_chain(context.snapshot, role)
            number = len(chain) + 1
            meta_version = 1
            if replace_last:
                if not revoke or not chain:
                    raise RepositoryError(
                        f"{role}: only the last rotate file can be replaced, by a revocation"
                    )
                number = len(chain)
                try:
                    keys, current_threshold = verify_rotation_chain(
                        role, context.delegation_keys, context.delegation.threshold, chain[:-1]
                    )
                except RotationError as error:
                    raise CorruptMetadataError(f"{role}: rotate chain check: {error}") from None
                listed = context.snapshot.meta[layout.rotate_file_name(role, number)]
                meta_version = listed.version + 1
            elif number > layout.MAX_ROTATIONS:
                raise RepositoryError(
                    f"{role}: rotate chain is at its cap of {layout.MAX_ROTATIONS}; ask the "
                    "maintainers to delegate the package again"
                )
            if revoke:
                payload = RotateFile.revocation(role, number)
            else:
                ids = [key.keyid for key in new_keys]
                if not new_keys or len(set(ids)) != len(ids):
                    raise RepositoryError(f"{role}: give at least one new key, each once")
                if not 1 <= threshold <= len(new_keys):
                    raise RepositoryError(
                        f"{role}: threshold {threshold} must be between 1 and {len(new_keys)}"
                    )
                payload = RotateFile(number, role, {key.keyid: key for key in new_keys}, threshold)
            for signer in signers:
                if signer.public_key.keyid not in keys:
                    raise RepositoryError(
                        f"{role}: rotate file {number} must be signed by the keys being replaced; "
                        f"key {signer.public_key.keyid[:16]} is not one of them"
                    )
            data = sign_rotate(payload, signers)
            try:
                verify_rotate_step(role, number, keys, current_threshold, data)
            except RotationError as error:
                raise RepositoryError(str(error)) from None
            resigned = None
            current_version = self.package_version_on_disk(context.snapshot, package)
            if current_version and not revoke:
                current = self._load_version(role, current_version, Targets)
                resigned = Metadata(
                    Targets(
                        version=current_version + 1,
                        expires=_now() + self.expiry().for_role("targets"),
                        targets=dict(current.signed.targets),
                    )
                )
                for signer in new_signers:
                    if signer.public_key.keyid not in payload.keys:
                        raise RepositoryError(
                            f"{role}: key {signer.public_key.keyid[:16]} is not one of the new keys"
                        )
                    resigned.sign(signer, append=True)
                self._check_package_metadata(
                    resigned, package, dict(payload.keys), threshold, context.delegation
                )
            path = self.metadata_dir / rotate_file_path(role, number, meta_version)
            path.parent.mkdir(exist_ok=True)
            # This name is not listed in snapshot (N and its version come from the listed
            # chain), so a file already there is a crashed attempt's leftover: replace it.
            atomic_write(path, data)
            crash_point("rotate:file")
            updates = {
                layout.rotate_file_name(role, number): MetaFile(
                    version=meta_version, length=len(data), hashes={"sha256": _sha256(data)}
                )
            }
            if resigned is not None:
                write_once(self._role_file(role, resigned.signed.version), _to_bytes(resigned))
                crash_point("rotate:role")
                updates[f"{role}.json"] = MetaFile(version=resigned.signed.version)
            self._new_snapshot_and_timestamp(updates)
            return number

    # ------------------------------------------------------------------ online services

    def refresh_snapshot(self) -> int | None:
        """Make a new snapshot if any targets-type role has a newer verified file on disk.

        Also re-signs timestamp if a crash left a snapshot newer than timestamp's.
        Returns the new snapshot version, or None if nothing changed. Newer files
        that do not verify against their delegator are left out (and logged).
        """
        with repository_lock(self.root_dir):
            root = self.load_root().signed
            listed = self.load_timestamp(root).signed.snapshot_meta.version
            snapshot = self.load_snapshot(root).signed
            updates = self._orphans(root, snapshot)
            if updates:
                return self._new_snapshot_and_timestamp(updates)
            if snapshot.version != listed:
                data = self._role_file("snapshot", snapshot.version).read_bytes()
                self._write_timestamp(snapshot.version, data)
                return snapshot.version
            return None

    def _orphans(self, root: Root, snapshot: Snapshot) -> dict[str, MetaFile]:
        """Newer complete role files not yet in snapshot, each verified against its delegator."""
        newest: dict[str, int] = {}
        for entry in os.scandir(self.metadata_dir):
            version, _, rest = entry.name.partition(".")
            if not version.isdigit() or not rest.endswith(".json"):
                continue
            role = rest[: -len(".json")]
            if role in ("root", "snapshot"):
                continue
            meta = snapshot.meta.get(f"{role}.json")
            if meta is not None and int(version) > meta.version:
                newest[role] = max(newest.get(role, 0), int(version))
            elif meta is None and role.startswith(layout.PACKAGE_PREFIX):
                newest[role] = max(newest.get(role, 0), int(version))
        updates: dict[str, MetaFile] = {}
        merged = dict(snapshot.meta)

        def accept(role: str, version: int) -> None:
            updates[f"{role}.json"] = merged[f"{role}.json"] = MetaFile(version=version)

        view = Snapshot(meta=merged)
        if "targets" in newest:
            md = self._load_version("targets", newest["targets"], Targets)
            try:
                self._verify("targets", root, md, "the targets keys in root")
                accept("targets", newest["targets"])
            except CorruptMetadataError as error:
                self.log(f"skipped: {error}")
        targets = self.load_targets(root, view).signed
        for role in sorted(r for r in newest if r.startswith(layout.SHARD_PREFIX)):
            md = self._load_version(role, newest[role], Targets)
            try:
                self._verify(role, targets, md, "the maintainers' targets keys")
                accept(role, newest[role])
            except (CorruptMetadataError, ValueError) as error:
                self.log(f"skipped: {error}")
        for role in sorted(r for r in newest if r.startswith(layout.PACKAGE_PREFIX)):
            package = layout.package_of_role(role)
            if package is None:
                continue
            try:
                shard = self.load_shard(targets, view, layout.shard_role(package))
                keys, threshold = self.package_keys(shard, view, package)
                md = self._load_version(role, newest[role], Targets)
                self._check_package_metadata(
                    md, package, keys, threshold, self._package_delegation(shard.signed, package)
                )
                if newest[role] == self.role_version(view, role) + 1:
                    accept(role, newest[role])
            except RepositoryError as error:
                self.log(f"skipped: {error}")
        return updates

    def snapshot_expiring(self, fraction: float = 0.5) -> bool:
        root = self.load_root().signed
        md = self.load_snapshot(root, verify=False)
        return self._past_fraction(md.signed.expires, "snapshot", fraction)

    def timestamp_expiring(self, fraction: float = 0.5) -> bool:
        root = self.load_root().signed
        md = self.load_timestamp(root)
        return self._past_fraction(md.signed.expires, "timestamp", fraction)

    def _past_fraction(self, expires: datetime, role: str, fraction: float) -> bool:
        lifetime = self.expiry().for_role(role)
        return datetime.now(UTC) >= expires - lifetime * (1 - fraction)

    def resign_snapshot(self) -> int:
        """Re-sign snapshot (picking up verified newer role files) and timestamp."""
        with repository_lock(self.root_dir):
            root = self.load_root().signed
            snapshot = self.load_snapshot(root, verify=False).signed
            return self._new_snapshot_and_timestamp(self._orphans(root, snapshot))

    def resign_timestamp(self) -> int:
        """Re-sign timestamp for the newest snapshot on disk."""
        with repository_lock(self.root_dir):
            root = self.load_root().signed
            snapshot = self.load_snapshot(root)
            data = self._role_file("snapshot", snapshot.signed.version).read_bytes()
            return self._write_timestamp(snapshot.signed.version, data).signed.version

    def packages(self) -> Iterable[str]:
        """Names of delegated packages (reads all shards)."""
        root = self.load_root().signed
        snapshot = self.load_snapshot(root, verify=False).signed
        targets = self.load_targets(root, snapshot).signed
        for prefix in layout.all_shard_prefixes():
            shard = self.load_shard(targets, snapshot, layout.shard_role_for_prefix(prefix))
            if shard.signed.delegations and shard.signed.delegations.roles:
                for name in shard.signed.delegations.roles:
                    package = layout.package_of_role(name)
                    if package:
                        yield package


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll predicate until true or timeout (bounded loop); returns its last value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()
