"""`package list`: every delegated package with its latest version, versions, targets,
author keys and threshold, TAP 8 rotations and revoked state; a table or --json."""

from __future__ import annotations

import json
from pathlib import Path

from signing.keys import load_public_key
from tests.repository.helpers import init_repo, make_keys, pub, release, run


def publish(repo: str, name: str) -> None:
    result = run(["publish", name, "--no-build", "--repo", repo])
    assert result.exit_code == 0, result.output


def test_package_list_shows_versions_targets_keys_rotations_and_revocation(
        tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["hello", "echo"])
    fx.keys.update(make_keys(tmp_path / "keys", ["hello2"]))
    repo = str(fx.repo_dir)
    assert release(fx, "hello", "1.0.0", ["hello"], ("hvt",)).exit_code == 0
    publish(repo, "hello")
    assert release(fx, "hello", "1.10.0", ["hello"], ("hvt", "spt")).exit_code == 0
    publish(repo, "hello")
    assert release(fx, "hello", "1.2.0", ["hello"], ("spt",)).exit_code == 0
    publish(repo, "hello")
    rotated = run(["rotate", "pkg-hello", "--repo", repo, "--insecure-plaintext",
                   "--pubkey", str(pub(fx.keys["hello2"])), "--sign-with", str(fx.keys["hello"]),
                   "--new-signer", str(fx.keys["hello2"])])
    assert rotated.exit_code == 0, rotated.output
    revoked = run(["rotate", "echo", "--repo", repo, "--insecure-plaintext", "--revoke",
                   "--sign-with", str(fx.keys["echo"])])
    assert revoked.exit_code == 0, revoked.output

    listed = run(["package", "list", "--repo", repo, "--json"])
    assert listed.exit_code == 0, listed.output
    by_name = {entry["name"]: entry for entry in json.loads(listed.output)}
    hello_key = load_public_key(pub(fx.keys["hello"])).keyid
    hello2_key = load_public_key(pub(fx.keys["hello2"])).keyid
    hello = by_name["hello"]
    assert hello["versions"] == ["1.0.0", "1.2.0", "1.10.0"]  # numeric order, not text
    assert hello["latest"] == "1.10.0"
    assert hello["targets"] == {"1.0.0": ["hvt"], "1.2.0": ["spt"], "1.10.0": ["hvt", "spt"]}
    assert (hello["keyids"], hello["threshold"], hello["rotations"]) == ([hello2_key], 1, 1)
    assert hello["delegation"] == {"keyids": [hello_key], "threshold": 1}
    assert hello["revoked"] is False
    echo = by_name["echo"]
    assert (echo["revoked"], echo["keyids"], echo["versions"], echo["latest"]) == (
        True, [], [], None)

    # Piped (CliRunner's stdout is not a terminal): a header and one TSV record per package.
    table = run(["package", "list", "--repo", repo]).output.splitlines()
    assert table[0].split("\t") == ["NAME", "LATEST", "VERSIONS", "TARGETS", "THRESHOLD",
                                    "AUTHOR_KEYIDS", "ROTATIONS", "STATE"]
    rows = {line.split("\t")[0]: line.split("\t") for line in table[1:]}
    assert rows["hello"] == ["hello", "1.10.0", "1.0.0,1.2.0,1.10.0", "hvt,spt", "1/1",
                             hello2_key, "1", "active"]
    assert rows["echo"] == ["echo", "-", "-", "-", "-", "-", "1", "revoked"]
    # A revoked name is delegated again only to new keys (tests/repository/test_redelegation.py).
    again = run(["package", "add", "echo", "--repo", repo, "--pubkey", str(pub(fx.keys["echo"]))])
    assert again.exit_code == 1
    assert "signed for the role's earlier delegation" in again.output


def test_package_list_of_a_repository_without_packages(tmp_path: Path) -> None:
    fx = init_repo(tmp_path)
    result = run(["package", "list", "--repo", str(fx.repo_dir)])
    assert (result.exit_code, result.output) == (0, "no packages\n")
    assert json.loads(run(["package", "list", "--repo", str(fx.repo_dir), "--json"]).output) == []
