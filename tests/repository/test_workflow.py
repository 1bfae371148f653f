"""Every repository command end to end, through the CLI, in temporary directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from signing.keys import generate_key
from tests.repository.helpers import (
    init_repo,
    make_keys,
    pub,
    release,
    run,
    tree_digest,
)
from tests.support.published import metadata_dir, targets_dir
from tuf_metadata import layout
from tuf_metadata.errors import TufError
from tuf_metadata.repo_verify import now_utc, verify_repository

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default


def test_key_ceremony_needs_threshold_before_anything_is_published(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", ["m0", "m1", "m2"])
    repo = tmp_path / "repo"
    env = {"ONLINE_PW": "online secret", "M_PW": "unused"}
    result = run(["init", "--repo", str(repo), "-t", "2", "--online-passphrase-env", "ONLINE_PW",
                  "--pubkey", str(pub(keys["m0"])), "--pubkey", str(pub(keys["m1"])),
                  "--pubkey", str(pub(keys["m2"])), "--json"], env=env)
    assert result.exit_code == 0, result.output
    change_id = json.loads(result.output)["id"]
    assert b"ENCRYPTED" in (repo / "online" / "snapshot.key").read_bytes()
    assert not list(metadata_dir(repo).iterdir())

    listed = json.loads(run(["pending", "--repo", str(repo), "--json"]).output)
    assert [c["id"] for c in listed] == [change_id]
    assert len(listed[0]["documents"]) == 2 + 256  # root, targets, 256 shards

    one = run(["sign", change_id, "--repo", str(repo), "--key", str(keys["m0"]),
               "--insecure-plaintext", "--json"], env=env)
    assert one.exit_code == 0 and json.loads(one.output)["committed"] is False
    assert not list(metadata_dir(repo).iterdir())  # t-1 signatures change nothing

    two = run(["sign", change_id, "--repo", str(repo), "--key", str(keys["m2"]),
               "--insecure-plaintext", "--json"], env=env)
    assert two.exit_code == 0 and json.loads(two.output)["committed"] is True
    summary = verify_repository(repo, now_utc())
    assert (summary.root_version, summary.roles) == (1, 257)
    root = json.loads((metadata_dir(repo) / "1.root.json").read_text())["signed"]
    assert root["consistent_snapshot"] is True
    assert root["roles"]["root"]["threshold"] == 2 and len(root["roles"]["root"]["keyids"]) == 3
    targets = json.loads((metadata_dir(repo) / "1.targets.json").read_text())["signed"]
    shard = targets["delegations"]["roles"][0]
    assert shard["terminating"] is True and shard["paths"] == ["00/*/*/*"]
    assert run(["pending", "--repo", str(repo)]).output.strip() == "no pending changes"


def test_delegate_release_publish_rotate_revoke(tmp_path: Path) -> None:
    fx = init_repo(tmp_path)
    make_keys(fx.repo_dir.parent / "keys", ["alice", "bob", "carol"])
    fx.keys.update(make_keys(tmp_path / "keys", ["alice", "bob", "carol"]))
    repo = str(fx.repo_dir)

    # Delegation with author threshold 2 of {alice, bob}: t-1 maintainer signatures change nothing.
    added = run(["package", "add", "hello", "--repo", repo, "--pubkey", str(pub(fx.keys["alice"])),
                 "--pubkey", str(pub(fx.keys["bob"])), "-t", "2", "--json"])
    assert added.exit_code == 0, added.output
    change_id = json.loads(added.output)["id"]
    before = tree_digest(metadata_dir(fx.repo_dir))
    assert run(["sign", change_id, "--repo", repo, "--key", str(fx.keys["m1"]),
                "--insecure-plaintext"]).exit_code == 0
    assert tree_digest(metadata_dir(fx.repo_dir)) == before
    done = run(["sign", change_id, "--repo", repo, "--key", str(fx.keys["m2"]),
                "--insecure-plaintext", "--json"])
    assert json.loads(done.output)["committed"] is True
    listed = json.loads(run(["package", "list", "--repo", repo, "--json"]).output)
    assert [(p["name"], p["threshold"], p["revoked"]) for p in listed] == [("hello", 2, False)]

    # Release: one of two author signatures is refused; both stage it (not published).
    below = release(fx, "hello", "1.0.0", ["alice"], ("hvt", "spt"))
    assert below.exit_code == 1 and "1 of 2 required author signatures" in below.output
    staged = release(fx, "hello", "1.0.0", ["alice", "bob"], ("hvt", "spt"))
    assert staged.exit_code == 0, staged.output
    listing = json.loads(run(["staging", "--repo", repo, "--json"]).output)
    assert listing == [{"package": "hello", "version": "1.0.0", "state": "staged", "reason": None}]
    assert verify_repository(fx.repo_dir).targets == 0

    published = run(["publish", "--no-build", "--repo", repo, "--json"])
    assert published.exit_code == 0, published.output
    summary = verify_repository(fx.repo_dir, now_utc())
    assert summary.targets == 4  # manifest, source archive, hvt and spt images
    shard = SHARDS.shard_of("hello")
    served = sorted(p.name.split(".", 1)[1] for p in (targets_dir(fx.repo_dir) / shard / "hello"
                                                      / "1.0.0").iterdir())
    assert served == ["hello-1.0.0.tar.gz", "hello.hvt", "hello.spt", "manifest.json"]

    # TAP 8: authors rotate to carol alone; the old keys can no longer release.
    rotated = run(["rotate", "pkg-hello", "--repo", repo, "--pubkey", str(pub(fx.keys["carol"])),
                   "-t", "1", "--sign-with", str(fx.keys["alice"]), "--sign-with",
                   str(fx.keys["bob"]), "--new-signer", str(fx.keys["carol"]),
                   "--insecure-plaintext", "--json"])
    assert rotated.exit_code == 0, rotated.output
    assert json.loads(rotated.output)["file"] == "rotate/pkg-hello.rotate.1.json"
    assert [p.name for p in (metadata_dir(fx.repo_dir) / "rotate").iterdir()] == [
        "1.pkg-hello.rotate.1.json"
    ]
    verify_repository(fx.repo_dir, now_utc())
    old = release(fx, "hello", "1.1.0", ["alice", "bob"])
    assert old.exit_code == 1 and "not an author key" in old.output
    assert release(fx, "hello", "1.1.0", ["carol"]).exit_code == 0
    assert run(["publish", "--no-build", "--repo", repo, "hello", "1.1.0"]).exit_code == 0
    assert verify_repository(fx.repo_dir, now_utc()).targets == 7

    # TAP 20: carol revokes the role; the repository still verifies, with the role revoked.
    revoked = run(["rotate", "hello", "--repo", repo, "--revoke", "--sign-with",
                   str(fx.keys["carol"]), "--insecure-plaintext"])
    assert revoked.exit_code == 0, revoked.output
    assert verify_repository(fx.repo_dir, now_utc()).revoked == ("pkg-hello",)
    after = release(fx, "hello", "1.2.0", ["carol"])
    assert after.exit_code == 1 and "revoked" in after.output

    # One-shot online services.
    snap = json.loads(run(["snapshot", "--repo", repo, "--json"]).output)["snapshot"]
    stamp = json.loads(run(["timestamp", "--repo", repo, "--json"]).output)["timestamp"]
    assert stamp > snap > 1
    verified = json.loads(run(["verify", "--repo", repo, "--json"]).output)
    assert verified["snapshot"] == snap and verified["timestamp"] == stamp


def test_maintainer_change_rotates_root_per_chain_rules(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["alice"])
    assert release(fx, "alice", "1.0.0", ["alice"]).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fx.repo_dir)]).exit_code == 0
    fx.keys.update(make_keys(tmp_path / "keys", ["m3"]))
    # New set {m1, m2, m3}, threshold 2: drops m0, adds m3.
    key_args = [arg for m in ("m1", "m2", "m3") for arg in ("--pubkey", str(pub(fx.keys[m])))]
    proposed = run(["maintainers", "--repo", str(fx.repo_dir), "-t", "2", "--json", *key_args])
    assert proposed.exit_code == 0, proposed.output
    change_id = json.loads(proposed.output)["id"]
    before = tree_digest(metadata_dir(fx.repo_dir))
    # m0 (old only) and m3 (new only): neither old nor new root threshold is met.
    partial = run(["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext",
                   "--key", str(fx.keys["m0"]), "--key", str(fx.keys["m3"]), "--json"])
    assert json.loads(partial.output)["committed"] is False
    assert tree_digest(metadata_dir(fx.repo_dir)) == before
    status = json.loads(run(["pending", change_id, "--repo", str(fx.repo_dir), "--json"]).output)
    root_doc = status[0]["documents"][0]
    assert root_doc["role"] == "root"
    assert [s["valid"] for s in root_doc["signatures"]] == [1, 1]
    done = run(["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext",
                "--key", str(fx.keys["m1"]), "--json"])
    assert json.loads(done.output)["committed"] is True
    summary = verify_repository(fx.repo_dir, now_utc())
    assert summary.root_version == 2 and summary.targets == 3
    # The removed maintainer can no longer take part in a quorum.
    added = run(["package", "add", "zed", "--repo", str(fx.repo_dir), "--pubkey",
                 str(pub(fx.keys["alice"])), "--json"])
    refused = run(["sign", json.loads(added.output)["id"], "--repo", str(fx.repo_dir),
                   "--insecure-plaintext", "--key", str(fx.keys["m0"])])
    assert refused.exit_code == 1 and "not a maintainer key" in refused.output


def test_revocation_replacing_the_last_rotate_file(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["alice"])
    fx.keys.update(make_keys(tmp_path / "keys", ["lost"]))
    repo = str(fx.repo_dir)
    assert run(["rotate", "alice", "--repo", repo, "--insecure-plaintext", "--pubkey",
                str(pub(fx.keys["lost"])), "--sign-with", str(fx.keys["alice"])]).exit_code == 0
    # The new key is lost: the keys that signed rotate 1 replace it by a revocation.
    wrong = run(["rotate", "alice", "--repo", repo, "--insecure-plaintext", "--revoke",
                 "--replace-last", "--sign-with", str(fx.keys["lost"])])
    assert wrong.exit_code == 1 and "keys being replaced" in wrong.output
    done = run(["rotate", "alice", "--repo", repo, "--insecure-plaintext", "--revoke",
                "--replace-last", "--sign-with", str(fx.keys["alice"]), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["rotate"] == 1
    snapshot = fx.repo.load_snapshot(fx.repo.load_root().signed).signed
    assert snapshot.meta["rotate/pkg-alice.rotate.1.json"].version == 2
    assert (metadata_dir(fx.repo_dir) / "rotate" / "2.pkg-alice.rotate.1.json").exists()
    assert verify_repository(fx.repo_dir, now_utc()).revoked == ("pkg-alice",)


def test_rotate_chain_is_capped(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, maintainers=1, threshold=1, authors=["alice"])
    signer = fx.signer("alice")
    for _ in range(layout.MAX_ROTATIONS):
        new = generate_key()
        fx.repo.rotate("alice", [new.public_key], 1, [signer])
        signer = new
    with pytest.raises(TufError, match="cap of 32"):
        fx.repo.rotate("alice", [generate_key().public_key], 1, [signer])
    verify_repository(fx.repo_dir, now_utc())


def test_withdraw_a_pending_change(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["alice"])
    added = run(["package", "add", "extra", "--repo", str(fx.repo_dir), "--pubkey",
                 str(pub(fx.keys["alice"])), "--json"])
    change_id = json.loads(added.output)["id"]
    before = tree_digest(metadata_dir(fx.repo_dir))
    assert run(["pending", change_id, "--withdraw", "--repo", str(fx.repo_dir)]).exit_code == 0
    assert json.loads(run(["pending", "--repo", str(fx.repo_dir), "--json"]).output) == []
    gone = run(["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext",
                "--key", str(fx.keys["m0"])])
    assert gone.exit_code == 1 and "does not exist" in gone.output
    assert tree_digest(metadata_dir(fx.repo_dir)) == before


def test_bad_ceremony_writes_nothing(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", ["m0", "m1"])
    repo = tmp_path / "repo"
    args = ["init", "--repo", str(repo), "--insecure-online-keys",
            "--pubkey", str(pub(keys["m0"])), "--pubkey", str(pub(keys["m1"]))]
    too_high = run([*args, "-t", "3"])
    assert too_high.exit_code == 1
    assert "root: threshold 3 must be between 1 and 2" in too_high.output
    twice = run([*args, "--pubkey", str(pub(keys["m0"])), "-t", "1"])
    assert twice.exit_code == 1 and "listed twice" in twice.output
    assert not repo.exists()


def test_rotate_replaces_an_unlisted_leftover_rotate_file(tmp_path: Path) -> None:
    """A crashed rotation can leave rotate file N unlisted; the next rotation must not be
    blocked by it (randomised signatures, e.g. rsa-pss, would not reproduce its bytes)."""
    fx = init_repo(tmp_path, authors=["alice"])
    leftover = metadata_dir(fx.repo_dir) / "rotate" / "1.pkg-alice.rotate.1.json"
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_text('{"signed": {}, "signatures": []}')
    verify_repository(fx.repo_dir, now_utc())  # unlisted: not part of the repository
    new = generate_key()
    fx.repo.rotate("alice", [new.public_key], 1, [fx.signer("alice")])
    assert verify_repository(fx.repo_dir, now_utc()).revoked == ()
    assert json.loads(leftover.read_text())["signed"]["role"] == "pkg-alice"
