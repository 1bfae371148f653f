"""The repository options of the client commands (fetch, search, show) and their connection.

`--remote NAME`, or `--url URL --root FILE`, or nothing (UNIREPO_* variables,
then the default remote; see repo_tool.remotes). The config reader and the
verifying client are imported only when a command connects, not at start-up.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from repo_tool.deprecated import renamed_option

if TYPE_CHECKING:
    from repo_tool.remotes import Remote
    from tuf_metadata.client.fetcher import UrllibFetcher
    from tuf_metadata.client.store import MetadataStore
    from tuf_metadata.client.updater import Updater

F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


def repository_options(function: F) -> F:
    """--remote, --url, --root, --mirror and --metadata-dir, as keyword arguments.

    `--repo URL` is the old spelling of --url (--repo names a directory elsewhere).
    """
    options = [
        click.option("--remote", "remote_name", metavar="NAME",
                     help="A repository added with `repo-tool remote add` (default: "
                     "$UNIREPO_REMOTE, then the default remote)."),
        click.option("--url", "repo_url", metavar="URL",
                     help="Repository base URL (serves metadata/ and targets/); with --root, "
                     "instead of a configured remote."),
        click.option("--root", "root_file",
                     type=click.Path(dir_okay=False, exists=True, path_type=Path),
                     help="Root metadata trusted out of band, for --url; used when the "
                     "metadata dir has none yet."),
        click.option("--mirror", "mirrors", multiple=True, metavar="URL",
                     help="Another base URL of the same repository, tried in order when the "
                     "ones before fail or serve data that does not verify (repeatable)."),
        click.option("--metadata-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Where trusted metadata is kept between runs (default: a user cache "
                     "per repository and root)."),
        renamed_option("--repo", new="--url", dest="repo_url", metavar="URL"),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@dataclass(frozen=True)
class Connection:
    """The chosen repository and the client state kept for it."""

    remote: Remote
    store: MetadataStore
    fetcher: UrllibFetcher

    def first_verified(self, attempt: Callable[[Updater], T]) -> tuple[T, str]:
        """attempt(updater) through each of the remote's URLs in turn; result and URL used."""
        from tuf_metadata.client.mirrors import first_verified, mirror_updater

        return first_verified(self.remote.urls, lambda base: attempt(
            mirror_updater(self.store, self.fetcher, base)))


def connect(remote_name: str | None, repo_url: str | None, root_file: Path | None,
            mirrors: tuple[str, ...], metadata_dir: Path | None) -> Connection:
    """Choose the repository, open its metadata store (seeded with its root) and a fetcher."""
    from repo_tool.remotes import RemoteError, choose, config_dir, load_config, metadata_cache
    from tuf_metadata.client.fetcher import UrllibFetcher
    from tuf_metadata.client.store import MetadataStore

    if (repo_url is None) != (root_file is None):
        raise click.UsageError("--url and --root go together (or use --remote NAME)")
    env = os.environ
    remote = choose(lambda: load_config(config_dir(env)), env, name=remote_name,
                    url=repo_url, root=root_file, mirrors=mirrors)
    try:
        root_bytes = remote.root.read_bytes()
    except OSError as error:
        raise RemoteError(f"trusted root of {remote.label}: cannot read {remote.root} "
                          f"({error.strerror}); re-add the remote or give --root") from None
    store = MetadataStore(metadata_dir or metadata_cache(env, remote, root_bytes))
    if store.load("root") is None:
        store.directory.mkdir(parents=True, exist_ok=True)
        store.save("root", root_bytes)
    return Connection(remote, store, UrllibFetcher())
