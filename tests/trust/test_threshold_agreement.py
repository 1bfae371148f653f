"""The repository, `repo-tool verify` and the client take the same trust decision.

Each case crafts a published repository (with the client tests' simulator, in
the pinned layout targets -> shard -> package role, plus TAP 8 rotate files)
whose delegation or signatures are unusual, writes it to disk, and asks:

- the repository: `Repository` reading that directory derives the package
  role's keys (delegation + rotate chain) and applies its publish gate to the
  role file (`repo_policy.check_package_role`, which stage_release,
  publish_release, rotate and the snapshot service apply), and loads
  top-level targets as it does before every write;
- `repo-tool verify`: `verify_repository` over the directory;
- the client: a fresh `Updater` fetching the package's image.

All three must agree, and agree with the expected answer. The first cases are
the attack this test was written for: one key listed under two keyids with a
threshold of 2 used to pass the repository (which counted keyids) while the
client (which counted keys) refused it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, Signature, SSlibKey
from tuf.api.metadata import Targets
from tuf.api.serialization.json import JSONSerializer

from tests.client.simulator import METADATA_URL, TARGETS_URL, RepositorySimulator, SimFetcher
from tuf_metadata import layout
from tuf_metadata.client.packages import fetch_image
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.updater import Updater
from tuf_metadata.errors import TufError
from tuf_metadata.repo_policy import check_package_role
from tuf_metadata.repo_verify import VerificationFailure, verify_repository
from tuf_metadata.repository import Repository
from tuf_metadata.rotate import RotateFile, sign_rotate

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

PACKAGE = "agree"
ROLE = layout.package_role(PACKAGE)
SHARD = SHARDS.shard_role(PACKAGE)
IMAGE = b"the image bytes"


_PRIVATE: dict[str, Ed25519PrivateKey] = {}


def new_key() -> CryptoSigner:
    private = Ed25519PrivateKey.generate()
    signer = CryptoSigner(private)
    _PRIVATE[signer.public_key.keyid] = private
    return signer


def alias(signer: CryptoSigner, keyid: str) -> CryptoSigner:
    """The same private key, listed and signing under another keyid."""
    key = signer.public_key
    public = SSlibKey(keyid, key.keytype, key.scheme, dict(key.keyval))
    return CryptoSigner(_PRIVATE[key.keyid], public_key=public)


@dataclass
class World:
    """A simulated repository with package PACKAGE, before its final publish."""

    sim: RepositorySimulator
    authors: list[CryptoSigner]

    def delegation(self) -> Targets:
        return self.sim.delegated[SHARD].signed

    def list_key(self, signer: CryptoSigner) -> None:
        """Add SIGNER's key to the package's delegation (keys table and keyids)."""
        delegations = self.delegation().delegations
        assert delegations is not None and delegations.roles is not None
        delegations.keys[signer.public_key.keyid] = signer.public_key
        delegations.roles[ROLE].keyids.append(signer.public_key.keyid)

    def set_threshold(self, threshold: int) -> None:
        delegations = self.delegation().delegations
        assert delegations is not None and delegations.roles is not None
        delegations.roles[ROLE].threshold = threshold

    def sign_package(self, *signers: CryptoSigner, corrupt: bool = False) -> None:
        """Re-sign the package role (same version) by exactly SIGNERS."""
        md = self.sim.delegated[ROLE]
        md.signatures.clear()
        for signer in signers:
            md.sign(signer, append=True)
        if corrupt:
            for keyid in list(md.signatures):
                md.signatures[keyid] = Signature(keyid, "00" * 64)
        name = f"{md.signed.version}.{ROLE}.json"
        self.sim.metadata_files[name] = md.to_bytes(JSONSerializer(compact=False))


def base_world(threshold: int = 1, authors: int = 1) -> World:
    sim = RepositorySimulator()
    signers = [new_key() for _ in range(authors)]
    sim.add_package(PACKAGE, signers, {f"{PACKAGE}.hvt": IMAGE}, threshold=threshold)
    return World(sim, signers)


def publish(world: World, edit: Callable[[World], None]) -> None:
    """Publish everything, then apply the case's EDIT and publish snapshot + timestamp again."""
    world.sim.release_all()
    edit(world)
    world.sim.publish_targets(SHARD)
    world.sim.publish_snapshot()
    world.sim.publish_timestamp()


def write_out(sim: RepositorySimulator, root: Path) -> None:
    for files, sub in ((sim.metadata_files, "metadata"), (sim.target_files, "targets")):
        for name, data in files.items():
            path = root / sub / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)


def repository_accepts(root: Path) -> bool:
    """The repository's decision: would it publish (or keep publishing) this package role?"""
    repo = Repository(root)
    try:
        root_md = repo.load_root()
        snapshot = repo.load_snapshot(root_md.signed).signed
        repo.load_targets(root_md.signed, snapshot)
        context = repo.package_context(PACKAGE)
        version = repo.role_version(context.snapshot, ROLE)
        role_file = repo.files.version_file(ROLE, version, "targets")
        check_package_role(role_file.document, PACKAGE, context.keys, context.threshold,
                           context.delegation)
    except TufError:
        return False
    return True


