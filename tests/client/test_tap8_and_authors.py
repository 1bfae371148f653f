"""TAP 8 rotation chains and author key compromise, on the pinned sharded layout.

Every package is delegated targets -> shard-XX -> pkg-NAME (terminating) to
its authors' keys; authors rotate their own keys with rotate files listed in
snapshot.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from securesystemslib.signer import CryptoSigner

from tests.client.conftest import Client, NewClient
from tests.client.simulator import RepositorySimulator, new_signer
from tuf_metadata import layout
from tuf_metadata.client.errors import BadSignatureError, TargetNotFoundError
from tuf_metadata.rotate import (
    RoleRevokedError,
    RotateFile,
    RotationError,
    sign_rotate,
)

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

IMAGE = SHARDS.target_path("hello", "1.0", "hello.hvt")


def package_repo() -> tuple[RepositorySimulator, list[CryptoSigner]]:
    """hello (author key k0) and other (its own author), released."""
    repo = RepositorySimulator()
    keys = [new_signer() for _ in range(5)]
    repo.add_package("hello", [keys[0]], {"hello.hvt": b"hello image"})
    repo.add_package("other", [new_signer()], {"other.hvt": b"other image"})
    repo.release_all()
    return repo, keys


def pkg_state(client: Client) -> dict[str, bytes]:
    return {
        name: data
        for name, data in client.state().items()
        if name.startswith(("pkg-hello", "rotate/"))
    }


@dataclass
class TrustingClient:
    """A client of `repo` that has downloaded IMAGE, and the pkg-hello state it then held."""

    repo: RepositorySimulator
    keys: list[CryptoSigner]
    client: Client
    before: dict[str, bytes]

    def refuses(self, error: type[Exception], match: str) -> None:
        """The next download of IMAGE fails with `error`, the pkg-hello state unchanged."""
        with pytest.raises(error, match=match):
            self.client.download(IMAGE)
        assert pkg_state(self.client) == self.before


def trusting_client(new_client: NewClient) -> TrustingClient:
    """A client that has downloaded hello, signed by its author's key k0."""
    repo, keys = package_repo()
    client = new_client(repo)
    client.download(IMAGE)
    return TrustingClient(repo, keys, client, pkg_state(client))


def rotated_client(new_client: NewClient) -> TrustingClient:
    """A client that already trusts pkg-hello's rotation k0 -> k1."""
    repo, keys = package_repo()
    repo.rotate("pkg-hello", 1, [keys[1]], 1, signed_by=[keys[0]])
    repo.signers["pkg-hello"] = [keys[1]]
    repo.release("pkg-hello")
    client = new_client(repo)
    assert client.download(IMAGE) == b"hello image"
    return TrustingClient(repo, keys, client, pkg_state(client))


def test_valid_rotation_chain_accepted(new_client: NewClient) -> None:
    repo, keys = package_repo()
    client = new_client(repo)
    assert client.download(IMAGE) == b"hello image"
    # k0 -> {k1, k2} threshold 2 -> {k3}
    repo.rotate("pkg-hello", 1, [keys[1], keys[2]], 2, signed_by=[keys[0]])
    repo.rotate("pkg-hello", 2, [keys[3]], 1, signed_by=[keys[1], keys[2]])
    repo.signers["pkg-hello"] = [keys[3]]
    repo.add_target("pkg-hello", IMAGE, b"hello image v2")
    repo.release("pkg-hello")
    updater = client.refresh()
    resolved = updater.resolve(IMAGE)
    assert updater.download_target(resolved.info, client.directory / "img") == b"hello image v2"
    record = resolved.chain[-1]
    assert (record.role, record.rotations, record.keyids) == (
        "pkg-hello",
        2,
        (keys[3].public_key.keyid,),
    )
    assert (
        client.state()["rotate/pkg-hello.rotate.2.json"]
        == repo.rotate_files["rotate/pkg-hello.rotate.2.json"][1]
    )
    # An up-to-date client does not download rotate files again (snapshot pins their hashes).
    client.fetcher.requests.clear()
    client.refresh().resolve(IMAGE)
    assert not any("rotate" in name for name in client.fetcher.names())


