"""Shared set-up of the client-command tests: an isolated user config/cache and a runner."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from repo_tool.cli import cli
from tests.client.simulator import RepositorySimulator, new_signer, serve_http


@dataclass(frozen=True)
class User:
    """An operator with their own $XDG_CONFIG_HOME and $XDG_CACHE_HOME under tmp."""

    home: Path

    @property
    def config_dir(self) -> Path:
        return self.home / "config" / "unirepo"

    def run(self, *args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, list(args))
        return result.exit_code, result.stdout, result.stderr


def isolated_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> User:
    home = tmp_path / "home"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / "config"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / "cache"))
    for name in ("UNIREPO_REMOTE", "UNIREPO_URL", "UNIREPO_ROOT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return User(home)


def hello_repository() -> RepositorySimulator:
    """hello 1.0 / 1.9 / 1.10 (images and source archives), hello-net 0.1, other 2.0."""
    repo = RepositorySimulator()
    author = new_signer()
    for version in ("1.0", "1.10", "1.9"):
        repo.add_package("hello", [author], {
            "hello.hvt": f"hvt {version}".encode(),
            "hello.spt": f"spt {version}".encode(),
            f"hello-{version}.tar.gz": f"source {version}".encode(),
        }, version=version)
    repo.add_package("hello-net", [new_signer()], {"hello-net.hvt": b"net"}, version="0.1")
    repo.add_package("other", [new_signer()], {"other.hvt": b"other"}, version="2.0")
    repo.release_all()
    return repo


@contextmanager
def served(repo: RepositorySimulator, directory: Path) -> Iterator[tuple[str, Path]]:
    """REPO on loopback HTTP: (base URL, path of its root.json)."""
    directory.mkdir(parents=True, exist_ok=True)
    root = directory / "root.json"
    root.write_bytes(repo.root_bytes)
    with serve_http(repo) as (metadata_url, _, _):
        yield metadata_url.removesuffix("/metadata/"), root
