"""`repo-tool fetch` against a sharded repository served on loopback HTTP."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from repo_tool.cli import cli
from tests.client.conftest import files_in
from tests.client.simulator import RepositorySimulator, new_signer, serve_http
from tuf_metadata import layout
from tuf_metadata.client.packages import version_key

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default


@pytest.fixture
def served_packages(tmp_path: Path) -> Iterator[tuple[RepositorySimulator, str, Path]]:
    repo = RepositorySimulator()
    author = new_signer()
    for version in ("1.0", "1.10", "1.9"):
        repo.add_package(
            "hello",
            [author],
            {"hello.hvt": f"hvt {version}".encode(), "hello.spt": f"spt {version}".encode()},
            version=version,
        )
    repo.add_package("other", [new_signer()], {"other.hvt": b"other"})
    repo.release_all()
    root = tmp_path / "root.json"
    root.write_bytes(repo.root_bytes)
    with serve_http(repo) as (metadata_url, _, _):
        yield repo, metadata_url.removesuffix("/metadata/"), root


def fetch(url: str, root: Path, tmp_path: Path, *extra: str) -> tuple[int, str]:
    args = [
        "fetch",
        *extra,
        "--url",
        url,
        "--root",
        str(root),
        "-o",
        str(tmp_path / "out"),
        "--metadata-dir",
        str(tmp_path / "md"),
    ]
    result = CliRunner().invoke(cli, args)
    return result.exit_code, result.output


def test_fetch_highest_version_and_report(
    served_packages: tuple[RepositorySimulator, str, Path], tmp_path: Path
) -> None:
    _, url, root = served_packages
    code, output = fetch(url, root, tmp_path, "hello", "--json")
    assert code == 0, output
    report = json.loads(output)
    assert report["version"] == "1.10"
    assert (tmp_path / "out" / "hello.hvt").read_bytes() == b"hvt 1.10"
    assert report["sha256"] == hashlib.sha256(b"hvt 1.10").hexdigest()
    assert [r["role"] for r in report["verified_roles"]] == [
        "targets",
        SHARDS.shard_role("hello"),
        "pkg-hello",
    ]
    assert report["verified_roles"][2]["delegator"] == SHARDS.shard_role("hello")


def test_fetch_given_version_and_target_text_report(
    served_packages: tuple[RepositorySimulator, str, Path], tmp_path: Path
) -> None:
    _, url, root = served_packages
    code, output = fetch(url, root, tmp_path, "hello", "--version", "1.9", "--target", "spt")
    assert code == 0, output
    assert (tmp_path / "out" / "hello.spt").read_bytes() == b"spt 1.9"
    assert "verified hello 1.9" in output
    assert "pkg-hello v2 (delegated by shard-" in output


def test_fetch_refuses_tampered_image(
    served_packages: tuple[RepositorySimulator, str, Path], tmp_path: Path
) -> None:
    repo, url, root = served_packages
    served = next(p for p in repo.target_files if p.endswith(".hello.hvt") and "/1.10/" in p)
    repo.target_files[served] = b"bad 1.10"  # same length, other bytes
    code, output = fetch(url, root, tmp_path, "hello")
    assert code == 1
    assert "error: target '" in output and "hash" in output
    assert not (tmp_path / "out" / "hello.hvt").exists()
    assert "targets.json" in files_in(tmp_path / "md")


def test_fetch_unknown_package(
    served_packages: tuple[RepositorySimulator, str, Path], tmp_path: Path
) -> None:
    _, url, root = served_packages
    code, output = fetch(url, root, tmp_path, "nosuchpkg")
    assert code == 1
    assert "error: package 'nosuchpkg': no trusted role 'pkg-nosuchpkg'" in output


def test_version_order_is_natural() -> None:
    versions = ["1.10", "1.9", "1.0", "2.0-rc1", "2.0"]
    assert sorted(versions, key=version_key) == ["1.0", "1.9", "1.10", "2.0", "2.0-rc1"]
