"""Reading the repository's metadata from disk, verified, with caches.

`MetadataReader` loads every role the way every writer needs it: root (newest,
signed by its own root keys), timestamp and snapshot (signed by root's online
keys; the newest snapshot on disk, which a crash may have left newer than
timestamp's), targets and shards (signed by their delegator), and a package
role's keys after its TAP 8 rotate chain. Signatures are checked with the
trust core (tuf_metadata.trust). Versioned files never change once written
(consistent snapshots), so parsed files and signature checks are cached.

Files are read as plain data (`MetadataFile`: the parsed JSON, checked for the
shape TUF gives it) and verified as such, so publishing a release never loads
python-tuf. The python-tuf objects the other writers use (`load_root`,
`load_version`, ...) are views parsed from the same bytes after the same checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from signing.threshold import KeyDict, check_threshold, signature_map, usable_key
from tuf_metadata import layout
from tuf_metadata.canonical import canonical_json
from tuf_metadata.repo_paths import RepositoryPaths, repository_paths
from tuf_metadata.repo_types import (
    CONFIG_NAME,
    EXPIRES_FORMAT,
    SHARD_DIGITS_KEY,
    TREE_KEY,
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
from tuf_metadata.trust import (
    SignedDocument,
    check_role,
    delegated_keys,
    signatures_of,
    signed_payload,
)

if TYPE_CHECKING:
    from tuf.api.metadata import (
        DelegatedRole,
        Metadata,
        MetaFile,
        Root,
        Snapshot,
        Targets,
        Timestamp,
    )

VERIFIED_CACHE_LIMIT = 4096
PLAIN_CACHE_LIMIT = 16
_EXPIRES = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")

T = TypeVar("T", "Root", "Timestamp", "Snapshot", "Targets")


def _is_int(value: object, minimum: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


def _check_targets_map(targets: object) -> None:
    if not isinstance(targets, dict):
        raise ValueError("targets is not an object")
    for path, entry in targets.items():
        if not isinstance(entry, dict) or not _is_int(entry.get("length"), 0):
            raise ValueError(f"target {path}: bad length")
        hashes = entry.get("hashes")
        if not isinstance(hashes, dict) or not hashes or not all(
            isinstance(value, str) for value in hashes.values()
        ):
            raise ValueError(f"target {path}: bad hashes")


def _check_key_table(keys: object) -> None:
    """Every key of a key table must be one signatures can be checked with: python-tuf
    refuses to parse a file listing any other, so clients could not read it."""
    if not isinstance(keys, dict):
        raise ValueError("keys is not an object")
    for keyid, key in keys.items():
        if not isinstance(key, dict) or not usable_key(keyid, key):
            raise ValueError(f"key {str(keyid)[:16]} has an unknown type or scheme or is "
                             "malformed")


def _check_signed(signed: Mapping[str, Any], type_name: str) -> None:
    """The members every TUF role has, and those of TYPE_NAME this code reads: what python-tuf
    checks when it parses the file (so python-tuf loads whatever passes here)."""
    if not _is_int(signed.get("version"), 1):
        raise ValueError(f"bad version {signed.get('version')!r}")
    spec = signed.get("spec_version")
    if not isinstance(spec, str) or spec.split(".")[0] != "1":
        raise ValueError(f"unsupported spec_version {spec!r}")
    expires = signed.get("expires")
    if not isinstance(expires, str) or not _EXPIRES.fullmatch(expires):
        raise ValueError(f"bad expires {expires!r}")
    datetime.strptime(expires, EXPIRES_FORMAT)
    if type_name == "targets":
        _check_targets_map(signed.get("targets"))
        delegations = signed.get("delegations")
        if delegations is not None:
            if not isinstance(delegations, dict) or not (
                isinstance(delegations.get("roles"), list)
                or isinstance(delegations.get("succinct_roles"), dict)
            ):
                raise ValueError("malformed delegations")
            _check_key_table(delegations.get("keys"))
    elif type_name == "root":
        if not isinstance(signed.get("roles"), dict):
            raise ValueError("malformed roles")
        _check_key_table(signed.get("keys"))
    elif type_name == "timestamp":
        meta = signed.get("meta")
        entry = meta.get("snapshot.json") if isinstance(meta, dict) else None
        if not isinstance(entry, dict) or not _is_int(entry.get("version"), 1):
            raise ValueError("no snapshot.json version in meta")


def file_identity(role: str, path: Path) -> tuple[int, int, int]:
    """What tells a parsed copy of PATH is still current: inode, size, mtime (versioned
    files are never rewritten in place)."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise CorruptMetadataError(f"{role}: file {path.name} is missing") from None
    return (info.st_ino, info.st_size, info.st_mtime_ns)


