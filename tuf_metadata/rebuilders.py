"""Rebuilder roles: delegating them by quorum, listing them, and their attestations.

An independent rebuilder rebuilds published releases and publishes what it got.
Top-level targets delegates (terminating) one role per rebuilder,
``rebuilder-NAME``, to the rebuilder's own keys, with the paths
``attestations/*/*/*/NAME.intoto.jsonl`` (tuf_metadata.layout). Adding or
removing one changes top-level targets, so it is a maintainer-quorum pending
change (tuf_metadata.quorum), signed and committed like `package add`.

The rebuilder signs its own role (like authors sign package roles; TAP 8
rotation works for it through key_rotation): `submit_attestations` checks each
attestation (its own path, a published image, a canonical DSSE envelope
signed by one of its keys about exactly that image: repo_policy.check_attestation),
signs the next version of the role listing them with everything it listed
before, checks the role (`repo_policy.check_rebuilder_role`, the one threshold
rule), and writes target files, the role, then snapshot and timestamp.

What an attestation *means* to an operator is decided elsewhere, once:
builder.rebuilder_policy (the repository only vouches for who signed what).
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from securesystemslib.signer import Key, Signer
from tuf.api.metadata import DelegatedRole, Metadata, Snapshot, TargetFile, Targets

from signing.threshold import KeyDict
from tuf_metadata import layout
from tuf_metadata.metadata_reader import MetadataReader, SnapshotFile
from tuf_metadata.repo_policy import (
    check_attestation,
    check_key_set,
    check_rebuilder_keys_unshared,
    check_rebuilder_role,
    first_outsider,
)
from tuf_metadata.repo_types import (
    CorruptMetadataError,
    PackageContext,
    PendingChange,
    RepositoryError,
    metadata_bytes,
    utc_now,
)
from tuf_metadata.rotate import (
    RoleRevokedError,
    RotationError,
    superseded_rotations,
    verify_rotation_chain,
)
from tuf_metadata.store import atomic_write, crash_point, fsync_dir, repository_lock, write_once
from tuf_metadata.trust import SignedDocument, delegated_keys, key_dicts

if TYPE_CHECKING:
    from tuf_metadata.key_rotation import KeyRotation
    from tuf_metadata.online import OnlineServices
    from tuf_metadata.quorum import QuorumChanges


@dataclass(frozen=True)
class RebuilderInfo:
    """One delegated rebuilder as `rebuilder list` shows it."""

    name: str
    role: str
    keyids: tuple[str, ...]
    """The keys in force (the delegation's, after any TAP 8 rotation)."""
    threshold: int
    attestations: int
    """Attestations its published role lists (0 before its first submission)."""
    revoked: bool = False


def rebuilder_delegations(targets: Targets) -> dict[str, DelegatedRole]:
    """Rebuilder name -> its delegation, for every rebuilder TARGETS delegates."""
    if targets.delegations is None or targets.delegations.roles is None:
        return {}
    found = {}
    for role, delegation in targets.delegations.roles.items():
        name = layout.rebuilder_of_role(role)
        if name is not None:
            found[name] = delegation
    return found


def rebuilder_context(
    files: MetadataReader, targets: Targets, snapshot: Snapshot, name: str
) -> PackageContext:
    """Delegation and keys in force (delegation + TAP 8 chain) of rebuilder NAME.

    RepositoryError if TARGETS does not delegate it or its role is revoked."""
    role = layout.rebuilder_role(name)
    delegation = rebuilder_delegations(targets).get(name)
    if delegation is None:
        raise RepositoryError(f"{role}: rebuilder {name!r} is not delegated by targets")
    assert targets.delegations is not None
    delegation_keys = delegated_keys(key_dicts(targets.delegations.keys), delegation.keyids)
    try:
        keys, threshold = verify_rotation_chain(
            role, delegation_keys, delegation.threshold, files.rotate_chain(snapshot, role),
            superseded=superseded_rotations(role, delegation.unrecognized_fields),
        )
    except RoleRevokedError as error:
        raise RepositoryError(str(error)) from None
    except RotationError as error:
        raise CorruptMetadataError(f"{role}: rotate chain check failed: {error}") from None
    return PackageContext(snapshot, delegation.to_dict(), delegation_keys, keys, threshold)


class Rebuilders:
    """Rebuilder roles of the repository FILES reads; quorum changes through QUORUM,
    rotation through ROTATION, publication through ONLINE."""

    def __init__(
        self, files: MetadataReader, online: OnlineServices, quorum: QuorumChanges,
        rotation: KeyRotation,
    ):
        self.files = files
        self.online = online
        self.quorum = quorum
        self.rotation = rotation

    def _published(self) -> tuple[Snapshot, Metadata[Targets]]:
        root = self.files.load_root().signed
        snapshot = self.files.load_snapshot(root, verify=False).signed
        return snapshot, self.files.load_targets(root, snapshot)

    def context(self, name: str) -> PackageContext:
        """Snapshot, delegation and keys in force of delegated rebuilder NAME."""
        layout.validate_rebuilder_name(name)
        snapshot, targets = self._published()
        return rebuilder_context(self.files, targets.signed, snapshot, name)

    def _propose_targets(self, description: str, targets: Targets) -> PendingChange:
        for change in self.quorum.pending_changes():
            if any(role == "targets" for role, _ in change.documents):
                raise RepositoryError(
                    f"targets: pending change {change.change_id} already changes top-level "
                    "targets; sign or withdraw it first"
                )
        targets.version += 1
        targets.expires = utc_now() + self.files.expiry().for_role("targets")
        return self.quorum.write_pending(description, [("targets", Metadata(targets))])

    def propose_add(self, name: str, keys: Sequence[Key], threshold: int) -> PendingChange:
        """Propose delegating (terminating) rebuilder NAME's attestation paths to KEYS."""
        layout.validate_rebuilder_name(name)
        role = layout.rebuilder_role(name)
        check_key_set(role, "rebuilder", keys, threshold)
        with repository_lock(self.files.root_dir):
            snapshot, targets_md = self._published()
            # Deep copy: to_dict shares lists with the cached published targets.
            targets = Targets.from_dict(copy.deepcopy(targets_md.signed.to_dict()))
            assert targets.delegations is not None and targets.delegations.roles is not None
            existing = rebuilder_delegations(targets)
            if name in existing:
                raise RepositoryError(f"{role}: rebuilder {name!r} is already delegated")
            if f"{role}.json" in snapshot.meta or layout.rotate_file_name(role, 1) in snapshot.meta:
                # Its old role and rotate files stay listed (snapshot never drops an entry),
                # and would apply to the new keys: a new delegation needs a new name.
                raise RepositoryError(
                    f"{role}: the name {name!r} was delegated before; give the rebuilder a new name"
                )
            others = {
                other: list(delegated_keys(targets.delegations.keys, d.keyids).values())
                for other, d in existing.items()
            }
            check_rebuilder_keys_unshared(name, keys, others)
            for key in keys:
                targets.delegations.keys[key.keyid] = key
            targets.delegations.roles[role] = DelegatedRole(
                name=role, keyids=sorted(key.keyid for key in keys), threshold=threshold,
                terminating=True, paths=layout.rebuilder_paths(name),
            )
            return self._propose_targets(f"delegate rebuilder {name}", targets)

    def propose_remove(self, name: str) -> PendingChange:
        """Propose ending rebuilder NAME's delegation: its attestations stop counting."""
        layout.validate_rebuilder_name(name)
        role = layout.rebuilder_role(name)
        with repository_lock(self.files.root_dir):
            _, targets_md = self._published()
            targets = Targets.from_dict(copy.deepcopy(targets_md.signed.to_dict()))
            assert targets.delegations is not None and targets.delegations.roles is not None
            if name not in rebuilder_delegations(targets):
                raise RepositoryError(f"{role}: rebuilder {name!r} is not delegated")
            removed = targets.delegations.roles.pop(role)
            in_use = {k for d in targets.delegations.roles.values() for k in d.keyids}
            for keyid in removed.keyids:
                if keyid not in in_use:
                    targets.delegations.keys.pop(keyid, None)
            return self._propose_targets(f"remove rebuilder {name}", targets)

    def list(self) -> list[RebuilderInfo]:
        """Every delegated rebuilder, by name."""
        snapshot, targets = self._published()
        found = []
        for name in sorted(rebuilder_delegations(targets.signed)):
            role = layout.rebuilder_role(name)
            try:
                context = rebuilder_context(self.files, targets.signed, snapshot, name)
            except RepositoryError:
                found.append(RebuilderInfo(name, role, (), 0, 0, revoked=True))
                continue
            version = self.files.role_version(snapshot, role)
            count = 0
            if version:
                md = self.files.load_version(role, version, Targets)
                check_rebuilder_role(SignedDocument.of(md), name, context.keys,
                                     context.threshold, context.delegation)
                count = len(md.signed.targets)
            found.append(RebuilderInfo(
                name, role, tuple(sorted(context.keys)), context.threshold, count
            ))
        return found

    def rotate(
        self, name: str, new_keys: Sequence[Key], threshold: int, signers: Sequence[Signer],
        new_signers: Sequence[Signer] = (), revoke: bool = False, replace_last: bool = False,
    ) -> int:
        """TAP 8 rotation (or TAP 20 revocation) of rebuilder NAME's role, as for packages."""
        layout.validate_rebuilder_name(name)
        role = layout.rebuilder_role(name)
        with repository_lock(self.files.root_dir):
            self.online.require_online()
            context = self.context(name)

            def check_resigned(md: Metadata[Targets], keys: dict[str, KeyDict], k: int) -> None:
                check_rebuilder_role(SignedDocument.of(md), name, keys, k, context.delegation)

            return self.rotation.rotate_locked(
                role, context, self._version_on_disk(context.snapshot, role), check_resigned,
                new_keys, threshold, signers, new_signers, revoke, replace_last,
            )

    def submit_attestations(
        self, name: str, attestations: Mapping[str, bytes], signers: Sequence[Signer]
    ) -> None:
        """Publish rebuilder NAME's ATTESTATIONS (target path -> envelope bytes), signed by
        SIGNERS (a threshold of its keys in force). Nothing is written unless every check
        passes (see the module docstring)."""
        layout.validate_rebuilder_name(name)
        role = layout.rebuilder_role(name)
        if not attestations:
            raise RepositoryError(f"{role}: no attestation to submit")
        with repository_lock(self.files.root_dir):
            self.online.require_online()
            context = self.context(name)
            outsider = first_outsider((s.public_key.keyid for s in signers), context.keys)
            if outsider is not None:
                raise RepositoryError(
                    f"{role}: key {outsider[:16]} is not a key of rebuilder {name!r}"
                )
            published: dict[str, Mapping[str, TargetFile]] = {}
            new_targets: dict[str, TargetFile] = {}
            for path, data in sorted(attestations.items()):
                package, version, target = check_attestation(name, path, data, context.keys)
                if package not in published:
                    current = self._package_targets(package)
                    published[package] = current
                image = self.files.shard_layout().target_path(
                    package, version, f"{package}.{target}")
                if image not in published[package]:
                    raise RepositoryError(
                        f"{role}: {path}: {package} {version} has no published {target} image"
                    )
                new_targets[path] = TargetFile.from_data(path, data, ["sha256"])
            current_version = self._version_on_disk(context.snapshot, role)
            before: dict[str, TargetFile] = {}
            if current_version:
                listed = self.files.load_version(role, current_version, Targets).signed
                before = dict(listed.targets)
            md = Metadata(Targets(
                version=current_version + 1,
                expires=utc_now() + self.files.expiry().for_role("targets"),
                targets={**before, **new_targets},
            ))
            for signer in signers:
                md.sign(signer, append=True)
            check_rebuilder_role(SignedDocument.of(md), name, context.keys, context.threshold,
                                 context.delegation)
            self._write_targets(new_targets, attestations)
            crash_point("attest:targets")
            write_once(self.files.role_file(role, md.signed.version), metadata_bytes(md))
            crash_point("attest:role")
            self.online.new_snapshot_and_timestamp(
                {f"{role}.json": {"version": md.signed.version}}
            )

    def _version_on_disk(self, snapshot: Snapshot | SnapshotFile, role: str) -> int:
        """Newest complete version of ROLE: snapshot's, or a newer one a crash left between
        writing the role file and signing snapshot (0 if none)."""
        listed = self.files.role_version(snapshot, role)
        if listed == 0:
            return 1 if self.files.role_file(role, 1).exists() else 0
        return self.files.highest_version(role, listed)

    def _package_targets(self, package: str) -> Mapping[str, TargetFile]:
        try:
            current = self.files.current_package(package)
        except RepositoryError:
            current = None
        return current.signed.targets if current is not None else {}

    def _write_targets(
        self, new_targets: Mapping[str, TargetFile], data: Mapping[str, bytes]
    ) -> None:
        """Target files under their hash-prefixed names, durable before metadata names them."""
        directories: set[Path] = set()
        for path, tf in new_targets.items():
            folder, filename = path.rsplit("/", 1)
            dest = self.files.targets_dir / folder / f"{tf.hashes['sha256']}.{filename}"
            dest.parent.mkdir(parents=True, exist_ok=True)
            if not dest.exists():
                atomic_write(dest, data[path], sync_dir=False)
            relative = dest.parent.relative_to(self.files.targets_dir)
            directories.update([relative, *relative.parents])
        # Deepest first: each new name, then the directory entries leading to it.
        for directory in sorted(directories, key=lambda d: len(d.parts), reverse=True):
            fsync_dir(self.files.targets_dir / directory)
