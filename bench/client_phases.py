"""The two phases the client benchmarks time, for our client and python-tuf's ngclient.

- fresh: a new client (only the initial root) refreshes and downloads one image;
- up-to-date: the same client's metadata directory, a new refresh.

Each client works in its own directory `work`; `base` is the served repository's URL.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tuf.ngclient.updater import Updater as NgUpdater

from tuf_metadata.client.fetcher import Fetcher
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.updater import ClientConfig, Updater

Phases = tuple[Callable[[], None], Callable[[], None]]  # (fresh, up-to-date)


def ours(
    base: str,
    root: bytes,
    work: Path,
    target_path: str,
    fetcher: Callable[[], Fetcher],
    tree: bool = False,
) -> Phases:
    """Our client, with a new `fetcher()` per client. tree: the client is to use the
    repository's snapshot tree (ClientConfig.snapshot_tree); fresh checks that it did
    exactly that."""
    store = MetadataStore(work / "md")
    store.directory.mkdir(parents=True)
    store.save("root", root)
    config = ClientConfig(snapshot_tree=tree)

    def updater() -> Updater:
        return Updater(store, fetcher(), f"{base}/metadata/", f"{base}/targets/", config=config)

    def fresh() -> None:
        client = updater()
        report = client.refresh()
        assert report.snapshot_tree == tree
        client.download_target(client.resolve(target_path).info, work / "image")

    def up_to_date() -> None:
        updater().refresh()

    return fresh, up_to_date


def ngclient(base: str, root: bytes, work: Path, target_path: str) -> Phases:
    """python-tuf's ngclient (reads snapshot.json; asks for no content coding)."""
    (work / "md").mkdir(parents=True)
    (work / "targets").mkdir()

    def updater() -> NgUpdater:
        return NgUpdater(str(work / "md"), f"{base}/metadata/", str(work / "targets"),
                         f"{base}/targets/", bootstrap=root)

    def fresh() -> None:
        client = updater()
        client.refresh()
        info = client.get_targetinfo(target_path)
        assert info is not None
        client.download_target(info)

    def up_to_date() -> None:
        updater().refresh()

    return fresh, up_to_date
