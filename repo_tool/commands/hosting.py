"""Hosting commands: `sign-service` (snapshot/timestamp without HTTP) and `sync` (publish a tree).

`serve` (in repository.py) is the one-command local server built from the
same scheduler plus the HTTP server; the options shared with it live here.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import click

from repo_tool.commands.repository import ONLINE_OPTION, REPO_OPTION, _repo
from repo_tool.commands.service_options import schedule_options, schedule_policy, stop_on_signals
from tuf_metadata.service import SigningScheduler


def register(group: click.Group) -> None:
    group.add_command(sign_service)


@click.command("sign-service")
@REPO_OPTION
@schedule_options
@click.option("--health-file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file rewritten after every round: last signing, consecutive "
              "failures, timestamp expiry.")
@ONLINE_OPTION
def sign_service(
    repo_dir: Path, interval: float, resign_fraction: float, max_failures: int,
    max_backoff: float, health_file: Path | None, online_passphrase: str | None,
) -> None:
    """Run the snapshot/timestamp service alone (no HTTP); publish with a static server.

    Makes a new snapshot when any targets metadata changed and re-signs
    timestamp (and snapshot) before expiry. A failed round is logged and
    retried with backoff; after --max-failures failed rounds in a row it exits
    with status 1. Stops cleanly (status 0) on SIGTERM or Ctrl-C.
    """
    policy = schedule_policy(interval, resign_fraction, max_failures, max_backoff)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    repo = _repo(repo_dir, online_passphrase)
    repo.online_signer("snapshot")
    repo.online_signer("timestamp")
    scheduler = SigningScheduler(repo, policy, health_file)
    stop = threading.Event()
    stop_on_signals(stop.set)
    click.echo(f"signing {repo_dir} every {interval:g}s", err=True)
    scheduler.run(stop)
    click.echo("stopped", err=True)
