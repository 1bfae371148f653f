"""The online services: sign snapshot and timestamp with the online keys.

Every write of the repository ends here: snapshot = newest snapshot + the
entries that changed (re-encoding only those), then timestamp.json, whose
atomic rename is the commit point for clients. `refresh_snapshot` also lists
role files a crash (or a maintainer commit made without the online keys) left
on disk, each only after it verifies against its delegator ("orphans").
`tuf_metadata.service` runs these on a schedule.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signing.key_files import KeySigner, PassphraseSource, load_key_signer
from tuf_metadata import layout
from tuf_metadata.metadata_reader import MetadataReader, SnapshotFile
from tuf_metadata.repo_policy import check_package_role, check_rebuilder_role
from tuf_metadata.repo_types import (
    EXPIRES_FORMAT,
    SPEC_VERSION,
    CorruptMetadataError,
    RepositoryError,
    document_bytes,
    sha256_hex,
    utc_now,
)
from tuf_metadata.snapshot_index import INDEX_NAME, encode_full
from tuf_metadata.store import atomic_write, crash_point, repository_lock, write_once
from tuf_metadata.trust import SignedDocument

if TYPE_CHECKING:
    from tuf.api.metadata import MetaFile, Root, Snapshot

MetaEntries = Mapping[str, Mapping[str, Any]]
"""Snapshot meta entries as the file holds them: {"version": N, ...} by file name."""


class OnlineServices:
    """Snapshot and timestamp signing for the repository FILES reads."""

    def __init__(self, files: MetadataReader, passphrase: PassphraseSource | str | None = None):
        self.files = files
        self._online_passphrase = passphrase
        self._online_signers: dict[str, tuple[Path, KeySigner]] = {}
        # While a root change replaces the online keys, the incoming keys sign beside the
        # current ones, so clients on either root verify every moment (tuf_metadata.online_keys).
        self.incoming_signers: dict[str, KeySigner] = {}
        self.log: Callable[[str], None] = lambda message: None

    def online_signer(self, role: str) -> KeySigner:
        """The online signer of snapshot or timestamp (loaded once per key file).

        repo.json names other files after `online-keys rotate`: a running service then
        signs with the new keys from its next round on, never again with replaced ones.
        """
        path = self.files.root_dir / self.files.config()["online_keys"][role]
        cached = self._online_signers.get(role)
        if cached is None or cached[0] != path:
            cached = (path, load_key_signer(path, self.key_passphrase()))
            self._online_signers[role] = cached
        return cached[1]

    def key_passphrase(self) -> PassphraseSource | str:
        """The online keys' passphrase source: the one given to this process, else repo.json's."""
        return self._online_passphrase or self.files.config().get("online_passphrase", "prompt")

    def forget_signers(self) -> None:
        """Load the online keys again from repo.json's files (after a key change)."""
        self._online_signers.clear()
        self.incoming_signers.clear()

    def signers(self, role: str) -> list[KeySigner]:
        """Who signs ROLE now: the online key, and an incoming one during a key change."""
        incoming = self.incoming_signers.get(role)
        return [self.online_signer(role), *([incoming] if incoming else [])]

    def require_online(self) -> None:
        """Unlock both online keys before an operation writes anything."""
        self.online_signer("snapshot")
        self.online_signer("timestamp")

    def write_initial_snapshot(self, meta: MetaEntries) -> None:
        base = {"_type": "snapshot", "spec_version": SPEC_VERSION, "version": 0}
        self.write_snapshot_and_timestamp(base, None, meta)

    def write_snapshot_and_timestamp(
        self, base: Mapping[str, Any], base_meta: SnapshotFile | None,
        updates: MetaEntries,
    ) -> int:
        """Sign snapshot = base + updates (next version), write it and its index, then
        timestamp. BASE is the previous signed object without "meta"; BASE_META the file
        whose meta it continues (None: an empty meta)."""
        changes = {name: dict(entry) for name, entry in updates.items()}
        version = int(base["version"]) + 1
        expires = utc_now() + self.files.expiry().for_role("snapshot")
        signed = {**base, "version": version, "expires": expires.strftime(EXPIRES_FORMAT)}
        if base_meta is not None and base_meta.index is not None:
            encoded = base_meta.index.encode_next(signed, changes)
        else:
            previous = {} if base_meta is None else dict(base_meta.raw_meta or {})
            encoded = encode_full({**signed, "meta": {**previous, **changes}})
        signatures = json.dumps([signer.sign(encoded.payload)
                                 for signer in self.signers("snapshot")],
                                sort_keys=True, separators=(",", ":"))
        if encoded.plain:
            data = encoded.file_bytes(signatures.encode())
        else:  # canonical JSON writes control characters raw: the file needs escapes
            meta = json.loads(encoded.payload[encoded.meta_offset - 1:
                                              encoded.meta_offset + encoded.meta_length + 1],
                              strict=False)  # canonical JSON's only escapes are JSON's too
            body = json.dumps({**signed, "meta": meta}, sort_keys=True, separators=(",", ":"))
            data = b'{"signatures":' + signatures.encode() + b',"signed":' + body.encode() + b"}"
        path = self.files.role_file("snapshot", version)
        write_once(path, data)
        crash_point("snapshot")
        index = encoded.index(version, data) if encoded.plain else None
        if index is not None:
            atomic_write(self.files.root_dir / INDEX_NAME, index.to_json())
            crash_point("snapshot:index")
        info = path.stat()
        identity = (info.st_ino, info.st_size, info.st_mtime_ns)
        self.files.remember_snapshot(
            version, self.files.snapshot_from(data, path, identity, version, index)
        )
        self.log(f"signed snapshot version {version}")
        if self.files.tree_enabled():  # docs/tap16-profile.md: only the changed shards' bundles
            from tuf_metadata.snapshot_tree_files import write_tree  # tree mode only

            write_tree(self.files, signed, changes, lambda: json.loads(data)["signed"]["meta"],
                       self.signers("snapshot"))
        self.write_timestamp(version, data)
        return version

    def write_timestamp(self, snapshot_version: int, snapshot_bytes: bytes) -> int:
        """Sign and write timestamp.json for the snapshot SNAPSHOT_BYTES; its version."""
        version = self.files.current_timestamp_version() + 1
        tree_field: dict[str, Any] = {}
        if self.files.tree_enabled():
            from tuf_metadata.snapshot_tree_files import timestamp_field  # tree mode only

            tree_field = timestamp_field(self.files, snapshot_version, snapshot_bytes,
                                         self.signers("snapshot"))
        expires = utc_now() + self.files.expiry().for_role("timestamp")
        signed: dict[str, Any] = {
            "_type": "timestamp",
            "spec_version": SPEC_VERSION,
            "version": version,
            "expires": expires.strftime(EXPIRES_FORMAT),
            "meta": {"snapshot.json": {
                "version": snapshot_version,
                "length": len(snapshot_bytes),
                "hashes": {"sha256": sha256_hex(snapshot_bytes)},
            }},
            **tree_field,
        }
        payload = SignedDocument(signed, {}).payload
        signatures = {signer.keyid: signer.sign(payload) for signer in self.signers("timestamp")}
        document = {"signatures": list(signatures.values()), "signed": signed}
        atomic_write(self.files.metadata_dir / "timestamp.json", document_bytes(document))
        self.log(f"signed timestamp version {version} (snapshot {snapshot_version})")
        crash_point("timestamp")
        return version

    def new_snapshot_and_timestamp(self, updates: MetaEntries) -> int:
        """Write snapshot = newest snapshot + UPDATES, then timestamp (the commit point).

        Returns the new snapshot version.
        """
        base = self.files.snapshot_file(self.files.root_file().signed, verify=False)
        return self.write_snapshot_and_timestamp(base.signed, base, updates)

    def refresh_snapshot(self) -> int | None:
        """Make a new snapshot if any targets-type role has a newer verified file on disk.

        Also re-signs timestamp if a crash left a snapshot newer than timestamp's.
        Returns the new snapshot version, or None if nothing changed. Newer files
        that do not verify against their delegator are left out (and logged).
        """
        with repository_lock(self.files.root_dir):
            root = self.files.load_root().signed
            listed = self.files.load_timestamp(root).signed.snapshot_meta.version
            snapshot = self.files.load_snapshot(root).signed
            updates = self.orphans(root, snapshot)
            if updates:
                return self.new_snapshot_and_timestamp(updates)
            if snapshot.version != listed:
                data = self.files.role_file("snapshot", snapshot.version).read_bytes()
                self.write_timestamp(snapshot.version, data)
                return snapshot.version
            return None

    def orphans(self, root: Root, snapshot: Snapshot) -> dict[str, dict[str, Any]]:
        """Newer complete role files not yet in snapshot, each verified against its delegator."""
        from tuf.api.metadata import MetaFile, Snapshot, Targets

        newest: dict[str, int] = {}
        for entry in os.scandir(self.files.metadata_dir):
            version, _, rest = entry.name.partition(".")
            if not version.isdigit() or not rest.endswith(".json"):
                continue
            role = rest[: -len(".json")]
            if role in ("root", "snapshot"):
                continue
            meta = snapshot.meta.get(f"{role}.json")
            if meta is not None and int(version) > meta.version:
                newest[role] = max(newest.get(role, 0), int(version))
            elif meta is None and role.startswith((layout.PACKAGE_PREFIX,
                                                   layout.REBUILDER_PREFIX)):
                newest[role] = max(newest.get(role, 0), int(version))
        updates: dict[str, dict[str, Any]] = {}
        merged: dict[str, MetaFile] = dict(snapshot.meta)

        def accept(role: str, version: int) -> None:
            merged[f"{role}.json"] = MetaFile(version=version)
            updates[f"{role}.json"] = {"version": version}

        view = Snapshot(meta=merged)
        if "targets" in newest:
            md = self.files.load_version("targets", newest["targets"], Targets)
            try:
                self.files.verify("targets", root, md, "the targets keys in root")
                accept("targets", newest["targets"])
            except CorruptMetadataError as error:
                self.log(f"skipped: {error}")
        targets = self.files.load_targets(root, view).signed
        shards = layout.shard_layout_of(targets)
        for role in sorted(r for r in newest if r.startswith(layout.SHARD_PREFIX)):
            md = self.files.load_version(role, newest[role], Targets)
            try:
                self.files.verify(role, targets, md, "the maintainers' targets keys")
                accept(role, newest[role])
            except (CorruptMetadataError, ValueError) as error:
                self.log(f"skipped: {error}")
        for role in sorted(r for r in newest if r.startswith(layout.PACKAGE_PREFIX)):
            package = layout.package_of_role(role)
            if package is None:
                continue
            try:
                shard = self.files.load_shard(targets, view, shards.shard_role(package))
                shard_signed = shard.signed.to_dict()
                keys, threshold = self.files.package_keys(shard_signed, view, package)
                md = self.files.load_version(role, newest[role], Targets)
                delegation = self.files.delegation_in(shard_signed, package)
                check_package_role(SignedDocument.of(md), package, keys, threshold, delegation)
                if newest[role] == self.files.role_version(view, role) + 1:
                    accept(role, newest[role])
            except RepositoryError as error:
                self.log(f"skipped: {error}")
        # Imported here: rebuilder roles are rare, and every publish imports this module.
        from tuf_metadata.rebuilders import rebuilder_context

        for role in sorted(r for r in newest if layout.rebuilder_of_role(r) is not None):
            name = layout.rebuilder_of_role(role)
            assert name is not None
            try:
                context = rebuilder_context(self.files, targets, view, name)
                md = self.files.load_version(role, newest[role], Targets)
                check_rebuilder_role(SignedDocument.of(md), name, context.keys,
                                     context.threshold, context.delegation)
                if newest[role] == self.files.role_version(view, role) + 1:
                    accept(role, newest[role])
            except RepositoryError as error:
                self.log(f"skipped: {error}")
        return updates

    def snapshot_expiring(self, fraction: float = 0.5) -> bool:
        root = self.files.load_root().signed
        md = self.files.load_snapshot(root, verify=False)
        return self.past_fraction(md.signed.expires, "snapshot", fraction)

    def timestamp_expiring(self, fraction: float = 0.5) -> bool:
        root = self.files.load_root().signed
        md = self.files.load_timestamp(root)
        return self.past_fraction(md.signed.expires, "timestamp", fraction)

    def past_fraction(self, expires: datetime, role: str, fraction: float) -> bool:
        lifetime = self.files.expiry().for_role(role)
        return datetime.now(UTC) >= expires - lifetime * (1 - fraction)

    def resign_snapshot(self) -> int:
        """Re-sign snapshot (picking up verified newer role files) and timestamp."""
        with repository_lock(self.files.root_dir):
            root = self.files.load_root().signed
            snapshot = self.files.load_snapshot(root, verify=False).signed
            return self.new_snapshot_and_timestamp(self.orphans(root, snapshot))

    def resign_timestamp(self) -> int:
        """Re-sign timestamp for the newest snapshot on disk."""
        with repository_lock(self.files.root_dir):
            root = self.files.load_root().signed
            snapshot = self.files.load_snapshot(root)
            data = self.files.role_file("snapshot", snapshot.signed.version).read_bytes()
            return self.write_timestamp(snapshot.signed.version, data)