@dataclass(frozen=True)
class MetadataFile:
    """One metadata file read as plain data: its bytes, and its signed object and signatures."""

    name: str
    data: bytes
    document: SignedDocument
    raw: dict[str, Any]
    """The whole file's JSON object (what is written again, byte for byte, on publish)."""

    @property
    def signed(self) -> Mapping[str, Any]:
        return self.document.signed

    @property
    def version(self) -> int:
        return int(self.signed["version"])


def parse_metadata_file(data: bytes, role: str, name: str, type_name: str) -> MetadataFile:
    """DATA (the file NAME of ROLE) as a MetadataFile of type TYPE_NAME; CorruptMetadataError
    naming the file if it is not one."""
    try:
        raw = json.loads(data)
        if not isinstance(raw, dict) or not isinstance(raw.get("signed"), dict):
            raise ValueError("not a {signed, signatures} object")
        signed = raw["signed"]
        kind = signed.get("_type")
        if kind != type_name:
            raise CorruptMetadataError(f"{role}: {name} has type {kind}, expected {type_name}")
        _check_signed(signed, type_name)
        signatures = signature_map(raw.get("signatures"))
    except CorruptMetadataError:
        raise
    except (ValueError, TypeError, AttributeError) as error:
        reason = str(error).splitlines()[0] if str(error) else "malformed"
        raise CorruptMetadataError(f"{role}: {name} does not parse ({reason})") from None
    return MetadataFile(name, data, SignedDocument(signed, signatures), raw)


def python_tuf_view(file: MetadataFile, role: str, kind: type[T]) -> Metadata[T]:
    """python-tuf's object of FILE, for the writers that edit metadata with it."""
    from tuf.api.metadata import Metadata

    try:
        md: Metadata[Any] = Metadata.from_bytes(file.data)
    except Exception as error:  # python-tuf raises several types for bad input
        reason = str(error).splitlines()[0] if str(error) else "malformed"
        raise CorruptMetadataError(f"{role}: {file.name} does not parse ({reason})") from None
    if not isinstance(md.signed, kind):
        raise CorruptMetadataError(
            f"{role}: {file.name} has type {md.signed.type}, expected {kind.type}"
        )
    return md


