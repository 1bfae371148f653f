"""One option name per meaning across commands (issue 13 item 10), old spellings kept.

New spellings: `--pubkey` for public key files, `--threshold/-t`, `--online-passphrase-env` /
`--online-passphrase-file`, and `--url` for a served repository (`--repo` is a directory).
Each old spelling still works for one release and prints exactly one deprecation line on
stderr; both spellings of one single-valued option together are refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from repo_tool.cli import cli
from tests.cli.helpers import hello_repository, isolated_user, served
from tests.repository.helpers import Fixture, init_repo, make_keys, pub
from tests.support.published import metadata_dir
from tuf_metadata import layout
from tuf_metadata.repository import Repository

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

ONLINE_PW = "online passphrase for tests"


def warning(old: str, new: str) -> str:
    return f"warning: {old} is deprecated and will be removed in the next release; use {new}\n"


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def fx(tmp_path: Path) -> Fixture:
    fixture = init_repo(tmp_path / "fixture", maintainers=1, threshold=1, authors=["alpha"],
                        online_env={"ONLINE_PW": ONLINE_PW})
    fixture.keys.update(make_keys(tmp_path / "more-keys", ["a1", "a2", "m-new"]))
    return fixture


def proposed(fx: Fixture, change_id: str, role: str) -> Any:
    change = Repository(fx.repo_dir).pending_change(change_id)
    return next(md.signed for name, md in change.documents if name == role)


@pytest.mark.parametrize(("spelling", "warned"), [
    (["--pubkey"], ""),
    (["--maintainer"], warning("--maintainer", "--pubkey")),
])
def test_init_takes_maintainer_public_keys(spelling: list[str], warned: str,
                                           tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", ["m0", "m1"])
    repo_dir = tmp_path / "repo"
    status, stdout, stderr = invoke(
        "init", "--repo", str(repo_dir), "-t", "2", "--insecure-online-keys", "--json",
        *spelling, str(pub(keys["m0"])), *spelling, str(pub(keys["m1"])))
    assert (status, stderr) == (0, warned)
    root = proposed(Fixture(repo_dir, keys, tmp_path, {}), json.loads(stdout)["id"], "root")
    assert len(root.roles["root"].keyids) == 2 and root.roles["root"].threshold == 2


@pytest.mark.parametrize(("spelling", "warned"), [
    (["--pubkey", "-t"], ""),
    (["--pubkey", "--threshold"], ""),
    (["--author", "-t"], warning("--author", "--pubkey")),
    (["--pubkey", "-k"], warning("-k", "--threshold/-t")),
    (["--author", "-k"], warning("--author", "--pubkey") + warning("-k", "--threshold/-t")),
])
def test_package_add_takes_author_public_keys_and_a_threshold(
        spelling: list[str], warned: str, fx: Fixture) -> None:
    key_option, threshold_option = spelling
    status, stdout, stderr = invoke(
        "package", "add", "beta", "--repo", str(fx.repo_dir), "--json",
        key_option, str(pub(fx.keys["a1"])), key_option, str(pub(fx.keys["a2"])),
        threshold_option, "2")
    assert status == 0, stderr
    assert sorted(stderr.splitlines(keepends=True)) == sorted(warned.splitlines(keepends=True))
    shard = proposed(fx, json.loads(stdout)["id"], SHARDS.shard_role("beta"))
    delegation = shard.delegations.roles[layout.package_role("beta")]
    assert (len(delegation.keyids), delegation.threshold) == (2, 2)


def test_both_spellings_of_one_threshold_are_refused(fx: Fixture) -> None:
    status, _, stderr = invoke("package", "add", "beta", "--repo", str(fx.repo_dir),
                               "--pubkey", str(pub(fx.keys["a1"])), "-t", "1", "-k", "1")
    assert status == 2
    assert "give --threshold/-t or -k, not both" in stderr


def test_a_required_public_key_is_asked_for_by_its_new_name(fx: Fixture) -> None:
    status, _, stderr = invoke("package", "add", "beta", "--repo", str(fx.repo_dir))
    assert status == 2
    assert "Missing option '--pubkey'." in stderr
    assert not Repository(fx.repo_dir).pending_changes()


@pytest.mark.parametrize(("spelling", "warned"), [
    ("--pubkey", ""),
    ("--key", warning("--key", "--pubkey")),
])
def test_maintainers_takes_public_keys(spelling: str, warned: str, fx: Fixture) -> None:
    status, stdout, stderr = invoke("maintainers", "--repo", str(fx.repo_dir), "-t", "1",
                                    "--json", spelling, str(pub(fx.keys["m-new"])))
    assert (status, stderr) == (0, warned)
    root = proposed(fx, json.loads(stdout)["id"], "root")
    assert len(root.roles["root"].keyids) == 1


@pytest.mark.parametrize(("spelling", "warned"), [
    (["--pubkey", "-t"], ""),
    (["--key", "-k"], warning("--key", "--pubkey") + warning("-k", "--threshold/-t")),
])
def test_rotate_takes_the_new_public_keys_and_threshold(spelling: list[str], warned: str,
                                                        fx: Fixture) -> None:
    key_option, threshold_option = spelling
    status, stdout, stderr = invoke(
        "rotate", "alpha", "--repo", str(fx.repo_dir), "--insecure-plaintext", "--json",
        key_option, str(pub(fx.keys["a1"])), key_option, str(pub(fx.keys["a2"])),
        threshold_option, "2", "--sign-with", str(fx.keys["alpha"]),
        env={"ONLINE_PW": ONLINE_PW})
    assert status == 0, stderr
    assert sorted(stderr.splitlines(keepends=True)) == sorted(warned.splitlines(keepends=True))
    rotate_file = metadata_dir(fx.repo_dir) / json.loads(stdout)["file"]
    rotated = json.loads(next(rotate_file.parent.glob(f"*.{rotate_file.name}")).read_text())
    assert (len(rotated["signed"]["keys"]), rotated["signed"]["threshold"]) == (2, 2)


def test_online_key_passphrase_options(fx: Fixture, tmp_path: Path) -> None:
    """The online keys' passphrase: from VAR, from a file, or (old) a SOURCE spec."""
    repo = ["--repo", str(fx.repo_dir)]
    status, stdout, stderr = invoke("snapshot", *repo, "--online-passphrase-env", "PW",
                                    env={"PW": ONLINE_PW})
    assert (status, stderr) == (0, "")
    assert stdout.startswith("signed snapshot version ")
    pw_file = tmp_path / "online-pw"
    pw_file.write_text(ONLINE_PW + "\n")
    assert invoke("snapshot", *repo, "--online-passphrase-file", str(pw_file))[::2] == (0, "")
    status, _, stderr = invoke("snapshot", *repo, "--online-passphrase", "env:PW",
                               env={"PW": ONLINE_PW})
    assert (status, stderr) == (0, warning(
        "--online-passphrase SOURCE",
        "--online-passphrase-env VAR or --online-passphrase-file FILE"))
    # The file is really what unlocks the keys: a wrong one is refused.
    pw_file.write_text("not the online passphrase\n")
    status, _, stderr = invoke("snapshot", *repo, "--online-passphrase-file", str(pw_file))
    assert status == 1 and stderr.startswith("error: ")
    status, _, stderr = invoke("snapshot", *repo, "--online-passphrase-env", "PW",
                               "--online-passphrase-file", str(pw_file))
    assert status == 2
    assert "give at most one of --online-passphrase-env, --online-passphrase-file" in stderr