def test_metadata_signed_by_unrotated_key_refused(new_client: NewClient) -> None:
    trusted = trusting_client(new_client)
    repo, keys = trusted.repo, trusted.keys
    repo.signers["pkg-hello"] = [keys[1]]  # no rotate file vouches for k1
    repo.release("pkg-hello")
    trusted.refuses(BadSignatureError, "role 'pkg-hello': 0 of 1 required signatures")


def test_missing_listed_rotate_file_refused(new_client: NewClient) -> None:
    trusted = trusting_client(new_client)
    repo, keys = trusted.repo, trusted.keys
    repo.rotate("pkg-hello", 1, [keys[1]], 1, signed_by=[keys[0]])
    repo.signers["pkg-hello"] = [keys[1]]
    repo.release("pkg-hello")
    del repo.metadata_files["rotate/1.pkg-hello.rotate.1.json"]  # withheld by a mirror
    trusted.refuses(RotationError, "a listed rotate file is missing")


def test_gap_in_rotation_chain_refused(new_client: NewClient) -> None:
    trusted = trusting_client(new_client)
    repo, keys = trusted.repo, trusted.keys
    repo.rotate("pkg-hello", 1, [keys[1]], 1, signed_by=[keys[0]])
    repo.rotate("pkg-hello", 3, [keys[3]], 1, signed_by=[keys[1]])
    repo.signers["pkg-hello"] = [keys[3]]
    repo.release("pkg-hello")
    trusted.refuses(RotationError, r"rotate files \[1, 3\] \(gap at 2\)")


def test_fork_of_trusted_rotate_file_refused(new_client: NewClient) -> None:
    trusted = rotated_client(new_client)
    repo, keys = trusted.repo, trusted.keys
    # Someone holding the old key k0 publishes another rotate file 1 (to k4).
    repo.rotate("pkg-hello", 1, [keys[4]], 1, signed_by=[keys[0]], meta_version=2)
    repo.signers["pkg-hello"] = [keys[4]]
    repo.release("pkg-hello")
    trusted.refuses(RotationError, "differs from the copy trusted before \\(fork\\)")


def test_replayed_rotate_file_refused(new_client: NewClient) -> None:
    trusted = rotated_client(new_client)
    repo = trusted.repo
    replay = repo.rotate_files["rotate/pkg-hello.rotate.1.json"][1]
    repo.put_rotate_file("pkg-hello", 2, replay)  # rotate 1 offered again as rotate 2
    repo.release("pkg-hello")
    trusted.refuses(RotationError, "rotate file 2 of role 'pkg-hello' carries version 1")


def test_rotate_file_by_wrong_signer_refused(new_client: NewClient) -> None:
    trusted = trusting_client(new_client)
    repo = trusted.repo
    attacker = new_signer()
    repo.rotate("pkg-hello", 1, [attacker], 1, signed_by=[attacker])
    repo.signers["pkg-hello"] = [attacker]
    repo.add_target("pkg-hello", IMAGE, b"evil image!")
    repo.release("pkg-hello")
    trusted.refuses(RotationError, "0 of 1 required signatures from the keys it replaces")


def test_rotate_file_for_another_role_refused(new_client: NewClient) -> None:
    trusted = trusting_client(new_client)
    repo, keys = trusted.repo, trusted.keys
    foreign = sign_rotate(RotateFile(1, "pkg-other", {}, 1), [keys[0]])
    repo.put_rotate_file("pkg-hello", 1, foreign)
    repo.release("pkg-hello")
    trusted.refuses(RotationError, "names role 'pkg-other'")


