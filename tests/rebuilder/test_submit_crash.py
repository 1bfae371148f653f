"""A submission cut at each step leaves a repository that verifies, and running it again
(or the snapshot service) completes it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rebuilder.support import add_rebuilder, attestation, envelope, make_world
from tests.repository.helpers import tree_digest
from tests.support.published import targets_dir
from tuf_metadata.repo_types import utc_now
from tuf_metadata.repo_verify import verify_repository
from tuf_metadata.store import set_crash_hook


class Crash(Exception):
    """Stands for the process dying at a crash point."""


@pytest.mark.parametrize("point", ["attest:targets", "attest:role", "snapshot", "timestamp"])
def test_a_submission_cut_at_any_step_verifies_and_completes(tmp_path: Path, point: str) -> None:
    world = make_world(tmp_path)
    add_rebuilder(world, "alice")
    data = {attestation("alice"): envelope(world.signer("alice"), world.image_sha256(),
                                           size=world.image_length())}

    def crash(label: str) -> None:
        if label == point:
            raise Crash(label)

    set_crash_hook(crash)
    try:
        with pytest.raises(Crash):
            world.repo.submit_attestations("alice", data, [world.signer("alice")])
    finally:
        set_crash_hook(None)
    verify_repository(world.fx.repo_dir, utc_now())  # from 1.root.json, as a new client
    world.repo.submit_attestations("alice", data, [world.signer("alice")])
    summary = verify_repository(world.fx.repo_dir, utc_now())
    assert [(a.rebuilder, a.envelope) for a in summary.attestations] == [
        ("alice", data[attestation("alice")])]
    # Re-submitting the same file publishes a new role version with the same targets.
    before = tree_digest(targets_dir(world.fx.repo_dir))
    world.repo.submit_attestations("alice", data, [world.signer("alice")])
    assert tree_digest(targets_dir(world.fx.repo_dir)) == before