def verify_accepts(root: Path) -> bool:
    try:
        summary = verify_repository(root, now=datetime.now(UTC))
    except VerificationFailure:
        return False
    return ROLE not in summary.revoked and summary.targets == 1


def client_accepts(sim: RepositorySimulator, tmp: Path) -> bool:
    store = MetadataStore(tmp / "client")
    store.directory.mkdir(parents=True)
    store.save("root", sim.root_bytes)
    updater = Updater(store, SimFetcher(sim), METADATA_URL, TARGETS_URL)
    try:
        fetched = fetch_image(updater, PACKAGE, tmp / "out", version="1.0", target="hvt")
    except TufError:  # ClientError, or RotationError from the shared TAP 8 code
        return False
    return fetched.written_to.read_bytes() == IMAGE


def two_keyids_one_key(world: World) -> None:
    """Threshold 2 over keyids A and B that name one key; that key signs under both."""
    author = world.authors[0]
    twin = alias(author, "b" * 64)
    world.list_key(twin)
    world.set_threshold(2)
    world.sign_package(author, twin)


def two_keyids_one_key_plus_a_second_key(world: World) -> None:
    author = world.authors[0]
    twin = alias(author, "b" * 64)
    other = new_key()
    world.list_key(twin)
    world.list_key(other)
    world.set_threshold(2)
    world.sign_package(author, twin, other)


def keyid_listed_twice(world: World) -> None:
    """The role lists one keyid twice with threshold 2 (python-tuf refuses to parse it)."""
    delegations = world.delegation().delegations
    assert delegations is not None and delegations.roles is not None
    keyid = world.authors[0].public_key.keyid
    delegations.roles[ROLE].keyids.append(keyid)
    world.set_threshold(2)
    world.sign_package(world.authors[0])


def signed_by_a_stranger(world: World) -> None:
    world.sign_package(new_key())


def stranger_signs_under_a_delegated_keyid(world: World) -> None:
    """A key that is not delegated signs under the delegated author's keyid."""
    world.sign_package(alias(new_key(), world.authors[0].public_key.keyid))


def stranger_as_second_signature(world: World) -> None:
    world.set_threshold(2)
    world.list_key(new_key())
    world.sign_package(world.authors[0], new_key())


def bad_signature(world: World) -> None:
    world.sign_package(world.authors[0], corrupt=True)


def unknown_scheme_listed(world: World) -> None:
    """A delegated key with a scheme nobody implements (python-tuf refuses the shard)."""
    odd = new_key().public_key
    unknown = SSlibKey(odd.keyid, odd.keytype, "ed25519-unknown", dict(odd.keyval))
    delegations = world.delegation().delegations
    assert delegations is not None and delegations.roles is not None
    delegations.keys[unknown.keyid] = unknown
    delegations.roles[ROLE].keyids.append(unknown.keyid)
    world.sign_package(world.authors[0])


def key_in_table_but_not_listed(world: World) -> None:
    """A signature by a key the shard knows but does not assign to this role."""
    other = new_key()
    delegations = world.delegation().delegations
    assert delegations is not None
    delegations.keys[other.public_key.keyid] = other.public_key
    world.set_threshold(1)
    world.sign_package(other)


def listed_keyid_missing_from_table(world: World) -> None:
    """The role lists a keyid the key table lacks; the listed, present key signs."""
    delegations = world.delegation().delegations
    assert delegations is not None and delegations.roles is not None
    delegations.roles[ROLE].keyids.append("c" * 64)
    world.sign_package(world.authors[0])


def two_distinct_keys(world: World) -> None:
    second = new_key()
    world.list_key(second)
    world.set_threshold(2)
    world.sign_package(world.authors[0], second)


def rotate(world: World, number: int, new: list[CryptoSigner], threshold: int,
           signed_by: list[CryptoSigner]) -> None:
    payload = RotateFile(number, ROLE, {s.public_key.keyid: s.public_key.to_dict() for s in new},
                         threshold)
    world.sim.put_rotate_file(ROLE, number, sign_rotate(payload, signed_by))


def rotated_and_signed_by_new_key(world: World) -> None:
    new = new_key()
    rotate(world, 1, [new], 1, [world.authors[0]])
    world.sign_package(new)


def rotated_but_signed_by_old_key(world: World) -> None:
    rotate(world, 1, [new_key()], 1, [world.authors[0]])
    world.sign_package(world.authors[0])


def rotation_signed_by_one_key_under_two_keyids(world: World) -> None:
    """The delegation lists one key as A and B with threshold 2; the rotate file carries
    that key's signature under both keyids: one key, so it must not pass."""
    author = world.authors[0]
    twin = alias(author, "b" * 64)
    world.list_key(twin)
    world.set_threshold(2)
    new = new_key()
    rotate(world, 1, [new], 1, [author, twin])
    world.sign_package(new)