def test_revocation_makes_role_untrusted_others_unaffected(new_client: NewClient) -> None:
    trusted = rotated_client(new_client)
    repo, keys = trusted.repo, trusted.keys
    repo.put_rotate_file(
        "pkg-hello", 2, sign_rotate(RotateFile.revocation("pkg-hello", 2), [keys[1]])
    )
    repo.release("pkg-hello")
    trusted.refuses(RoleRevokedError, "role 'pkg-hello' is revoked")
    other = SHARDS.target_path("other", "1.0", "other.hvt")
    assert trusted.client.download(other) == b"other image"


def test_rotate_file_replaced_by_revocation_is_a_revocation(new_client: NewClient) -> None:
    """TAP 20: the one allowed change of a rotate file is into a revocation."""
    trusted = rotated_client(new_client)
    repo, keys = trusted.repo, trusted.keys
    revocation = sign_rotate(RotateFile.revocation("pkg-hello", 1), [keys[0]])
    repo.put_rotate_file("pkg-hello", 1, revocation, meta_version=2)
    repo.release("pkg-hello")
    trusted.refuses(RoleRevokedError, "rotate file 1 rotates to the null key")


def test_too_many_rotate_files_refused(new_client: NewClient) -> None:
    trusted = trusting_client(new_client)
    repo, keys = trusted.repo, trusted.keys
    signer = keys[0]
    for number in range(1, layout.MAX_ROTATIONS + 2):
        following = new_signer()
        repo.rotate("pkg-hello", number, [following], 1, signed_by=[signer])
        signer = following
    repo.signers["pkg-hello"] = [signer]
    repo.release("pkg-hello")
    trusted.client.fetcher.requests.clear()
    trusted.refuses(RotationError, "has 33 rotate files, more than the cap of 32")
    assert not any("rotate" in name for name in trusted.client.fetcher.names())


# -- key compromise of one author ------------------------------------------------


def test_compromised_author_key_affects_only_that_authors_packages(
    new_client: NewClient,
) -> None:
    repo = RepositorySimulator()
    alice, bob = new_signer(), new_signer()
    repo.add_package("alpha", [alice], {"alpha.hvt": b"alpha by alice"})
    repo.add_package("beta", [bob], {"beta.hvt": b"beta by bob"})
    repo.release_all()
    client = new_client(repo)
    alpha = SHARDS.target_path("alpha", "1.0", "alpha.hvt")
    beta = SHARDS.target_path("beta", "1.0", "beta.hvt")
    assert client.download(beta) == b"beta by bob"
    # With alice's key the attacker signs a beta image into alice's role...
    repo.add_target("pkg-alpha", beta, b"beta by the attacker")
    # ...and a new beta role signed with alice's key.
    repo.signers["pkg-beta"] = [alice]
    repo.delegated["pkg-beta"].signed.targets.clear()
    repo.add_target("pkg-beta", beta, b"beta by the attacker")
    repo.release("pkg-alpha", "pkg-beta")
    before = client.state()
    with pytest.raises(BadSignatureError, match="role 'pkg-beta': 0 of 1"):
        client.download(beta)
    assert client.state()["pkg-beta.json"] == before["pkg-beta.json"]
    # alpha (alice's own package) is what the compromise can change; it still resolves.
    assert client.download(alpha) == b"alpha by alice"
    # Bob's genuine role comes back. pkg-alpha still lists beta's path, but that
    # path is outside alpha's delegation, so the client never consults it.
    repo.signers["pkg-beta"] = [bob]
    repo.delegated["pkg-beta"].signed.targets.clear()
    repo.add_target("pkg-beta", beta, b"beta by bob")
    repo.release("pkg-beta")
    assert client.download(beta) == b"beta by bob"


def test_shard_layout_visits_only_three_roles(new_client: NewClient) -> None:
    repo, _ = package_repo()
    client = new_client(repo)
    updater = client.refresh()
    client.fetcher.requests.clear()
    resolved = updater.resolve(IMAGE)
    assert [r.role for r in resolved.chain] == ["targets", SHARDS.shard_role("hello"), "pkg-hello"]
    assert len(client.fetcher.names()) == 2
    with pytest.raises(TargetNotFoundError):
        updater.resolve(SHARDS.target_path("hello", "9.9", "hello.hvt"))
