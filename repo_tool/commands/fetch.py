"""`repo-tool fetch`: the operator's verified download of an image or a source archive."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from repo_tool.commands.client_options import connect, repository_options
from tuf_metadata.layout import IMAGE_TARGETS

if TYPE_CHECKING:
    from tuf_metadata.client.fetcher import UrllibFetcher
    from tuf_metadata.client.packages import FetchedImage


def register(group: click.Group) -> None:
    group.add_command(fetch)


def _as_dict(image: FetchedImage, fetcher: UrllibFetcher) -> dict[str, Any]:
    return {
        "package": image.package,
        "version": image.version,
        "target_path": image.target_path,
        "written_to": str(image.written_to),
        "length": image.length,
        "sha256": image.sha256,
        "refresh": {
            "new_root_versions": image.refresh.root_versions,
            "timestamp": image.refresh.timestamp_version,
            "snapshot": image.refresh.snapshot_version,
            "targets": image.refresh.targets_version,
        },
        "verified_roles": [
            {
                "role": record.role,
                "delegator": record.delegator,
                "version": record.version,
                "threshold": record.threshold,
                "keyids": list(record.keyids),
                "rotations": record.rotations,
            }
            for record in image.chain
        ],
        "requests": len(fetcher.requests),
        "bytes_downloaded": fetcher.bytes_received,
    }


def _as_text(data: dict[str, Any]) -> str:
    refresh = data["refresh"]
    lines = [
        f"verified {data['package']} {data['version']}: {data['target_path']}",
        f"  root chain: new versions {refresh['new_root_versions'] or 'none'}; "
        f"timestamp v{refresh['timestamp']}, snapshot v{refresh['snapshot']}, "
        f"targets v{refresh['targets']}",
    ]
    for role in data["verified_roles"]:
        keys = ", ".join(keyid[:12] for keyid in role["keyids"])
        rotations = f", after {role['rotations']} TAP 8 rotations" if role["rotations"] else ""
        lines.append(
            f"  {role['role']} v{role['version']} (delegated by {role['delegator']}): "
            f"{role['threshold']} of [{keys}]{rotations}"
        )
    lines.append(f"  sha256 {data['sha256']}, {data['length']} bytes -> {data['written_to']}")
    remote = f"remote {data['remote']} at " if data["remote"] else ""
    lines.append(f"  from {remote}{data['mirror']}")
    lines.append(f"  {data['requests']} requests, {data['bytes_downloaded']} bytes downloaded")
    return "\n".join(lines)


@click.command()
@click.argument("name")
@click.option("--version", "version", help="Release to fetch (default: highest listed).")
@click.option("--target", type=click.Choice(IMAGE_TARGETS), default=None,
              help="Solo5 target of the image (default: hvt).")
@click.option("--source", is_flag=True,
              help="Fetch the release's source archive (NAME-VERSION.tar.gz) instead of an "
              "image.")
@repository_options
@click.option("-o", "--output", "output_dir", default=Path("."), show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Directory the verified file is written to (as NAME.TARGET or "
              "NAME-VERSION.tar.gz).")
@click.option("--json", "as_json", is_flag=True, help="Print what was verified as JSON.")
def fetch(
    name: str,
    version: str | None,
    target: str | None,
    source: bool,
    remote_name: str | None,
    repo_url: str | None,
    root_file: Path | None,
    mirrors: tuple[str, ...],
    metadata_dir: Path | None,
    output_dir: Path,
    as_json: bool,
) -> None:
    """Fetch package NAME's image or source archive through TUF, verified, into a directory.

    Runs the whole TUF client workflow (root chain, timestamp, snapshot,
    targets), walks targets -> shard-XX -> pkg-NAME verifying each role
    against the delegator it was reached through (following the package's
    TAP 8 key rotations), checks the file's length and sha256, and only then
    writes it. The repository is --remote NAME, --url URL with --root FILE,
    or else $UNIREPO_URL/$UNIREPO_ROOT, $UNIREPO_REMOTE or the default remote
    (`repo-tool remote`). Exits 1 with one line saying what was refused.
    """
    if source and target is not None:
        raise click.UsageError("--source fetches the source archive; --target is for images")
    # The verifying client (and python-tuf under it) loads only when a fetch runs.
    from tuf_metadata.client.catalog import fetch_source
    from tuf_metadata.client.packages import fetch_image

    connection = connect(remote_name, repo_url, root_file, mirrors, metadata_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if source:
        fetched, used = connection.first_verified(
            lambda updater: fetch_source(updater, name, output_dir, version=version))
    else:
        fetched, used = connection.first_verified(
            lambda updater: fetch_image(updater, name, output_dir, version=version,
                                        target=target or "hvt"))
    data = {**_as_dict(fetched, connection.fetcher), "mirror": used,
            "remote": connection.remote.name}
    click.echo(json.dumps(data, indent=2) if as_json else _as_text(data))
