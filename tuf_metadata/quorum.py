"""Quorum changes: the key ceremony and every change that needs t of n maintainers.

A change (init, a maintainer change, delegating a package) is written as a
pending change (pending/ID.json) holding the proposed documents; maintainers
add signatures; when every document reaches every threshold it must reach
(`repo_policy.signing_requirements`) it is committed: delegated roles and
targets first (names nobody references yet), then snapshot and timestamp (the
commit point), and a new root last.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, cast

from securesystemslib.signer import Key, Signer
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    Root,
    Snapshot,
    Targets,
)

from signing.threshold import check_threshold
from tuf_metadata import layout
from tuf_metadata.metadata_reader import MetadataReader
from tuf_metadata.online import OnlineServices
from tuf_metadata.online_keys import finish_online_keys, prepare_online_keys
from tuf_metadata.repo_paths import PUBLISHED_DIR_KEY, separate_layout
from tuf_metadata.repo_policy import check_key_set, check_redelegation, signing_requirements
from tuf_metadata.repo_types import (
    DEFAULT_EXPIRY,
    SHARD_DIGITS_KEY,
    CorruptMetadataError,
    DocumentStatus,
    ExpiryPolicy,
    NotInitialisedError,
    PendingChange,
    QuorumError,
    RepositoryError,
    metadata_bytes,
    utc_now,
)
from tuf_metadata.rotate import SUPERSEDED_FIELD
from tuf_metadata.store import atomic_write, crash_point, repository_lock, write_once
from tuf_metadata.superseding import (
    check_delegator_change,
    delegation_of,
    next_shard_version,
)
from tuf_metadata.trust import signatures_of, signed_payload


def signed_by(md: Metadata[Any], key: Key) -> bool:
    """True if MD carries a valid signature by KEY."""
    return check_threshold(signed_payload(md), signatures_of(md), {key.keyid: key.to_dict()},
                           1).satisfied


def proposed_delegators(change: PendingChange) -> dict[str, Targets]:
    """The targets-type documents of CHANGE by role (a package role's shard among them)."""
    return {role: md.signed for role, md in change.documents if isinstance(md.signed, Targets)}


class QuorumChanges:
    """Pending changes of the repository FILES reads; commits go through ONLINE."""

    def __init__(self, files: MetadataReader, online: OnlineServices):
        self.files = files
        self.online = online

    def check_ceremony(self, maintainers: Sequence[Key], threshold: int) -> None:
        """Refuse a key ceremony that init would refuse, before anything is written."""
        check_key_set("root", "maintainer", maintainers, threshold)
        if self.files.config_path.exists():
            raise RepositoryError(f"{self.files.root_dir} already holds a repository")

    def init(
        self,
        maintainers: Sequence[Key],
        threshold: int,
        snapshot_key: Key,
        timestamp_key: Key,
        online_keys: Mapping[str, Path],
        online_passphrase: str,
        expiry: ExpiryPolicy = DEFAULT_EXPIRY,
        shards: layout.ShardLayout = layout.DEFAULT_SHARDS,
    ) -> PendingChange:
        """Start the key ceremony: write the config and propose root, targets and the
        SHARDS' shard roles (16**digits) v1. The shard count is fixed from then on.

        Nothing is published until `threshold` maintainers signed the pending change.
        """
        self.check_ceremony(maintainers, threshold)
        ids = [key.keyid for key in maintainers]
        self.files.root_dir.mkdir(parents=True, exist_ok=True)
        files = self.files
        # The published tree gets a folder of its own: serving or syncing it never exposes
        # online/, pending/, staging/ or repo.json (tuf_metadata.repo_paths).
        files.use_paths(separate_layout(files.root_dir))
        for sub in (files.metadata_dir, files.targets_dir, files.staging_dir, files.pending_dir):
            sub.mkdir(parents=True, exist_ok=True)
        config = {
            PUBLISHED_DIR_KEY: files.paths.published.name,
            "expiry_days": {
                "root": expiry.root, "targets": expiry.targets,
                "snapshot": expiry.snapshot, "timestamp": expiry.timestamp,
            },
            "online_keys": {role: str(path) for role, path in online_keys.items()},
            "online_passphrase": online_passphrase,
            SHARD_DIGITS_KEY: shards.digits,
        }
        with repository_lock(self.files.root_dir):
            now = utc_now()
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
                    shards.shard_role_for_prefix(prefix): DelegatedRole(
                        name=shards.shard_role_for_prefix(prefix),
                        keyids=sorted(ids),
                        threshold=threshold,
                        terminating=True,
                        paths=shards.shard_paths(prefix),
                    )
                    for prefix in shards.all_shard_prefixes()
                },
            )
            documents: list[tuple[str, Metadata[Any]]] = [
                ("root", Metadata(root)),
                ("targets", Metadata(targets)),
            ]
            for prefix in shards.all_shard_prefixes():
                shard = Targets(expires=now + expiry.for_role("targets"))
                shard.delegations = Delegations(keys={}, roles={})
                documents.append((shards.shard_role_for_prefix(prefix), Metadata(shard)))
            atomic_write(self.files.config_path, (json.dumps(config, indent=2) + "\n").encode())
            return self.write_pending("initial key ceremony", documents)

    def write_pending(
        self, description: str, documents: list[tuple[str, Metadata[Any]]]
    ) -> PendingChange:
        digest = hashlib.sha256()
        for role, md in documents:
            digest.update(role.encode() + b"\0" + signed_payload(md) + b"\0")
        change = PendingChange(digest.hexdigest()[:12], description, documents)
        self.save_pending(change)
        return change

    def save_pending(self, change: PendingChange) -> None:
        doc = {
            "id": change.change_id,
            "description": change.description,
            "documents": [
                {"role": role, "metadata": md.to_dict()} for role, md in change.documents
            ],
        }
        atomic_write(self.files.pending_dir / f"{change.change_id}.json", json.dumps(doc).encode())

    def pending_changes(self) -> list[PendingChange]:
        changes = []
        if not self.files.pending_dir.is_dir():
            return []
        for path in sorted(self.files.pending_dir.glob("*.json")):
            changes.append(self.read_pending(path))
        return changes

    def read_pending(self, path: Path) -> PendingChange:
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
        path = self.files.pending_dir / f"{change_id}.json"
        if not change_id.isalnum() or not path.exists():
            raise QuorumError(f"pending change {change_id!r} does not exist")
        return self.read_pending(path)

    def post_change_roles(
        self, change: PendingChange
    ) -> tuple[Root | None, Root, Targets | None]:
        """(current root or None at init, root after the change, targets after the change)."""
        proposed = dict(change.documents)
        current: Root | None
        if "root" in proposed:
            # The root the proposal replaces, even if a crashed commit already wrote the new
            # one: a re-run must ask for the same signatures as the first attempt.
            base = proposed["root"].signed.version - 1
            current = self.files.load_root_version(base).signed if base >= 1 else None
        else:
            try:
                current = self.files.load_root().signed
            except NotInitialisedError:
                current = None
        new_root = cast(Root, proposed["root"].signed) if "root" in proposed else current
        if new_root is None:
            raise CorruptMetadataError("root: no root published and none proposed")
        if "targets" in proposed:
            new_targets: Targets | None = cast(Targets, proposed["targets"].signed)
        elif current is not None:
            # Snapshot as the newest root verifies it: a re-run of a cut commit that replaced
            # the online keys finds snapshots only the proposed root's keys signed.
            snapshot = self.files.load_snapshot(self.files.load_root().signed).signed
            new_targets = self.files.load_targets(current, snapshot).signed
        else:
            new_targets = None
        return current, new_root, new_targets

    def pending_status(self, change: PendingChange) -> list[DocumentStatus]:
        current_root, new_root, new_targets = self.post_change_roles(change)
        shards = proposed_delegators(change)
        statuses = []
        for role, md in change.documents:
            needed = []
            for need in signing_requirements(role, current_root, new_root, new_targets, shards):
                needed.append((need.label, need.met_by(md), need.threshold))
            statuses.append(DocumentStatus(role, md.signed.version, needed))
        return statuses

    def sign_pending(self, change_id: str, signers: Sequence[Signer]) -> tuple[PendingChange, bool]:
        """Add each signer's signature to every document it may sign; commit at threshold.

        Returns (the change, whether it was committed). A signer whose key may
        sign none of the documents is refused (nothing changes).
        """
        with repository_lock(self.files.root_dir):
            change = self.pending_change(change_id)
            current_root, new_root, new_targets = self.post_change_roles(change)
            shards = proposed_delegators(change)
            added = False
            for signer in signers:
                used = False
                for role, md in change.documents:
                    for need in signing_requirements(role, current_root, new_root, new_targets,
                                                     shards):
                        if signer.public_key.keyid in need.keys:
                            used = True
                            # Keep a valid earlier signature: documents a crashed commit
                            # already wrote must come out byte-identical when it is re-run.
                            if not signed_by(md, signer.public_key):
                                md.sign(signer, append=True)
                                added = True
                            break
                if not used:
                    raise QuorumError(
                        f"key {signer.public_key.keyid[:16]} is not a maintainer key of any role "
                        f"in pending change {change_id}"
                    )
            ready = all(status.satisfied for status in self.pending_status(change))
            if not added and not ready:
                # Ready without a new signature is a re-run of a commit a crash cut: finish it.
                keyids = ", ".join(sorted({s.public_key.keyid[:16] for s in signers}))
                raise QuorumError(
                    f"pending change {change_id} is already signed by key {keyids}; nothing "
                    "changed: other maintainers' keys must sign it (see `repo-tool pending`)"
                )
            if ready:
                self.online.require_online()  # fail before saving anything if they are locked
            self.save_pending(change)
            if ready:
                self.commit(change)
                return change, True
            return change, False

    def commit(self, change: PendingChange) -> None:
        """Publish a fully signed change. Called under the lock; idempotent if interrupted.

        Order: delegated roles, targets (new names nobody references yet), snapshot,
        timestamp.json (the commit point for clients holding the current root), and a
        new root last. The new targets carries a threshold of the current root's
        targets keys as well as the new root's (see repo_policy.signing_requirements), so every
        moment verifies both for a client that holds the current root and, once the
        timestamp is written, for one that holds the new root.
        """
        self.online.require_online()
        is_init = not self.files.role_file("root", 1).exists()
        roles = dict(change.documents)
        updates = {
            f"{role}.json": {"version": md.signed.version}
            for role, md in change.documents if role != "root"
        }
        online_keys_change = False
        if is_init:
            # Without 1.root.json nothing is published: these are a crashed ceremony's.
            self.files.role_file("snapshot", 1).unlink(missing_ok=True)
            (self.files.metadata_dir / "timestamp.json").unlink(missing_ok=True)
        else:
            root = self.files.load_root().signed
            snapshot = self.files.load_snapshot(root).signed
            self.check_delegators(change, root, snapshot)
            for role, md in change.documents:
                if role == "root":
                    expected = self.files.root_version() + 1
                    # New online keys sign beside the old until the new root is out.
                    online_keys_change = prepare_online_keys(self.files, self.online,
                                                             cast(Root, md.signed))
                else:
                    expected = self.files.role_version(snapshot, role) + 1
                    if expected > md.signed.version:
                        # Already listed by an interrupted run of this commit: keep the
                        # listed entry (an older version would be a rollback).
                        del updates[f"{role}.json"]
                on_disk = self.files.role_file(role, md.signed.version)
                if md.signed.version != expected and not (
                    on_disk.exists() and on_disk.read_bytes() == metadata_bytes(md)
                ):
                    raise QuorumError(
                        f"{role}: pending change {change.change_id} proposes version "
                        f"{md.signed.version} but the next version is {expected}; propose it again"
                    )
        order = [r for r in roles if r not in ("root", "targets")]
        order += [r for r in ("targets",) if r in roles]
        for role in order:
            md = roles[role]
            write_once(self.files.role_file(role, md.signed.version), metadata_bytes(md))
            crash_point(f"commit:{role}")
        if is_init:
            self.online.write_initial_snapshot(updates)
        else:
            # Even with nothing left to list: timestamp must reach the newest snapshot,
            # which an interrupted run may have written but not timestamped.
            self.online.new_snapshot_and_timestamp(updates)
        if "root" in roles:
            new_root = roles["root"]
            write_once(self.files.role_file("root", new_root.signed.version),
                       metadata_bytes(new_root))
            crash_point("commit:root")
            if online_keys_change:
                finish_online_keys(self.files, self.online, cast(Root, new_root.signed))
        (self.files.pending_dir / f"{change.change_id}.json").unlink(missing_ok=True)

    def check_delegators(self, change: PendingChange, root: Root, snapshot: Snapshot) -> None:
        """Refuse the change if a targets or shard document in it supersedes rotate files it
        may not (superseding.check_delegator_change), checked against the published chain."""
        targets = self.files.load_targets(root, snapshot).signed
        for role, md in change.documents:
            if role == "root" or not isinstance(md.signed, Targets):
                continue
            if layout.package_of_role(role) is not None:
                if md.signed.targets or md.signed.delegations is not None:
                    raise QuorumError(f"{role}: a quorum change publishes a package role only "
                                      "empty (the first version of a new delegation)")
                continue
            if role == "targets":
                current: Targets | None = targets
            elif self.files.role_version(snapshot, role):
                current = self.files.load_shard(targets, snapshot, role).signed
            else:
                current = None
            check_delegator_change(self.files, snapshot, current, md.signed)

    def propose_maintainers(
        self, description: str, keys: Sequence[Key], threshold: int
    ) -> PendingChange:
        """Propose root N+1 whose root/targets keys are exactly `keys` with `threshold`.

        Also proposes targets (shard delegations to the new keys) and every shard
        re-signed by the new maintainers, so no role is left signed only by old keys.
        """
        check_key_set("root", "maintainer", keys, threshold)
        with repository_lock(self.files.root_dir):
            root_md = self.files.load_root()
            snapshot = self.files.load_snapshot(root_md.signed).signed
            targets_md = self.files.load_targets(root_md.signed, snapshot)
            now = utc_now()
            expiry = self.files.expiry()
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
            # Shards follow the maintainers; rebuilder roles keep their own keys.
            shards = [d for r, d in targets.delegations.roles.items()
                      if layout.rebuilder_of_role(r) is None]
            kept = {keyid for r, d in targets.delegations.roles.items()
                    if layout.rebuilder_of_role(r) is not None for keyid in d.keyids}
            targets.delegations.keys = {
                **{k: v for k, v in targets.delegations.keys.items() if k in kept},
                **{key.keyid: key for key in keys},
            }
            for delegated in shards:
                delegated.keyids = sorted(key.keyid for key in keys)
                delegated.threshold = threshold
            targets.version += 1
            targets.expires = now + expiry.for_role("targets")
            documents: list[tuple[str, Metadata[Any]]] = [
                ("root", Metadata(root)), ("targets", Metadata(targets))
            ]
            shard_layout = layout.shard_layout_of(targets)
            for prefix in shard_layout.all_shard_prefixes():
                name = shard_layout.shard_role_for_prefix(prefix)
                shard_md = self.files.load_shard(targets_md.signed, snapshot, name)
                shard = Targets.from_dict(shard_md.signed.to_dict())
                shard.version += 1
                shard.expires = now + expiry.for_role("targets")
                documents.append((name, Metadata(shard)))
            return self.write_pending(description, documents)

    def propose_package(
        self, package: str, authors: Sequence[Key], threshold: int
    ) -> PendingChange:
        """Propose delegating (terminating) the package's paths to its authors in its shard."""
        layout.validate_package_name(package)
        role = layout.package_role(package)
        check_key_set(role, "author", authors, threshold)
        ids = [key.keyid for key in authors]
        with repository_lock(self.files.root_dir):
            root = self.files.load_root().signed
            snapshot = self.files.load_snapshot(root).signed
            targets = self.files.load_targets(root, snapshot).signed
            shards = layout.shard_layout_of(targets)
            shard_name = shards.shard_role(package)
            shard_md = self.files.load_shard(targets, snapshot, shard_name)
            shard = Targets.from_dict(shard_md.signed.to_dict())
            assert shard.delegations is not None and shard.delegations.roles is not None
            # A revoked or removed name is delegated again past its history: the new
            # delegation supersedes the old rotate chain, and the role's next version (empty,
            # signed by the new authors) replaces the one the old authors signed.
            chain = self.files.rotate_chain(snapshot, role)
            check_redelegation(role, delegation_of(shard, role), chain)
            self.check_shard_unchanged(shard_name)
            for key in authors:
                shard.delegations.keys[key.keyid] = key
            shard.delegations.roles[role] = DelegatedRole(
                name=role, keyids=sorted(ids), threshold=threshold, terminating=True,
                paths=shards.package_paths(package),
                unrecognized_fields={SUPERSEDED_FIELD: len(chain)} if chain else None,
            )
            expires = next_shard_version(self.files, shard)
            check_delegator_change(self.files, snapshot, shard_md.signed, shard)
            documents: list[tuple[str, Metadata[Any]]] = [(shard_name, Metadata(shard))]
            published = self.files.role_version(snapshot, role)
            if published:
                # Listed first, so the commit writes it before the shard: a crash between the
                # two leaves a role no delegation verifies yet, which no snapshot picks up.
                documents.insert(0, (role, Metadata(Targets(version=published + 1,
                                                            expires=expires, targets={}))))
                return self.write_pending(f"delegate package {package} again", documents)
            return self.write_pending(f"delegate package {package}", documents)

    def check_shard_unchanged(self, shard_name: str) -> None:
        """Refuse a second pending change of one shard: committing one would make the
        other's version stale."""
        for change in self.pending_changes():
            if any(r == shard_name for r, _ in change.documents):
                raise RepositoryError(
                    f"{shard_name}: pending change {change.change_id} already changes this "
                    "shard; sign or withdraw it first"
                )

    def withdraw_pending(self, change_id: str) -> None:
        with repository_lock(self.files.root_dir):
            self.pending_change(change_id)
            (self.files.pending_dir / f"{change_id}.json").unlink()
