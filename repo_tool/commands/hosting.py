"""`repo-tool sync`: publish a repository's metadata/ and targets/ into a folder a static
web server serves; `--prune` options shared with `sign-service --sync-to`. `repo-tool
migrate`: give an old repository's published tree a folder of its own."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click

from repo_tool.commands.repo_options import REPO_OPTION, open_repo
from tuf_metadata.sync import sync_tree
from tuf_metadata.sync_destinations import open_destination

F = TypeVar("F", bound=Callable[..., Any])


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


def s3_endpoint_option(function: F) -> F:
    """--s3-endpoint (sync and sign-service)."""
    return click.option(
        "--s3-endpoint", metavar="URL", default=None,
        help="S3-compatible server for s3:// destinations instead of AWS (MinIO, Ceph RGW, "
        "...).")(function)


def register(group: click.Group) -> None:
    group.add_command(sync)
    group.add_command(migrate)


@click.command()
@REPO_OPTION
@click.option("--to", "destination_spec", required=True, metavar="DIR|s3://BUCKET[/PREFIX]",
              help="Folder to publish into (served by nginx, a CDN origin, a mirror), or an "
              "S3-compatible bucket (credentials from the usual AWS environment/config).")
@s3_endpoint_option
@prune_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sync(repo_dir: Path, destination_spec: str, s3_endpoint: str | None, prune: bool,
         prune_grace: float, as_json: bool) -> None:
    """Publish metadata/ and targets/ (never keys, pending or staging) into --to DEST.

    Copies in the order that keeps DEST consistent for clients at every moment:
    targets, role metadata, snapshot, then timestamp.json, then new root
    versions. Never overwrites an immutable file. Deletes only with --prune,
    and only files that no unexpired published timestamp leads to. Run it
    after every change, or use sign-service --sync-to.
    """
    open_repo(repo_dir)
    destination = open_destination(destination_spec, s3_endpoint)
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
               + f" to {destination.describe()}")


@click.command()
@REPO_OPTION
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def migrate(repo_dir: Path, as_json: bool) -> None:
    """Move an old repository's metadata/ and targets/ into REPO/public/, apart from its keys.

    Repositories created before the published folder existed keep metadata/,
    targets/, dashboard/ and builds/ next to online/ (private keys), pending/,
    staging/ and repo.json. This hard-links them into REPO/public/, records it
    in repo.json (the commit point) and deletes the old folders. A crash at any
    point leaves a repository that opens; run migrate again to finish. Stop
    serve and sign-service first, then serve REPO/public/.
    """
    report = open_repo(repo_dir).migrate_layout()
    data = {"published": str(report.published), "moved": report.moved,
            "linked_files": report.linked_files, "already_migrated": report.already}
    if report.already:
        text = f"already migrated: the published folder is {report.published}"
    elif not report.moved:
        text = f"finished an interrupted migration: the published folder is {report.published}"
    else:
        text = (f"moved {', '.join(report.moved) or 'nothing'} into {report.published} "
                f"({report.linked_files} files); serve or sync that folder only")
    click.echo(json.dumps(data, indent=2) if as_json else text)
