"""Folding TAP 8 rotations into the delegation (`repo-tool package fold-rotations`).

After its author rotated keys, a package is readable by our client (it follows rotate
files) but not by python-tuf's ngclient, which checks the package role against the keys
the shard delegates. A fold, signed by t maintainers, makes the shard delegate the keys in
force at the end of the chain and records that the chain starts after those rotate files.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuf.api.exceptions import UnsignedMetadataError

from signing.keys import load_public_key
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
from tuf_metadata.repo_verify import now_utc, verify_repository
from tuf_metadata.rotate import SUPERSEDED_FIELD

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Fixture, str]]:
    """hello 1.0.0 published by its author `hello`; keys hello2, hello3 for rotations."""
    with served_hello(tmp_path, ["hello2", "hello3", "other"]) as repo_and_url:
        yield repo_and_url


def rotate(fx: Fixture, old: str, new: str, *, published: bool = True) -> str:
    args = ["rotate", "pkg-hello", "--repo", str(fx.repo_dir), "--insecure-plaintext", "--json",
            "--pubkey", str(pub(fx.keys[new])), "--sign-with", str(fx.keys[old])]
    if published:
        args += ["--new-signer", str(fx.keys[new])]
    result = run(args)
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["file"])


def sign(fx: Fixture, change_id: str, *signers: str) -> dict[str, object]:
    args = ["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext", "--json"]
    for signer in signers:
        args += ["--key", str(fx.keys[signer])]
    result = run(args)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def hello_delegation(fx: Fixture) -> dict[str, object]:
    snapshot = json.loads((metadata_dir(fx.repo_dir) / "timestamp.json").read_bytes())
    snap_version = snapshot["signed"]["meta"]["snapshot.json"]["version"]
    meta = json.loads((metadata_dir(fx.repo_dir) / f"{snap_version}.snapshot.json").read_bytes())
    shard = SHARDS.shard_role("hello")
    version = meta["signed"]["meta"][f"{shard}.json"]["version"]
    signed = json.loads((metadata_dir(fx.repo_dir) / f"{version}.{shard}.json").read_bytes())
    return next(dict(role) for role in signed["signed"]["delegations"]["roles"]
                if role["name"] == "pkg-hello")


def keyid(fx: Fixture, name: str) -> str:
    return load_public_key(pub(fx.keys[name])).keyid


def test_fold_lets_ngclient_read_a_rotated_package_and_our_client_keeps_following(
        served: tuple[Fixture, str], tmp_path: Path) -> None:
    fx, url = served
    repo = str(fx.repo_dir)
    path_1_1 = SHARDS.target_path("hello", "1.1.0", "hello.hvt")
    assert fetch(fx, url, "ours")[0] == 0
    ngclient(fx, url, tmp_path / "ng-early")

    # The author rotates to hello2 and releases 1.1.0 with it.
    assert rotate(fx, "hello", "hello2") == "rotate/pkg-hello.rotate.1.json"
    assert release(fx, "hello", "1.1.0", ["hello2"]).exit_code == 0
    publish(fx)
    code, output = fetch(fx, url, "ours")
    assert code == 0 and "verified hello 1.1.0" in output, output
    # ngclient checks pkg-hello against the shard's keys (hello's): it refuses the role.
    for directory in ("ng-early", "ng-before"):
        with pytest.raises(UnsignedMetadataError):
            ngclient(fx, url, tmp_path / directory).get_targetinfo(path_1_1)
    old = release(fx, "hello", "1.2.0", ["hello"])
    assert old.exit_code == 1 and "not an author key" in old.output

    # A fold naming keys other than those the chain ends in is refused, nothing written.
    before = tree_digest(fx.repo_dir)
    wrong = run(["package", "fold-rotations", "hello", "--repo", repo,
                 "--pubkey", str(pub(fx.keys["hello"]))])
    assert wrong.exit_code == 1, wrong.output
    assert "a fold takes exactly the chain's keys" in wrong.output
    assert tree_digest(fx.repo_dir) == before

    proposed = run(["package", "fold-rotations", "hello", "--repo", repo,
                    "--pubkey", str(pub(fx.keys["hello2"])), "-t", "1", "--json"])
    assert proposed.exit_code == 0, proposed.output
    change_id = str(json.loads(proposed.output)["id"])
    # t-1 maintainers change nothing: ngclient still refuses, the shard is unchanged.
    metadata = tree_digest(metadata_dir(fx.repo_dir))
    assert sign(fx, change_id, "m0")["committed"] is False
    assert tree_digest(metadata_dir(fx.repo_dir)) == metadata
    with pytest.raises(UnsignedMetadataError):
        ngclient(fx, url, tmp_path / "ng-t-1").get_targetinfo(path_1_1)
    assert sign(fx, change_id, "m1")["committed"] is True

    delegation = hello_delegation(fx)
    assert delegation["keyids"] == [keyid(fx, "hello2")] and delegation["threshold"] == 1
    assert delegation[SUPERSEDED_FIELD] == 1
    assert verify_repository(fx.repo_dir, now_utc()).revoked == ()

    # python-tuf's ngclient now verifies the package, fresh or holding the old shard.
    for directory in ("ng-fresh", "ng-early"):
        updater = ngclient(fx, url, tmp_path / directory)
        assert ng_download(updater, path_1_1) == (fx.work / "hello-1.1.0.hvt").read_bytes()
        assert ng_download(updater, SHARDS.target_path("hello", "1.0.0", "hello.hvt")) == (
            fx.work / "hello-1.0.0.hvt").read_bytes()
    # Ours too, with the rotate files it trusted before and from scratch.
    for client in ("ours", "fresh"):
        code, output = fetch(fx, url, client)
        assert code == 0 and "verified hello 1.1.0" in output, output
    old = release(fx, "hello", "1.2.0", ["hello"])
    assert old.exit_code == 1 and "not an author key" in old.output

    # The author rotates again after the fold: rotate file 2, signed by hello2.
    assert rotate(fx, "hello2", "hello3") == "rotate/pkg-hello.rotate.2.json"
    assert release(fx, "hello", "1.2.0", ["hello3"]).exit_code == 0
    publish(fx)
    verify_repository(fx.repo_dir, now_utc())
    for client in ("ours", "fresh", "fresh-after"):
        code, output = fetch(fx, url, client)
        assert code == 0 and "verified hello 1.2.0" in output, output
    for earlier in ("hello", "hello2"):
        refused = release(fx, "hello", "1.3.0", [earlier])
        assert refused.exit_code == 1 and "not an author key" in refused.output
    listed = json.loads(run(["package", "list", "--repo", repo, "--json"]).output)
    assert (listed[0]["keyids"], listed[0]["rotations"]) == ([keyid(fx, "hello3")], 2)
    # ngclient needs the next fold for that rotation; a second fold folds both files.
    with pytest.raises(UnsignedMetadataError):
        ngclient(fx, url, tmp_path / "ng-fresh").get_targetinfo(
            SHARDS.target_path("hello", "1.2.0", "hello.hvt"))
    again = json.loads(run(["package", "fold-rotations", "hello", "--repo", repo,
                            "--json"]).output)["id"]
    assert sign(fx, again, "m1", "m2")["committed"] is True
    assert hello_delegation(fx)[SUPERSEDED_FIELD] == 2
    updater = ngclient(fx, url, tmp_path / "ng-fresh")
    assert ng_download(updater, SHARDS.target_path("hello", "1.2.0", "hello.hvt")) == (
        fx.work / "hello-1.2.0.hvt").read_bytes()
    code, output = fetch(fx, url, "ours")
    assert code == 0 and "verified hello 1.2.0" in output, output


def test_a_pending_fold_edited_to_name_other_keys_is_refused_at_commit(
        tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["hello"])
    fx.keys.update(make_keys(tmp_path / "keys", ["hello2", "thief"]))
    rotate(fx, "hello", "hello2", published=False)
    proposed = run(["package", "fold-rotations", "hello", "--repo", str(fx.repo_dir), "--json"])
    assert proposed.exit_code == 0, proposed.output
    change_id = json.loads(proposed.output)["id"]
    # Someone with write access to pending/ swaps the folded key for their own.
    path = fx.repo_dir / "pending" / f"{change_id}.json"
    change = json.loads(path.read_bytes())
    delegations = change["documents"][0]["metadata"]["signed"]["delegations"]
    thief = load_public_key(pub(fx.keys["thief"]))
    delegations["keys"][thief.keyid] = thief.to_dict()
    role = next(r for r in delegations["roles"] if r["name"] == "pkg-hello")
    role["keyids"] = [thief.keyid]
    path.write_text(json.dumps(change))
    metadata = tree_digest(metadata_dir(fx.repo_dir))
    result = run(["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext",
                  "--key", str(fx.keys["m0"]), "--key", str(fx.keys["m1"])])
    assert result.exit_code == 1, result.output
    assert "names keys or a threshold other than those in force after rotate file 1" in (
        result.output)
    assert tree_digest(metadata_dir(fx.repo_dir)) == metadata
    assert hello_delegation(fx)["keyids"] == [keyid(fx, "hello")]


def test_folds_that_are_refused(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["hello"])
    fx.keys.update(make_keys(tmp_path / "keys", ["hello2"]))
    repo = str(fx.repo_dir)
    nothing = run(["package", "fold-rotations", "hello", "--repo", repo])
    assert nothing.exit_code == 1 and "no rotation to fold" in nothing.output
    missing = run(["package", "fold-rotations", "nosuch", "--repo", repo])
    assert missing.exit_code == 1 and "'nosuch' is not delegated" in missing.output
    rotate(fx, "hello", "hello2", published=False)
    loose = run(["package", "fold-rotations", "hello", "--repo", repo, "-t", "1"])
    assert loose.exit_code == 2 and "--threshold needs the --pubkey keys" in loose.output
    revoked = run(["rotate", "hello", "--repo", repo, "--revoke", "--insecure-plaintext",
                   "--sign-with", str(fx.keys["hello2"])])
    assert revoked.exit_code == 0, revoked.output
    folded = run(["package", "fold-rotations", "hello", "--repo", repo])
    assert folded.exit_code == 1 and "is revoked; delegate it to new author keys" in folded.output
    assert not list((fx.repo_dir / "pending").iterdir())


def test_a_folded_rotate_file_cannot_be_replaced_by_a_revocation(tmp_path: Path) -> None:
    """TAP 20's replace-last would rewrite history the delegation no longer reads."""
    fx = init_repo(tmp_path, authors=["hello"])
    fx.keys.update(make_keys(tmp_path / "keys", ["hello2"]))
    rotate(fx, "hello", "hello2", published=False)
    change_id = json.loads(run(["package", "fold-rotations", "hello", "--repo",
                                str(fx.repo_dir), "--json"]).output)["id"]
    assert sign(fx, change_id, "m0", "m1")["committed"] is True
    replaced = run(["rotate", "hello", "--repo", str(fx.repo_dir), "--revoke", "--replace-last",
                    "--insecure-plaintext", "--sign-with", str(fx.keys["hello"])])
    assert replaced.exit_code == 1
    assert "rotate file 1 is superseded by the delegation" in replaced.output
    revoked = run(["rotate", "hello", "--repo", str(fx.repo_dir), "--revoke",
                   "--insecure-plaintext", "--sign-with", str(fx.keys["hello2"])])
    assert revoked.exit_code == 0, revoked.output
    assert verify_repository(fx.repo_dir, now_utc()).revoked == ("pkg-hello",)
