"""Delegating a revoked (or removed) package name again, to new author keys.

The old role's history stays listed in snapshot (clients refuse a snapshot that drops an
entry), so the new delegation supersedes the old rotate chain and the package role goes on
at its next version, signed by the new authors in the same quorum change: nothing the
revoked keys signed is accepted again, and no client sees a role version go backwards.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuf.api.metadata import Metadata, Targets

from signing.keys import INSECURE, load_public_key, load_signer
from tests.repository.helpers import (
    Fixture,
    init_repo,
    make_keys,
    pub,
    publish,
    release,
    run,
    tree_digest,
)
from tests.repository.loopback import fetch, ng_download, ngclient, served_hello
from tests.support.published import metadata_dir
from tuf_metadata import layout
from tuf_metadata.repo_types import metadata_bytes
from tuf_metadata.repo_verify import now_utc, verify_repository
from tuf_metadata.store import set_crash_hook

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Fixture, str]]:
    """hello 1.0.0 published by its author `hello`; hello2 is a new author's key."""
    with served_hello(tmp_path, ["hello2"]) as repo_and_url:
        yield repo_and_url


def listed(fx: Fixture) -> dict[str, dict[str, object]]:
    """Snapshot meta of the snapshot timestamp points to."""
    timestamp = json.loads((metadata_dir(fx.repo_dir) / "timestamp.json").read_bytes())
    version = timestamp["signed"]["meta"]["snapshot.json"]["version"]
    snapshot = json.loads((metadata_dir(fx.repo_dir) / f"{version}.snapshot.json").read_bytes())
    return dict(snapshot["signed"]["meta"])


def role_version(fx: Fixture) -> int:
    return int(listed(fx)["pkg-hello.json"]["version"])  # type: ignore[call-overload]


