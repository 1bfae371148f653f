"""`repo-tool rebuild`: an independent rebuilder re-verifies published releases.

Everything comes through the verifying client (tuf_metadata.client.published):
each release's manifest, source archive and image hashes, the author's build
info when the release ships it, and the published manifest and archive of every
library it depends on. builder.rebuild double-builds and compares; this module
downloads, writes the attestations and prints. Exit statuses as `repo-tool
build` (README "Exit statuses"): 0 every image confirmed, 3 an image not
confirmed (mismatch, unreproducible) or a release that could not be rebuilt
(archive, manifest, a dependency that cannot be fetched), 4 a build failed,
1 the command could not run.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from builder.errors import BuildError
from builder.pipeline import BuildOptions, TargetResult
from builder.reference import Reference, toolchain_of_buildinfo
from builder.status import BuildStatus
from builder.variations import Variation
from fsio import atomic_write
from repo_tool.commands.build_common import (
    EXIT_BUILD_FAILED,
    EXIT_REFUSED,
    check_build_host,
    optional_signer,
    show_failures,
    variations_of,
)
from repo_tool.commands.farm_rebuild import farm_options
from repo_tool.commands.intoto import invocation
from repo_tool.commands.keys import online_passphrase_options, passphrase_options
from signing.intoto_layout import REBUILD_STEP

if TYPE_CHECKING:
    from builder.farm.rebuild import FarmRebuilder
    from tuf_metadata.client.published import PublishedRelease
    from tuf_metadata.client.updater import Updater


def register(group: click.Group) -> None:
    group.add_command(rebuild)


def outcome(result: TargetResult, published: str) -> str:
    """One word for the summary: what this rebuild says about the published image."""
    if result.status != BuildStatus.REPRODUCIBLE:
        return str(result.status)
    if result.sha256 == published:
        return "confirmed"
    return "mismatch (toolchain differs)" if result.toolchain == "differs" else "mismatch"


def _reference(
    updater: Updater, release: PublishedRelease, target: str, inputs_dir: Path
) -> Reference:
    """The published image of TARGET and, if the release ships it, the author's toolchain."""
    from tuf_metadata.client.published import fetch_release_file
    from tuf_metadata.errors import TufError
    from tuf_metadata.layout import buildinfo_file_name as buildinfo_name

    image = release.images[target]
    toolchain = None
    if buildinfo_name(target) in release.files:
        try:
            document = json.loads(
                fetch_release_file(updater, release, buildinfo_name(target), inputs_dir))
            toolchain = toolchain_of_buildinfo(document)
        except (TufError, BuildError, ValueError) as error:
            click.echo(f"warning: {release.package} {release.version}: "
                       f"{buildinfo_name(target)}: {str(error).splitlines()[0]} "
                       "(toolchain unknown)", err=True)
    return Reference(image.sha256, image.length, toolchain)


def _dependency_source(
    updater: Updater, inputs_dir: Path
) -> Callable[[str, str], tuple[bytes, bytes]]:
    """The published manifest and source archive of a library release, verified."""
    from tuf_metadata.client.catalog import source_archive_name
    from tuf_metadata.client.published import fetch_release_file, package_releases
    from tuf_metadata.errors import TufError

    def published(name: str, version: str) -> tuple[bytes, bytes]:
        try:
            release = next(
                (r for r in package_releases(updater, name) if r.version == version), None)
            if release is None:
                raise BuildError(f"{name} {version} is not published")
            directory = inputs_dir / "dependencies" / name / version
            return (
                fetch_release_file(updater, release, "manifest.json", directory),
                fetch_release_file(updater, release, source_archive_name(name, version),
                                   directory),
            )
        except (TufError, BuildError) as error:
            raise BuildError(
                f"dependency {name} {version}: its published source archive cannot be "
                f"fetched ({str(error).splitlines()[0]})") from None

    return published


