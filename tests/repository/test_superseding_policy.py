"""Delegations that supersede rotate files, as pure rules: where the TAP 8 chain starts
(`rotate.verify_rotation_chain`, `rotate.superseded_rotations`), what a fold or a new
delegation of a revoked role may name (`repo_policy.check_superseding`,
`check_redelegation`) and who signs a re-delegated role's first version."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import DelegatedRole, Delegations, Root, Targets

from tuf_metadata import layout
from tuf_metadata.repo_policy import (
    DelegatedKeys,
    check_redelegation,
    check_superseding,
    signing_requirements,
)
from tuf_metadata.repo_types import QuorumError, RepositoryError
from tuf_metadata.rotate import (
    SUPERSEDED_FIELD,
    RoleRevokedError,
    RotateFile,
    RotationError,
    sign_rotate,
    superseded_rotations,
    verify_rotation_chain,
)

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

ROLE = layout.package_role("hello")


def signer() -> CryptoSigner:
    return CryptoSigner(Ed25519PrivateKey.generate())


def keys(*signers: CryptoSigner) -> dict[str, dict[str, Any]]:
    return {s.public_key.keyid: s.public_key.to_dict() for s in signers}


def rotation(number: int, to: list[CryptoSigner], by: list[CryptoSigner]) -> bytes:
    return sign_rotate(RotateFile(number, ROLE, keys(*to), 1), by)


def revocation(number: int, by: CryptoSigner) -> bytes:
    return sign_rotate(RotateFile.revocation(ROLE, number), [by])


def test_the_chain_starts_after_the_superseded_files() -> None:
    a, b, c = signer(), signer(), signer()
    chain = [rotation(1, [b], [a]), rotation(2, [c], [b])]
    assert verify_rotation_chain(ROLE, keys(a), 1, chain) == (keys(c), 1)
    # Folded at 1: the walk starts from b (the delegation's keys now) at rotate file 2.
    assert verify_rotation_chain(ROLE, keys(b), 1, chain, superseded=1) == (keys(c), 1)
    assert verify_rotation_chain(ROLE, keys(c), 1, chain, superseded=2) == (keys(c), 1)
    # From b, file 1 (signed by a) does not verify: an unaware walker fails closed.
    with pytest.raises(RotationError, match="rotate file 1 of role 'pkg-hello' has 0 of 1"):
        verify_rotation_chain(ROLE, keys(b), 1, chain)
    with pytest.raises(RotationError, match="supersedes 3 rotate files, but 2 are listed"):
        verify_rotation_chain(ROLE, keys(c), 1, chain, superseded=3)
    # A superseded revocation no longer revokes; one after the superseded files does.
    revoked = [rotation(1, [b], [a]), revocation(2, b)]
    with pytest.raises(RoleRevokedError):
        verify_rotation_chain(ROLE, keys(b), 1, revoked, superseded=1)
    assert verify_rotation_chain(ROLE, keys(c), 1, revoked, superseded=2) == (keys(c), 1)
    # The cap counts every listed file, superseded or not.
    long = [b"{}"] * (layout.MAX_ROTATIONS + 1)
    with pytest.raises(RotationError, match="more than the cap"):
        verify_rotation_chain(ROLE, keys(c), 1, long, superseded=layout.MAX_ROTATIONS)


@pytest.mark.parametrize("value", [-1, True, "1", 1.0, layout.MAX_ROTATIONS + 1, None])
def test_a_malformed_superseded_field_is_refused(value: object) -> None:
    with pytest.raises(RotationError, match=SUPERSEDED_FIELD):
        superseded_rotations(ROLE, {SUPERSEDED_FIELD: value})
    assert superseded_rotations(ROLE, {}) == 0


def test_a_fold_must_name_exactly_the_keys_the_chain_ends_in() -> None:
    a, b, c, d = signer(), signer(), signer(), signer()
    chain = [rotation(1, [b, c], [a]), rotation(2, [d], [b])]
    before = DelegatedKeys(keys(a), 1, 0)
    check_superseding(ROLE, before, DelegatedKeys(keys(d), 1, 2), chain)
    check_superseding(ROLE, before, DelegatedKeys(keys(b, c), 1, 1), chain)  # a partial fold
    for wrong in (DelegatedKeys(keys(a), 1, 2), DelegatedKeys(keys(d, a), 1, 2),
                  DelegatedKeys(keys(b, c), 2, 1)):
        with pytest.raises(RepositoryError, match="a fold takes exactly the chain's keys"):
            check_superseding(ROLE, before, wrong, chain)
    # From an earlier fold, the walk goes on where that one stopped.
    check_superseding(ROLE, DelegatedKeys(keys(b, c), 1, 1), DelegatedKeys(keys(d), 1, 2), chain)
    with pytest.raises(RepositoryError, match="fewer than the 2 it supersedes now"):
        check_superseding(ROLE, DelegatedKeys(keys(d), 1, 2), DelegatedKeys(keys(a), 1, 0), chain)
    with pytest.raises(RepositoryError, match="supersedes 3 rotate files, but snapshot lists 2"):
        check_superseding(ROLE, before, DelegatedKeys(keys(d), 1, 3), chain)
    # Not touching the chain is not a fold: nothing to check.
    check_superseding(ROLE, before, DelegatedKeys(keys(a), 1, 0), chain)


def test_a_revoked_role_is_delegated_again_only_to_new_keys_past_its_whole_chain() -> None:
    a, b, new = signer(), signer(), signer()
    chain = [rotation(1, [b], [a]), revocation(2, b)]
    before = DelegatedKeys(keys(a), 1, 0)
    check_redelegation(ROLE, before, chain)
    check_superseding(ROLE, before, DelegatedKeys(keys(new), 1, 2), chain)
    for old in (a, b):  # the delegation's key and a key of the chain
        with pytest.raises(RepositoryError, match="signed for the role's earlier delegation"):
            check_superseding(ROLE, before, DelegatedKeys(keys(new, old), 1, 2), chain)
    with pytest.raises(RepositoryError, match="a fold takes exactly the chain's keys"):
        check_superseding(ROLE, before, DelegatedKeys(keys(new), 1, 1), chain)
    # A removed role (no delegation now) with history: the same rule.
    check_superseding(ROLE, None, DelegatedKeys(keys(new), 1, 2), chain)
    with pytest.raises(RepositoryError, match="must supersede all 2 of its rotate files"):
        check_superseding(ROLE, None, DelegatedKeys(keys(new), 1, 1), chain)
    with pytest.raises(RepositoryError, match="earlier delegation"):
        check_superseding(ROLE, None, DelegatedKeys(keys(b), 1, 2), chain)
    # A role that is delegated and not revoked is not delegated again.
    with pytest.raises(RepositoryError, match="already delegated and not revoked"):
        check_redelegation(ROLE, before, chain[:1])
    check_redelegation(ROLE, None, chain[:1])


def test_a_redelegated_role_version_is_signed_by_the_authors_its_proposed_shard_names() -> None:
    maintainer, author = signer(), signer()
    root = Root()
    root.add_key(maintainer.public_key, "targets")
    shard_name = SHARDS.shard_role("hello")
    author_keys = {author.public_key.keyid: author.public_key}
    shard = Targets(delegations=Delegations(keys=author_keys, roles={
        ROLE: DelegatedRole(ROLE, [author.public_key.keyid], 1, True,
                            paths=SHARDS.package_paths("hello"))}))
    top = Targets(delegations=Delegations(keys=keys(maintainer), roles={
        SHARDS.shard_role_for_prefix(prefix): DelegatedRole(
            SHARDS.shard_role_for_prefix(prefix), [maintainer.public_key.keyid], 1, True,
            paths=SHARDS.shard_paths(prefix))
        for prefix in SHARDS.all_shard_prefixes()}))
    (need,) = signing_requirements(ROLE, root, root, top, {shard_name: shard})
    assert (need.label, set(need.keys), need.threshold) == (
        "new author keys", {author.public_key.keyid}, 1)
    with pytest.raises(QuorumError, match="only with the shard-"):
        signing_requirements(ROLE, root, root, top, {})
    with pytest.raises(QuorumError, match="needs the top-level targets role"):
        signing_requirements(ROLE, root, root, None, {shard_name: shard})