def sign(fx: Fixture, change_id: str, *signers: str) -> dict[str, object]:
    args = ["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext", "--json"]
    for signer in signers:
        args += ["--key", str(fx.keys[signer])]
    result = run(args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_a_revoked_package_is_delegated_again_to_new_author_keys(
        served: tuple[Fixture, str], tmp_path: Path) -> None:
    fx, url = served
    repo = str(fx.repo_dir)
    old_path = SHARDS.target_path("hello", "1.0.0", "hello.hvt")
    new_path = SHARDS.target_path("hello", "2.0.0", "hello.hvt")
    assert fetch(fx, url, "ours")[0] == 0  # both clients hold the old role
    ngclient(fx, url, tmp_path / "ng-old")
    old_version = role_version(fx)
    old_role = (metadata_dir(fx.repo_dir) / f"{old_version}.pkg-hello.json").read_bytes()

    revoked = run(["rotate", "hello", "--repo", repo, "--revoke", "--insecure-plaintext",
                   "--sign-with", str(fx.keys["hello"])])
    assert revoked.exit_code == 0, revoked.output
    code, output = fetch(fx, url, "ours")
    assert code == 1 and "is revoked" in output, output

    # The revoked author's key cannot be the new delegation's.
    reuse = run(["package", "add", "hello", "--repo", repo, "--pubkey", str(pub(fx.keys["hello"]))])
    assert reuse.exit_code == 1 and "signed for the role's earlier delegation" in reuse.output
    added = run(["package", "add", "hello", "--repo", repo, "--pubkey",
                 str(pub(fx.keys["hello2"])), "--json"])
    assert added.exit_code == 0, added.output
    assert json.loads(added.output)["redelegation"] is True
    change_id = str(json.loads(added.output)["id"])

    # t maintainers are not enough: the new authors sign the role's next version too.
    metadata = tree_digest(metadata_dir(fx.repo_dir))
    assert sign(fx, change_id, "m0", "m1")["committed"] is False
    (status,) = json.loads(run(["pending", change_id, "--repo", repo, "--json"]).output)
    needs = {doc["role"]: doc["signatures"] for doc in status["documents"]}
    assert needs["pkg-hello"] == [{"keys": "new author keys", "valid": 0, "threshold": 1}]
    assert tree_digest(metadata_dir(fx.repo_dir)) == metadata
    assert sign(fx, change_id, "hello2")["committed"] is True

    # The role goes on at its next version, empty, and the old history stays listed.
    assert role_version(fx) == old_version + 1
    assert "rotate/pkg-hello.rotate.1.json" in listed(fx)
    assert verify_repository(fx.repo_dir, now_utc()).revoked == ()
    (package,) = json.loads(run(["package", "list", "--repo", repo, "--json"]).output)
    hello2 = load_public_key(pub(fx.keys["hello2"])).keyid
    assert (package["keyids"], package["versions"], package["revoked"]) == ([hello2], [], False)
    assert ngclient(fx, url, tmp_path / "ng-old").get_targetinfo(old_path) is None
    code, output = fetch(fx, url, "ours")
    assert code == 1 and "package 'hello': no release is listed" in output, output

    # The new author releases; both clients, holding the old role or not, fetch it.
    assert release(fx, "hello", "2.0.0", ["hello2"]).exit_code == 0
    publish(fx)
    for client in ("ours", "fresh"):
        code, output = fetch(fx, url, client)
        assert code == 0 and "verified hello 2.0.0" in output, output
    image = (fx.work / "hello-2.0.0.hvt").read_bytes()
    for directory in ("ng-old", "ng-fresh"):
        updater = ngclient(fx, url, tmp_path / directory)
        assert ng_download(updater, new_path) == image
        assert updater.get_targetinfo(old_path) is None
    refused = release(fx, "hello", "2.1.0", ["hello"])
    assert refused.exit_code == 1 and "not an author key" in refused.output

    # A mirror serving what the revoked key signed, in place of the current role, is refused:
    # the old role file as it was, and a copy re-numbered and re-signed by the revoked key.
    current = role_version(fx)
    served_file = metadata_dir(fx.repo_dir) / f"{current}.pkg-hello.json"
    genuine = served_file.read_bytes()
    forged = Metadata[Targets].from_bytes(old_role)
    forged.signed.version = current
    forged.signatures.clear()
    forged.sign(load_signer(fx.keys["hello"], INSECURE))
    try:
        for replacement in (old_role, metadata_bytes(forged)):
            served_file.write_bytes(replacement)
            code, output = fetch(fx, url, "mirror")
            assert code == 1 and "pkg-hello" in output, output
            with pytest.raises(Exception, match="pkg-hello"):
                ngclient(fx, url, tmp_path / "ng-mirror").get_targetinfo(new_path)
    finally:
        served_file.write_bytes(genuine)
    code, output = fetch(fx, url, "ours")
    assert code == 0 and "verified hello 2.0.0" in output, output


def test_a_removed_package_is_delegated_again(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["hello"])
    fx.keys.update(make_keys(tmp_path / "keys", ["hello2"]))
    repo = str(fx.repo_dir)
    assert release(fx, "hello", "1.0.0", ["hello"]).exit_code == 0
    publish(fx)
    old_version = role_version(fx)
    removed = json.loads(run(["package", "remove", "hello", "--repo", repo, "--json"]).output)
    assert sign(fx, str(removed["id"]), "m0", "m1")["committed"] is True
    added = json.loads(run(["package", "add", "hello", "--repo", repo, "--pubkey",
                            str(pub(fx.keys["hello2"])), "--json"]).output)
    assert sign(fx, str(added["id"]), "m0", "m1", "hello2")["committed"] is True
    assert role_version(fx) == old_version + 1
    assert release(fx, "hello", "1.1.0", ["hello2"]).exit_code == 0
    publish(fx)
    (package,) = json.loads(run(["package", "list", "--repo", repo, "--json"]).output)
    assert package["versions"] == ["1.1.0"]  # the old author's 1.0.0 is not carried over
    verify_repository(fx.repo_dir, now_utc())


def test_an_active_package_is_not_delegated_again(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["hello"])
    fx.keys.update(make_keys(tmp_path / "keys", ["hello2"]))
    again = run(["package", "add", "hello", "--repo", str(fx.repo_dir), "--pubkey",
                 str(pub(fx.keys["hello2"]))])
    assert again.exit_code == 1 and "already delegated and not revoked" in again.output
    assert not list((fx.repo_dir / "pending").iterdir())


class Crash(Exception):
    pass


@pytest.mark.parametrize("label", ["commit:pkg-hello", f"commit:{SHARDS.shard_role('hello')}"])
def test_a_redelegation_cut_by_a_crash_leaves_a_verifiable_repository(
        tmp_path: Path, label: str) -> None:
    """The role's first version is written before the shard: after a crash at either step,
    the signing service's next snapshot lists both or neither, and signing again finishes."""
    fx = init_repo(tmp_path, authors=["hello"])
    fx.keys.update(make_keys(tmp_path / "keys", ["hello2"]))
    repo = str(fx.repo_dir)
    assert release(fx, "hello", "1.0.0", ["hello"]).exit_code == 0
    publish(fx)
    old_version = role_version(fx)
    assert run(["rotate", "hello", "--repo", repo, "--revoke", "--insecure-plaintext",
                "--sign-with", str(fx.keys["hello"])]).exit_code == 0
    added = json.loads(run(["package", "add", "hello", "--repo", repo, "--pubkey",
                            str(pub(fx.keys["hello2"])), "--json"]).output)
    assert sign(fx, str(added["id"]), "hello2", "m0")["committed"] is False

    def crash(reached: str) -> None:
        if reached == label:
            raise Crash(reached)

    set_crash_hook(crash)
    try:
        with pytest.raises(Crash):
            run(["sign", str(added["id"]), "--repo", repo, "--insecure-plaintext",
                 "--key", str(fx.keys["m1"])])
    finally:
        set_crash_hook(None)
    fx.repo.refresh_snapshot()  # what the signing service does next
    summary = verify_repository(fx.repo_dir, now_utc())
    assert summary.revoked == (("pkg-hello",) if label == "commit:pkg-hello" else ())
    assert role_version(fx) == old_version + (0 if label == "commit:pkg-hello" else 1)
    finished = run(["sign", str(added["id"]), "--repo", repo, "--insecure-plaintext",
                    "--key", str(fx.keys["m1"])])
    assert finished.exit_code == 0, finished.output
    assert role_version(fx) == old_version + 1
    assert verify_repository(fx.repo_dir, now_utc()).revoked == ()
    assert not list((fx.repo_dir / "pending").iterdir())
