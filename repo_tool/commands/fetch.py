"""`repo-tool fetch`: the operator's verified download of an image or a source archive."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from repo_tool.commands.client_options import connect, repository_options
from repo_tool.errors import RepoToolError
from tuf_metadata.layout import IMAGE_TARGETS

if TYPE_CHECKING:
    from builder.rebuilder_policy import RebuilderDecision, RebuilderPolicy
    from tuf_metadata.client.fetcher import UrllibFetcher
    from tuf_metadata.client.packages import FetchedImage
    from tuf_metadata.client.updater import Updater


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


def require_rebuilders(
    updater: Updater, policy: RebuilderPolicy, decisions: list[RebuilderDecision],
    package: str, version: str, target: str, sha256: str,
) -> None:
    """Fetch every trusted rebuilder's attestation of this image through the verifying
    client and apply the operator's rule (builder.rebuilder_policy.judge); refuse by
    raising RepoToolError with the decision's one line, before anything is written."""
    from builder.rebuilder_policy import ImageUnderReview, RebuilderAttestation, judge
    from tuf_metadata.client.attestations import fetch_attestations

    named = sorted(policy.named) if policy.named is not None else None
    found = fetch_attestations(updater, package, version, target, named)
    decision = judge(
        ImageUnderReview(package, version, target, sha256),
        [RebuilderAttestation(a.rebuilder, a.keys, a.envelope) for a in found.found],
        policy, found.delegated,
    )
    unverifiable = "; ".join(f"{name}: role or file does not verify ({why})"
                             for name, why in found.unverifiable)
    if unverifiable:
        decision = replace(decision, reason=f"{decision.reason}; {unverifiable}")
    if not decision.accepted:
        raise RepoToolError(f"refused: {decision.reason}")
    decisions.append(decision)


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
    rebuilders = data.get("rebuilders")
    if rebuilders is not None:
        lines.append(f"  rebuilders: {rebuilders['reason']}")
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
@click.option("--require-rebuilders", "required", type=click.IntRange(min=1), metavar="K",
              help="Write the image only if K distinct rebuilders the repository delegates "
              "attest, through TUF, that they rebuilt exactly this image (docs/rebuilder.md).")
@click.option("--rebuilder", "rebuilders", multiple=True, metavar="NAME",
              help="With --require-rebuilders: count only this rebuilder (repeatable).")
@click.option("--allow-disagreement", is_flag=True,
              help="With --require-rebuilders: accept even if a trusted rebuilder attests "
              "another image or an unreproducible build.")
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
    required: int | None,
    rebuilders: tuple[str, ...],
    allow_disagreement: bool,
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
    writes it. With --require-rebuilders K it first fetches the attestations of every
    rebuilder role (each verified through TUF, its DSSE signature against that role's
    keys) and writes the image only if K distinct rebuilders confirm this exact sha256
    and none disagrees (unless --allow-disagreement). The repository is --remote NAME,
    --url URL with --root FILE, or else $UNIREPO_URL/$UNIREPO_ROOT, $UNIREPO_REMOTE or
    the default remote (`repo-tool remote`). Exits 1 with one line saying what was refused.
    """
    if source and target is not None:
        raise click.UsageError("--source fetches the source archive; --target is for images")
    if required is None and (rebuilders or allow_disagreement):
        raise click.UsageError("--rebuilder and --allow-disagreement go with --require-rebuilders")
    if required is not None and source:
        raise click.UsageError("rebuilders attest images; --require-rebuilders is not for --source")
    policy = None
    if required is not None:
        from builder.rebuilder_policy import RebuilderPolicy

        policy = RebuilderPolicy(required, frozenset(rebuilders) or None, allow_disagreement)
    decisions: list[RebuilderDecision] = []
    # The verifying client (and python-tuf under it) loads only when a fetch runs.
    from tuf_metadata.client.catalog import fetch_source
    from tuf_metadata.client.packages import fetch_image

    connection = connect(remote_name, repo_url, root_file, mirrors, metadata_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    if source:
        fetched, used = connection.first_verified(
            lambda updater: fetch_source(updater, name, output_dir, version=version))
    else:
        def attempt(updater: Updater) -> FetchedImage:
            def check(package: str, release: str, image_target: str, sha256: str) -> None:
                assert policy is not None
                require_rebuilders(updater, policy, decisions, package, release, image_target,
                                   sha256)

            return fetch_image(updater, name, output_dir, version=version,
                               target=target or "hvt", accept=check if policy else None)

        fetched, used = connection.first_verified(attempt)
    data = {**_as_dict(fetched, connection.fetcher), "mirror": used,
            "remote": connection.remote.name}
    if decisions:
        decision = decisions[-1]
        data["rebuilders"] = {
            "required": required, "confirmed_by": list(decision.confirmed_by),
            "disagreed": list(decision.disagreed), "reason": decision.reason,
        }
    click.echo(json.dumps(data, indent=2) if as_json else _as_text(data))
