"""`repo-tool search` and `repo-tool show`: what a repository offers, verified.

Both read only metadata the verifying client accepted (targets -> shard-XX ->
pkg-NAME, each role checked against its delegator, TAP 8 rotations followed).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import click

from repo_tool.commands.client_options import connect, repository_options

if TYPE_CHECKING:
    from pathlib import Path

    from tuf_metadata.client.catalog import PackageDetails
    from tuf_metadata.client.updater import Updater


def register(group: click.Group) -> None:
    group.add_command(search)
    group.add_command(show)


@click.command()
@click.argument("word")
@repository_options
@click.option("--json", "as_json", is_flag=True, help="Print the matches as JSON.")
def search(word: str, remote_name: str | None, repo_url: str | None, root_file: Path | None,
           mirrors: tuple[str, ...], metadata_dir: Path | None, as_json: bool) -> None:
    """List packages whose name contains WORD, with their latest verified version.

    Reads every shard role of the repository (the first search downloads all
    of them; later ones only those that changed). Prints NAME, latest version
    and number of versions, tab-separated. Exits 1 when nothing matches.
    """
    from tuf_metadata.client.catalog import search_packages
    from tuf_metadata.client.packages import listed_versions

    def matches(updater: Updater) -> list[tuple[str, list[str]]]:
        return [(name, listed_versions(updater, name))
                for name in search_packages(updater, word)]

    connection = connect(remote_name, repo_url, root_file, mirrors, metadata_dir)
    found, _ = connection.first_verified(matches)
    if as_json:
        click.echo(json.dumps([{"name": name, "versions": versions}
                               for name, versions in found], indent=2))
    else:
        for name, versions in found:
            latest = versions[-1] if versions else "-"
            count = f"{len(versions)} version{'' if len(versions) == 1 else 's'}"
            click.echo(f"{name}\t{latest}\t{count}")
    if not found:
        click.echo(f"no package name contains {word!r} in {connection.remote.label}", err=True)
        raise SystemExit(1)


def _details_dict(details: PackageDetails) -> dict[str, Any]:
    role = details.role
    return {
        "name": details.name,
        "role": role.role,
        "role_version": role.version,
        "delegated_by": role.delegator,
        "threshold": role.threshold,
        "keyids": list(role.keyids),
        "rotations": role.rotations,
        "versions": [
            {
                "version": version,
                "files": [{"name": f.name, "target_path": f.target_path, "length": f.length,
                           "sha256": f.sha256} for f in details.files[version]],
            }
            for version in reversed(details.versions)
        ],
    }


def _details_text(data: dict[str, Any]) -> str:
    rotations = (f", after {data['rotations']} TAP 8 key rotation(s)" if data["rotations"]
                 else "")
    lines = [
        f"{data['name']}: {data['role']} v{data['role_version']} (delegated by "
        f"{data['delegated_by']})",
        f"  signed by {data['threshold']} of {len(data['keyids'])} author key(s){rotations}:",
        *(f"    {keyid}" for keyid in data["keyids"]),
        f"  versions (newest first): {', '.join(v['version'] for v in data['versions'])}",
    ]
    for version in data["versions"]:
        lines.append(f"  {version['version']}:")
        for file in version["files"]:
            lines.append(f"    {file['name']}\t{file['length']} bytes\tsha256 {file['sha256']}")
    return "\n".join(lines)


@click.command()
@click.argument("name")
@repository_options
@click.option("--json", "as_json", is_flag=True, help="Print the package as JSON.")
def show(name: str, remote_name: str | None, repo_url: str | None, root_file: Path | None,
         mirrors: tuple[str, ...], metadata_dir: Path | None, as_json: bool) -> None:
    """Show package NAME: versions, files with length and sha256, signing keys, threshold.

    Everything shown comes from the package role as verified through the
    delegation chain, with the keys and threshold its delegator (after TAP 8
    rotations) requires.
    """
    from tuf_metadata.client.catalog import package_details

    connection = connect(remote_name, repo_url, root_file, mirrors, metadata_dir)
    details, _ = connection.first_verified(lambda updater: package_details(updater, name))
    data = _details_dict(details)
    click.echo(json.dumps(data, indent=2) if as_json else _details_text(data))
