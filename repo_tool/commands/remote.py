"""`repo-tool remote`: store a repository once (URL, trusted root, mirrors) and name it."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import click

from repo_tool.remotes import (
    Remote,
    RemoteError,
    check_name,
    check_url,
    config_dir,
    load_config,
    locked,
    save_config,
    store_root,
    stored_root,
    with_default,
    with_remote,
    without_remote,
)


def register(group: click.Group) -> None:
    group.add_command(remote_group)


def _root_summary(data: bytes, where: str) -> str:
    """Refuse DATA unless it is TUF root metadata signed by its own threshold of keys."""
    from tuf_metadata.client.trusted import TrustedSet
    from tuf_metadata.errors import TufError

    try:
        root = TrustedSet(data, datetime.now(UTC)).root
    except TufError as error:
        raise RemoteError(f"{where}: not a usable trusted root: {error}") from None
    threshold = root.roles["root"].threshold
    keys = len(root.roles["root"].keyids)
    return (f"root v{root.version}, {threshold} of {keys} root keys, "
            f"sha256 {hashlib.sha256(data).hexdigest()}")


@click.group("remote")
def remote_group() -> None:
    """Add, list, remove and choose the repositories fetch, search and show use."""


@remote_group.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--root", "root_file", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The repository's root metadata, obtained out of band; copied next to "
              "the config.")
@click.option("--mirror", "mirrors", multiple=True, metavar="URL",
              help="Another base URL of the same repository (repeatable).")
@click.option("--default", "make_default", is_flag=True,
              help="Make it the default remote (the first one added always is).")
def remote_add(name: str, url: str, root_file: Path, mirrors: tuple[str, ...],
               make_default: bool) -> None:
    """Store repository URL as NAME, with its root.

    The root file given with --root (obtained out of band) must be TUF root
    metadata signed by its own threshold of root keys; it is copied next to
    the config and trusted from then on.

    Example: repo-tool remote add main https://repo.example.org --root root.json
    """
    check_name(name)
    remote = Remote(name, check_url(url), root_file, tuple(check_url(m) for m in mirrors))
    summary = _root_summary(root_file.read_bytes(), str(root_file))
    directory = config_dir(os.environ)
    with locked(directory):
        config = load_config(directory)
        with_remote(config, remote, make_default)  # refuses an existing NAME before any write
        copied = store_root(directory, name, root_file)
        updated = with_remote(config, replace(remote, root=copied), make_default)
        save_config(directory, updated)
    default = " (default)" if updated.default == name else ""
    click.echo(f"added remote {name}{default}: {remote.url}; {summary}")


@remote_group.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def remote_list(as_json: bool) -> None:
    """List configured remotes, tab-separated.

    Columns: NAME, URL, "default" or empty, root file, mirrors (comma-separated).
    """
    config = load_config(config_dir(os.environ))
    if as_json:
        click.echo(json.dumps({
            "default": config.default,
            "remotes": [{"name": r.name, "url": r.url, "root": str(r.root),
                         "mirrors": list(r.mirrors)} for r in config.remotes.values()],
        }, indent=2))
        return
    if not config.remotes:
        click.echo("no remotes (add one: repo-tool remote add NAME URL --root root.json)",
                   err=True)
        return
    for remote in config.remotes.values():
        mark = "default" if remote.name == config.default else ""
        click.echo("\t".join([str(remote.name), remote.url, mark, str(remote.root),
                              ",".join(remote.mirrors)]))


@remote_group.command("remove")
@click.argument("name")
def remote_remove(name: str) -> None:
    """Forget remote NAME and its stored root.

    Metadata cached for it stays in the user cache (it is keyed by URL and root).
    """
    directory = config_dir(os.environ)
    with locked(directory):
        config = load_config(directory)
        updated = without_remote(config, name)
        save_config(directory, updated)
        stored = stored_root(directory, name)
        if config.remotes[name].root == stored:
            stored.unlink(missing_ok=True)
    click.echo(f"removed remote {name}")
    if config.default == name:
        click.echo("no default remote now (set one: repo-tool remote default NAME)", err=True)


@remote_group.command("default")
@click.argument("name", required=False)
def remote_default(name: str | None) -> None:
    """Set the default remote, or print it."""
    directory = config_dir(os.environ)
    if name is None:
        current = load_config(directory).default
        if current is None:
            raise RemoteError("no default remote (set one: repo-tool remote default NAME)")
        click.echo(current)
        return
    with locked(directory):
        save_config(directory, with_default(load_config(directory), name))
    click.echo(f"default remote: {name}")
