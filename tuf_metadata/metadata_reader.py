"""Reading the repository's metadata from disk, verified, with caches.

`MetadataReader` loads every role the way every writer needs it: root (newest,
signed by its own root keys), timestamp and snapshot (signed by root's online
keys; the newest snapshot on disk, which a crash may have left newer than
timestamp's), targets and shards (signed by their delegator), and a package
role's keys after its TAP 8 rotate chain. Signatures are checked with the
trust core (tuf_metadata.trust). Versioned files never change once written
(consistent snapshots), so parsed files and signature checks are cached.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

from securesystemslib.signer import Key, Signature
from tuf.api.metadata import (
    DelegatedRole,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    Targets,
    Timestamp,
)
from tuf.api.serialization import DeserializationError

from signing.threshold import check_threshold
from tuf_metadata import layout
from tuf_metadata.canonical import canonical_json
from tuf_metadata.repo_paths import RepositoryPaths, repository_paths
from tuf_metadata.repo_types import (
    CONFIG_NAME,
    CorruptMetadataError,
    ExpiryPolicy,
    NotInitialisedError,
    PackageContext,
    RepositoryError,
    sha256_hex,
)
from tuf_metadata.rotate import (
    RoleRevokedError,
    RotationError,
    superseded_rotations,
    verify_rotation_chain,
)
from tuf_metadata.snapshot_index import INDEX_NAME, IndexedMeta, SnapshotIndex, index_of_file
from tuf_metadata.trust import check_role, delegated_keys, key_dicts, signatures_of, signed_payload

VERIFIED_CACHE_LIMIT = 4096

T = TypeVar("T", Root, Timestamp, Snapshot, Targets)


class RawMeta(Mapping[str, MetaFile]):
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
class SnapshotFile:
    """A parsed snapshot: its file bytes, its signed object without "meta", and meta read
    through the snapshot index (tuf_metadata.snapshot_index), so that a lookup parses one
    chunk and the next snapshot re-encodes only the chunks that changed. `index` is None
    only for a file whose signed part is not its canonical bytes (then `raw_meta` holds meta
    and the next snapshot is encoded in full)."""

    identity: tuple[int, int, int]
    metadata: Metadata[Snapshot]
    data: bytes
    signed: dict[str, Any]
    index: IndexedMeta | None
    raw_meta: dict[str, Any] | None = None

    def payload(self) -> bytes:
        """The canonical bytes the snapshot signature covers."""
        if self.index is not None:
            return self.index.index.payload(self.data)
        return canonical_json({**self.signed, "meta": self.raw_meta})


def parse_snapshot(data: bytes, name: str) -> tuple[Metadata[Snapshot], dict[str, Any]]:
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
        meta=cast(dict[str, MetaFile], RawMeta(meta)),
    )
    return Metadata(snapshot, signatures), signed


class MetadataReader:
    """The metadata of the repository at root_dir, read and verified on demand (no writes)."""

    def __init__(self, root_dir: Path):
        self.root_dir = Path(root_dir)
        self.paths = repository_paths(self.root_dir)
        # Versioned metadata files never change once written (consistent snapshots), so a
        # parsed file is reused while its inode, size and mtime are unchanged; a signature
        # check is reused for the same (file object, delegator object) pair.
        self._parsed: dict[Path, tuple[tuple[int, int, int], Metadata[Any]]] = {}
        self._verified: dict[tuple[str, int, int], tuple[Metadata[Any], Root | Targets]] = {}
        self._snapshots: dict[int, SnapshotFile] = {}

    @property
    def metadata_dir(self) -> Path:
        return self.paths.metadata

    @property
    def targets_dir(self) -> Path:
        return self.paths.targets

    @property
    def staging_dir(self) -> Path:
        return self.paths.staging

    @property
    def pending_dir(self) -> Path:
        return self.paths.pending

    def use_paths(self, paths: RepositoryPaths) -> None:
        """Read and write at PATHS from now on (after `init` or `migrate` chose the layout)."""
        self.paths = paths
        self._parsed.clear()
        self._verified.clear()
        self._snapshots.clear()

    @property
    def config_path(self) -> Path:
        return self.paths.config

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

    def role_file(self, role: str, version: int) -> Path:
        return self.metadata_dir / f"{version}.{role}.json"

    def load_file(self, role: str, path: Path, kind: type[T]) -> Metadata[T]:
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

    def load_version(self, role: str, version: int, kind: type[T]) -> Metadata[T]:
        path = self.role_file(role, version)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise CorruptMetadataError(f"{role}: file {path.name} is missing") from None
        identity = (info.st_ino, info.st_size, info.st_mtime_ns)
        cached = self._parsed.get(path)
        if cached is not None and cached[0] == identity and isinstance(cached[1].signed, kind):
            return cached[1]
        md = self.load_file(role, path, kind)
        if md.signed.version != version:
            raise CorruptMetadataError(
                f"{role}: {version}.{role}.json carries version {md.signed.version}"
            )
        self._parsed[path] = (identity, md)
        return md

    def highest_version(self, role: str, start: int) -> int:
        """Highest N >= start with N.ROLE.json on disk (start itself is assumed present)."""
        version = start
        while self.role_file(role, version + 1).exists():
            version += 1
        return version

    def root_version(self) -> int:
        if not self.role_file("root", 1).exists():
            raise NotInitialisedError(f"{self.root_dir} has no published root (1.root.json)")
        return self.highest_version("root", 1)

    def load_root(self) -> Metadata[Root]:
        """The newest root, checked to be signed by a threshold of its own root keys."""
        return self.load_root_version(self.root_version())

    def load_root_version(self, version: int) -> Metadata[Root]:
        md = self.load_version("root", version, Root)
        self.verify("root", md.signed, md, "its own root keys")
        return md

    def verify(self, role: str, delegator: Root | Targets, md: Metadata[Any], by: str) -> None:
        key = (role, id(md), id(delegator))
        seen = self._verified.get(key)
        if seen is not None and seen[0] is md and seen[1] is delegator:
            return
        if not check_role(delegator.to_dict(), role, signed_payload(md),
                          signatures_of(md)).satisfied:
            raise CorruptMetadataError(
                f"{role}: version {md.signed.version} is not signed by a threshold of {by}"
            )
        if len(self._verified) >= VERIFIED_CACHE_LIMIT:
            self._verified.clear()
        # The entry holds both objects, so their ids cannot be reused while it exists.
        self._verified[key] = (md, delegator)

    def load_timestamp(self, root: Root) -> Metadata[Timestamp]:
        md = self.load_file("timestamp", self.metadata_dir / "timestamp.json", Timestamp)
        self.verify("timestamp", root, md, "the timestamp keys in root")
        return md

    def load_snapshot(self, root: Root, verify: bool = True) -> Metadata[Snapshot]:
        """The newest snapshot on disk (a crash may have left one newer than timestamp's)."""
        return self.snapshot_file(root, verify).metadata

    def snapshot_file(self, root: Root, verify: bool) -> SnapshotFile:
        timestamp = self.load_timestamp(root)
        version = self.highest_version("snapshot", timestamp.signed.snapshot_meta.version)
        path = self.role_file("snapshot", version)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise CorruptMetadataError(f"snapshot: file {path.name} is missing") from None
        identity = (info.st_ino, info.st_size, info.st_mtime_ns)
        cached = self._snapshots.get(version)
        if cached is None or cached.identity != identity:
            cached = self.read_snapshot(path, identity, version)
            self._snapshots = {version: cached}
        if verify:
            payload = cached.payload()
            if not check_role(root.to_dict(), "snapshot", payload,
                              signatures_of(cached.metadata)).satisfied:
                raise CorruptMetadataError(
                    f"snapshot: version {version} is not signed by a threshold of the snapshot "
                    "keys in root"
                )
        return cached

    def read_snapshot(self, path: Path, identity: tuple[int, int, int], version: int
                      ) -> SnapshotFile:
        """Read VERSION.snapshot.json: through its index if the index describes exactly this
        file (parsing only the parts outside meta), else in full (and index it in memory)."""
        data = path.read_bytes()
        index = self.persisted_index()
        if index is not None and not index.describes(data, version):
            index = None
        return self.snapshot_from(data, path, identity, version, index)

    def snapshot_from(self, data: bytes, path: Path, identity: tuple[int, int, int],
                      version: int, index: SnapshotIndex | None) -> SnapshotFile:
        """The SnapshotFile of DATA (read from PATH), through INDEX if one describes it."""
        if index is not None:
            # The file with an empty meta: signatures and every other signed member.
            md, signed = parse_snapshot(
                data[:index.meta_start] + data[index.meta_end:], path.name
            )
            meta = IndexedMeta(data, index)
        else:
            md, signed = parse_snapshot(data, path.name)
            self.check_snapshot_version(md, path, version)
            built = index_of_file(data, signed, version)
            if built is None:
                raw_meta = signed.pop("meta")
                return SnapshotFile(identity, md, data, signed, None, raw_meta)
            meta = IndexedMeta(data, built)
        self.check_snapshot_version(md, path, version)
        signed.pop("meta")
        md.signed.meta = cast(dict[str, MetaFile], meta)
        return SnapshotFile(identity, md, data, signed, meta)

    @staticmethod
    def check_snapshot_version(md: Metadata[Snapshot], path: Path, version: int) -> None:
        if md.signed.version != version:
            raise CorruptMetadataError(f"snapshot: {path.name} carries version {md.signed.version}")

    def persisted_index(self) -> SnapshotIndex | None:
        try:
            return SnapshotIndex.from_json((self.root_dir / INDEX_NAME).read_bytes())
        except FileNotFoundError:
            return None

    def remember_snapshot(self, version: int, snapshot: SnapshotFile) -> None:
        """Cache the snapshot just written, so the next one re-encodes only what changed."""
        self._snapshots = {version: snapshot}

    def current_timestamp_version(self) -> int:
        path = self.metadata_dir / "timestamp.json"
        if not path.exists():
            return 0
        return self.load_file("timestamp", path, Timestamp).signed.version

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
            return 1 if self.role_file(role, 1).exists() else 0
        return self.highest_version(role, listed)

    def load_targets(self, root: Root, snapshot: Snapshot) -> Metadata[Targets]:
        md = self.load_version("targets", self.role_version(snapshot, "targets"), Targets)
        self.verify("targets", root, md, "the targets keys in root")
        return md

    def load_shard(self, targets: Targets, snapshot: Snapshot, shard: str) -> Metadata[Targets]:
        version = self.role_version(snapshot, shard)
        if version == 0:
            raise CorruptMetadataError(f"{shard}: not listed in snapshot")
        md = self.load_version(shard, version, Targets)
        self.verify(shard, targets, md, "the maintainers' targets keys")
        return md

    def rotate_chain(self, snapshot: Snapshot, role: str) -> list[bytes]:
        """The bytes of ROLE's rotate files 1..N as snapshot lists them (hash-checked)."""
        files: list[bytes] = []
        number = 1
        while number <= layout.MAX_ROTATIONS + 1:
            meta = snapshot.meta.get(layout.rotate_file_name(role, number))
            if meta is None:
                break
            path = self.metadata_dir / layout.rotate_file_path(role, number, meta.version)
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise CorruptMetadataError(
                    f"{role}: rotate file {number} listed in snapshot is missing"
                ) from None
            if meta.hashes and meta.hashes.get("sha256") != sha256_hex(data):
                raise CorruptMetadataError(f"{role}: rotate file {number} fails its snapshot hash")
            files.append(data)
            number += 1
        return files

    def package_keys(
        self, shard_md: Metadata[Targets], snapshot: Snapshot, package: str
    ) -> tuple[dict[str, Key], int]:
        """Keys and threshold that must sign the package role now (delegation + TAP 8 chain)."""
        role = layout.package_role(package)
        delegation = self.package_delegation(shard_md.signed, package)
        delegations = shard_md.signed.delegations
        assert delegations is not None
        keys = delegated_keys(delegations.keys, delegation.keyids)
        try:
            return verify_rotation_chain(
                role, keys, delegation.threshold, self.rotate_chain(snapshot, role),
                superseded=superseded_rotations(role, delegation.unrecognized_fields),
            )
        except RoleRevokedError as error:
            raise RepositoryError(str(error)) from None
        except RotationError as error:
            raise CorruptMetadataError(f"{role}: rotate chain check failed: {error}") from None

    def package_delegation(self, shard: Targets, package: str) -> DelegatedRole:
        role = layout.package_role(package)
        if shard.delegations is None or shard.delegations.roles is None:
            raise RepositoryError(f"{role}: package {package!r} is not delegated")
        delegation = shard.delegations.roles.get(role)
        if delegation is None:
            raise RepositoryError(f"{role}: package {package!r} is not delegated")
        return delegation

    def package_context(self, package: str) -> PackageContext:
        """Snapshot, delegation and effective (post-rotation) keys of a delegated package."""
        layout.validate_package_name(package)
        snapshot, shard_md = self.package_shard(package, verify_snapshot=False)
        delegation = self.package_delegation(shard_md.signed, package)
        keys, threshold = self.package_keys(shard_md, snapshot, package)
        assert shard_md.signed.delegations is not None
        delegation_keys = delegated_keys(shard_md.signed.delegations.keys, delegation.keyids)
        return PackageContext(snapshot, delegation, delegation_keys, keys, threshold)

    def package_shard(
        self, package: str, verify_snapshot: bool = True
    ) -> tuple[Snapshot, Metadata[Targets]]:
        """The current snapshot and the package's shard, verified on the way down from root.

        VERIFY_SNAPSHOT False: the publish path, which reads the snapshot it signed itself.
        For a quorum change of the shard: call it holding the writer lock, and edit a copy.
        """
        root = self.load_root().signed
        snapshot = self.load_snapshot(root, verify=verify_snapshot).signed
        targets = self.load_targets(root, snapshot).signed
        return snapshot, self.load_shard(targets, snapshot, layout.shard_role(package))

    def current_package(self, package: str) -> Metadata[Targets] | None:
        """The published package role, or None if no release was published yet."""
        context = self.package_context(package)
        role = layout.package_role(package)
        version = self.role_version(context.snapshot, role)
        if version == 0:
            return None
        md = self.load_version(role, version, Targets)
        keys, threshold = context.keys, context.threshold
        result = check_threshold(signed_payload(md), signatures_of(md), key_dicts(keys), threshold)
        if not result.satisfied:
            raise CorruptMetadataError(
                f"{role}: version {version} is not signed by a threshold of the author keys"
            )
        return md

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
