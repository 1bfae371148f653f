"""Fixtures of the client tests: a simulated repository and clients bound to it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.client.simulator import METADATA_URL, TARGETS_URL, RepositorySimulator, SimFetcher
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.updater import Updater


def files_in(directory: Path) -> dict[str, bytes]:
    """Every file under DIRECTORY by relative path: the trusted state on disk."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


class Client:
    """A client of the simulated repository with its own metadata directory."""

    def __init__(self, repo: RepositorySimulator, directory: Path) -> None:
        self.repo = repo
        self.directory = directory
        self.store = MetadataStore(directory / "metadata")
        self.store.directory.mkdir(parents=True)
        self.store.save("root", repo.root_bytes)
        self.fetcher = SimFetcher(repo)
        self.days_ahead = 0

    def updater(self) -> Updater:
        now = datetime.now(UTC) + timedelta(days=self.days_ahead)
        return Updater(self.store, self.fetcher, METADATA_URL, TARGETS_URL, clock=lambda: now)

    def refresh(self) -> Updater:
        updater = self.updater()
        updater.refresh()
        return updater

    def download(self, target_path: str) -> bytes:
        updater = self.refresh()
        resolved = updater.resolve(target_path)
        return updater.download_target(resolved.info, self.directory / "targets" / "t")

    def state(self) -> dict[str, bytes]:
        return files_in(self.store.directory)

    def version(self, role: str) -> int | None:
        import json

        data = self.store.load(role)
        return None if data is None else int(json.loads(data)["signed"]["version"])


@pytest.fixture
def repo() -> RepositorySimulator:
    return RepositorySimulator()


NewClient = Callable[[RepositorySimulator], Client]  # what the new_client fixture gives


@pytest.fixture
def new_client(tmp_path: Path) -> NewClient:
    counter = iter(range(1000))

    def make(repo: RepositorySimulator) -> Client:
        return Client(repo, tmp_path / f"client{next(counter)}")

    return make
