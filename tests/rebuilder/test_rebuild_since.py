"""`repo-tool rebuild --since N`: releases published after snapshot N, from snapshot N itself.

Snapshot N is fetched from the repository and must be signed by the trusted root's
snapshot keys: a forged old snapshot cannot hide (or add) a package. Real TUF
metadata served on loopback HTTP; no builds.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tuf.api.metadata import Metadata, Snapshot

from tests.client.simulator import RepositorySimulator, new_signer, serve_http
from tuf_metadata.client.errors import BadSignatureError, TargetNotFoundError
from tuf_metadata.client.fetcher import UrllibFetcher
from tuf_metadata.client.mirrors import mirror_updater
from tuf_metadata.client.published import published_releases
from tuf_metadata.client.store import MetadataStore


def _updater(repo: RepositorySimulator, base: str, directory: Path):  # type: ignore[no-untyped-def]
    store = MetadataStore(directory)
    directory.mkdir(parents=True, exist_ok=True)
    store.save("root", repo.root_bytes)
    return mirror_updater(store, UrllibFetcher(), base)


def test_since_lists_only_packages_released_after_that_snapshot(tmp_path: Path) -> None:
    repo = RepositorySimulator()
    author = new_signer()
    repo.add_package("hello", [author], {"hello.hvt": b"hello 1"}, version="1.0.0")
    repo.add_package("ping", [author], {"ping.hvt": b"ping 1"}, version="0.1.0")
    repo.release_all()
    before = repo.snapshot.signed.version
    repo.add_package("ping", [author], {"ping.hvt": b"ping 2"}, version="0.2.0")
    repo.release("pkg-ping")
    with serve_http(repo) as (metadata_url, _, _):
        base = metadata_url.removesuffix("/metadata/")
        updater = _updater(repo, base, tmp_path / "md")
        every = published_releases(updater)
        assert {(r.package, r.version) for r in every} == {
            ("hello", "1.0.0"), ("ping", "0.1.0"), ("ping", "0.2.0")}
        since = published_releases(updater, since=before)
        assert {r.package for r in since} == {"ping"}
        assert published_releases(updater, ("hello",), since=before) == []
        with pytest.raises(TargetNotFoundError, match=r"snapshot versions are 1\.\."):
            published_releases(updater, since=before + 5)

        # Snapshot `before` re-signed by a key the root does not trust: refused.
        forged: Metadata[Snapshot] = Metadata.from_bytes(
            repo.metadata_files[f"{before}.snapshot.json"])
        forged.signed.meta.pop("pkg-ping.json")  # would make ping look new
        forged.signatures.clear()
        forged.sign(new_signer())
        repo.metadata_files[f"{before}.snapshot.json"] = forged.to_bytes()
        with pytest.raises(BadSignatureError):
            published_releases(updater, since=before)


def test_a_listed_version_that_is_not_a_version_name_is_not_a_release(tmp_path: Path) -> None:
    """A package role (signed by its author) may list `XX/hello/../FILE` within its
    delegated pattern; the rebuilder, which makes directories of versions, ignores it."""
    repo = RepositorySimulator()
    author = new_signer()
    repo.add_package("hello", [author], {"hello.hvt": b"hello 1"}, version="1.0.0")
    repo.add_package("hello", [author], {"manifest.json": b"{}"}, version="..")
    repo.release_all()
    with serve_http(repo) as (metadata_url, _, _):
        updater = _updater(repo, metadata_url.removesuffix("/metadata/"), tmp_path / "md")
        assert [(r.package, r.version) for r in published_releases(updater)] == [
            ("hello", "1.0.0")]
