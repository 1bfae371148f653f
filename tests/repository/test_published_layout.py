"""The published tree apart from private state: a new repository's published folder never
holds online keys, pending changes, staging or repo.json; an old root-layout repository
keeps working, `verify` warns about it, and `repo-tool migrate` moves it, crash-safely."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.repository.helpers import (
    Fixture,
    init_repo,
    make_keys,
    pub,
    release,
    run,
)
from tests.repository.test_crash_concurrency import run_and_kill
from tests.support.published import (
    metadata_dir,
    private_files_under,
    published_dir,
    targets_dir,
    write_root_layout,
)
from tuf_metadata.migrate import MARKER_NAME, MigrationError, migrate_layout
from tuf_metadata.repo_paths import PUBLISHED_DIR_KEY, repository_paths
from tuf_metadata.repo_verify import verify_repository
from tuf_metadata.repository import Repository

MIGRATE_POINTS = [
    "migrate: started", "migrate: linked targets", "migrate: linked metadata",
    "migrate: committed", "migrate: removed targets", "migrate: removed metadata",
]


def _published_files(repo: Path) -> dict[str, bytes]:
    """Every file of the published tree, by path relative to the published folder."""
    top = published_dir(repo)
    return {
        str(path.relative_to(top)): path.read_bytes()
        for folder in ("metadata", "targets") for path in (top / folder).rglob("*")
        if path.is_file()
    }


def _assert_clean(repo: Path) -> None:
    published = published_dir(repo)
    assert published != repo
    assert private_files_under(published) == []
    assert sorted(os.listdir(published)) == ["metadata", "targets"]
    verify_repository(repo)


def _rotate(fx: Fixture, role: str, old: str, new: str) -> None:
    new_key = make_keys(fx.work / "keys", [new])[new]
    result = run(["rotate", role, "--repo", str(fx.repo_dir), "--insecure-plaintext",
                  "--pubkey", str(pub(new_key)), "--sign-with", str(fx.keys[old]),
                  "--new-signer", str(new_key)])
    assert result.exit_code == 0, result.output


def _old_layout_repo(tmp_path: Path) -> Fixture:
    fx = init_repo(tmp_path, authors=["hello"])
    assert release(fx, "hello", "1.0.0", ["hello"]).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fx.repo_dir)]).exit_code == 0
    write_root_layout(fx.repo_dir)
    return fx


def test_a_new_repository_publishes_nothing_private_through_every_kind_of_change(
    tmp_path: Path,
) -> None:
    fx = init_repo(tmp_path, authors=["hello"])
    repo = fx.repo_dir
    config = json.loads((repo / "repo.json").read_text())
    assert config[PUBLISHED_DIR_KEY] == "public"
    assert published_dir(repo) == repo / "public"
    assert {"snapshot.key", "timestamp.key"} <= {p.name for p in (repo / "online").iterdir()}
    _assert_clean(repo)

    assert release(fx, "hello", "1.0.0", ["hello"]).exit_code == 0  # staged: not published
    assert (repo / "staging").is_dir()
    _assert_clean(repo)
    assert run(["publish", "--no-build", "--repo", str(repo)]).exit_code == 0
    _assert_clean(repo)
    assert any(targets_dir(repo).rglob("*.hello.hvt"))

    _rotate(fx, "pkg-hello", "hello", "hello2")
    _assert_clean(repo)
    assert any((metadata_dir(repo) / "rotate").iterdir())

    proposed = run(["online-keys", "rotate", "--repo", str(repo), "--json"])
    assert proposed.exit_code == 0, proposed.output
    change = json.loads(proposed.output)["id"]
    assert (repo / "pending" / f"{change}.json").is_file()
    _assert_clean(repo)
    signed = run(["sign", change, "--repo", str(repo), "--insecure-plaintext",
                  "--key", str(fx.keys["m0"]), "--key", str(fx.keys["m1"])])
    assert signed.exit_code == 0, signed.output
    assert (metadata_dir(repo) / "2.root.json").is_file()
    assert any(p.name.endswith(".2.key") for p in (repo / "online").iterdir())
    _assert_clean(repo)

    verified = run(["verify", "--repo", str(repo)])
    assert verified.exit_code == 0, verified.output
    assert verified.stderr == ""


def test_an_old_layout_repository_keeps_working_and_verify_warns_once(tmp_path: Path) -> None:
    fx = _old_layout_repo(tmp_path)
    repo = fx.repo_dir
    assert (repo / "metadata" / "1.root.json").is_file()  # the old layout, as written before
    assert not (repo / "public").exists()
    # Writers still write there: a second release is published into REPO/targets.
    assert release(fx, "hello", "1.0.1", ["hello"]).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(repo)]).exit_code == 0
    assert list((repo / "targets").glob("*/hello/1.0.1/*.hello.hvt"))
    assert not (repo / "public").exists()

    result = run(["verify", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: ")
    (warning,) = result.stderr.splitlines()
    assert warning.startswith(f"warning: {repo}: private files (online/, pending/, staging/, "
                              "repo.json) sit in the published folder")
    assert f"repo-tool migrate --repo {repo}" in warning
    assert json.loads(run(["verify", "--repo", str(repo), "--json"]).stdout)["warnings"] == [
        warning]

    # The warning never hides a failure: a damaged repository still fails verify.
    (repo / "metadata" / "timestamp.json").write_text("{}")
    failed = run(["verify", "--repo", str(repo)])
    assert failed.exit_code != 0
    assert "warning: " in failed.stderr and "error: " in failed.output


def test_verify_warns_about_a_private_file_copied_into_the_published_folder(
    tmp_path: Path,
) -> None:
    fx = init_repo(tmp_path)
    shutil.copytree(fx.repo_dir / "online", published_dir(fx.repo_dir) / "online")
    result = run(["verify", "--repo", str(fx.repo_dir)])
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == [
        f"warning: {published_dir(fx.repo_dir)}: private files (online/) sit in the published "
        f"folder; move them out of it"]


def test_migrate_keeps_every_file_and_leaves_private_state_outside(tmp_path: Path) -> None:
    fx = _old_layout_repo(tmp_path)
    repo = fx.repo_dir
    before = _published_files(repo)
    config_before = json.loads((repo / "repo.json").read_text())
    online_before = {p.name: p.read_bytes() for p in (repo / "online").iterdir()}

    result = run(["migrate", "--repo", str(repo), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["published"] == str(repo / "public")
    assert report["moved"] == ["targets", "metadata"]
    assert report["linked_files"] == len(before)

    assert _published_files(repo) == before
    assert not (repo / "metadata").exists() and not (repo / "targets").exists()
    assert {p.name: p.read_bytes() for p in (repo / "online").iterdir()} == online_before
    config = json.loads((repo / "repo.json").read_text())
    assert config == {**config_before, PUBLISHED_DIR_KEY: "public"}
    assert not (repo / "public" / MARKER_NAME).exists()
    _assert_clean(repo)
    assert run(["verify", "--repo", str(repo)]).stderr == ""

    # The repository goes on from there, and a second migrate has nothing to do.
    assert release(fx, "hello", "1.0.1", ["hello"]).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(repo)]).exit_code == 0
    _assert_clean(repo)
    again = run(["migrate", "--repo", str(repo)])
    assert again.exit_code == 0
    assert again.stdout.strip() == f"already migrated: the published folder is {repo}/public"


def test_migrate_refuses_a_public_folder_it_did_not_make(tmp_path: Path) -> None:
    fx = _old_layout_repo(tmp_path)
    (fx.repo_dir / "public").mkdir()
    (fx.repo_dir / "public" / "notes.txt").write_text("mine")
    before = _published_files(fx.repo_dir)
    with pytest.raises(MigrationError, match="was not made by `repo-tool migrate`"):
        migrate_layout(fx.repo_dir)
    result = run(["migrate", "--repo", str(fx.repo_dir)])
    assert result.exit_code == 1
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert (fx.repo_dir / "public" / "notes.txt").read_text() == "mine"
    assert repository_paths(fx.repo_dir).root_layout
    assert _published_files(fx.repo_dir) == before


@pytest.mark.slow  # kills a writer mid-way at each step
@pytest.mark.parametrize("label", MIGRATE_POINTS)
def test_a_crash_at_any_step_of_migrate_leaves_a_repository_that_opens(
    tmp_path: Path, label: str,
) -> None:
    fx = _old_layout_repo(tmp_path)
    repo = fx.repo_dir
    before = _published_files(repo)
    assert run_and_kill(lambda: migrate_layout(repo), label), f"never reached {label}"

    # It opens, verifies and serves the same files, from whichever folder repo.json names.
    committed = MIGRATE_POINTS.index(label) >= MIGRATE_POINTS.index("migrate: committed")
    assert repository_paths(repo).root_layout is not committed
    Repository(repo).load_root()
    verify_repository(repo)
    assert _published_files(repo) == before

    # Recovery (docs/repository.md): run migrate again.
    result = run(["migrate", "--repo", str(repo)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("finished an interrupted" if committed else "moved targets")
    assert _published_files(repo) == before
    assert not (repo / "metadata").exists() and not (repo / "targets").exists()
    assert not (repo / "public" / MARKER_NAME).exists()
    _assert_clean(repo)
