"""The dashboard's "reproduced by" column: the published attestations, verified through the
repository (repo_tool.attested_dashboard), refreshed by `rebuilder submit`.

Real repository (CLI), real signed verdicts (builder.verdict, no builds: what is under test
is which attestations the dashboard shows)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from repo_tool.attested_dashboard import refresh_attestations
from reports.dashboard import load_rows, row_from_farm, update_dashboard
from tests.rebuilder.support import (
    World,
    add_rebuilder,
    attestation,
    confirm,
    envelope,
    make_world,
    submit,
)
from tests.repository.helpers import run
from tests.support.published import builds_dir, dashboard_dir, targets_dir


def builder_row(world: World, target: str) -> dict[str, Any]:
    """The publish gate's row for hello 1.0.0 TARGET (built twice, identical, published)."""
    sha256 = world.image_sha256(target)
    builds = [{"target": target, "build": label, "worker": "w1", "attempts": 1,
               "status": "built", "sha256": sha256, "reason": "", "seconds": 1.0}
              for label in ("a", "b")]
    report_dir = builds_dir(world.fx.repo_dir) / "hello" / "1.0.0" / target
    report_dir.mkdir(parents=True, exist_ok=True)
    return row_from_farm("hello", "1.0.0", target, builds, dashboard_dir(world.fx.repo_dir),
                         target_dir=report_dir, variations=[], author_sha256=sha256,
                         decision="published")


@pytest.fixture
def world(tmp_path: Path) -> World:
    world = make_world(tmp_path)
    for name in ("alice", "bob", "mallory"):
        add_rebuilder(world, name)
    update_dashboard(dashboard_dir(world.fx.repo_dir),
                     [builder_row(world, "hvt"), builder_row(world, "spt")])
    return world


def rows(world: World) -> dict[str, dict[str, Any]]:
    return {r["target"]: r for r in load_rows(dashboard_dir(world.fx.repo_dir))}


def test_submitted_attestations_fill_reproduced_by(world: World) -> None:
    assert "rebuilders" not in rows(world)["hvt"]
    confirm(world, "alice")
    confirm(world, "bob")
    hvt, spt = rows(world)["hvt"], rows(world)["spt"]
    assert hvt["rebuilders"] == {"sha256": world.image_sha256("hvt"),
                                 "confirmed_by": ["alice", "bob"], "disagreed": []}
    assert spt["rebuilders"]["confirmed_by"] == []  # nobody attested the spt image
    page = (dashboard_dir(world.fx.repo_dir) / "index.html").read_text()
    assert "<th>reproduced by</th>" in page and ">alice, bob</td>" in page
    # The builder rewriting its row keeps what the rebuilders said about the image.
    update_dashboard(dashboard_dir(world.fx.repo_dir), [builder_row(world, "hvt")])
    assert rows(world)["hvt"]["rebuilders"]["confirmed_by"] == ["alice", "bob"]


def test_a_lying_rebuilder_shows_as_disagreeing(world: World) -> None:
    confirm(world, "alice")
    lie = envelope(world.signer("mallory"), "f" * 64, size=world.image_length())
    assert submit(world, "mallory", {attestation("mallory"): lie}).exit_code == 0
    assert rows(world)["hvt"]["rebuilders"]["confirmed_by"] == ["alice"]
    assert rows(world)["hvt"]["rebuilders"]["disagreed"] == ["mallory"]
    page = (dashboard_dir(world.fx.repo_dir) / "index.html").read_text()
    assert 'class="disagreed">alice; disagreed: mallory</td>' in page


def test_an_attestation_altered_after_publication_is_not_shown(world: World) -> None:
    confirm(world, "alice")
    before = (dashboard_dir(world.fx.repo_dir) / "index.json").read_bytes()
    # Someone with write access to the folder swaps bob's positive attestation in, unsigned
    # by the repository: the stored file no longer matches alice's role, verify refuses.
    folder, name = attestation("alice").rsplit("/", 1)
    (stored,) = (targets_dir(world.fx.repo_dir) / folder).glob(f"*.{name}")
    stored.write_bytes(envelope(world.signer("bob"), world.image_sha256(),
                                size=world.image_length()))
    warning = refresh_attestations(world.fx.repo_dir)
    assert warning is not None and warning.startswith("dashboard not updated: ")
    assert (dashboard_dir(world.fx.repo_dir) / "index.json").read_bytes() == before


def test_a_removed_rebuilder_no_longer_counts(world: World) -> None:
    confirm(world, "alice")
    confirm(world, "bob")
    removed = run(["rebuilder", "remove", "bob", "--repo", str(world.fx.repo_dir), "--json"])
    assert removed.exit_code == 0, removed.output
    change = json.loads(removed.output)["id"]
    signed = run(["sign", change, "--repo", str(world.fx.repo_dir), "--insecure-plaintext",
                  "--key", str(world.key_file("m0")), "--key", str(world.key_file("m1"))])
    assert signed.exit_code == 0, signed.output
    assert refresh_attestations(world.fx.repo_dir) is None
    assert rows(world)["hvt"]["rebuilders"]["confirmed_by"] == ["alice"]


def test_no_dashboard_no_refresh(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    add_rebuilder(world, "alice")
    confirm(world, "alice")
    assert not dashboard_dir(world.fx.repo_dir).exists()
