"""`repo-tool remote` and fetching without a URL, against repositories served on loopback."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import User, hello_repository, isolated_user, served
from tests.client.simulator import RepositorySimulator


@pytest.fixture
def served_hello(tmp_path: Path) -> Iterator[tuple[RepositorySimulator, str, Path]]:
    repo = hello_repository()
    with served(repo, tmp_path / "out-of-band") as (url, root):
        yield repo, url, root


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> User:
    return isolated_user(tmp_path, monkeypatch)


def test_add_stores_the_remote_once_and_fetch_needs_no_url(
    served_hello: tuple[RepositorySimulator, str, Path], user: User, tmp_path: Path
) -> None:
    _, url, root = served_hello
    code, out, err = user.run("remote", "add", "main", url + "/", "--root", str(root))
    assert code == 0, err
    assert out.startswith(f"added remote main (default): {url}; root v1, 1 of 1 root keys, ")
    config = tomllib.loads((user.config_dir / "config.toml").read_text())
    assert config == {"default": "main", "remotes": {"main": {
        "url": url, "root": "roots/main.root.json", "mirrors": []}}}
    assert (user.config_dir / "roots" / "main.root.json").read_bytes() == root.read_bytes()
    root.unlink()  # the stored copy is what is trusted from now on

    code, out, err = user.run("fetch", "hello")
    assert code == 0, err
    assert (tmp_path / "hello.hvt").read_bytes() == b"hvt 1.10"  # into the current directory
    assert "verified hello 1.10" in out and f"from remote main at {url}" in out
    code, out, _ = user.run("remote", "list")
    assert out == f"main\t{url}\tdefault\t{user.config_dir / 'roots' / 'main.root.json'}\t\n"


def test_add_refuses_bad_input_and_writes_nothing(
    served_hello: tuple[RepositorySimulator, str, Path], user: User, tmp_path: Path
) -> None:
    _, url, root = served_hello
    not_root = tmp_path / "targets.json"
    not_root.write_text('{"signed": {"_type": "targets"}, "signatures": []}')
    forged = json.loads(root.read_bytes())
    forged["signed"]["version"] = 7  # the signatures no longer match
    forged_file = tmp_path / "forged.json"
    forged_file.write_text(json.dumps(forged))
    cases = [
        (["BAD", url, "--root", str(root)], "error: remote name 'BAD'"),
        (["main", "ftp://host/repo", "--root", str(root)], "error: repository URL 'ftp://host"),
        (["main", url, "--root", str(not_root)], f"error: {not_root}: not a usable trusted root"),
        (["main", url, "--root", str(forged_file)],
         f"error: {forged_file}: not a usable trusted root: trusted root: 0 of 1"),
    ]
    for args, message in cases:
        code, _, err = user.run("remote", "add", *args)
        assert code == 1, args
        assert err.startswith(message), err
        assert len(err.splitlines()) == 1
    assert not (user.config_dir / "config.toml").exists()
    assert not (user.config_dir / "roots").exists()


def test_duplicate_remove_default_and_the_environment(
    served_hello: tuple[RepositorySimulator, str, Path], user: User, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, url, root = served_hello
    assert user.run("remote", "add", "main", url, "--root", str(root))[0] == 0
    assert user.run("remote", "add", "lab", url, "--root", str(root))[0] == 0
    before = (user.config_dir / "config.toml").read_bytes()
    code, _, err = user.run("remote", "add", "lab", url, "--root", str(root))
    assert (code, err) == (1, "error: remote 'lab' exists; remove it first "
                              "(repo-tool remote remove lab)\n")
    assert (user.config_dir / "config.toml").read_bytes() == before

    assert user.run("remote", "default") == (0, "main\n", "")
    assert user.run("remote", "default", "lab")[:2] == (0, "default remote: lab\n")
    assert user.run("remote", "default")[1] == "lab\n"
    out = tmp_path / "o"
    code, report, err = user.run("fetch", "hello", "-o", str(out), "--json")
    assert code == 0, err
    assert json.loads(report)["remote"] == "lab"
    monkeypatch.setenv("UNIREPO_REMOTE", "main")
    assert json.loads(user.run("fetch", "hello", "-o", str(out), "--json")[1])["remote"] == "main"
    assert json.loads(user.run("fetch", "hello", "-o", str(out), "--json", "--remote", "lab")[1]
                      )["remote"] == "lab"
    monkeypatch.delenv("UNIREPO_REMOTE")

    code, out_text, err = user.run("remote", "remove", "lab")
    assert (code, out_text) == (0, "removed remote lab\n")
    assert err == "no default remote now (set one: repo-tool remote default NAME)\n"
    assert not (user.config_dir / "roots" / "lab.root.json").exists()
    assert (user.config_dir / "roots" / "main.root.json").exists()
    code, _, err = user.run("fetch", "hello", "-o", str(out))
    assert code == 1
    assert err == ("error: no repository given: add one with `repo-tool remote add NAME URL "
                   "--root root.json`, or give --url URL --root FILE\n")
    code, _, err = user.run("remote", "remove", "lab")
    assert (code, err) == (1, "error: no remote named 'lab' (configured: main; add one with "
                              "repo-tool remote add NAME URL --root root.json)\n")


def test_environment_url_and_root_need_no_config(
    served_hello: tuple[RepositorySimulator, str, Path], user: User, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, url, root = served_hello
    monkeypatch.setenv("UNIREPO_URL", url)
    code, _, err = user.run("fetch", "hello", "--version", "1.9")
    assert (code, err) == (1, "error: UNIREPO_URL and UNIREPO_ROOT go together; set both or "
                              "neither\n")
    monkeypatch.setenv("UNIREPO_ROOT", str(root))
    code, _, err = user.run("fetch", "hello", "--version", "1.9")
    assert code == 0, err
    assert (tmp_path / "hello.hvt").read_bytes() == b"hvt 1.9"
    assert not (user.config_dir / "config.toml").exists()


def test_a_broken_config_is_named_and_does_not_block_an_explicit_repository(
    served_hello: tuple[RepositorySimulator, str, Path], user: User, tmp_path: Path
) -> None:
    _, url, root = served_hello
    user.config_dir.mkdir(parents=True)
    (user.config_dir / "config.toml").write_text("[remotes.main\n")
    code, _, err = user.run("remote", "list")
    assert code == 1
    assert err.startswith(f"error: {user.config_dir / 'config.toml'}: not valid TOML (")
    code, _, err = user.run("fetch", "hello", "--url", url, "--root", str(root))
    assert code == 0, err
    code, _, err = user.run("fetch", "hello", "--url", url)
    assert code == 2 and "--url and --root go together" in err


def test_a_re_added_remote_trusts_only_its_new_root(
    served_hello: tuple[RepositorySimulator, str, Path], user: User, tmp_path: Path
) -> None:
    """Cached trusted metadata is per URL and root: a remote removed and re-added with
    another root (here: of a different repository) never inherits the old trust."""
    _, url, root = served_hello
    assert user.run("remote", "add", "main", url, "--root", str(root))[0] == 0
    assert user.run("fetch", "hello")[0] == 0
    assert user.run("remote", "remove", "main")[0] == 0
    stranger_root = tmp_path / "stranger.json"
    stranger_root.write_bytes(hello_repository().root_bytes)
    assert user.run("remote", "add", "main", url, "--root", str(stranger_root))[0] == 0
    code, _, err = user.run("fetch", "hello")
    assert (code, err) == (1, "error: timestamp: 0 of 1 required signatures from trusted keys\n")
