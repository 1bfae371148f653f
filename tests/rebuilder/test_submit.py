"""`repo-tool rebuilder submit`: what the repository refuses to publish in a rebuilder's
role. Each refusal: exit 1, one line naming the check, the repository unchanged."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from securesystemslib.dsse import Envelope

from builder.status import BuildStatus
from signing.attestations import DSSE_PAYLOAD_TYPE
from tests.rebuilder.support import (
    World,
    add_rebuilder,
    attestation,
    envelope,
    make_world,
    submit,
)
from tests.repository.helpers import run, tree_digest
from tuf_metadata import layout
from tuf_metadata.repo_types import RepositoryError, utc_now
from tuf_metadata.repo_verify import verify_repository

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> World:
    world = make_world(tmp_path_factory.mktemp("submit"))
    add_rebuilder(world, "alice")
    add_rebuilder(world, "bob")
    return world


@pytest.fixture
def world(template: World) -> World:
    return template


def refused(world: World, name: str, files: dict[str, bytes], message: str,
            keys: list[str] | None = None) -> None:
    before = tree_digest(world.fx.repo_dir)
    result = submit(world, name, files, keys)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert message in result.output, result.output
    assert tree_digest(world.fx.repo_dir) == before


def good(world: World, name: str = "alice", target: str = "hvt") -> bytes:
    return envelope(world.signer(name), world.image_sha256(target), target=target,
                    size=world.image_length(target))


def test_attestation_signed_by_a_key_that_is_not_the_rebuilders(world: World) -> None:
    forged = good(world, "bob")  # bob's key, in alice's file
    refused(world, "alice", {attestation("alice"): forged},
            "rebuilder-alice: attestations/hello/1.0.0/hvt/alice.intoto.jsonl: DSSE envelope: "
            "no valid signature by a trusted key")
    # Nor may bob's key sign alice's role metadata.
    refused(world, "alice", {attestation("alice"): good(world)},
            "is not a key of rebuilder 'alice'", keys=["bob"])


def test_path_outside_attestations_or_another_rebuilders_file_name(world: World) -> None:
    data = good(world)
    for path in (SHARDS.target_path("hello", "1.0.0", "hello.hvt"),
                 "attestations/hello/1.0.0/hvt/../../alice.intoto.jsonl",
                 "attestations/hello/1.0.0/hvt/alice.json",
                 "elsewhere/hello/1.0.0/hvt/alice.intoto.jsonl"):
        refused(world, "alice", {path: data}, "is not an attestation path")
    refused(world, "alice", {attestation("bob"): data},
            "attestations/hello/1.0.0/hvt/bob.intoto.jsonl is rebuilder 'bob''s file name")


def test_truncated_or_non_canonical_dsse(world: World) -> None:
    data = good(world)
    refused(world, "alice", {attestation("alice"): data[:-40]}, "not a JSON DSSE envelope")
    document = json.loads(data)
    padded = dict(document, payload=document["payload"].rstrip("=") + "\n")
    refused(world, "alice", {attestation("alice"): json.dumps(padded).encode()},
            "payload is not canonical base64")
    statement = json.loads(base64.b64decode(document["payload"]))
    spaced = Envelope(payload=json.dumps(statement, indent=2).encode(),
                      payload_type=DSSE_PAYLOAD_TYPE, signatures={})
    spaced.sign(world.signer("alice"))  # validly signed, not the canonical encoding
    refused(world, "alice", {attestation("alice"): json.dumps(spaced.to_dict()).encode()},
            "DSSE payload is not in canonical JSON form")
    refused(world, "alice", {attestation("alice"): b"[]"}, "not a DSSE envelope")


def test_statement_about_another_image_or_an_unpublished_one(world: World) -> None:
    other_target = envelope(world.signer("alice"), world.image_sha256("spt"), target="spt")
    refused(world, "alice", {attestation("alice", "hvt"): other_target},
            "the statement is not about hello 1.0.0 hvt")
    unpublished = envelope(world.signer("alice"), "a" * 64, version="9.9.9")
    refused(world, "alice", {attestation("alice", version="9.9.9"): unpublished},
            "hello 9.9.9 has no published hvt image")


def test_one_bad_file_refuses_the_whole_submission(world: World) -> None:
    refused(world, "alice", {attestation("alice", "hvt"): good(world),
                             attestation("alice", "spt"): good(world, target="spt")[:10]},
            "spt/alice.intoto.jsonl: not a JSON DSSE envelope")


def test_undelegated_rebuilder_and_bad_arguments(world: World) -> None:
    refused(world, "carol", {attestation("carol"): good(world, "carol")},
            "rebuilder-carol: rebuilder 'carol' is not delegated by targets", keys=["carol"])
    result = run(["rebuilder", "submit", "alice", "--repo", str(world.fx.repo_dir),
                  "--insecure-plaintext", "--key", str(world.key_file("alice")),
                  str(world.fx.work / "x.json")])
    assert result.exit_code == 2 and "not named attestations/PACKAGE/VERSION/TARGET/alice" \
        in result.output


def test_submissions_keep_earlier_attestations_and_files_named_by_path(
    world: World, tmp_path: Path,
) -> None:
    """A good submission lists what the role listed before; a FILE named by its target path
    (as `repo-tool rebuild` writes them) needs no mapping; a negative verdict is published
    too (the repository records what rebuilders say; operators decide)."""
    local = tmp_path / attestation("bob", "hvt")
    local.parent.mkdir(parents=True)
    local.write_bytes(envelope(world.signer("bob"), "e" * 64, size=3))
    result = run(["rebuilder", "submit", "bob", "--repo", str(world.fx.repo_dir),
                  "--insecure-plaintext", "--key", str(world.key_file("bob")), str(local),
                  "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["submitted"] == [attestation("bob", "hvt")]
    second = submit(world, "bob", {attestation("bob", "spt"): envelope(
        world.signer("bob"), "", target="spt", status=BuildStatus.UNREPRODUCIBLE)})
    assert second.exit_code == 0, second.output
    summary = verify_repository(world.fx.repo_dir, utc_now())
    assert sorted((a.rebuilder, a.target) for a in summary.attestations) == [
        ("bob", "hvt"), ("bob", "spt")]
    with pytest.raises(RepositoryError, match="no attestation to submit"):
        world.repo.submit_attestations("bob", {}, [world.signer("bob")])
