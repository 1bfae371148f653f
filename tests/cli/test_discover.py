"""`repo-tool search`, `show` and `fetch --source`, through the verifying client, on loopback."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from signing.keys import load_public_key
from tests.cli.helpers import User, hello_repository, isolated_user, served
from tests.client.simulator import RepositorySimulator, new_signer
from tests.repository.helpers import init_repo, make_release_files, pub, run
from tests.support.http_thread import serving_folder
from tests.support.published import metadata_dir, published_dir
from tuf_metadata import layout

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default


@pytest.fixture
def user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> User:
    return isolated_user(tmp_path, monkeypatch)


@pytest.fixture
def served_hello(
    tmp_path: Path, user: User
) -> Iterator[tuple[RepositorySimulator, str]]:
    """The hello repository served and added as the default remote `main`."""
    repo = hello_repository()
    with served(repo, tmp_path / "out-of-band") as (url, root):
        assert user.run("remote", "add", "main", url, "--root", str(root))[0] == 0
        yield repo, url


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_search_lists_matching_packages_with_latest_version(
    served_hello: tuple[RepositorySimulator, str], user: User
) -> None:
    assert user.run("search", "HEL") == (
        0, "hello\t1.10\t3 versions\nhello-net\t0.1\t1 version\n", "")
    code, out, _ = user.run("search", "", "--json")
    assert code == 0
    assert json.loads(out) == [
        {"name": "hello", "versions": ["1.0", "1.9", "1.10"]},
        {"name": "hello-net", "versions": ["0.1"]},
        {"name": "other", "versions": ["2.0"]},
    ]
    assert user.run("search", "zzz") == (
        1, "", "no package name contains 'zzz' in main\n")


def test_search_ignores_a_package_delegated_by_the_wrong_shard(
    served_hello: tuple[RepositorySimulator, str], user: User
) -> None:
    repo, _ = served_hello
    hello_shard = SHARDS.shard_role("hello")
    misplaced = next(f"stray{i}" for i in range(1000)
                     if SHARDS.shard_role(f"stray{i}") != hello_shard)
    repo.delegate(hello_shard, layout.package_role(misplaced), [new_signer()],
                  paths=SHARDS.package_paths(misplaced), terminating=True)
    repo.release(hello_shard, layout.package_role(misplaced))
    code, out, _ = user.run("search", "stray")
    assert code == 1 and out == ""


def test_show_gives_versions_files_hashes_keys_and_threshold(
    served_hello: tuple[RepositorySimulator, str], user: User
) -> None:
    repo, _ = served_hello
    code, out, err = user.run("show", "hello", "--json")
    assert code == 0, err
    shown = json.loads(out)
    author = repo.signers["pkg-hello"][0].public_key.keyid
    assert (shown["role"], shown["delegated_by"], shown["threshold"], shown["keyids"],
            shown["rotations"]) == ("pkg-hello", SHARDS.shard_role("hello"), 1, [author], 0)
    assert [v["version"] for v in shown["versions"]] == ["1.10", "1.9", "1.0"]
    assert shown["versions"][0]["files"] == [
        {"name": name, "target_path": SHARDS.target_path("hello", "1.10", name),
         "length": len(data), "sha256": sha(data)}
        for name, data in sorted({"hello-1.10.tar.gz": b"source 1.10", "hello.hvt": b"hvt 1.10",
                                  "hello.spt": b"spt 1.10"}.items())
    ]
    code, text, _ = user.run("show", "hello")
    assert code == 0
    assert text.splitlines()[:4] == [
        f"hello: pkg-hello v2 (delegated by {SHARDS.shard_role('hello')})",
        "  signed by 1 of 1 author key(s):",
        f"    {author}",
        "  versions (newest first): 1.10, 1.9, 1.0",
    ]
    assert f"    hello.hvt\t8 bytes\tsha256 {sha(b'hvt 1.10')}" in text.splitlines()
    assert user.run("show", "nosuch") == (
        1, "", "error: package 'nosuch': no trusted role 'pkg-nosuch'\n")


def test_show_follows_a_tap8_rotation(
    served_hello: tuple[RepositorySimulator, str], user: User
) -> None:
    repo, _ = served_hello
    old, new = repo.signers["pkg-hello"][0], new_signer()
    repo.rotate("pkg-hello", 1, [new], 1, signed_by=[old])
    repo.signers["pkg-hello"] = [new]
    repo.release("pkg-hello")
    code, out, err = user.run("show", "hello")
    assert code == 0, err
    assert out.splitlines()[1:3] == [
        "  signed by 1 of 1 author key(s), after 1 TAP 8 key rotation(s):",
        f"    {new.public_key.keyid}",
    ]


def test_show_and_fetch_refuse_a_package_role_not_signed_by_its_author(
    served_hello: tuple[RepositorySimulator, str], user: User, tmp_path: Path
) -> None:
    """Whoever holds the online keys (snapshot, timestamp) cannot forge a package's files."""
    repo, _ = served_hello
    repo.signers["pkg-hello"] = [new_signer()]
    repo.add_target("pkg-hello", SHARDS.target_path("hello", "6.6", "hello-6.6.tar.gz"),
                    b"backdoored source")
    repo.release("pkg-hello")
    expected = "error: role 'pkg-hello': 0 of 1 required signatures from trusted keys\n"
    assert user.run("show", "hello") == (1, "", expected)
    assert user.run("fetch", "hello", "--source", "--version", "6.6") == (1, "", expected)
    assert not (tmp_path / "hello-6.6.tar.gz").exists()


