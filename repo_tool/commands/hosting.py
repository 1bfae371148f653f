"""Hosting commands: `sign-service` (snapshot/timestamp without HTTP) and `sync` (publish a tree).

`serve` (in repository.py) is the one-command local server built from the
same scheduler plus the HTTP server; the options shared with it live here.
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from pathlib import Path

import click

from repo_tool.commands.repository import ONLINE_OPTION, REPO_OPTION, _repo
from repo_tool.commands.service_options import (
    F,
    schedule_options,
    schedule_policy,
    stop_on_signals,
)
from tuf_metadata.service import SigningScheduler
from tuf_metadata.sync import check_destination, sync_tree

LOG = logging.getLogger("repo-tool.sign-service")


def prune_options(function: F) -> F:
    """--prune and --prune-grace (sync and sign-service)."""
    function = click.option(
        "--prune-grace", default=3600.0, show_default=True, type=click.FloatRange(min=0),
        help="Seconds past a timestamp's expiry before files only it reached are deleted "
        "(clients mid-update, clock skew).")(function)
    return click.option(
        "--prune", is_flag=True,
        help="Delete published files no unexpired timestamp leads to any more (never roots)."
    )(function)


def register(group: click.Group) -> None:
    group.add_command(sign_service)
    group.add_command(sync)


@click.command("sign-service")
@REPO_OPTION
@schedule_options
@click.option("--health-file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file rewritten after every round: last signing, consecutive "
              "failures, timestamp expiry.")
@click.option("--sync-to", "sync_to", multiple=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="After every round, publish metadata/ and targets/ into this folder as "
              "`sync --to` does (repeatable).")
@prune_options
@ONLINE_OPTION
def sign_service(
    repo_dir: Path, interval: float, resign_fraction: float, max_failures: int,
    max_backoff: float, health_file: Path | None, sync_to: tuple[Path, ...], prune: bool,
    prune_grace: float, online_passphrase: str | None,
) -> None:
    """Run the snapshot/timestamp service alone (no HTTP); publish with a static server.

    Makes a new snapshot when any targets metadata changed and re-signs
    timestamp (and snapshot) before expiry. A failed round is logged and
    retried with backoff; after --max-failures failed rounds in a row it exits
    with status 1. With --sync-to, each round also publishes to the folder(s)
    a static web server serves. Stops cleanly (status 0) on SIGTERM or Ctrl-C.
    """
    policy = schedule_policy(interval, resign_fraction, max_failures, max_backoff)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    repo = _repo(repo_dir, online_passphrase)
    repo.online_signer("snapshot")
    repo.online_signer("timestamp")
    for destination in sync_to:
        check_destination(repo_dir, destination)

    def publish() -> None:
        for destination in sync_to:
            report = sync_tree(repo_dir, destination, prune=prune,
                               prune_grace=timedelta(seconds=prune_grace))
            if report.deleted:
                LOG.info("pruned %d expired files from %s", len(report.deleted), destination)
            if report.copied or report.timestamp_written:
                LOG.info("published %d files%s to %s", len(report.copied),
                         " and timestamp.json" if report.timestamp_written else "", destination)
            for warning in report.warnings:
                LOG.warning("%s", warning)

    scheduler = SigningScheduler(repo, policy, health_file, publish if sync_to else None)
    stop = threading.Event()
    stop_on_signals(stop.set)
    click.echo(f"signing {repo_dir} every {interval:g}s", err=True)
    scheduler.run(stop)
    click.echo("stopped", err=True)


@click.command()
@REPO_OPTION
@click.option("--to", "destination", required=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Folder to publish into (served by nginx, a CDN origin, a mirror).")
@prune_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sync(repo_dir: Path, destination: Path, prune: bool, prune_grace: float,
         as_json: bool) -> None:
    """Publish metadata/ and targets/ (never keys, pending or staging) into --to DIR.

    Copies in the order that keeps DIR consistent for clients at every moment:
    targets, role metadata, snapshot, then timestamp.json, then new root
    versions. Never overwrites an immutable file. Deletes only with --prune,
    and only files that no unexpired published timestamp leads to. Run it
    after every change, or use sign-service --sync-to.
    """
    _repo(repo_dir)
    report = sync_tree(repo_dir, destination, prune=prune,
                       prune_grace=timedelta(seconds=prune_grace))
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    data = {"copied": report.copied, "unchanged": report.unchanged,
            "timestamp_written": report.timestamp_written, "deleted": report.deleted,
            "warnings": report.warnings}
    click.echo(json.dumps(data, indent=2) if as_json else
               f"published {len(report.copied)} new files ({report.unchanged} unchanged)"
               + (", timestamp.json updated" if report.timestamp_written else "")
               + (f", {len(report.deleted)} expired files pruned" if report.deleted else "")
               + f" to {destination}")