class RawMeta(Mapping[str, "MetaFile"]):
    """Snapshot meta over its parsed JSON object; a MetaFile is built only when read."""

    def __init__(self, raw: Mapping[str, Any]):
        self.raw = raw

    def __getitem__(self, key: str) -> MetaFile:
        from tuf.api.metadata import MetaFile

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
    """A parsed snapshot: its file bytes, its signed object without "meta", its signatures,
    and meta read through the snapshot index (tuf_metadata.snapshot_index), so that a
    lookup parses one chunk and the next snapshot re-encodes only the chunks that changed.
    `index` is None only for a file whose signed part is not its canonical bytes (then
    `raw_meta` holds meta and the next snapshot is encoded in full)."""

    identity: tuple[int, int, int]
    data: bytes
    signed: dict[str, Any]
    signatures: dict[str, str]
    index: IndexedMeta | None
    raw_meta: dict[str, Any] | None = None

    @property
    def version(self) -> int:
        return int(self.signed["version"])

    def entry(self, name: str) -> Mapping[str, Any] | None:
        """The meta entry NAME ({"version", ...}) as the file holds it, or None."""
        try:
            value = self.index.raw(name) if self.index is not None else (
                (self.raw_meta or {})[name])
        except KeyError:
            return None
        if not isinstance(value, dict) or not _is_int(value.get("version"), 1):
            raise CorruptMetadataError(f"snapshot: meta entry {name} is malformed")
        return cast(dict[str, Any], value)

    def payload(self) -> bytes:
        """The canonical bytes the snapshot signature covers."""
        if self.index is not None:
            return self.index.index.payload(self.data)
        return canonical_json({**self.signed, "meta": self.raw_meta})

    @cached_property
    def metadata(self) -> Metadata[Snapshot]:
        """python-tuf's view (meta entries parsed when looked up)."""
        from securesystemslib.signer import Signature
        from tuf.api.metadata import Metadata, MetaFile, Snapshot

        expires = datetime.strptime(self.signed["expires"], EXPIRES_FORMAT).replace(tzinfo=UTC)
        meta = self.index if self.index is not None else RawMeta(self.raw_meta or {})
        snapshot = Snapshot(version=self.version, spec_version=str(self.signed["spec_version"]),
                            expires=expires, meta=cast(dict[str, MetaFile], meta))
        signatures = {keyid: Signature(keyid, sig) for keyid, sig in self.signatures.items()}
        return Metadata(snapshot, signatures)


def parse_snapshot(data: bytes, name: str) -> tuple[dict[str, Any], dict[str, str]]:
    """The signed object and signatures of snapshot file DATA (meta not looked into)."""
    try:
        doc = json.loads(data)
        signed = doc["signed"]
        if signed["_type"] != "snapshot":
            raise CorruptMetadataError(
                f"snapshot: {name} has type {signed['_type']}, expected snapshot"
            )
        if not isinstance(signed["meta"], dict):
            raise ValueError("bad meta")
        _check_signed(signed, "snapshot")
        signatures = signature_map(doc["signatures"])
    except CorruptMetadataError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CorruptMetadataError(f"snapshot: {name} does not parse ({error})") from None
    return signed, signatures


def meta_entry(snapshot: Snapshot | SnapshotFile, name: str) -> Mapping[str, Any] | None:
    """Snapshot's entry NAME as plain data, from the plain file or a python-tuf Snapshot."""
    if isinstance(snapshot, SnapshotFile):
        return snapshot.entry(name)
    meta = snapshot.meta.get(name)
    return None if meta is None else meta.to_dict()


