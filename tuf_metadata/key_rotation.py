"""TAP 8 key rotation of a package or rebuilder role, as the repository writes it.

The request is validated by `repo_policy.plan_rotation` (pure); the rotate
file is checked with the same function the client and `verify` use
(`rotate.verify_rotate_step`) before anything is written. Order of writes:
rotate file, the re-signed role (if it has published metadata), then
snapshot and timestamp (the commit point).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from securesystemslib.signer import Key, Signer
from tuf.api.metadata import Metadata, Targets

from signing.threshold import KeyDict
from tuf_metadata import layout
from tuf_metadata.metadata_reader import MetadataReader, meta_entry
from tuf_metadata.online import OnlineServices
from tuf_metadata.repo_policy import (
    RoleKeyState,
    check_package_role,
    first_outsider,
    plan_rotation,
)
from tuf_metadata.repo_types import (
    PackageContext,
    RepositoryError,
    metadata_bytes,
    sha256_hex,
    utc_now,
)
from tuf_metadata.rotate import (
    RotationError,
    sign_rotate,
    superseded_rotations,
    verify_rotate_step,
)
from tuf_metadata.store import atomic_write, crash_point, repository_lock, write_once
from tuf_metadata.trust import SignedDocument

RoleCheck = Callable[[Metadata[Targets], dict[str, KeyDict], int], None]
"""Raises unless re-signed role metadata is valid under (new keys, new threshold)."""


class KeyRotation:
    """Rotation of delegated roles of the repository FILES reads; publishes through ONLINE."""

    def __init__(self, files: MetadataReader, online: OnlineServices):
        self.files = files
        self.online = online

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
        with repository_lock(self.files.root_dir):
            self.online.require_online()
            context = self.files.package_context(package)

            def check_resigned(md: Metadata[Targets], keys: dict[str, KeyDict], k: int) -> None:
                check_package_role(SignedDocument.of(md), package, keys, k, context.delegation)

            current_version = self.files.package_version_on_disk(context.snapshot, package)
            return self.rotate_locked(
                role, context, current_version, check_resigned, new_keys, threshold, signers,
                new_signers, revoke, replace_last,
            )

    def rotate_locked(
        self,
        role: str,
        context: PackageContext,
        current_version: int,
        check_resigned: RoleCheck,
        new_keys: Sequence[Key],
        threshold: int,
        signers: Sequence[Signer],
        new_signers: Sequence[Signer],
        revoke: bool,
        replace_last: bool,
    ) -> int:
        """`rotate` of any delegated targets role (package or rebuilder), the lock held:
        CONTEXT is its delegation and keys in force, CURRENT_VERSION its newest metadata
        version on disk (0: none), CHECK_RESIGNED what its re-signed metadata must pass
        (the role kind's own rule)."""
        chain = self.files.rotate_chain(context.snapshot, role)
        last = meta_entry(context.snapshot, layout.rotate_file_name(role, len(chain)))
        state = RoleKeyState(
            context.delegation_keys, context.delegation["threshold"], context.keys,
            context.threshold, chain, int(last["version"]) if chain and last else None,
            superseded_rotations(role, context.delegation),
        )
        plan = plan_rotation(role, state, new_keys, threshold, revoke, replace_last)
        number, payload = plan.number, plan.payload
        outsider = first_outsider((s.public_key.keyid for s in signers), plan.signing_keys)
        if outsider is not None:
            raise RepositoryError(
                f"{role}: rotate file {number} must be signed by the keys being replaced; "
                f"key {outsider[:16]} is not one of them"
            )
        data = sign_rotate(payload, signers)
        try:
            verify_rotate_step(role, number, plan.signing_keys, plan.signing_threshold, data)
        except RotationError as error:
            raise RepositoryError(str(error)) from None
        resigned = None
        if current_version and not revoke:
            given = len({s.public_key.keyid for s in new_signers})
            if given < threshold:
                raise RepositoryError(
                    f"{role} has a published release, which the new keys must re-sign: give "
                    f"{threshold} of the new private keys as new signers (rotate "
                    f"--new-signer KEY), got {given}"
                )
            current = self.files.load_version(role, current_version, Targets)
            resigned = Metadata(
                Targets(
                    version=current_version + 1,
                    expires=utc_now() + self.files.expiry().for_role("targets"),
                    targets=dict(current.signed.targets),
                )
            )
            outsider = first_outsider((s.public_key.keyid for s in new_signers), payload.keys)
            if outsider is not None:
                raise RepositoryError(f"{role}: key {outsider[:16]} is not one of the new keys")
            for signer in new_signers:
                resigned.sign(signer, append=True)
            check_resigned(resigned, dict(payload.keys), threshold)
        name = layout.rotate_file_path(role, number, plan.meta_version)
        path = self.files.metadata_dir / name
        path.parent.mkdir(exist_ok=True)
        # This name is not listed in snapshot (N and its version come from the listed
        # chain), so a file already there is a crashed attempt's leftover: replace it.
        atomic_write(path, data)
        crash_point("rotate:file")
        updates: dict[str, dict[str, Any]] = {
            layout.rotate_file_name(role, number): {
                "version": plan.meta_version, "length": len(data),
                "hashes": {"sha256": sha256_hex(data)},
            }
        }
        if resigned is not None:
            write_once(
                self.files.role_file(role, resigned.signed.version), metadata_bytes(resigned)
            )
            crash_point("rotate:role")
            updates[f"{role}.json"] = {"version": resigned.signed.version}
        self.online.new_snapshot_and_timestamp(updates)
        return number
