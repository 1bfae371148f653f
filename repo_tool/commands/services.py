"""The long-running services: `serve` (snapshot/timestamp signing plus the HTTP server, one
command for a local repository) and `sign-service` (signing alone, optionally syncing to
folders a static web server serves). Only this module imports the HTTP server and the
service scheduler."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
from datetime import timedelta
from pathlib import Path

import click

from repo_tool.commands.hosting import prune_options, s3_endpoint_option
from repo_tool.commands.repo_options import ONLINE_OPTION, REPO_OPTION, open_repo
from repo_tool.commands.service_options import (
    http_options,
    open_access_log,
    schedule_options,
    schedule_policy,
    stop_on_signals,
)
from tuf_metadata.http_server import HttpLimits
from tuf_metadata.service import RepositoryService, SigningScheduler
from tuf_metadata.sync import check_destination, sync_tree
from tuf_metadata.sync_destinations import open_destination

LOG = logging.getLogger("repo-tool.sign-service")


def _status(data: dict[str, object]) -> None:
    """One JSON status line on stdout, flushed at once (a supervisor reads it live)."""
    click.echo(json.dumps(data, sort_keys=True))
    sys.stdout.flush()


def register(group: click.Group) -> None:
    group.add_command(serve)
    group.add_command(sign_service)


@click.command()
@REPO_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0: any free).")
@schedule_options
@http_options
@click.option("--access-log", metavar="FILE",
              help="Append one Common Log Format line per request to FILE ('-': stderr).")
@ONLINE_OPTION
@click.option("--json", "as_json", is_flag=True,
              help="Status on stdout as JSON lines: one when listening (url, host, port, "
              "pid), one when stopped (failure or null).")
def serve(
    repo_dir: Path, host: str, port: int, interval: float, resign_fraction: float,
    max_failures: int, max_backoff: float, request_timeout: float, write_timeout: float,
    max_connections: int, access_log: str | None, online_passphrase: str | None,
    as_json: bool,
) -> None:
    """Run the snapshot/timestamp service and serve the repository over HTTP.

    Serves the published folder's metadata/ and targets/ (REPO/public/, or
    REPO itself before `migrate`; metadata gzip-compressed to clients that
    ask), the build dashboard and reports (dashboard/, builds/) read-only,
    health at /healthz and Prometheus metrics at /metrics; never online/,
    pending/, staging/ or repo.json. Makes a new snapshot when any targets
    metadata changed, re-signs timestamp (and snapshot) before expiry, logs
    each signing, and stops cleanly on SIGTERM or Ctrl-C. Exits 1 after
    --max-failures failed signing rounds in a row. For production, run
    `sign-service` and a static web server instead (docs/operations.md).
    """
    policy = schedule_policy(interval, resign_fraction, max_failures, max_backoff)
    limits = HttpLimits(request_timeout, write_timeout, max_connections)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    repo = open_repo(repo_dir, online_passphrase)
    repo.online_signer("snapshot")
    repo.online_signer("timestamp")
    with open_access_log(access_log) as log_stream:
        service = RepositoryService(repo, host, port, limits=limits, policy=policy,
                                    access_log=log_stream)
        stop_on_signals(service.request_stop)
        service.start()
        host_bound, port_bound = service.address
        url = f"http://{host_bound}:{port_bound}/"
        click.echo(f"listening on {url}", err=True)
        if as_json:
            _status({"state": "listening", "url": url, "host": host_bound, "port": port_bound,
                     "pid": os.getpid(), "repo": str(repo_dir)})
        service.wait()
        service.stop()
    if as_json:
        _status({"state": "stopped", "failure": None if service.failure is None
                 else str(service.failure).splitlines()[0]})
    if service.failure is not None:
        raise service.failure


@click.command("sign-service")
@REPO_OPTION
@schedule_options
@click.option("--health-file", type=click.Path(dir_okay=False, path_type=Path),
              help="JSON file rewritten after every round: last signing, consecutive "
              "failures, timestamp expiry.")
@click.option("--sync-to", "sync_to", multiple=True, metavar="DIR|s3://BUCKET[/PREFIX]",
              help="After every round, publish metadata/ and targets/ into this folder or "
              "bucket as `sync --to` does (repeatable).")
@s3_endpoint_option
@prune_options
@ONLINE_OPTION
@click.option("--json", "as_json", is_flag=True,
              help="Status on stdout as JSON lines: one when signing starts (repo, interval, "
              "pid), one when stopped.")
def sign_service(
    repo_dir: Path, interval: float, resign_fraction: float, max_failures: int,
    max_backoff: float, health_file: Path | None, sync_to: tuple[str, ...],
    s3_endpoint: str | None, prune: bool, prune_grace: float, online_passphrase: str | None,
    as_json: bool,
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
    repo = open_repo(repo_dir, online_passphrase)
    repo.online_signer("snapshot")
    repo.online_signer("timestamp")
    destinations = [open_destination(spec, s3_endpoint) for spec in sync_to]
    for destination in destinations:
        check_destination(repo_dir, destination)

    def publish() -> None:
        for destination in destinations:
            report = sync_tree(repo_dir, destination, prune=prune,
                               prune_grace=timedelta(seconds=prune_grace))
            if report.deleted:
                LOG.info("pruned %d expired files from %s", len(report.deleted),
                         destination.describe())
            if report.copied or report.timestamp_written:
                LOG.info("published %d files%s to %s", len(report.copied),
                         " and timestamp.json" if report.timestamp_written else "",
                         destination.describe())
            for warning in report.warnings:
                LOG.warning("%s", warning)

    scheduler = SigningScheduler(repo, policy, health_file, publish if sync_to else None)
    stop = threading.Event()
    stop_on_signals(stop.set)
    click.echo(f"signing {repo_dir} every {interval:g}s", err=True)
    if as_json:
        _status({"state": "signing", "repo": str(repo_dir), "interval": interval,
                 "pid": os.getpid(), "sync_to": list(sync_to)})
    scheduler.run(stop)
    click.echo("stopped", err=True)
    if as_json:
        _status({"state": "stopped"})


