"""Refusals: one-line error naming the role and the check, exit 1, nothing changed on disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import Result
from tuf.api.metadata import Metadata, TargetFile, Targets

from signing.keys import INSECURE, load_signer
from tests.repository.helpers import (
    Fixture,
    init_repo,
    make_keys,
    make_release_files,
    pub,
    release,
    run,
    tree_digest,
)
from tests.support.published import metadata_dir
from tuf_metadata import layout
from tuf_metadata.errors import TufError
from tuf_metadata.repo_verify import SignatureCache, VerificationFailure, verify_repository
from tuf_metadata.repository import ImageMismatchError, StagedRelease, StagingError

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default


@pytest.fixture
def fx(tmp_path: Path) -> Fixture:
    fixture = init_repo(tmp_path, authors=["alice"])
    fixture.keys.update(make_keys(tmp_path / "keys", ["mallory"]))
    assert release(fixture, "alice", "1.0.0", ["alice"]).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fixture.repo_dir)]).exit_code == 0
    return fixture


def refused(result: Result, *fragments: str) -> None:
    assert result.exit_code == 1, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_unknown_key_cannot_sign_a_pending_change(fx: Fixture) -> None:
    added = run(["package", "add", "other", "--repo", str(fx.repo_dir), "--pubkey",
                 str(pub(fx.keys["alice"])), "--json"])
    change_id = json.loads(added.output)["id"]
    before = tree_digest(fx.repo_dir)
    refused(run(["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext",
                 "--key", str(fx.keys["mallory"])]), "not a maintainer key", change_id)
    refused(run(["sign", "feedc0ffee00", "--repo", str(fx.repo_dir), "--insecure-plaintext",
                 "--key", str(fx.keys["m0"])]), "does not exist")
    assert tree_digest(fx.repo_dir) == before


def test_wrong_passphrase_changes_nothing(fx: Fixture, tmp_path: Path) -> None:
    assert run(["key", "generate", str(tmp_path / "enc.key"), "--passphrase-env", "PW"],
               env={"PW": "right passphrase"}).exit_code == 0
    before = tree_digest(fx.repo_dir)
    files = make_release_files(tmp_path / "w", "alice", "2.0.0")
    refused(run(["release", "alice", "2.0.0", "--repo", str(fx.repo_dir), "--passphrase-env", "PW",
                 "--manifest", str(files["manifest"]), "--source", str(files["source"]),
                 "--image", f"hvt={files['hvt']}", "--key", str(tmp_path / "enc.key")],
                env={"PW": "wrong"}), "wrong passphrase")
    # Wrong passphrase for the online keys: the publish writes nothing at all.
    repo = init_repo(tmp_path / "enc", authors=["bob"], online_env={"ONLINE_PW": "online secret"})
    assert b"ENCRYPTED" in (repo.repo_dir / "online" / "timestamp.key").read_bytes()
    assert release(repo, "bob", "1.0.0", ["bob"]).exit_code == 0
    before_bob = tree_digest(repo.repo_dir)
    refused(run(["publish", "--no-build", "--repo", str(repo.repo_dir)],
                env={"ONLINE_PW": "guess"}), "wrong passphrase", "snapshot.key")
    assert tree_digest(repo.repo_dir) == before_bob
    assert run(["publish", "--no-build", "--repo", str(repo.repo_dir)],
               env={"ONLINE_PW": "online secret"}).exit_code == 0
    # The signature that would commit a change is refused whole if the online keys are locked.
    added = run(["package", "add", "carl", "--repo", str(repo.repo_dir), "--pubkey",
                 str(pub(repo.keys["bob"])), "--json"])
    change_id = json.loads(added.output)["id"]
    before_sign = tree_digest(repo.repo_dir)
    refused(run(["sign", change_id, "--repo", str(repo.repo_dir), "--insecure-plaintext",
                 "--key", str(repo.keys["m0"]), "--key", str(repo.keys["m1"])],
                env={"ONLINE_PW": "guess"}), "wrong passphrase")
    assert tree_digest(repo.repo_dir) == before_sign
    assert tree_digest(fx.repo_dir) == before


def test_release_below_threshold_or_by_non_author(fx: Fixture) -> None:
    before = tree_digest(fx.repo_dir)
    refused(release(fx, "alice", "2.0.0", ["mallory"]), "pkg-alice", "not an author key")
    refused(release(fx, "nobody", "1.0.0", ["alice"]), "pkg-nobody", "not delegated")
    refused(release(fx, "alice", "1.0.0", ["alice"]), "pkg-alice", "already published")
    refused(release(fx, "Bad/Name", "1.0.0", ["alice"]), "invalid package name")
    refused(release(fx, "alice", "../x", ["alice"]), "invalid version")
    assert tree_digest(fx.repo_dir) == before


def test_package_path_outside_its_delegation_is_refused(fx: Fixture) -> None:
    """An author who signs a target path under another package's (or shard's) prefix."""
    repo = fx.repo
    assert release(fx, "alice", "2.0.0", ["alice"]).exit_code == 0
    staged = repo.staged_releases()[0]
    release_file = fx.repo_dir / "staging" / "alice" / "2.0.0" / "release.json"
    md: Metadata[Targets] = Metadata[Targets].from_bytes(release_file.read_bytes())
    stolen = SHARDS.target_path("victim", "1.0.0", "victim.hvt")
    md.signed.targets[stolen] = TargetFile.from_dict(
        dict(next(iter(staged.image_targets.values()))), stolen)
    md.signatures.clear()
    md.sign(load_signer(fx.keys["alice"], INSECURE))
    release_file.write_bytes(md.to_bytes())
    before = tree_digest(fx.repo_dir)
    refused(run(["publish", "--no-build", "--repo", str(fx.repo_dir)]),
            "pkg-alice", f"target {stolen} is outside the package's delegated paths")
    assert tree_digest(fx.repo_dir) == before


def test_built_image_mismatch_publishes_nothing(fx: Fixture, tmp_path: Path) -> None:
    repo = fx.repo
    assert release(fx, "alice", "2.0.0", ["alice"]).exit_code == 0
    staged = repo.staged_releases()[0]
    (tmp_path / "evil.hvt").write_bytes(b"not what the author built")
    before = tree_digest(fx.repo_dir)
    images = {path: tmp_path / "evil.hvt" for path in staged.image_targets}
    with pytest.raises(ImageMismatchError, match="differs from the author-signed one"):
        repo.publish_release(staged, images)
    with pytest.raises(ImageMismatchError, match="do not match the author-signed images"):
        repo.publish_release(staged, {})
    assert tree_digest(fx.repo_dir) == before
    repo.reject_release(staged, "image differs", None)
    assert repo.staged_releases() == []
    listed = json.loads(run(["staging", "--repo", str(fx.repo_dir), "--json"]).output)
    assert listed[0]["state"] == "rejected" and listed[0]["reason"] == "image differs"


def test_rotate_signed_by_wrong_keys_is_refused(fx: Fixture) -> None:
    before = tree_digest(fx.repo_dir)
    refused(run(["rotate", "pkg-alice", "--repo", str(fx.repo_dir), "--insecure-plaintext",
                 "--pubkey", str(pub(fx.keys["mallory"])), "--sign-with", str(fx.keys["mallory"]),
                 "--new-signer", str(fx.keys["mallory"])]),
            "pkg-alice", "rotate file 1 must be signed by the keys being replaced")
    # Right old key, but the published role is not re-signed by the new key: refused too.
    refused(run(["rotate", "pkg-alice", "--repo", str(fx.repo_dir), "--insecure-plaintext",
                 "--pubkey", str(pub(fx.keys["mallory"])), "--sign-with", str(fx.keys["alice"])]),
            "pkg-alice has a published release, which the new keys must re-sign", "got 0")
    assert tree_digest(fx.repo_dir) == before


def test_tampered_rotate_file_on_disk_is_detected(fx: Fixture) -> None:
    assert run(["rotate", "alice", "--repo", str(fx.repo_dir), "--insecure-plaintext",
                "--pubkey", str(pub(fx.keys["mallory"])), "--sign-with", str(fx.keys["alice"]),
                "--new-signer", str(fx.keys["mallory"])]).exit_code == 0
    rotate_file = metadata_dir(fx.repo_dir) / "rotate" / "1.pkg-alice.rotate.1.json"
    doc = json.loads(rotate_file.read_text())
    doc["signed"]["threshold"] = 1  # same value, different bytes: hash must still catch it
    rotate_file.write_text(json.dumps(doc, indent=4))
    before = tree_digest(fx.repo_dir)
    refused(release(fx, "alice", "2.0.0", ["mallory"]), "pkg-alice", "rotate file 1",
            "snapshot hash")
    with pytest.raises(VerificationFailure, match="pkg-alice: rotate file 1 fails"):
        verify_repository(fx.repo_dir)
    assert tree_digest(fx.repo_dir) == before


@pytest.mark.parametrize(
    ("victim", "damage", "message"),
    [
        ("shard", "truncate", "does not parse"),
        ("shard", "resign", "is not signed by a threshold"),
        ("targets", "resign", "targets: version 1 is not signed by a threshold"),
        ("timestamp", "truncate", "timestamp: timestamp.json does not parse"),
    ],
)
def test_corrupt_metadata_on_disk(fx: Fixture, victim: str, damage: str, message: str) -> None:
    shard = SHARDS.shard_role("alice")
    path = {
        "shard": metadata_dir(fx.repo_dir) / f"2.{shard}.json",
        "targets": metadata_dir(fx.repo_dir) / "1.targets.json",
        "timestamp": metadata_dir(fx.repo_dir) / "timestamp.json",
    }[victim]
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:40])
    else:
        md = Metadata.from_bytes(path.read_bytes())
        md.signed.expires = md.signed.expires.replace(year=2099)  # content changed, sigs stale
        path.write_bytes(md.to_bytes())
    before = tree_digest(fx.repo_dir)
    role = shard if victim == "shard" else victim
    refused(release(fx, "alice", "2.0.0", ["alice"]), role, message)
    with pytest.raises(TufError, match=role):
        verify_repository(fx.repo_dir)
    assert tree_digest(fx.repo_dir) == before


def test_conflicting_pending_changes_and_stale_staging(fx: Fixture) -> None:
    repo = str(fx.repo_dir)
    # Two packages in the same shard cannot both be pending.
    name = next(f"p{i}" for i in range(1000) if SHARDS.shard_of(f"p{i}") == SHARDS.shard_of("q0")
                and f"p{i}" != "q0")
    assert run(["package", "add", "q0", "--repo", repo, "--pubkey",
                str(pub(fx.keys["alice"]))]).exit_code == 0
    refused(run(["package", "add", name, "--repo", repo, "--pubkey",
                 str(pub(fx.keys["alice"]))]), SHARDS.shard_role("q0"), "already changes")
    # Two staged releases of one package: the second to publish is stale and refused.
    assert release(fx, "alice", "2.0.0", ["alice"]).exit_code == 0
    assert release(fx, "alice", "3.0.0", ["alice"]).exit_code == 0
    assert run(["publish", "--no-build", "--repo", repo, "alice", "2.0.0"]).exit_code == 0
    before = tree_digest(fx.repo_dir)
    refused(run(["publish", "--no-build", "--repo", repo, "alice", "3.0.0"]),
            "pkg-alice", "release it again")
    assert tree_digest(fx.repo_dir) == before
    shutil.rmtree(fx.repo_dir / "staging" / "alice" / "3.0.0")
    assert release(fx, "alice", "3.0.0", ["alice"]).exit_code == 0
    assert run(["publish", "--no-build", "--repo", repo]).exit_code == 0
    assert verify_repository(fx.repo_dir).targets == 9


def test_rejecting_an_unstaged_release_is_refused(fx: Fixture) -> None:
    ghost = StagedRelease("alice", "9.9", Path("x"), Path("y"), {})
    with pytest.raises(StagingError, match=r"pkg-alice: 9\.9 is not staged"):
        fx.repo.reject_release(ghost, "nope", None)


def test_signature_cache_does_not_hide_tampering(fx: Fixture) -> None:
    cache: SignatureCache = {}
    verify_repository(fx.repo_dir, cache=cache)
    assert cache
    path = metadata_dir(fx.repo_dir) / f"2.{SHARDS.shard_role('alice')}.json"
    md = Metadata.from_bytes(path.read_bytes())
    md.signed.expires = md.signed.expires.replace(year=2099)
    path.write_bytes(md.to_bytes())
    with pytest.raises(VerificationFailure, match=SHARDS.shard_role("alice")):
        verify_repository(fx.repo_dir, cache=cache)


def test_staged_role_may_not_change_other_releases(fx: Fixture) -> None:
    """An author-signed staged role that also rewrites the published 1.0.0 entry is refused."""
    assert release(fx, "alice", "2.0.0", ["alice"]).exit_code == 0
    release_file = fx.repo_dir / "staging" / "alice" / "2.0.0" / "release.json"
    md: Metadata[Targets] = Metadata[Targets].from_bytes(release_file.read_bytes())
    old_path = SHARDS.target_path("alice", "1.0.0", "alice.hvt")
    md.signed.targets[old_path].hashes["sha256"] = "00" * 32
    md.signatures.clear()
    md.sign(load_signer(fx.keys["alice"], INSECURE))
    release_file.write_bytes(md.to_bytes())
    before = tree_digest(fx.repo_dir)
    refused(run(["publish", "--no-build", "--repo", str(fx.repo_dir)]),
            "pkg-alice", "changes targets of other releases")
    assert tree_digest(fx.repo_dir) == before


@pytest.mark.parametrize("command", [["pending"], ["staging"], ["package", "list"],
                                     ["snapshot"], ["timestamp"]])
def test_commands_refuse_a_folder_that_is_not_a_repository(tmp_path: Path,
                                                           command: list[str]) -> None:
    # A mistyped --repo must not read as "nothing pending" or "staging is empty".
    result = run([*command, "--repo", str(tmp_path)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == (
        f"error: {tmp_path} is not a repository (no repo.json): pass --repo DIR (or set "
        "REPO_TOOL_REPO), or create one with `repo-tool init`")
    assert list(tmp_path.iterdir()) == []
