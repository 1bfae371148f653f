"""Delegations that supersede a role's TAP 8 chain: folding rotations, re-delegating a name.

A package's authors rotate their keys alone (TAP 8), but a TUF client that does not know
rotate files (python-tuf's ngclient) keeps checking the package role against the keys the
shard delegates. `propose_fold` lets the maintainers catch up: the next shard version
delegates the role to the keys in force at the end of its chain, and records in the
delegated role's extra field (`rotate.SUPERSEDED_FIELD`) that the chain now starts after
those files. Our client and every check of the repository start walking there.

The same field re-delegates a revoked or removed package name (`quorum.propose_package`):
the new delegation supersedes the whole old chain, with new keys only.

Either is a pending change t maintainers sign. `check_delegator_change` runs when it is
proposed and again when it is committed (the pending file could have been edited, or the
chain could have changed meanwhile): `repo_policy.check_superseding` decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from securesystemslib.signer import Key
from tuf.api.metadata import Metadata, Snapshot, Targets

from signing.threshold import key_material
from tuf_metadata import layout
from tuf_metadata.metadata_reader import MetadataReader
from tuf_metadata.repo_policy import DelegatedKeys, check_superseding
from tuf_metadata.repo_types import CorruptMetadataError, PendingChange, RepositoryError, utc_now
from tuf_metadata.rotate import (
    SUPERSEDED_FIELD,
    RoleRevokedError,
    RotationError,
    superseded_rotations,
    verify_rotation_chain,
)
from tuf_metadata.store import repository_lock
from tuf_metadata.trust import delegated_keys, key_dicts, sslib_keys

if TYPE_CHECKING:
    from tuf_metadata.quorum import QuorumChanges


def delegation_of(delegator: Targets, role: str) -> DelegatedKeys | None:
    """What DELEGATOR's delegation of ROLE says must sign it, or None if it has none."""
    delegations = delegator.delegations
    if delegations is None or delegations.roles is None or role not in delegations.roles:
        return None
    delegated = delegations.roles[role]
    try:
        superseded = superseded_rotations(role, delegated.unrecognized_fields)
    except RotationError as error:
        raise RepositoryError(str(error)) from None
    return DelegatedKeys(delegated_keys(key_dicts(delegations.keys), delegated.keyids),
                         delegated.threshold, superseded)


def next_shard_version(files: MetadataReader, shard: Targets) -> datetime:
    """Make SHARD (edited in place by a quorum change) its own next version: keys no
    delegation uses any more dropped, the version bumped, a fresh expiry (returned)."""
    assert shard.delegations is not None and shard.delegations.roles is not None
    used = {keyid for other in shard.delegations.roles.values() for keyid in other.keyids}
    shard.delegations.keys = {keyid: key for keyid, key in shard.delegations.keys.items()
                              if keyid in used}
    shard.version += 1
    shard.expires = utc_now() + files.expiry().for_role("targets")
    return shard.expires


def check_delegator_change(files: MetadataReader, snapshot: Snapshot, current: Targets | None,
                           proposed: Targets) -> None:
    """Refuse PROPOSED (the next version of a delegator, CURRENT its published one) if a
    delegation in it supersedes rotate files it may not (`repo_policy.check_superseding`)."""
    delegations = proposed.delegations
    if delegations is None or delegations.roles is None:
        return
    for role in delegations.roles:
        after = delegation_of(proposed, role)
        before = delegation_of(current, role) if current is not None else None
        assert after is not None
        if after.superseded == (before.superseded if before is not None else 0):
            continue  # the chain is not touched: nothing to read
        check_superseding(role, before, after, files.rotate_chain(snapshot, role))


def propose_fold(files: MetadataReader, quorum: QuorumChanges, package: str,
                 expected: Sequence[Key] = (), expected_threshold: int | None = None
                 ) -> PendingChange:
    """Propose the package's shard delegating its role to the keys in force at the end of
    its rotate chain, superseding the whole chain (t maintainers sign it).

    EXPECTED (and EXPECTED_THRESHOLD), if given, are the keys the maintainers confirmed with
    the authors: the proposal is refused unless the chain ends in exactly those.
    """
    layout.validate_package_name(package)
    role = layout.package_role(package)
    shard_name = files.shard_layout().shard_role(package)
    with repository_lock(files.root_dir):
        snapshot, shard_md = files.package_shard(package)
        shard = Targets.from_dict(shard_md.signed.to_dict())
        before = delegation_of(shard, role)
        if before is None:
            raise RepositoryError(f"{role}: package {package!r} is not delegated")
        chain = files.rotate_chain(snapshot, role)
        if len(chain) == before.superseded:
            raise RepositoryError(
                f"{role}: no rotation to fold (the delegation already names the keys in force)"
            )
        try:
            keys, threshold = verify_rotation_chain(role, before.keys, before.threshold, chain,
                                                    superseded=before.superseded)
        except RoleRevokedError:
            raise RepositoryError(
                f"{role}: package {package!r} is revoked; delegate it to new author keys with "
                f"`repo-tool package add {package} --pubkey ...` instead"
            ) from None
        except RotationError as error:
            raise CorruptMetadataError(f"{role}: rotate chain check: {error}") from None
        if expected and (
            {key_material(key.to_dict()) for key in expected}
            != {key_material(k) for k in keys.values()}
            or (expected_threshold is not None and expected_threshold != threshold)
        ):
            raise RepositoryError(
                f"{role}: the rotate chain ends in threshold {threshold} of keys "
                f"{', '.join(sorted(k[:16] for k in keys))}, not the keys given; a fold takes "
                "exactly the chain's keys (check them with the authors)"
            )
        quorum.check_shard_unchanged(shard_name)
        assert shard.delegations is not None and shard.delegations.roles is not None
        delegated = shard.delegations.roles[role]
        delegated.keyids = sorted(keys)
        delegated.threshold = threshold
        delegated.unrecognized_fields[SUPERSEDED_FIELD] = len(chain)
        shard.delegations.keys.update(sslib_keys(keys))
        next_shard_version(files, shard)
        check_delegator_change(files, snapshot, shard_md.signed, shard)
        return quorum.write_pending(f"fold {len(chain)} rotations of package {package}",
                                    [(shard_name, Metadata(shard))])
