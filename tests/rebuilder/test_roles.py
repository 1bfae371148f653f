"""Rebuilder roles in the trust layout: delegated by the maintainers' quorum, listed,
removed, rotated (TAP 8), published by the snapshot service, verified by `verify`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.rebuilder.support import (
    World,
    add_rebuilder,
    attestation,
    confirm,
    envelope,
    make_world,
    plant_role,
    submit,
)
from tests.repository.helpers import pub, run, tree_digest
from tests.support.published import metadata_dir
from tuf_metadata.repo_types import utc_now
from tuf_metadata.repo_verify import verify_repository


@pytest.fixture
def world(tmp_path: Path) -> World:
    return make_world(tmp_path)


def propose(world: World, name: str, *keys: str) -> str:
    args = ["rebuilder", "add", name, "--repo", str(world.fx.repo_dir), "--json"]
    for key in keys or (name,):
        args += ["--key", str(pub(world.key_file(key)))]
    result = run(args)
    assert result.exit_code == 0, result.output
    return str(json.loads(result.output)["id"])


def listed(world: World) -> list[dict[str, object]]:
    result = run(["rebuilder", "list", "--repo", str(world.fx.repo_dir), "--json"])
    assert result.exit_code == 0, result.output
    return list(json.loads(result.output))


def test_one_maintainer_alone_cannot_add_a_rebuilder(world: World) -> None:
    change = propose(world, "alice")
    before = tree_digest(metadata_dir(world.fx.repo_dir))
    one = run(["sign", change, "--repo", str(world.fx.repo_dir), "--insecure-plaintext",
               "--key", str(world.key_file("m0")), "--json"])
    assert one.exit_code == 0, one.output
    assert json.loads(one.output)["committed"] is False
    assert tree_digest(metadata_dir(world.fx.repo_dir)) == before  # nothing published
    assert listed(world) == []
    # Nor can the rebuilder (or any key that is not a maintainer's) add its signature.
    stranger = run(["sign", change, "--repo", str(world.fx.repo_dir), "--insecure-plaintext",
                    "--key", str(world.key_file("alice"))], env={})
    assert stranger.exit_code == 1
    assert listed(world) == []
    # The second maintainer reaches the threshold of 2: now it is delegated.
    two = run(["sign", change, "--repo", str(world.fx.repo_dir), "--insecure-plaintext",
               "--key", str(world.key_file("m1"))])
    assert two.exit_code == 0, two.output
    alice = world.signer("alice").public_key.keyid
    assert listed(world) == [{"name": "alice", "role": "rebuilder-alice", "keyids": [alice],
                              "threshold": 1, "attestations": 0, "revoked": False}]
    targets = world.repo.load_targets(world.repo.load_root().signed,
                                      world.repo.load_snapshot(world.repo.load_root().signed)
                                      .signed).signed
    assert targets.delegations is not None and targets.delegations.roles is not None
    delegation = targets.delegations.roles["rebuilder-alice"]
    assert delegation.terminating and delegation.paths == [
        "attestations/*/*/*/alice.intoto.jsonl"]


def test_list_counts_attestations_and_remove_is_a_quorum_change(world: World) -> None:
    add_rebuilder(world, "alice")
    add_rebuilder(world, "bob", ["bob", "bob2"], threshold=2)
    confirm(world, "alice")
    confirm(world, "alice", "spt")
    rows = {row["name"]: row for row in listed(world)}
    assert rows["alice"]["attestations"] == 2 and rows["bob"]["threshold"] == 2
    assert len(rows["bob"]["keyids"]) == 2  # type: ignore[arg-type]
    text = run(["rebuilder", "list", "--repo", str(world.fx.repo_dir)]).output
    assert "alice\t1 of [" in text and "2 attestations" in text
    result = run(["rebuilder", "remove", "alice", "--repo", str(world.fx.repo_dir), "--json"])
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in listed(world)] == ["alice", "bob"]  # until signed
    change = json.loads(result.output)["id"]
    signed = run(["sign", change, "--repo", str(world.fx.repo_dir), "--insecure-plaintext",
                  "--key", str(world.key_file("m0")), "--key", str(world.key_file("m2"))])
    assert signed.exit_code == 0, signed.output
    assert [row["name"] for row in listed(world)] == ["bob"]
    verify_repository(world.fx.repo_dir, utc_now())


def test_bad_rebuilder_requests_are_refused_with_nothing_written(world: World) -> None:
    add_rebuilder(world, "alice")
    before = tree_digest(world.fx.repo_dir)
    cases = [
        (["alice"], "alice", "rebuilder 'alice' is already delegated"),
        (["Bad Name"], "bob", "invalid rebuilder name 'Bad Name'"),
        (["bob"], "alice", "a key is already the key of rebuilder 'alice'"),
    ]
    for args, key, message in cases:
        result = run(["rebuilder", "add", *args, "--repo", str(world.fx.repo_dir),
                      "--key", str(pub(world.key_file(key)))])
        assert result.exit_code == 1 and message in result.output, result.output
    result = run(["rebuilder", "add", "bob", "--repo", str(world.fx.repo_dir), "-t", "2",
                  "--key", str(pub(world.key_file("bob")))])
    assert result.exit_code == 1 and "threshold 2 must be between 1 and 1" in result.output
    result = run(["rebuilder", "remove", "carol", "--repo", str(world.fx.repo_dir)])
    assert result.exit_code == 1 and "rebuilder 'carol' is not delegated" in result.output
    assert tree_digest(world.fx.repo_dir) == before
    # Two pending changes of top-level targets would conflict: the second is refused.
    propose(world, "bob")
    pending = tree_digest(world.fx.repo_dir)
    result = run(["rebuilder", "add", "carol", "--repo", str(world.fx.repo_dir),
                  "--key", str(pub(world.key_file("carol")))])
    assert result.exit_code == 1 and "already changes top-level targets" in result.output
    assert tree_digest(world.fx.repo_dir) == pending


def test_a_removed_name_cannot_be_delegated_again(world: World) -> None:
    add_rebuilder(world, "alice")
    confirm(world, "alice")
    change = json.loads(run(["rebuilder", "remove", "alice", "--repo", str(world.fx.repo_dir),
                             "--json"]).output)["id"]
    assert run(["sign", change, "--repo", str(world.fx.repo_dir), "--insecure-plaintext",
                "--key", str(world.key_file("m0")), "--key",
                str(world.key_file("m1"))]).exit_code == 0
    # Its old role file stays listed in snapshot; under a new delegation it would apply.
    result = run(["rebuilder", "add", "alice", "--repo", str(world.fx.repo_dir),
                  "--key", str(pub(world.key_file("alice2")))])
    assert result.exit_code == 1 and "was delegated before" in result.output


def test_maintainer_change_keeps_rebuilder_delegations(world: World) -> None:
    add_rebuilder(world, "alice")
    confirm(world, "alice")
    args = ["maintainers", "--repo", str(world.fx.repo_dir), "-t", "2", "--json"]
    for name in ("m0", "m1"):
        args += ["--pubkey", str(pub(world.key_file(name)))]
    result = run(args)
    assert result.exit_code == 0, result.output
    change = json.loads(result.output)["id"]
    signed = run(["sign", change, "--repo", str(world.fx.repo_dir), "--insecure-plaintext",
                  "--key", str(world.key_file("m0")), "--key", str(world.key_file("m1"))])
    assert signed.exit_code == 0, signed.output
    assert [(row["name"], row["attestations"]) for row in listed(world)] == [("alice", 1)]
    summary = verify_repository(world.fx.repo_dir, utc_now())
    assert [a.rebuilder for a in summary.attestations] == ["alice"]


def test_rotate_a_rebuilder_role_with_repo_tool_rotate(world: World) -> None:
    add_rebuilder(world, "alice")
    confirm(world, "alice")
    result = run(["rotate", "rebuilder-alice", "--repo", str(world.fx.repo_dir),
                  "--insecure-plaintext", "--pubkey", str(pub(world.key_file("alice2"))),
                  "--sign-with", str(world.key_file("alice")),
                  "--new-signer", str(world.key_file("alice2")), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["file"] == "rotate/rebuilder-alice.rotate.1.json"
    (row,) = listed(world)
    assert row["keyids"] == [world.signer("alice2").public_key.keyid]
    assert row["attestations"] == 1  # re-signed by the new key, same targets
    verify_repository(world.fx.repo_dir, utc_now())
    # The old key can no longer rotate nor submit; the new key can.
    again = run(["rotate", "rebuilder-alice", "--repo", str(world.fx.repo_dir),
                 "--insecure-plaintext", "--pubkey", str(pub(world.key_file("bob"))),
                 "--sign-with", str(world.key_file("alice"))])
    assert again.exit_code == 1 and "not one of them" in again.output
    old = submit(world, "alice", {attestation("alice", "spt"): envelope(
        world.signer("alice"), world.image_sha256("spt"), target="spt")}, ["alice"])
    assert old.exit_code == 1 and "is not a key of rebuilder 'alice'" in old.output
    confirm(world, "alice", "spt", key="alice2")
    revoke = run(["rotate", "rebuilder-alice", "--repo", str(world.fx.repo_dir),
                  "--insecure-plaintext", "--revoke", "--sign-with",
                  str(world.key_file("alice2"))])
    assert revoke.exit_code == 0, revoke.output
    assert listed(world)[0]["revoked"] is True
    assert "rebuilder-alice" in verify_repository(world.fx.repo_dir, utc_now()).revoked


def test_snapshot_service_publishes_a_verified_rebuilder_role_and_skips_others(
    world: World,
) -> None:
    """A crash between the role file and snapshot leaves a complete role file: `snapshot`
    (and serve/sign-service) lists it once it verifies, like a package role's; a role file
    signed by another key, or holding a path outside its delegation, is skipped."""
    add_rebuilder(world, "alice")
    add_rebuilder(world, "bob")
    repo = world.repo
    data = envelope(world.signer("alice"), world.image_sha256())
    path = attestation("alice")

    plant_role(world, "alice", {path: data}, "alice")
    plant_role(world, "bob", {"attestations/hello/1.0.0/hvt/alice.intoto.jsonl": data}, "bob")
    logged: list[str] = []
    repo.log = logged.append
    assert repo.refresh_snapshot() is not None
    snapshot = repo.load_snapshot(repo.load_root().signed).signed
    assert "rebuilder-alice.json" in snapshot.meta
    assert "rebuilder-bob.json" not in snapshot.meta
    assert any("rebuilder-bob" in line and "alice.intoto.jsonl" in line for line in logged)
    summary = verify_repository(world.fx.repo_dir, utc_now())
    assert [(a.rebuilder, a.target) for a in summary.attestations] == [("alice", "hvt")]


def test_verify_reports_per_image_how_many_rebuilders_confirmed(world: World) -> None:
    add_rebuilder(world, "alice")
    add_rebuilder(world, "bob")
    add_rebuilder(world, "mallory")
    confirm(world, "alice")
    confirm(world, "bob")
    confirm(world, "bob", "spt")
    lie = envelope(world.signer("mallory"), "f" * 64, size=7)
    assert submit(world, "mallory", {attestation("mallory"): lie}).exit_code == 0
    result = run(["verify", "--repo", str(world.fx.repo_dir), "--json"])
    assert result.exit_code == 0, result.output
    images = {row["target"]: row for row in json.loads(result.output)["images"]}
    assert images["hvt"]["confirmed_by"] == ["alice", "bob"]
    assert images["hvt"]["disagreed"] == ["mallory"]
    assert images["spt"]["confirmed_by"] == ["bob"] and images["spt"]["disagreed"] == []
    text = run(["verify", "--repo", str(world.fx.repo_dir)]).output
    assert "hello 1.0.0 hvt: confirmed by 2 rebuilders (alice, bob); disagreed: mallory" in text
    assert "hello 1.0.0 spt: confirmed by 1 rebuilder (bob)" in text
