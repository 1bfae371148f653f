"""Our client and delegations that supersede rotate files (docs/tap8-profile.md): a fold of
an author's rotations into the shard's delegation, and a new delegation of a revoked role.

The shard's delegated role carries `x-unirepo-superseded-rotations: S`; the client walks the
role's chain from the delegation's keys starting at rotate file S+1.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from securesystemslib.signer import CryptoSigner

from tests.client.conftest import Client, NewClient
from tests.client.simulator import RepositorySimulator, new_signer
from tuf_metadata import layout
from tuf_metadata.client.errors import BadSignatureError
from tuf_metadata.rotate import (
    SUPERSEDED_FIELD,
    RoleRevokedError,
    RotateFile,
    RotationError,
    sign_rotate,
)

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

IMAGE = SHARDS.target_path("hello", "1.0", "hello.hvt")
SHARD = SHARDS.shard_role("hello")


def rotated(new_client: NewClient) -> tuple[RepositorySimulator, list[CryptoSigner], Client]:
    """hello's author rotated k0 -> k1 (rotate file 1); a client trusts that chain."""
    repo = RepositorySimulator()
    keys = [new_signer() for _ in range(4)]
    repo.add_package("hello", [keys[0]], {"hello.hvt": b"hello image"})
    repo.release_all()
    repo.rotate("pkg-hello", 1, [keys[1]], 1, signed_by=[keys[0]])
    repo.signers["pkg-hello"] = [keys[1]]
    repo.release("pkg-hello")
    client = new_client(repo)
    assert client.download(IMAGE) == b"hello image"
    return repo, keys, client


def delegate_in_shard(repo: RepositorySimulator, signers: Sequence[CryptoSigner],
                      superseded: int | None) -> None:
    """The maintainers' next shard version: pkg-hello delegated to SIGNERS, superseding
    SUPERSEDED rotate files (None: no field)."""
    delegations = repo.role_metadata(SHARD).signed.delegations
    assert delegations is not None and delegations.roles is not None
    delegated = delegations.roles["pkg-hello"]
    for signer in signers:
        delegations.keys[signer.public_key.keyid] = signer.public_key
    delegated.keyids = [signer.public_key.keyid for signer in signers]
    delegated.unrecognized_fields.pop(SUPERSEDED_FIELD, None)
    if superseded is not None:
        delegated.unrecognized_fields[SUPERSEDED_FIELD] = superseded


def test_a_fold_is_followed_and_later_rotations_start_from_the_folded_keys(
        new_client: NewClient) -> None:
    repo, keys, client = rotated(new_client)
    delegate_in_shard(repo, [keys[1]], 1)
    repo.release(SHARD)
    updater = client.refresh()
    assert updater.resolve(IMAGE).chain[-1].keyids == (keys[1].public_key.keyid,)
    fresh = new_client(repo)
    assert fresh.download(IMAGE) == b"hello image"

    # Rotate file 2, signed by the folded keys, is followed by both clients.
    repo.rotate("pkg-hello", 2, [keys[2]], 1, signed_by=[keys[1]])
    repo.signers["pkg-hello"] = [keys[2]]
    repo.add_target("pkg-hello", IMAGE, b"hello image v2")
    repo.release("pkg-hello")
    for each in (client, fresh):
        resolved = each.refresh().resolve(IMAGE)
        assert resolved.chain[-1].keyids == (keys[2].public_key.keyid,)
        assert resolved.chain[-1].rotations == 2
    # A rotate file 3 signed by a key the fold superseded is refused (wrong signer).
    repo.rotate("pkg-hello", 3, [keys[3]], 1, signed_by=[keys[0]])
    repo.release("pkg-hello")
    with pytest.raises(RotationError, match="rotate file 3 of role 'pkg-hello' has 0 of 1"):
        client.refresh()
        client.download(IMAGE)


def test_a_delegation_superseding_more_files_than_listed_is_refused(
        new_client: NewClient) -> None:
    repo, keys, client = rotated(new_client)
    delegate_in_shard(repo, [keys[1]], 2)
    repo.release(SHARD)
    with pytest.raises(RotationError, match="supersedes 2 rotate files, but 1 are listed"):
        client.download(IMAGE)
    delegate_in_shard(repo, [keys[1]], -1)
    repo.release(SHARD)
    with pytest.raises(RotationError, match=f"{SUPERSEDED_FIELD} -1 is not a number"):
        client.download(IMAGE)


def test_the_old_key_signs_nothing_accepted_after_a_fold(new_client: NewClient) -> None:
    repo, keys, client = rotated(new_client)
    delegate_in_shard(repo, [keys[1]], 1)
    repo.release(SHARD)
    client.download(IMAGE)
    repo.signers["pkg-hello"] = [keys[0]]  # the rotated-away key signs the next version
    repo.release("pkg-hello")
    with pytest.raises(BadSignatureError, match="role 'pkg-hello': 0 of 1 required signatures"):
        client.download(IMAGE)


def test_a_revoked_role_delegated_again_verifies_with_the_new_keys_only(
        new_client: NewClient) -> None:
    repo, keys, client = rotated(new_client)
    repo.put_rotate_file("pkg-hello", 2,
                         sign_rotate(RotateFile.revocation("pkg-hello", 2), [keys[1]]))
    repo.release("pkg-hello")
    with pytest.raises(RoleRevokedError):
        client.download(IMAGE)
    # The maintainers delegate it to k3, superseding both files; k3 signs the next version.
    delegate_in_shard(repo, [keys[3]], 2)
    repo.signers["pkg-hello"] = [keys[3]]
    repo.add_target("pkg-hello", IMAGE, b"hello image v3")
    repo.release(SHARD, "pkg-hello")
    cached = client.state()["pkg-hello.json"]
    updater = client.refresh()
    resolved = updater.resolve(IMAGE)
    assert resolved.chain[-1].keyids == (keys[3].public_key.keyid,)
    assert updater.download_target(resolved.info, client.directory / "img") == b"hello image v3"
    assert client.state()["pkg-hello.json"] != cached
    # The revoked author's keys sign nothing the client accepts.
    for revoked in (keys[0], keys[1]):
        repo.signers["pkg-hello"] = [revoked]
        repo.release("pkg-hello")
        with pytest.raises(BadSignatureError, match="role 'pkg-hello'"):
            client.download(IMAGE)
