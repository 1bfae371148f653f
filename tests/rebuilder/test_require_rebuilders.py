"""`repo-tool fetch --require-rebuilders K` against the repository served on loopback HTTP.

Each attack: the fetch exits 1 with one line saying how many rebuilders confirmed, from
whom and who disagreed; nothing is written to the output directory; and the client's
trusted top-level metadata is exactly what a plain verified fetch would hold (a refusal
makes the client trust nothing more).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rebuilder.support import (
    World,
    add_rebuilder,
    attestation,
    confirm,
    envelope,
    fetch,
    make_world,
    plant_role,
    served,
    submit,
    tree,
)
from tests.repository.helpers import pub, run
from tests.support.published import targets_dir

TOP_LEVEL = ("root.json", "timestamp.json", "snapshot.json", "targets.json")


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = make_world(tmp_path / "w")
    for name in ("alice", "bob", "mallory"):
        add_rebuilder(world, name)
    return world


@pytest.fixture
def url(world: World) -> Iterator[str]:
    with served(world) as base:
        yield base


def accepted(world: World, url: str, out: Path, *args: str) -> dict[str, object]:
    result = fetch(world, url, out, *args, "--json")
    assert result.exit_code == 0, result.output
    assert (out / "hello.hvt").exists()
    return dict(json.loads(result.output))


def refused(world: World, url: str, out: Path, *args: str) -> str:
    result = fetch(world, url, out, *args)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: refused: ") and result.output.count("\n") == 1
    assert tree(out) == {}  # nothing written
    plain = fetch(world, url, out.with_name(out.name + "-plain"))
    assert plain.exit_code == 0, plain.output
    trusted = tree(out.parent / f"{out.name}-md")
    baseline = tree(out.parent / f"{out.name}-plain-md")
    assert {n: trusted.get(n) for n in TOP_LEVEL} == {n: baseline[n] for n in TOP_LEVEL}
    return result.output


def test_k_distinct_rebuilders_confirm_and_the_image_is_written(
    world: World, url: str, tmp_path: Path,
) -> None:
    confirm(world, "alice")
    confirm(world, "bob")
    report = accepted(world, url, tmp_path / "out", "--require-rebuilders", "2")
    assert report["rebuilders"] == {
        "required": 2, "confirmed_by": ["alice", "bob"], "disagreed": [],
        "reason": f"hello 1.0.0 hvt (sha256 {world.image_sha256()[:16]}): confirmed by 2 of "
                  "2 required rebuilders (alice, bob); no attestation from: mallory",
    }
    assert (tmp_path / "out" / "hello.hvt").read_bytes() == tree(
        targets_dir(world.fx.repo_dir))[next(
            p for p in tree(targets_dir(world.fx.repo_dir)) if p.endswith(".hello.hvt"))]
    text = fetch(world, url, tmp_path / "text", "--require-rebuilders", "1", "--rebuilder",
                 "bob")
    assert text.exit_code == 0 and "rebuilders: hello 1.0.0 hvt" in text.output


def test_too_few_says_how_many_and_from_whom(world: World, url: str, tmp_path: Path) -> None:
    confirm(world, "alice")
    message = refused(world, url, tmp_path / "out", "--require-rebuilders", "2")
    assert "confirmed by 1 of 2 required rebuilders (alice)" in message
    assert "no attestation from: bob, mallory" in message


def test_attestation_for_another_image_hash_refuses_unless_disagreement_allowed(
    world: World, url: str, tmp_path: Path,
) -> None:
    confirm(world, "alice")
    confirm(world, "bob")
    lie = envelope(world.signer("mallory"), "f" * 64, size=world.image_length())
    assert submit(world, "mallory", {attestation("mallory"): lie}).exit_code == 0
    message = refused(world, url, tmp_path / "out", "--require-rebuilders", "2")
    assert "confirmed by 2 of 2 required rebuilders (alice, bob)" in message
    assert "disagreed: mallory: reproducible, but built sha256 ffffffffffffffff" in message
    report = accepted(world, url, tmp_path / "allowed", "--require-rebuilders", "2",
                      "--allow-disagreement")
    assert report["rebuilders"]["disagreed"] == ["mallory"]  # type: ignore[index]
    # Counting only named rebuilders leaves mallory out.
    accepted(world, url, tmp_path / "named", "--require-rebuilders", "2", "--rebuilder",
             "alice", "--rebuilder", "bob")
    # Only a positive for exactly this image counts: mallory alone confirms nothing.
    message = refused(world, url, tmp_path / "alone", "--require-rebuilders", "1",
                      "--rebuilder", "mallory")
    assert "confirmed by 0 of 1" in message


def test_attestation_signed_by_a_key_that_is_not_the_rebuilders(
    world: World, url: str, tmp_path: Path,
) -> None:
    """The repository refuses it at submit; published anyway (a writer that skipped the
    checks, picked up by the snapshot service), the client does not count it."""
    confirm(world, "alice")
    forged = envelope(world.signer("mallory"), world.image_sha256(), size=world.image_length())
    plant_role(world, "bob", {attestation("bob"): forged}, "bob")
    assert world.repo.refresh_snapshot() is not None
    message = refused(world, url, tmp_path / "out", "--require-rebuilders", "2")
    assert "confirmed by 1 of 2 required rebuilders (alice)" in message
    assert "bob: DSSE envelope: no valid signature by a trusted key" in message


def test_truncated_or_non_canonical_dsse_in_the_repository(
    world: World, url: str, tmp_path: Path,
) -> None:
    good = envelope(world.signer("bob"), world.image_sha256(), size=world.image_length())
    plant_role(world, "bob", {attestation("bob"): good[:-30]}, "bob")
    document = json.loads(good)
    document["payload"] = document["payload"] + "===="  # same bytes, non-canonical base64
    plant_role(world, "alice", {attestation("alice"): json.dumps(document).encode()}, "alice")
    assert world.repo.refresh_snapshot() is not None
    message = refused(world, url, tmp_path / "out", "--require-rebuilders", "1")
    assert "confirmed by 0 of 1" in message
    assert "bob: not a JSON DSSE envelope (truncated?)" in message
    assert "alice: DSSE envelope: payload is not canonical base64" in message


def test_rebuilder_role_not_delegated(world: World, url: str, tmp_path: Path) -> None:
    confirm(world, "alice")
    confirm(world, "bob")
    # A role file for a rebuilder nobody delegated is never published, never counted.
    plant_role(world, "carol", {attestation("carol"): envelope(
        world.signer("carol"), world.image_sha256(), size=world.image_length())}, "carol")
    world.repo.refresh_snapshot()
    message = refused(world, url, tmp_path / "carol", "--require-rebuilders", "1",
                      "--rebuilder", "carol")
    assert "confirmed by 0 of 1" in message
    assert "not delegated by the repository: carol" in message
    # Removed by the maintainers: bob's published attestation stops counting.
    change = json.loads(run(["rebuilder", "remove", "bob", "--repo", str(world.fx.repo_dir),
                             "--json"]).output)["id"]
    assert run(["sign", change, "--repo", str(world.fx.repo_dir), "--insecure-plaintext",
                "--key", str(world.key_file("m0")), "--key",
                str(world.key_file("m1"))]).exit_code == 0
    message = refused(world, url, tmp_path / "removed", "--require-rebuilders", "2")
    assert "confirmed by 1 of 2 required rebuilders (alice)" in message
    assert "no attestation from: mallory" in message and "bob" not in message


def test_replay_of_an_older_attestation_after_a_rotation(
    world: World, url: str, tmp_path: Path,
) -> None:
    """alice rotates away from a key (say it leaked): the attestation that key signed is
    still listed, re-signed into the role by the new key, but no longer counts; one signed
    by the new key does. Submitting with the old key is refused."""
    confirm(world, "alice")
    accepted(world, url, tmp_path / "before", "--require-rebuilders", "1")
    result = run(["rotate", "rebuilder-alice", "--repo", str(world.fx.repo_dir),
                  "--insecure-plaintext", "--pubkey", str(pub(world.key_file("alice2"))),
                  "--sign-with", str(world.key_file("alice")),
                  "--new-signer", str(world.key_file("alice2"))])
    assert result.exit_code == 0, result.output
    message = refused(world, url, tmp_path / "after", "--require-rebuilders", "1")
    assert "alice: DSSE envelope: no valid signature by a trusted key" in message
    replay = envelope(world.signer("alice"), world.image_sha256(), size=world.image_length())
    result = submit(world, "alice", {attestation("alice"): replay}, ["alice"])
    assert result.exit_code == 1 and "is not a key of rebuilder 'alice'" in result.output
    confirm(world, "alice", key="alice2")
    accepted(world, url, tmp_path / "renewed", "--require-rebuilders", "1")


def test_one_rebuilder_with_two_keys_counts_once(
    world: World, url: str, tmp_path: Path,
) -> None:
    add_rebuilder(world, "carol", ["carol", "bob2"])
    both = json.loads(envelope(world.signer("carol"), world.image_sha256(),
                               size=world.image_length()))
    second = json.loads(envelope(world.signer("bob2"), world.image_sha256(),
                                 size=world.image_length()))
    both["signatures"] += second["signatures"]  # one envelope, both of carol's keys
    assert submit(world, "carol", {attestation("carol"): json.dumps(both).encode()}
                  ).exit_code == 0
    message = refused(world, url, tmp_path / "out", "--require-rebuilders", "2")
    assert "confirmed by 1 of 2 required rebuilders (carol)" in message
    accepted(world, url, tmp_path / "one", "--require-rebuilders", "1")


def test_bad_options_are_usage_errors(world: World, url: str, tmp_path: Path) -> None:
    for args, message in ((["--rebuilder", "alice"], "go with --require-rebuilders"),
                          (["--require-rebuilders", "0"], "0 is not in the range x>=1"),
                          (["--require-rebuilders", "1", "--source"], "not for --source")):
        result = fetch(world, url, tmp_path / "out", *args)
        assert result.exit_code == 2 and message in result.output, result.output
    result = fetch(world, url, tmp_path / "out", "--require-rebuilders", "2", "--rebuilder",
                   "alice")
    assert result.exit_code == 1
    assert "2 rebuilders required but only 1 named (alice)" in result.output
    assert tree(tmp_path / "out") == {}