def test_fetch_source_archive_verified(
    served_hello: tuple[RepositorySimulator, str], user: User, tmp_path: Path
) -> None:
    repo, _ = served_hello
    code, out, err = user.run("fetch", "hello", "--source", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert (report["version"], report["sha256"]) == ("1.10", sha(b"source 1.10"))
    assert (tmp_path / "hello-1.10.tar.gz").read_bytes() == b"source 1.10"
    assert user.run("fetch", "hello", "--source", "--target", "spt")[0] == 2
    served_path = next(p for p in repo.target_files if p.endswith(".hello-1.9.tar.gz"))
    repo.target_files[served_path] = b"source 6.6"  # same length, other bytes
    code, _, err = user.run("fetch", "hello", "--source", "--version", "1.9")
    assert code == 1
    assert err.startswith("error: target '") and "hash" in err
    assert not (tmp_path / "hello-1.9.tar.gz").exists()


@pytest.mark.slow  # the key ceremony signs 258 roles
def test_discovery_on_a_repository_made_by_repo_tool(tmp_path: Path, user: User) -> None:
    """init, delegate, release and publish with repo-tool; serve metadata/ and targets/;
    then remote add, search, show and fetch --source as an operator."""
    fx = init_repo(tmp_path / "maintainers", authors=["hello"])
    files = make_release_files(fx.work, "hello", "1.0.0", ("hvt", "spt"))
    args = ["release", "hello", "1.0.0", "--repo", str(fx.repo_dir), "--insecure-plaintext",
            "--manifest", str(files["manifest"]), "--source", str(files["source"]),
            "--image", f"hvt={files['hvt']}", "--image", f"spt={files['spt']}",
            "--key", str(fx.keys["hello"])]
    assert run(args).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fx.repo_dir)]).exit_code == 0
    public = published_dir(fx.repo_dir)  # metadata/ and targets/, nothing private
    with serving_folder(public) as url:
        root = metadata_dir(fx.repo_dir) / "1.root.json"
        assert user.run("remote", "add", "demo", url, "--root", str(root))[0] == 0
        assert user.run("search", "hell") == (0, "hello\t1.0.0\t1 version\n", "")
        code, out, err = user.run("show", "hello", "--json")
        assert code == 0, err
        shown = json.loads(out)
        author = load_public_key(pub(fx.keys["hello"]))
        assert (shown["threshold"], shown["keyids"]) == (1, [author.keyid])
        listed = {f["name"]: f["sha256"] for f in shown["versions"][0]["files"]}
        assert listed == {
            "hello-1.0.0.tar.gz": sha(files["source"].read_bytes()),
            "hello.hvt": sha(files["hvt"].read_bytes()),
            "hello.spt": sha(files["spt"].read_bytes()),
            "manifest.json": sha(files["manifest"].read_bytes()),
        }
        code, _, err = user.run("fetch", "hello", "--source")
        assert code == 0, err
        assert (tmp_path / "hello-1.0.0.tar.gz").read_bytes() == files["source"].read_bytes()
