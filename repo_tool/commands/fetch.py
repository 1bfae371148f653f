"""`repo-tool fetch`: the operator's verified download of a unikernel image."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from tuf_metadata.layout import IMAGE_TARGETS

if TYPE_CHECKING:
    from tuf_metadata.client.fetcher import UrllibFetcher
    from tuf_metadata.client.packages import FetchedImage


def register(group: click.Group) -> None:
    group.add_command(fetch)


def _default_metadata_dir(repo_url: str) -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "unirepo" / "tuf" / hashlib.sha256(repo_url.encode()).hexdigest()[:16]


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
    lines.append(f"  {data['requests']} requests, {data['bytes_downloaded']} bytes downloaded")
    return "\n".join(lines)


@click.command()
@click.argument("name")
@click.option("--version", "version", help="Release to fetch (default: highest listed).")
@click.option(
    "--target",
    type=click.Choice(IMAGE_TARGETS),
    default="hvt",
    show_default=True,
    help="Solo5 target of the image.",
)
@click.option("--repo", "repo_url", required=True, help="Repository base URL (serves metadata/ "
              "and targets/).")
@click.option("--mirror", "mirrors", multiple=True, metavar="URL",
              help="Another base URL of the same repository, tried in order when the ones "
              "before fail or serve data that does not verify (repeatable).")
@click.option(
    "--root",
    "root_file",
    required=True,
    type=click.Path(dir_okay=False, exists=True, path_type=Path),
    help="Root metadata trusted out of band; used when the metadata dir has none yet.",
)
@click.option(
    "-o",
    "--output",
    "output_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory the verified image is written to (as NAME.TARGET).",
)
@click.option(
    "--metadata-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where trusted metadata is kept between runs (default: per-repository user cache).",
)
@click.option("--json", "as_json", is_flag=True, help="Print what was verified as JSON.")
def fetch(
    name: str,
    version: str | None,
    target: str,
    repo_url: str,
    mirrors: tuple[str, ...],
    root_file: Path,
    output_dir: Path,
    metadata_dir: Path | None,
    as_json: bool,
) -> None:
    """Fetch package NAME's image through TUF, verified, into the output directory.

    Runs the whole TUF client workflow (root chain, timestamp, snapshot,
    targets), walks targets -> shard-XX -> pkg-NAME verifying each role
    against the delegator it was reached through (following the package's
    TAP 8 key rotations), checks the image's length and sha256, and only then
    writes it. Exits 1 with one line saying what was refused.
    """
    # The verifying client (and python-tuf under it) loads only when a fetch runs.
    from tuf_metadata.client.fetcher import UrllibFetcher
    from tuf_metadata.client.mirrors import fetch_image_from_mirrors
    from tuf_metadata.client.store import MetadataStore

    base = repo_url.rstrip("/")
    store = MetadataStore(metadata_dir or _default_metadata_dir(base))
    if store.load("root") is None:
        store.directory.mkdir(parents=True, exist_ok=True)
        store.save("root", root_file.read_bytes())
    fetcher = UrllibFetcher()
    output_dir.mkdir(parents=True, exist_ok=True)
    image, used = fetch_image_from_mirrors(store, fetcher, [base, *mirrors], name, output_dir,
                                           version=version, target=target)
    data = {**_as_dict(image, fetcher), "mirror": used}
    click.echo(json.dumps(data, indent=2) if as_json else _as_text(data))