def test_client_commands_take_url_and_keep_repo_as_its_old_name(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = isolated_user(tmp_path, monkeypatch)
    with served(hello_repository(), tmp_path / "trusted") as (url, root):
        new = user.run("search", "hello", "--url", url, "--root", str(root))
        old = user.run("search", "hello", "--repo", url, "--root", str(root))
        shown = user.run("show", "hello", "--repo", url, "--root", str(root), "--json")
        fetched = user.run("fetch", "hello", "--url", url, "--root", str(root), "-o",
                           str(tmp_path / "out"))
    assert new[0] == 0 and new[2] == "", new
    assert old == (0, new[1], warning("--repo", "--url"))
    assert shown[0] == 0 and shown[2] == warning("--repo", "--url")
    assert json.loads(shown[1])["name"] == "hello"
    assert fetched[0] == 0, fetched
    assert (tmp_path / "out" / "hello.hvt").read_bytes() == b"hvt 1.10"


@pytest.mark.parametrize(("command", "hidden"), [
    (["init"], "--maintainer"), (["package", "add"], "--author"), (["package", "add"], "-k,"),
    (["maintainers"], "--key"), (["rotate"], "-k,"), (["snapshot"], "--online-passphrase "),
    (["fetch"], "--repo"),
])
def test_help_shows_only_the_new_spellings(command: list[str], hidden: str) -> None:
    status, stdout, _ = invoke(*command, "--help")
    assert status == 0
    assert hidden not in stdout


def test_build_takes_the_same_online_passphrase_options(fx: Fixture) -> None:
    """The gate's options come from the same decorator as snapshot's (tested above for use);
    here: both spellings are accepted by `build`, the old one with its warning."""
    common = ["build", "--repo", str(fx.repo_dir), "--key", str(fx.keys["m0"]),
              "--insecure-plaintext", "--json"]
    status, stdout, stderr = invoke(*common, "--online-passphrase-env", "PW",
                                    env={"PW": ONLINE_PW})
    assert (status, stderr) == (0, "")
    assert json.loads(stdout)["decisions"] == []
    status, _, stderr = invoke(*common, "--online-passphrase", "env:PW", env={"PW": ONLINE_PW})
    assert (status, stderr) == (0, warning(
        "--online-passphrase SOURCE",
        "--online-passphrase-env VAR or --online-passphrase-file FILE"))


def test_init_online_passphrase_from_a_file_is_recorded_for_the_services(tmp_path: Path) -> None:
    keys = make_keys(tmp_path / "keys", ["m0"])
    pw_file = tmp_path / "online-pw"
    pw_file.write_text(ONLINE_PW + "\n")
    repo_dir = tmp_path / "repo"
    status, _, stderr = invoke("init", "--repo", str(repo_dir), "-t", "1", "--pubkey",
                               str(pub(keys["m0"])), "--key", str(keys["m0"]),
                               "--insecure-plaintext", "--online-passphrase-file", str(pw_file))
    assert (status, stderr) == (0, "")
    assert invoke("snapshot", "--repo", str(repo_dir))[::2] == (0, "")  # the recorded file
    pw_file.write_text("another passphrase entirely\n")
    status, _, stderr = invoke("snapshot", "--repo", str(repo_dir))
    assert status == 1 and stderr.startswith("error: ")
    status, _, stderr = invoke("init", "--repo", str(tmp_path / "other"), "-t", "1", "--pubkey",
                               str(pub(keys["m0"])), "--online-passphrase-file", str(pw_file),
                               "--insecure-online-keys")
    assert status == 2
    assert ("give exactly one of --online-passphrase-env, --online-passphrase-file, "
            "--insecure-online-keys") in stderr