def _rebuild_one(
    updater: Updater, release: PublishedRelease, out: Path, options: BuildOptions,
    variations: Sequence[Variation],
    farm: FarmRebuilder | None = None,
) -> tuple[list[TargetResult], dict[str, Reference]]:
    from builder.rebuild import PublishedInputs, rebuild_release
    from tuf_metadata.client.catalog import source_archive_name
    from tuf_metadata.client.published import fetch_release_file
    from tuf_metadata.errors import TufError

    inputs_dir = out / "published" / release.package / release.version
    try:
        manifest = fetch_release_file(updater, release, "manifest.json", inputs_dir)
        archive = fetch_release_file(
            updater, release, source_archive_name(release.package, release.version), inputs_dir)
        references = {
            target: _reference(updater, release, target, inputs_dir) for target in release.images
        }
    except TufError as error:
        raise BuildError(str(error).splitlines()[0]) from None

    def published_image(target: str) -> Path | None:
        try:
            fetch_release_file(updater, release, f"{release.package}.{target}", inputs_dir)
        except TufError as error:
            click.echo(f"warning: published {release.package}.{target}: {error} "
                       "(no diffoscope report)", err=True)
            return None
        return inputs_dir / f"{release.package}.{target}"

    results = (farm.rebuild_release if farm is not None else rebuild_release)(
        PublishedInputs(release.package, release.version, manifest, archive, references),
        _dependency_source(updater, inputs_dir), variations, out / "builds", options,
        published_image,
    )
    return results, references


@click.command("rebuild")
@click.option("--repo-url", required=True, metavar="URL",
              help="Repository base URL (serves metadata/ and targets/).")
