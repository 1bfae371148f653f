"""Messages that used to mislead (issue 13 item 6): each says what is wrong and what to do,
on one line, with exit status 1, and nothing on disk changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from repo_tool.cli import cli
from tests.repository.helpers import (
    Fixture,
    init_repo,
    make_keys,
    pub,
    release,
    run,
    tree_digest,
)
from tests.support.published import metadata_dir


def invoke(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def published(tmp_path: Path) -> Fixture:
    """alpha 1.0.0 published, so a rotation must re-sign alpha's package role."""
    fx = init_repo(tmp_path / "fixture", maintainers=1, threshold=1, authors=["alpha"])
    assert release(fx, "alpha", "1.0.0", ["alpha"]).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fx.repo_dir)]).exit_code == 0
    return fx


def rotate_args(fx: Fixture, new_key: Path) -> list[str]:
    return ["rotate", "alpha", "--repo", str(fx.repo_dir), "--insecure-plaintext",
            "--pubkey", str(pub(new_key)), "--sign-with", str(fx.keys["alpha"])]


def test_rotate_without_new_signer_says_the_new_keys_must_re_sign(published: Fixture) -> None:
    new_key = make_keys(published.work / "keys", ["alpha-new"])["alpha-new"]
    before = tree_digest(published.repo_dir)
    status, stdout, stderr = invoke(*rotate_args(published, new_key))
    assert status == 1
    assert stdout == ""
    assert stderr == ("error: pkg-alpha has a published release, which the new keys must "
                      "re-sign: give 1 of the new private keys as new signers (rotate "
                      "--new-signer KEY), got 0\n")
    assert "signatures valid" not in stderr
    assert tree_digest(published.repo_dir) == before
    # Doing what it says works.
    status, stdout, stderr = invoke(*rotate_args(published, new_key), "--new-signer",
                                    str(new_key))
    assert status == 0, stderr
    assert stdout == "wrote rotate/pkg-alpha.rotate.1.json\n"


def test_verify_outside_a_repository_says_so_and_what_to_pass(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPO_TOOL_REPO", raising=False)
    status, stdout, stderr = invoke("verify")
    assert status == 1
    assert stdout == ""
    assert stderr == ("error: . is not a repository (no metadata/1.root.json): pass --repo DIR, "
                      "a repository or a published copy of one (or set REPO_TOOL_REPO)\n")
    assert "is missing" not in stderr
    status, _, stderr = invoke("verify", "--repo", str(tmp_path / "nowhere"))
    assert status == 1
    assert stderr.startswith(f"error: {tmp_path / 'nowhere'} is not a repository")


def test_verify_before_the_ceremony_is_signed_points_at_pending(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", ["m0"])
    repo_dir = tmp_path / "repo"
    status, _, stderr = invoke("init", "--repo", str(repo_dir), "--pubkey",
                               str(pub(keys["m0"])), "-t", "1", "--insecure-online-keys")
    assert status == 0, stderr
    status, _, stderr = invoke("verify", "--repo", str(repo_dir))
    assert status == 1
    assert stderr == (f"error: {repo_dir}: nothing is published yet (no metadata/1.root.json); "
                      "the key ceremony waits for maintainer signatures: see "
                      f"`repo-tool pending --repo {repo_dir}`\n")


def test_a_damaged_repository_is_still_named_as_such(published: Fixture) -> None:
    """Only an empty folder is 'not a repository': a published one missing its first root
    is reported by verify's own check."""
    (metadata_dir(published.repo_dir) / "1.root.json").unlink()
    status, _, stderr = invoke("verify", "--repo", str(published.repo_dir))
    assert status == 1
    assert stderr == "error: root: 1.root.json is missing\n"


@pytest.mark.parametrize("command", [["staging"], ["pending"], ["package", "list"],
                                     ["snapshot"]])
def test_repository_commands_outside_a_repository_say_what_to_do(
        command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("REPO_TOOL_REPO", raising=False)
    status, stdout, stderr = invoke(*command)
    assert status == 1
    assert stdout == ""
    assert stderr == ("error: . is not a repository (no repo.json): pass --repo DIR (or set "
                      "REPO_TOOL_REPO), or create one with `repo-tool init`\n")
    assert list(tmp_path.iterdir()) == []


def test_serve_refuses_a_port_out_of_range_before_opening_anything(tmp_path: Path) -> None:
    status, stdout, stderr = invoke("serve", "--repo", str(tmp_path), "--port", "99999")
    assert status == 2
    assert stdout == ""
    assert "Invalid value for '--port': 99999 is not in the range 0<=x<=65535." in stderr
