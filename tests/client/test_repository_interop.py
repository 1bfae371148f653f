"""Our client against a repository made by `repo-tool` itself, served on loopback HTTP.

The repository side (tuf_metadata.repository) writes the pinned layout and the
TAP 8 rotate files; the client must follow a rotation written by it and refuse
the role once it is revoked.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.conftest import files_in
from tests.repository.helpers import Fixture, init_repo, make_keys, pub, release, run
from tests.support.http_thread import serving_folder
from tests.support.published import metadata_dir, published_dir


@pytest.fixture
def published(tmp_path: Path) -> Iterator[tuple[Fixture, str]]:
    fx = init_repo(tmp_path, authors=["hello"])
    fx.keys.update(make_keys(tmp_path / "keys", ["carol"]))
    assert release(fx, "hello", "1.0.0", ["hello"], ("hvt", "spt")).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fx.repo_dir)]).exit_code == 0
    # Serve only what a repository publishes: its published folder (metadata/, targets/).
    with serving_folder(published_dir(fx.repo_dir)) as url:
        yield fx, url




def fetch(fx: Fixture, url: str, *extra: str) -> tuple[int, str]:
    root = metadata_dir(fx.repo_dir) / "1.root.json"
    work = fx.work.parent
    result = run(
        [
            "fetch",
            "hello",
            "--url",
            url,
            "--root",
            str(root),
            "-o",
            str(work / "out"),
            "--metadata-dir",
            str(work / "client-md"),
            "--json",
            *extra,
        ]
    )
    return result.exit_code, result.output


def test_fetch_follows_repository_rotation_and_refuses_revoked_role(
    published: tuple[Fixture, str],
) -> None:
    fx, url = published
    code, output = fetch(fx, url)
    assert code == 0, output
    out = fx.work.parent / "out"
    assert (out / "hello.hvt").read_bytes() == (fx.work / "hello-1.0.0.hvt").read_bytes()
    assert json.loads(output)["verified_roles"][-1]["rotations"] == 0

    # The author rotates to carol (TAP 8) and releases 1.1.0 with carol's key only.
    repo = str(fx.repo_dir)
    rotated = run(
        [
            "rotate",
            "pkg-hello",
            "--repo",
            repo,
            "--pubkey",
            str(pub(fx.keys["carol"])),
            "-t",
            "1",
            "--sign-with",
            str(fx.keys["hello"]),
            "--new-signer",
            str(fx.keys["carol"]),
            "--insecure-plaintext",
        ]
    )
    assert rotated.exit_code == 0, rotated.output
    assert release(fx, "hello", "1.1.0", ["carol"]).exit_code == 0
    assert run(["publish", "--no-build", "--repo", repo, "hello", "1.1.0"]).exit_code == 0
    code, output = fetch(fx, url)
    assert code == 0, output
    report = json.loads(output)
    assert report["version"] == "1.1.0"
    assert report["verified_roles"][-1]["rotations"] == 1
    assert (out / "hello.hvt").read_bytes() == (fx.work / "hello-1.1.0.hvt").read_bytes()

    # carol revokes the role (TAP 20): the client refuses it and keeps its metadata.
    before = files_in(fx.work.parent / "client-md")
    revoked = run(
        [
            "rotate",
            "hello",
            "--repo",
            repo,
            "--revoke",
            "--sign-with",
            str(fx.keys["carol"]),
            "--insecure-plaintext",
        ]
    )
    assert revoked.exit_code == 0, revoked.output
    code, output = fetch(fx, url, "--version", "1.1.0", "-o", str(fx.work.parent / "after"))
    assert code == 1
    assert "role 'pkg-hello' is revoked: rotate file 2 rotates to the null key" in output
    after = files_in(fx.work.parent / "client-md")
    assert {name: after[name] for name in before if name.startswith(("pkg-", "rotate/"))} == {
        name: data for name, data in before.items() if name.startswith(("pkg-", "rotate/"))
    }
    assert not (fx.work.parent / "after" / "hello.hvt").exists()
