"""Staging keeps one folder per package with something staged, and `publish NAME VERSION`
reads only that release: what else is staged, or how much, does not change it."""

from __future__ import annotations

from pathlib import Path

from tests.repository.helpers import Fixture, init_repo, release, run
from tests.repository.test_bad_input import refused
from tests.repository.test_withdraw import withdraw


def publish(fx: Fixture, *names: str) -> list[str]:
    return ["publish", "--no-build", "--repo", str(fx.repo_dir), *names]


def test_a_package_folder_leaves_staging_with_its_last_release(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["alice"])
    staging = fx.repo_dir / "staging"
    assert release(fx, "alice", "1.0.0", ["alice"]).exit_code == 0
    assert release(fx, "alice", "2.0.0", ["alice"]).exit_code == 0

    assert run(publish(fx, "alice", "1.0.0")).exit_code == 0
    assert sorted(p.name for p in (staging / "alice").iterdir()) == ["2.0.0"]
    assert run(withdraw(fx, "alice", "2.0.0", "alice")).exit_code == 0
    assert list(staging.iterdir()) == []  # no empty alice/ left behind

    assert release(fx, "alice", "3.0.0", ["alice"]).exit_code == 0
    published = run(publish(fx))
    assert published.output.strip() == "published alice 3.0.0"
    assert list(staging.iterdir()) == []


def test_publishing_one_release_does_not_read_the_others(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["alice", "bob"])
    assert release(fx, "alice", "1.0.0", ["alice"]).exit_code == 0
    assert release(fx, "bob", "1.0.0", ["bob"]).exit_code == 0
    (fx.repo_dir / "staging" / "bob" / "1.0.0" / "release.json").write_text("{damaged")

    # Every staged release is read when none is named, so the damaged one stops that run...
    refused(run(publish(fx)), "pkg-bob")
    # ... and is not read when another one is named.
    named = run(publish(fx, "alice", "1.0.0"))
    assert named.exit_code == 0, named.output
    assert named.output.strip() == "published alice 1.0.0"
    assert not (fx.repo_dir / "staging" / "alice").exists()


def test_publish_refuses_names_that_are_no_package_or_version(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, authors=["alice"])
    assert release(fx, "alice", "1.0.0", ["alice"]).exit_code == 0
    refused(run(publish(fx, "../alice")), "invalid package name")
    refused(run(publish(fx, "alice", "../1.0.0")), "invalid version")
    refused(run(publish(fx, "alice", "9.9")), "pkg-alice: no matching release in staging")
    assert (fx.repo_dir / "staging" / "alice" / "1.0.0").is_dir()
