"""A repository's metadata/ and targets/ served on loopback, and the two clients that read
it: ours (`repo-tool fetch`) and python-tuf's ngclient."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tuf.ngclient.updater import Updater

from tests.repository.helpers import Fixture, init_repo, make_keys, publish, release, run
from tests.support.http_thread import serving_folder
from tests.support.published import metadata_dir, published_dir


@contextmanager
def serving(fx: Fixture) -> Iterator[str]:
    """Serve FX's published folder (metadata/, targets/, nothing private); yields the base URL."""
    with serving_folder(published_dir(fx.repo_dir)) as url:
        yield url


@contextmanager
def served_hello(tmp: Path, more_keys: Sequence[str]) -> Iterator[tuple[Fixture, str]]:
    """A repository in TMP/t with hello 1.0.0 published by its author `hello` (and the
    keys MORE_KEYS made), served: the fixture and its base URL."""
    fx = init_repo(tmp / "t", authors=["hello"])
    fx.keys.update(make_keys(tmp / "t" / "keys", more_keys))
    assert release(fx, "hello", "1.0.0", ["hello"]).exit_code == 0
    publish(fx)
    with serving(fx) as url:
        yield fx, url


def fetch(fx: Fixture, url: str, client: str, *args: str) -> tuple[int, str]:
    """`repo-tool fetch hello` by our client; CLIENT names its metadata folder (kept)."""
    work = fx.work.parent
    result = run(["fetch", "hello", "--url", url, "--root",
                  str(metadata_dir(fx.repo_dir) / "1.root.json"), "-o", str(work / f"{client}-out"),
                  "--metadata-dir", str(work / f"{client}-md"), *args])
    return result.exit_code, result.output


def ngclient(fx: Fixture, url: str, directory: Path) -> Updater:
    """python-tuf's client, refreshed; the first in DIRECTORY trusts root 1, later ones what
    the earlier ones stored."""
    (directory / "metadata").mkdir(parents=True, exist_ok=True)
    (directory / "targets").mkdir(exist_ok=True)
    first = not (directory / "metadata" / "root.json").exists()
    updater = Updater(str(directory / "metadata"), f"{url}/metadata/", str(directory / "targets"),
                      f"{url}/targets/",
                      bootstrap=(metadata_dir(fx.repo_dir) / "1.root.json").read_bytes()
                      if first else None)
    updater.refresh()
    return updater


def ng_download(updater: Updater, path: str) -> bytes:
    """Target PATH as ngclient verifies and downloads it (AssertionError if not listed)."""
    info = updater.get_targetinfo(path)
    assert info is not None, f"ngclient: {path} is not listed"
    return Path(updater.download_target(info)).read_bytes()