def rotation_signed_by_stranger(world: World) -> None:
    new = new_key()
    rotate(world, 1, [new], 1, [new_key()])
    world.sign_package(new)


def two_step_chain(world: World) -> None:
    middle, last = new_key(), new_key()
    rotate(world, 1, [middle], 1, [world.authors[0]])
    rotate(world, 2, [last], 1, [middle])
    world.sign_package(last)


def chain_step_signed_by_the_first_keys(world: World) -> None:
    """Rotate file 2 must be signed by rotate 1's keys, not the delegation's."""
    middle, last = new_key(), new_key()
    rotate(world, 1, [middle], 1, [world.authors[0]])
    rotate(world, 2, [last], 1, [world.authors[0]])
    world.sign_package(last)


def rotated_to_two_of_two(world: World) -> None:
    first, second = new_key(), new_key()
    rotate(world, 1, [first, second], 2, [world.authors[0]])
    world.sign_package(first, second)


def rotated_to_two_of_two_one_signs(world: World) -> None:
    first, second = new_key(), new_key()
    rotate(world, 1, [first, second], 2, [world.authors[0]])
    world.sign_package(first)


def revoked(world: World) -> None:
    payload = RotateFile.revocation(ROLE, 1)
    world.sim.put_rotate_file(ROLE, 1, sign_rotate(payload, [world.authors[0]]))
    world.sign_package(world.authors[0])


def unchanged(world: World) -> None:
    world.sign_package(world.authors[0])


CASES: list[tuple[Callable[[World], None], bool]] = [
    (two_keyids_one_key, False),
    (two_keyids_one_key_plus_a_second_key, True),
    (keyid_listed_twice, False),
    (signed_by_a_stranger, False),
    (stranger_signs_under_a_delegated_keyid, False),
    (stranger_as_second_signature, False),
    (bad_signature, False),
    (unknown_scheme_listed, False),
    (key_in_table_but_not_listed, False),
    (listed_keyid_missing_from_table, True),
    (two_distinct_keys, True),
    (unchanged, True),
    (rotated_and_signed_by_new_key, True),
    (rotated_but_signed_by_old_key, False),
    (rotation_signed_by_one_key_under_two_keyids, False),
    (rotation_signed_by_stranger, False),
    (two_step_chain, True),
    (chain_step_signed_by_the_first_keys, False),
    (rotated_to_two_of_two, True),
    (rotated_to_two_of_two_one_signs, False),
    (revoked, False),
]


@pytest.mark.parametrize(("edit", "expected"), CASES, ids=[edit.__name__ for edit, _ in CASES])
def test_repository_verify_and_client_agree_on_package_roles(
    edit: Callable[[World], None], expected: bool, tmp_path: Path
) -> None:
    world = base_world()
    publish(world, edit)
    write_out(world.sim, tmp_path / "repo")
    decisions = {
        "repository": repository_accepts(tmp_path / "repo"),
        "verify": verify_accepts(tmp_path / "repo"),
        "client": client_accepts(world.sim, tmp_path),
    }
    assert decisions == dict.fromkeys(decisions, expected)


def top_targets_two_keyids_one_key(sim: RepositorySimulator) -> None:
    """Root assigns top-level targets one key under two keyids, threshold 2."""
    sim.rotate_keys("targets")
    signer = new_key()
    sim.root.signed.revoke_key(sim.signers["targets"][0].public_key.keyid, "targets")
    sim.root.signed.add_key(signer.public_key, "targets")
    twin = alias(signer, "d" * 64)
    sim.root.signed.add_key(twin.public_key, "targets")
    sim.root.signed.roles["targets"].threshold = 2
    sim.signers["targets"] = [signer, twin]


def top_targets_two_keys(sim: RepositorySimulator) -> None:
    second = new_key()
    sim.root.signed.add_key(second.public_key, "targets")
    sim.root.signed.roles["targets"].threshold = 2
    sim.signers["targets"].append(second)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [(top_targets_two_keyids_one_key, False), (top_targets_two_keys, True)],
    ids=["two_keyids_one_key", "two_keys"],
)
def test_repository_verify_and_client_agree_on_top_level_targets(
    edit: Callable[[RepositorySimulator], None], expected: bool, tmp_path: Path
) -> None:
    world = base_world()
    world.sim.release_all()
    edit(world.sim)
    world.sim.publish_root()
    world.sim.release("targets")
    write_out(world.sim, tmp_path / "repo")
    decisions = {
        "repository": repository_accepts(tmp_path / "repo"),
        "verify": verify_accepts(tmp_path / "repo"),
        "client": client_accepts(world.sim, tmp_path),
    }
    assert decisions == dict.fromkeys(decisions, expected)

