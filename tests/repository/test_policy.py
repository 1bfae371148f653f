"""The repository's rules (tuf_metadata.repo_policy), tested directly as pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner, SSlibKey
from tuf.api.metadata import DelegatedRole, Delegations, Metadata, Root, TargetFile, Targets

from tuf_metadata import layout
from tuf_metadata.repo_policy import (
    RoleKeyState,
    check_built_file,
    check_key_set,
    check_package_role,
    check_release_adds_only_its_files,
    first_outsider,
    plan_rotation,
    signing_requirements,
)
from tuf_metadata.repo_types import (
    CorruptMetadataError,
    ImageMismatchError,
    QuorumError,
    RepositoryError,
    StagingError,
)
from tuf_metadata.rotate import RotateFile, sign_rotate
from tuf_metadata.trust import SignedDocument

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

PACKAGE = "hello"
ROLE = layout.package_role(PACKAGE)


def signer() -> CryptoSigner:
    return CryptoSigner(Ed25519PrivateKey.generate())


def target(package: str, version: str, name: str, data: bytes) -> tuple[str, dict[str, Any]]:
    """A target path and its target object ({"length", "hashes"}) as a role file lists it."""
    path = SHARDS.target_path(package, version, name)
    return path, TargetFile.from_data(path, data, ["sha256"]).to_dict()


def delegation(keyids: list[str], threshold: int = 1) -> dict[str, Any]:
    """The delegated role object a shard lists for the package."""
    return DelegatedRole(ROLE, keyids, threshold, True,
                         paths=SHARDS.package_paths(PACKAGE)).to_dict()


def key_table(*signers: CryptoSigner) -> dict[str, dict[str, Any]]:
    return {one.public_key.keyid: one.public_key.to_dict() for one in signers}


# -- check_key_set ------------------------------------------------------------------------

def test_key_sets_need_a_key_each_once_and_a_reachable_threshold() -> None:
    a, b = signer().public_key, signer().public_key
    check_key_set("root", "maintainer", [a, b], 2)
    with pytest.raises(RepositoryError, match="at least one maintainer key"):
        check_key_set("root", "maintainer", [], 1)
    with pytest.raises(RepositoryError, match="listed twice"):
        check_key_set("root", "maintainer", [a, a], 1)
    with pytest.raises(RepositoryError, match="threshold 3 must be between 1 and 2 maintainers"):
        check_key_set("root", "maintainer", [a, b], 3)
    with pytest.raises(RepositoryError, match="threshold 0"):
        check_key_set("root", "maintainer", [a, b], 0)


def test_one_key_under_two_keyids_is_listed_twice() -> None:
    """Delegating to 'two authors' that are one key would make a threshold of 2 unreachable
    (the threshold rule counts keys), so the proposal is refused up front."""
    key = signer().public_key
    twin = SSlibKey("b" * 64, key.keytype, key.scheme, dict(key.keyval))
    with pytest.raises(RepositoryError, match="pkg-hello: a author key is listed twice"):
        check_key_set(ROLE, "author", [key, twin], 2)


# -- check_package_role ---------------------------------------------------------------------

def package_role(*signers: CryptoSigner, targets: dict[str, dict[str, Any]] | None = None
                 ) -> SignedDocument:
    listed = {path: TargetFile.from_dict(dict(tf), path) for path, tf in (targets or {}).items()}
    md = Metadata(Targets(expires=datetime.now(UTC) + timedelta(days=1), targets=listed))
    for one in signers:
        md.sign(one, append=True)
    return SignedDocument.of(md)


def test_package_role_needs_a_threshold_of_the_keys_in_force() -> None:
    a, b = signer(), signer()
    keys = key_table(a, b)
    spec = delegation(list(keys), 2)
    check_package_role(package_role(a, b), PACKAGE, keys, 2, spec)
    with pytest.raises(StagingError, match="1 of 2 required author signatures"):
        check_package_role(package_role(a), PACKAGE, keys, 2, spec)
    with pytest.raises(StagingError, match="0 of 1 required author signatures"):
        check_package_role(package_role(signer()), PACKAGE, keys, 1, spec)


def test_package_role_targets_stay_inside_its_paths_and_it_does_not_delegate() -> None:
    a = signer()
    keys = key_table(a)
    spec = delegation(list(keys))
    path, info = target("other", "1.0", "other.hvt", b"x")
    with pytest.raises(StagingError, match="outside the package's delegated paths"):
        check_package_role(package_role(a, targets={path: info}), PACKAGE, keys, 1, spec)
    md = Metadata(Targets(expires=datetime.now(UTC) + timedelta(days=1)))
    md.signed.delegations = Delegations(keys={}, roles={})
    md.sign(a)
    with pytest.raises(StagingError, match="may not delegate further"):
        check_package_role(SignedDocument.of(md), PACKAGE, keys, 1, spec)


# -- check_release_adds_only_its_files --------------------------------------------------------

def test_a_release_adds_only_its_own_files() -> None:
    old = dict([target(PACKAGE, "1.0", "hello.hvt", b"one")])
    new = dict([target(PACKAGE, "2.0", "hello.hvt", b"two")])
    check_release_adds_only_its_files(SHARDS, PACKAGE, "2.0", old, {**old, **new})
    check_release_adds_only_its_files(SHARDS, PACKAGE, "1.0", {}, old)

    changed = dict([target(PACKAGE, "1.0", "hello.hvt", b"swapped")])
    with pytest.raises(StagingError, match="changes targets of other releases"):
        check_release_adds_only_its_files(SHARDS, PACKAGE, "2.0", old, {**changed, **new})
    with pytest.raises(StagingError, match="changes targets of other releases"):
        check_release_adds_only_its_files(SHARDS, PACKAGE, "2.0", old, new)  # 1.0 dropped
    with pytest.raises(StagingError, match=r"version 1\.0 is already published"):
        check_release_adds_only_its_files(SHARDS, PACKAGE, "1.0", old, old)


def test_built_files_must_equal_the_author_signed_ones() -> None:
    path, info = target(PACKAGE, "1.0", "hello.hvt", b"image")
    check_built_file(ROLE, path, info, b"image")
    for other in (b"imagf", b"image!", b""):
        with pytest.raises(ImageMismatchError, match="differs from the author-signed one"):
            check_built_file(ROLE, path, info, other)


# -- signing_requirements ------------------------------------------------------------------

def root_with(maintainers: list[CryptoSigner], threshold: int, online: CryptoSigner) -> Root:
    root = Root(expires=datetime.now(UTC) + timedelta(days=1))
    for one in maintainers:
        root.add_key(one.public_key, "root")
        root.add_key(one.public_key, "targets")
    root.roles["root"].threshold = threshold
    root.roles["targets"].threshold = threshold
    root.add_key(online.public_key, "snapshot")
    root.add_key(online.public_key, "timestamp")
    return root


def test_who_must_sign_a_maintainer_change() -> None:
    old, new, online = [signer(), signer()], [signer(), signer(), signer()], signer()
    current, proposed = root_with(old, 2, online), root_with(new, 2, online)
    root_needs = signing_requirements("root", current, proposed, None)
    assert [(n.label, set(n.keys), n.threshold) for n in root_needs] == [
        ("current root keys", {s.public_key.keyid for s in old}, 2),
        ("new root keys", {s.public_key.keyid for s in new}, 2),
    ]
    # Targets is published before the new root: both targets thresholds.
    targets_needs = signing_requirements("targets", current, proposed, None)
    assert [n.label for n in targets_needs] == ["current targets keys", "new targets keys"]
    # At the key ceremony there is no current root.
    assert [n.label for n in signing_requirements("root", None, proposed, None)] == [
        "new root keys"
    ]

    targets = Targets()
    shard = SHARDS.shard_role(PACKAGE)
    targets.delegations = Delegations(
        keys={s.public_key.keyid: s.public_key for s in new},
        roles={shard: DelegatedRole(shard, [s.public_key.keyid for s in new], 2, True,
                                    paths=["*"])},
    )
    (shard_need,) = signing_requirements(shard, current, proposed, targets)
    assert set(shard_need.keys) == {s.public_key.keyid for s in new} and shard_need.threshold == 2
    with pytest.raises(QuorumError, match="not delegated by targets"):
        signing_requirements("shard-zz", current, proposed, targets)
    with pytest.raises(QuorumError, match="no targets delegation"):
        signing_requirements(shard, current, proposed, None)


def test_a_requirement_counts_keys_not_keyids() -> None:
    one = signer()
    online = signer()
    root = root_with([one], 1, online)
    twin = SSlibKey("c" * 64, one.public_key.keytype, one.public_key.scheme,
                    dict(one.public_key.keyval))
    root.add_key(twin, "root")
    root.roles["root"].threshold = 2
    md = Metadata(root_with([signer()], 1, online))
    md.sign(one, append=True)
    md.sign(CryptoSigner(Ed25519PrivateKey.generate()), append=True)
    (need,) = signing_requirements("root", None, root, None)
    assert need.met_by(md) == 1


# -- plan_rotation / first_outsider -------------------------------------------------------------

def state(keys: list[CryptoSigner], threshold: int = 1, chain: tuple[bytes, ...] = (),
          current: list[CryptoSigner] | None = None) -> RoleKeyState:
    as_keys = key_table(*keys)
    now = key_table(*(current or keys))
    return RoleKeyState(as_keys, threshold, now, threshold, chain, 1 if chain else None)


def test_rotation_plan_for_the_next_file() -> None:
    author, new = signer(), signer()
    plan = plan_rotation(ROLE, state([author]), [new.public_key], 1, False, False)
    assert (plan.number, plan.meta_version) == (1, 1)
    assert set(plan.signing_keys) == {author.public_key.keyid}
    assert plan.payload == RotateFile(1, ROLE, {new.public_key.keyid: new.public_key.to_dict()}, 1)
    revocation = plan_rotation(ROLE, state([author]), [], 1, True, False)
    assert revocation.payload.is_revocation


def test_rotation_requests_that_are_refused() -> None:
    author, new = signer(), signer()
    with pytest.raises(RepositoryError, match="at least one new key"):
        plan_rotation(ROLE, state([author]), [], 1, False, False)
    with pytest.raises(RepositoryError, match="threshold 2 must be between 1 and 1"):
        plan_rotation(ROLE, state([author]), [new.public_key], 2, False, False)
    with pytest.raises(RepositoryError, match="only the last rotate file can be replaced"):
        plan_rotation(ROLE, state([author]), [], 1, True, True)  # no rotate file yet
    chain = tuple(b"x" for _ in range(layout.MAX_ROTATIONS))
    with pytest.raises(RepositoryError, match="at its cap of 32"):
        plan_rotation(ROLE, state([author], chain=chain), [new.public_key], 1, False, False)


def test_replacing_the_last_rotate_file_needs_the_keys_that_signed_it() -> None:
    author, lost = signer(), signer()
    lost_keys = {lost.public_key.keyid: lost.public_key.to_dict()}
    first = sign_rotate(RotateFile(1, ROLE, lost_keys, 1), [author])
    plan = plan_rotation(ROLE, state([author], chain=(first,), current=[lost]), [], 1, True, True)
    assert (plan.number, plan.meta_version) == (1, 2) and plan.payload.is_revocation
    assert set(plan.signing_keys) == {author.public_key.keyid}
    forged = sign_rotate(RotateFile(1, ROLE, lost_keys, 1),
                         [signer()])
    second = sign_rotate(RotateFile(2, ROLE, {}, 1), [lost])
    with pytest.raises(CorruptMetadataError, match="rotate chain check"):
        plan_rotation(ROLE, state([author], chain=(forged, second)), [], 1, True, True)


def test_first_outsider_names_the_signer_that_may_not_sign() -> None:
    a, b = signer(), signer()
    keys = {a.public_key.keyid: a.public_key}
    assert first_outsider([a.public_key.keyid], keys) is None
    assert first_outsider([a.public_key.keyid, b.public_key.keyid], keys) == b.public_key.keyid