@click.option("--root", "root_file", required=True,
              type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Root metadata of the repository, trusted out of band.")
@click.option("--key", required=True, type=click.Path(exists=True, dir_okay=False,
                                                      path_type=Path),
              help="The rebuilder's private key: signs every attestation.")
@click.option("--name", required=True,
              help="The rebuilder's name (its role is rebuilder-NAME).")
@click.option("--package", "packages", multiple=True, metavar="NAME",
              help="Rebuild only this package's releases (repeatable) [default: every one].")
@click.option("--since", type=click.IntRange(1), metavar="SNAPSHOT_VERSION",
              help="Only packages released after this snapshot version.")
@click.option("--out", "out_dir", default="rebuild-out", show_default=True,
              type=click.Path(file_okay=False, path_type=Path),
              help="Attestations (OUT/attestations/...), reports (OUT/builds/) and the "
                   "verified inputs (OUT/published/).")
@click.option("--metadata-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Trusted metadata kept between runs [default: OUT/metadata].")
@click.option("--only", help="Comma-separated variations for build B [default: all].")
@click.option("--skip", multiple=True, help="Do not apply this variation (repeatable).")
@click.option("--no-blame", is_flag=True, help="On a mismatch, do not search for the culprit.")
@click.option("--submit", "submit_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Then publish this run's attestations in the repository at this directory "
                   "(Repository.submit_attestations, as `repo-tool rebuilder submit`).")
@farm_options
@online_passphrase_options
@passphrase_options
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary.")
def rebuild(
    repo_url: str,
    root_file: Path,
    key: Path,
    name: str,
    packages: tuple[str, ...],
    since: int | None,
    out_dir: Path,
    metadata_dir: Path | None,
    only: str | None,
    skip: tuple[str, ...],
    no_blame: bool,
    submit_dir: Path | None,
    farm: FarmRebuilder | None,
    online_passphrase: str | None,
    passphrase_env: str | None,
    passphrase_file: Path | None,
    insecure_plaintext: bool,
    as_json: bool,
) -> None:
    """Rebuild published releases from their signed inputs and sign an attestation for each image.

    Every release (or --package NAME, or those published after snapshot --since N)
    is fetched through the verifying client, each image double-built in the sandbox
    under the rebuilder's own build path and user, compared with the published hash,
    and the signed verdict written to OUT/attestations/PACKAGE/VERSION/TARGET/NAME.intoto.jsonl.
    Exit status 0 if every image was confirmed, 3 if one was not (or a release could
    not be rebuilt), 4 if a build failed.
    """
    from repo_tool.commands.client_options import connect
    from tuf_metadata import layout
    from tuf_metadata.client.published import published_releases

    layout.validate_rebuilder_name(name)
    check_build_host()
    signer = optional_signer(key, passphrase_env, passphrase_file, insecure_plaintext)
    if signer is None:
        raise BuildError("the rebuilder key (--key) signs every attestation")
    connection = connect(None, repo_url, root_file, (), metadata_dir or out_dir / "metadata")
    from builder.rebuild import rebuilder_conditions

    variations = variations_of(only, skip)

    def progress(message: str) -> None:
        click.echo(f"rebuild: {message}", err=True)

    options = BuildOptions(
        signer=signer,
        builder_id=layout.rebuilder_role(name),
        find_culprits=not no_blame,
        link_step=REBUILD_STEP,
        command=invocation(click.get_current_context()),
        progress=progress,
        control=rebuilder_conditions(name),
    )
    (updater, releases), _ = connection.first_verified(
        lambda u: (u, published_releases(u, packages, since)))
    wanted = [r for r in releases if r.images]
    progress(f"{len(wanted)} releases with images to rebuild")
    summary: list[dict[str, Any]] = []
    attestations: dict[str, bytes] = {}  # target path -> file bytes, for --submit
    statuses: list[int] = []
    all_results: list[TargetResult] = []
    for index, release in enumerate(wanted, 1):
        progress(f"[{index}/{len(wanted)}] {release.package} {release.version}: "
                 f"{', '.join(sorted(release.images))}")
        try:
            results, references = _rebuild_one(updater, release, out_dir, options, variations,
                                               farm)
        except BuildError as error:
            line = f"{release.package} {release.version}: {str(error).splitlines()[0]}"
            click.echo(f"error: {line}", err=True)
            summary.append({"package": release.package, "version": release.version,
                            "error": line, "targets": []})
            statuses.append(EXIT_REFUSED)
            continue
        targets = []
        for result in results:
            published = references[result.target].sha256
            attestation = None
            if result.provenance is not None:
                from builder.rebuild import attestation_bytes
                from builder.verdict import SignedResult

                target_path = layout.attestation_path(
                    release.package, release.version, result.target, name)
                data = attestation_bytes(SignedResult.load(Path(result.provenance)))
                atomic_write(out_dir / target_path, data, 0o644)
                attestations[target_path] = data
                attestation = str(out_dir / target_path)
            said = outcome(result, published)
            progress(f"{release.package} {release.version} {result.target}: {said}")
            statuses.append(0 if said == "confirmed" else
                            EXIT_BUILD_FAILED if result.status == BuildStatus.FAILED
                            else EXIT_REFUSED)
            targets.append({
                "target": result.target, "outcome": said, "status": str(result.status),
                "reason": result.reason, "sha256": result.sha256, "published_sha256": published,
                "toolchain": result.toolchain, "attestation": attestation,
                "link": result.link, "reports": result.out_dir, "diffoscope": result.diffoscope,
                "culprits": list(result.culprits),
            })
            all_results.append(result)
        summary.append({"package": release.package, "version": release.version,
                        "error": None, "targets": targets})
    submitted = 0
    if submit_dir is not None and attestations:
        from tuf_metadata.repository import Repository

        progress(f"submitting {len(attestations)} attestations to {submit_dir}")
        Repository(submit_dir, online_passphrase).submit_attestations(
            name, attestations, [signer])
        submitted = len(attestations)
        from repo_tool.attested_dashboard import refresh_attestations

        warning = refresh_attestations(submit_dir)  # the dashboard's "reproduced by"
        if warning:
            click.echo(f"warning: {warning}", err=True)
    if as_json:
        click.echo(json.dumps({"rebuilder": name, "releases": summary, "submitted": submitted},
                              indent=2))
    else:
        for entry in summary:
            if entry["error"]:
                click.echo(f"not rebuilt: {entry['error']}")
            for t in entry["targets"]:
                click.echo(f"{t['outcome']}: {entry['package']} {entry['version']} "
                           f"{t['target']}: {t['reason']}")
        click.echo(f"attestations: {out_dir / layout.ATTESTATIONS_DIR}"
                   + (f" ({submitted} submitted to {submit_dir})" if submit_dir else ""))
    show_failures(all_results)
    status = max(statuses, default=0, key=lambda s: {0: 0, EXIT_REFUSED: 1}.get(s, 2))
    if status:
        raise SystemExit(status)
