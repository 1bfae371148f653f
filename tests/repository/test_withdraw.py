"""`release withdraw`: the package's authors (threshold rule) take a staged or rejected
release back, so the same version can be released again; nobody else can."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.repository.helpers import (
    Fixture,
    delegate,
    init_repo,
    make_keys,
    make_release_files,
    release,
    run,
    tree_digest,
)
from tests.repository.test_bad_input import refused


@pytest.fixture
def fx(tmp_path: Path) -> Fixture:
    fixture = init_repo(tmp_path, authors=["alice"])
    fixture.keys.update(make_keys(tmp_path / "keys", ["mallory"]))
    assert release(fixture, "alice", "1.0.0", ["alice"]).exit_code == 0
    return fixture


def withdraw(fx: Fixture, name: str, version: str, *signers: str) -> list[str]:
    args = ["release", "withdraw", name, version, "--repo", str(fx.repo_dir),
            "--insecure-plaintext"]
    for signer in signers:
        args += ["--key", str(fx.keys[signer])]
    return args


def test_withdraw_by_a_non_author_is_refused_and_changes_nothing(fx: Fixture) -> None:
    before = tree_digest(fx.repo_dir)
    refused(run(withdraw(fx, "alice", "1.0.0", "mallory")), "pkg-alice", "not an author key")
    refused(run(withdraw(fx, "alice", "1.0.0", "m0")), "pkg-alice", "not an author key")
    assert tree_digest(fx.repo_dir) == before
    assert (fx.repo_dir / "staging" / "alice" / "1.0.0").is_dir()


def test_withdraw_of_what_is_not_staged_is_refused(fx: Fixture) -> None:
    refused(run(withdraw(fx, "alice", "9.9", "alice")), "pkg-alice", "9.9 is not staged")
    refused(run(withdraw(fx, "nobody", "1.0.0", "alice")), "is not staged")
    refused(run(withdraw(fx, "alice", "../x", "alice")), "invalid version")


def test_withdraw_then_release_the_same_version_again(fx: Fixture) -> None:
    refused(release(fx, "alice", "1.0.0", ["alice"]), "pkg-alice", "already staged")
    result = run([*withdraw(fx, "alice", "1.0.0", "alice"), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"package": "alice", "version": "1.0.0", "withdrawn": True}
    assert not (fx.repo_dir / "staging" / "alice" / "1.0.0").exists()
    assert release(fx, "alice", "1.0.0", ["alice"]).exit_code == 0
    published = run(["publish", "--no-build", "--repo", str(fx.repo_dir)])
    assert published.exit_code == 0 and "published alice 1.0.0" in published.output
    verified = run(["verify", "--repo", str(fx.repo_dir)])
    assert verified.exit_code == 0, verified.output


def test_a_rejected_release_can_be_withdrawn(fx: Fixture) -> None:
    staged = fx.repo.staged_releases()[0]
    fx.repo.reject_release(staged, "image differs", None)
    listing = run(["staging", "--repo", str(fx.repo_dir)])
    assert "alice\t1.0.0\trejected\timage differs" in listing.output.splitlines()
    assert run(withdraw(fx, "alice", "1.0.0", "alice")).exit_code == 0
    assert run(["staging", "--repo", str(fx.repo_dir)]).output.strip() == "staging is empty"


def test_withdraw_needs_the_package_threshold(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["hello"])
    fx.keys.update(make_keys(tmp_path / "keys", ["bob"]))
    # A second package of two authors, two signatures required.
    delegate(fx, "duo", ["hello", "bob"], 2, 2)
    assert release(fx, "duo", "1.0.0", ["hello", "bob"]).exit_code == 0
    refused(run(withdraw(fx, "duo", "1.0.0", "hello")), "pkg-duo",
            "needs 2 author signatures, 1 valid")
    assert run(withdraw(fx, "duo", "1.0.0", "hello", "bob")).exit_code == 0


def test_release_stage_is_the_explicit_spelling_of_release(fx: Fixture) -> None:
    help_text = run(["release", "--help"]).output
    assert "withdraw" in help_text and "stage" in help_text
    files = make_release_files(fx.work / "2", "alice", "2.0.0")
    result = run(["release", "stage", "alice", "2.0.0", "--repo", str(fx.repo_dir),
                  "--insecure-plaintext", "--manifest", str(files["manifest"]),
                  "--source", str(files["source"]), "--image", f"hvt={files['hvt']}",
                  "--key", str(fx.keys["alice"])])
    assert result.exit_code == 0 and "staged alice 2.0.0" in result.output, result.output


@pytest.mark.parametrize(
    ("version", "change", "message"),
    [
        ("2.0.0", {"version": "2.0.1"}, "staged alice 2.0.0 carries a manifest of alice-2.0.1"),
        ("v1", {"version": "v1"}, "invalid version 'v1'"),
        ("2.0.0", {"targets": ["spt"]}, "alice-2.0.0 does not declare target 'hvt'"),
        ("2.0.0", {"source": b"not a tar archive"}, "archive is not valid gzip"),
    ],
    ids=["version-differs", "version-v1", "undeclared-target", "not-a-tar"],
)
def test_release_refuses_what_the_builder_would_and_stages_nothing(
    fx: Fixture, version: str, change: dict[str, object], message: str
) -> None:
    files = make_release_files(fx.work / "bad", "alice", version)
    manifest = json.loads(files["manifest"].read_text())
    manifest.update({k: v for k, v in change.items() if k != "source"})
    files["manifest"].write_text(json.dumps(manifest))
    if "source" in change:
        files["source"].write_bytes(change["source"])  # type: ignore[arg-type]
    before = tree_digest(fx.repo_dir)
    refused(run(["release", "alice", version, "--repo", str(fx.repo_dir), "--insecure-plaintext",
                 "--manifest", str(files["manifest"]), "--source", str(files["source"]),
                 "--image", f"hvt={files['hvt']}", "--key", str(fx.keys["alice"])]), message)
    assert tree_digest(fx.repo_dir) == before


def test_release_refuses_an_unknown_target(fx: Fixture) -> None:
    files = make_release_files(fx.work / "kvm", "alice", "2.0.0")
    before = tree_digest(fx.repo_dir)
    refused(run(["release", "alice", "2.0.0", "--repo", str(fx.repo_dir), "--insecure-plaintext",
                 "--manifest", str(files["manifest"]), "--source", str(files["source"]),
                 "--image", f"kvm={files['hvt']}", "--key", str(fx.keys["alice"])]),
            "alice-2.0.0 does not declare target 'kvm'")
    empty = run(["release", "alice", "2.0.0", "--repo", str(fx.repo_dir), "--insecure-plaintext",
                 "--manifest", str(files["manifest"]), "--source", str(files["source"]),
                 "--image", "kvm=", "--key", str(fx.keys["alice"])])
    assert empty.exit_code == 2 and "expected TARGET=FILE" in empty.output
    assert tree_digest(fx.repo_dir) == before