class MetadataReader:
    """The metadata of the repository at root_dir, read and verified on demand (no writes)."""

    def __init__(self, root_dir: Path):
        self.root_dir = Path(root_dir)
        self.paths = repository_paths(self.root_dir)
        # Versioned metadata files never change once written (consistent snapshots), so a
        # parsed file is reused while its inode, size and mtime are unchanged; a signature
        # check is reused for the same (file object, delegator object) pair.
        self._parsed: dict[Path, tuple[tuple[int, int, int], MetadataFile]] = {}
        self._views: dict[Path, tuple[MetadataFile, Metadata[Any]]] = {}
        self._verified: dict[tuple[str, int, int], tuple[object, object]] = {}
        self._snapshots: dict[int, SnapshotFile] = {}
        self._plain: dict[int, tuple[Targets, dict[str, Any]]] = {}

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
        self._views.clear()
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

    def tree_enabled(self) -> bool:
        """Whether the repository publishes the snapshot tree (docs/tap16-profile.md)."""
        return self.config().get(TREE_KEY) is True

    def expiry(self) -> ExpiryPolicy:
        return ExpiryPolicy(**self.config().get("expiry_days", {}))

    def shard_layout(self) -> layout.ShardLayout:
        """The shard layout chosen at the key ceremony, as repo.json caches it (a repository
        from before the choice has the default); `repo-tool verify` checks it against the
        top-level targets role, which is what clients read."""
        digits = self.config().get(SHARD_DIGITS_KEY, layout.DEFAULT_SHARD_DIGITS)
        if not isinstance(digits, int) or isinstance(digits, bool):
            raise CorruptMetadataError(f"{CONFIG_NAME}: {SHARD_DIGITS_KEY} is not a number")
        return layout.ShardLayout(digits)

    def role_file(self, role: str, version: int) -> Path:
        return self.metadata_dir / f"{version}.{role}.json"

    # -- files as plain data ----------------------------------------------------------------

    def read_file(self, role: str, path: Path, type_name: str) -> MetadataFile:
        """The metadata file at PATH, of type TYPE_NAME, parsed (not verified)."""
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise CorruptMetadataError(f"{role}: file {path.name} is missing") from None
        return parse_metadata_file(data, role, path.name, type_name)

    def version_file(self, role: str, version: int, type_name: str) -> MetadataFile:
        """VERSION.ROLE.json, parsed (cached while the file is unchanged; not verified)."""
        path = self.role_file(role, version)
        identity = file_identity(role, path)
        cached = self._parsed.get(path)
        if cached is not None and cached[0] == identity and (
            cached[1].signed.get("_type") == type_name
        ):
            return cached[1]
        file = self.read_file(role, path, type_name)
        if file.version != version:
            raise CorruptMetadataError(
                f"{role}: {version}.{role}.json carries version {file.version}"
            )
        self._parsed[path] = (identity, file)
        return file

    def verify_file(self, role: str, delegator: Mapping[str, Any], file: MetadataFile,
                    by: str) -> None:
        """Refuse FILE unless a threshold of the keys DELEGATOR (a "signed" object) assigns
        ROLE signed it."""
        key = (role, id(file), id(delegator))
        seen = self._verified.get(key)
        if seen is not None and seen[0] is file and seen[1] is delegator:
            return
        document = file.document
        if not check_role(delegator, role, document.payload, document.signatures).satisfied:
            raise CorruptMetadataError(
                f"{role}: version {file.version} is not signed by a threshold of {by}"
            )
        self._remember_verified(key, file, delegator)

    def _remember_verified(self, key: tuple[str, int, int], checked: object,
                           delegator: object) -> None:
        if len(self._verified) >= VERIFIED_CACHE_LIMIT:
            self._verified.clear()
        # The entry holds both objects, so their ids cannot be reused while it exists.
        self._verified[key] = (checked, delegator)

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

    def root_file(self, version: int | None = None) -> MetadataFile:
        """Root VERSION (default: the newest), checked to be signed by a threshold of its own
        root keys."""
        file = self.version_file("root", version or self.root_version(), "root")
        self.verify_file("root", file.signed, file, "its own root keys")
        return file

    def timestamp_file(self, root: Mapping[str, Any]) -> MetadataFile:
        file = self.read_file("timestamp", self.metadata_dir / "timestamp.json", "timestamp")
        self.verify_file("timestamp", root, file, "the timestamp keys in root")
        return file

    def snapshot_file(self, root: Mapping[str, Any], verify: bool) -> SnapshotFile:
        """The newest snapshot on disk (a crash may have left one newer than timestamp's),
        checked against ROOT's snapshot keys if VERIFY."""
        timestamp = self.timestamp_file(root)
        listed = int(timestamp.signed["meta"]["snapshot.json"]["version"])
        version = self.highest_version("snapshot", listed)
        path = self.role_file("snapshot", version)
        identity = file_identity("snapshot", path)
        cached = self._snapshots.get(version)
        if cached is None or cached.identity != identity:
            cached = self.read_snapshot(path, identity, version)
            self._snapshots = {version: cached}
        if verify:
            payload = cached.payload()
            if not check_role(root, "snapshot", payload, cached.signatures).satisfied:
                raise CorruptMetadataError(
                    f"snapshot: version {version} is not signed by a threshold of the snapshot "
                    "keys in root"
                )
        return cached

    def targets_file(self, root: Mapping[str, Any], snapshot: Snapshot | SnapshotFile
                     ) -> MetadataFile:
        file = self.version_file("targets", self.role_version(snapshot, "targets"), "targets")
        self.verify_file("targets", root, file, "the targets keys in root")
        return file

    def shard_file(self, targets: Mapping[str, Any], snapshot: Snapshot | SnapshotFile,
                   shard: str) -> MetadataFile:
        version = self.role_version(snapshot, shard)
        if version == 0:
            raise CorruptMetadataError(f"{shard}: not listed in snapshot")
        file = self.version_file(shard, version, "targets")
        self.verify_file(shard, targets, file, "the maintainers' targets keys")
        return file

    # -- python-tuf views (the writers that edit metadata with python-tuf) -----------------

    def view(self, role: str, file: MetadataFile, kind: type[T]) -> Metadata[T]:
        """python-tuf's object of FILE (one per parsed file)."""
        path = self.metadata_dir / file.name
        cached = self._views.get(path)
        if cached is not None and cached[0] is file and isinstance(cached[1].signed, kind):
            return cached[1]
        md = python_tuf_view(file, role, kind)
        self._views[path] = (file, md)
        return md

    def load_version(self, role: str, version: int, kind: type[T]) -> Metadata[T]:
        return self.view(role, self.version_file(role, version, kind.type), kind)

    def load_root(self) -> Metadata[Root]:
        """The newest root, checked to be signed by a threshold of its own root keys."""
        from tuf.api.metadata import Root

        return self.view("root", self.root_file(), Root)

    def load_root_version(self, version: int) -> Metadata[Root]:
        from tuf.api.metadata import Root

        return self.view("root", self.root_file(version), Root)

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
        self._remember_verified(key, md, delegator)

    def load_timestamp(self, root: Root) -> Metadata[Timestamp]:
        from tuf.api.metadata import Timestamp

        return python_tuf_view(self.timestamp_file(root.to_dict()), "timestamp", Timestamp)

    def load_snapshot(self, root: Root, verify: bool = True) -> Metadata[Snapshot]:
        """The newest snapshot on disk (a crash may have left one newer than timestamp's)."""
        return self.snapshot_file(root.to_dict(), verify).metadata

    def load_targets(self, root: Root, snapshot: Snapshot | SnapshotFile) -> Metadata[Targets]:
        from tuf.api.metadata import Targets

        return self.view("targets", self.targets_file(root.to_dict(), snapshot), Targets)

    def load_shard(self, targets: Targets, snapshot: Snapshot | SnapshotFile,
                   shard: str) -> Metadata[Targets]:
        from tuf.api.metadata import Targets

        return self.view(shard, self.shard_file(self.plain_targets(targets), snapshot, shard),
                         Targets)

    def plain_targets(self, targets: Targets) -> dict[str, Any]:
        """TARGETS (a reader's view: callers edit copies, never a view) as plain data, one
        dict per object: a caller walking every shard under one targets role must not build
        (and have the signature cache keep) a copy of its delegations per shard (4,096 copies
        of 4,096 delegations is gigabytes)."""
        cached = self._plain.get(id(targets))
        if cached is not None and cached[0] is targets:
            return cached[1]
        if len(self._plain) >= PLAIN_CACHE_LIMIT:
            self._plain.clear()
        plain = targets.to_dict()
        self._plain[id(targets)] = (targets, plain)  # holding TARGETS keeps its id unique
        return plain

    # -- snapshot ----------------------------------------------------------------------------

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
            signed, signatures = parse_snapshot(
                data[:index.meta_start] + data[index.meta_end:], path.name
            )
            meta = IndexedMeta(data, index)
        else:
            signed, signatures = parse_snapshot(data, path.name)
            self.check_snapshot_version(signed, path, version)
            built = index_of_file(data, signed, version)
            if built is None:
                raw_meta = signed.pop("meta")
                return SnapshotFile(identity, data, signed, signatures, None, raw_meta)
            meta = IndexedMeta(data, built)
        self.check_snapshot_version(signed, path, version)
        signed.pop("meta")
        return SnapshotFile(identity, data, signed, signatures, meta)

    @staticmethod
    def check_snapshot_version(signed: Mapping[str, Any], path: Path, version: int) -> None:
        if signed["version"] != version:
            raise CorruptMetadataError(f"snapshot: {path.name} carries version {signed['version']}")

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
        return self.read_file("timestamp", path, "timestamp").version

    def role_version(self, snapshot: Snapshot | SnapshotFile, role: str) -> int:
        """Version of a targets-type role that snapshot lists (0 if none)."""
        entry = meta_entry(snapshot, f"{role}.json")
        return 0 if entry is None else int(entry["version"])

    def package_version_on_disk(self, snapshot: Snapshot | SnapshotFile, package: str) -> int:
        """Newest complete version of a package role: snapshot's, or a newer one a crash
        left between writing the role file and signing snapshot (0 if none)."""
        role = layout.package_role(package)
        listed = self.role_version(snapshot, role)
        if listed == 0:
            return 1 if self.role_file(role, 1).exists() else 0
        return self.highest_version(role, listed)

    # -- package roles -----------------------------------------------------------------------

    def rotate_chain(self, snapshot: Snapshot | SnapshotFile, role: str) -> list[bytes]:
        """The bytes of ROLE's rotate files 1..N as snapshot lists them (hash-checked)."""
        files: list[bytes] = []
        number = 1
        while number <= layout.MAX_ROTATIONS + 1:
            entry = meta_entry(snapshot, layout.rotate_file_name(role, number))
            if entry is None:
                break
            path = self.metadata_dir / layout.rotate_file_path(role, number,
                                                                int(entry["version"]))
            try:
                data = path.read_bytes()
            except FileNotFoundError:
                raise CorruptMetadataError(
                    f"{role}: rotate file {number} listed in snapshot is missing"
                ) from None
            hashes = entry.get("hashes")
            if hashes and hashes.get("sha256") != sha256_hex(data):
                raise CorruptMetadataError(f"{role}: rotate file {number} fails its snapshot hash")
            files.append(data)
            number += 1
        return files

    def package_keys(
        self, shard: Mapping[str, Any], snapshot: Snapshot | SnapshotFile, package: str
    ) -> tuple[dict[str, KeyDict], int]:
        """Keys and threshold that must sign the package role now (delegation + TAP 8 chain);
        SHARD is the "signed" object of the package's shard."""
        role = layout.package_role(package)
        delegation = self.delegation_in(shard, package)
        try:
            return verify_rotation_chain(
                role, self.keys_of(shard, delegation), delegation["threshold"],
                self.rotate_chain(snapshot, role),
                superseded=superseded_rotations(role, delegation),
            )
        except RoleRevokedError as error:
            raise RepositoryError(str(error)) from None
        except RotationError as error:
            raise CorruptMetadataError(f"{role}: rotate chain check failed: {error}") from None

    @staticmethod
    def keys_of(shard: Mapping[str, Any], delegation: Mapping[str, Any]) -> dict[str, KeyDict]:
        """The keys of SHARD's key table that DELEGATION lists."""
        return delegated_keys(shard["delegations"]["keys"], delegation["keyids"])

    @staticmethod
    def delegation_in(shard: Mapping[str, Any], package: str) -> dict[str, Any]:
        """The delegated role object of PACKAGE in SHARD (a "signed" object)."""
        role = layout.package_role(package)
        delegations = shard.get("delegations")
        roles = delegations.get("roles") if isinstance(delegations, Mapping) else None
        found = [entry for entry in roles or [] if entry.get("name") == role]
        if len(found) != 1:
            raise RepositoryError(f"{role}: package {package!r} is not delegated")
        delegation = found[0]
        if not isinstance(delegation.get("keyids"), list) or not _is_int(
            delegation.get("threshold"), 1
        ):
            raise CorruptMetadataError(f"{role}: its delegation is malformed")
        return cast(dict[str, Any], delegation)

    def package_delegation(self, shard: Targets, package: str) -> DelegatedRole:
        role = layout.package_role(package)
        if shard.delegations is None or shard.delegations.roles is None:
            raise RepositoryError(f"{role}: package {package!r} is not delegated")
        delegation = shard.delegations.roles.get(role)
        if delegation is None:
            raise RepositoryError(f"{role}: package {package!r} is not delegated")
        return delegation

    def package_context(self, package: str) -> PackageContext:
        """Snapshot, delegation and effective (post-rotation) keys of a delegated package.

        The snapshot is the newest on disk, not verified: this repository signed it."""
        layout.validate_package_name(package)
        snapshot, shard = self.package_shard_file(package, verify_snapshot=False)
        delegation = self.delegation_in(shard.signed, package)
        keys, threshold = self.package_keys(shard.signed, snapshot, package)
        return PackageContext(snapshot, delegation, self.keys_of(shard.signed, delegation),
                              keys, threshold)

    def package_shard_file(
        self, package: str, verify_snapshot: bool = True
    ) -> tuple[SnapshotFile, MetadataFile]:
        """The current snapshot and the package's shard, verified on the way down from root."""
        root = self.root_file().signed
        snapshot = self.snapshot_file(root, verify=verify_snapshot)
        targets = self.targets_file(root, snapshot).signed
        shard = layout.shard_layout_of(targets).shard_role(package)
        return snapshot, self.shard_file(targets, snapshot, shard)

    def package_shard(
        self, package: str, verify_snapshot: bool = True
    ) -> tuple[Snapshot, Metadata[Targets]]:
        """`package_shard_file` as python-tuf objects.

        VERIFY_SNAPSHOT False: the publish path, which reads the snapshot it signed itself.
        For a quorum change of the shard: call it holding the writer lock, and edit a copy.
        """
        from tuf.api.metadata import Targets

        snapshot, shard = self.package_shard_file(package, verify_snapshot)
        return snapshot.metadata.signed, self.view(shard.name, shard, Targets)

    def current_package_file(self, package: str) -> MetadataFile | None:
        """The published package role, or None if no release was published yet."""
        context = self.package_context(package)
        role = layout.package_role(package)
        version = self.role_version(context.snapshot, role)
        if version == 0:
            return None
        file = self.version_file(role, version, "targets")
        document = file.document
        result = check_threshold(document.payload, document.signatures, context.keys,
                                 context.threshold)
        if not result.satisfied:
            raise CorruptMetadataError(
                f"{role}: version {version} is not signed by a threshold of the author keys"
            )
        return file

    def current_package(self, package: str) -> Metadata[Targets] | None:
        """`current_package_file` as a python-tuf object."""
        from tuf.api.metadata import Targets

        file = self.current_package_file(package)
        return None if file is None else self.view(file.name, file, Targets)

    def packages(self) -> Iterable[str]:
        """Names of delegated packages (reads all shards)."""
        root = self.root_file().signed
        snapshot = self.snapshot_file(root, verify=False)
        targets = self.targets_file(root, snapshot).signed
        shards = layout.shard_layout_of(targets)
        for prefix in shards.all_shard_prefixes():
            shard = self.shard_file(targets, snapshot, shards.shard_role_for_prefix(prefix))
            delegations = shard.signed.get("delegations")
            for entry in (delegations or {}).get("roles") or []:
                package = layout.package_of_role(entry.get("name", ""))
                if package:
                    yield package
