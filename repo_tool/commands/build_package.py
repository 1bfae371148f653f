"""`repo-tool build-package` (authors, rebuilders): build a package manifest from a source tree.

It builds each image twice (build B varied in everything reprotest varies), compares,
blames, writes build info, attestations and the dashboard, and prints the image hashes an
author signs. Exit statuses: repo_tool.commands.build_common.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from builder.archive import archive_from_tree
from builder.manifest import parse_manifest
from builder.pipeline import TargetResult, verify_package
from builder.plan import read_package_tree, resolve, solo5_requests
from builder.status import BuildStatus
from fsio import atomic_write
from repo_tool.commands.build_common import (
    INDEX_OPTION,
    DoubleBuildChoices,
    check_build_host,
    double_build_options,
    exit_status,
    manifest_path,
    optional_signer,
    output_options,
    package_index,
    results_table,
    run_with_progress,
    show_failures,
    tree_option,
    with_progress,
)
from repo_tool.commands.keys import passphrase_options
from repo_tool.commands.options import JSON_OPTION
from reports.dashboard import row_from_result, update_dashboard
from signing.intoto_layout import AUTHOR_STEP, REBUILD_STEP


def register(group: click.Group) -> None:
    group.add_command(build_package)


@click.command("build-package")
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@tree_option("Source tree the manifest's paths are relative to.")
@INDEX_OPTION
@click.option(
    "--target", "targets", multiple=True, help="Build only this Solo5 target (repeatable)."
)
@output_options(
    "build-out",
    out_help="Where images and reports go.",
    dashboard_help="Dashboard directory to update [default: OUT].",
    cache_help="Cache of verified builds keyed by the hash of all inputs.",
)
@double_build_options
@click.option("--link-step", type=click.Choice([AUTHOR_STEP, REBUILD_STEP]), default=AUTHOR_STEP,
              show_default=True, help="The in-toto layout step the signed link is for: the "
              "package's author, or an independent rebuilder.")
@passphrase_options
@JSON_OPTION
def build_package(
    manifest: Path,
    tree: Path,
    index_dir: Path | None,
    targets: tuple[str, ...],
    out_dir: Path,
    dashboard_dir: Path | None,
    cache_dir: Path | None,
    double_build: DoubleBuildChoices,
    link_step: str,
    passphrase_env: str | None,
    passphrase_file: Path | None,
    insecure_plaintext: bool,
    as_json: bool,
) -> None:
    """Build package MANIFEST twice (B varied), compare bit for bit, report.

    MANIFEST is a manifest.json or its directory (packages/NAME/VERSION). The
    deterministic source archive is written to OUT/NAME/VERSION/NAME-VERSION.tar.gz;
    the printed sha256 per target is what an author signs. Exit status 0 if
    every image is reproducible, 3 if one is not, 4 if a build failed.
    """
    check_build_host()
    console = Console(stderr=True)
    parsed = parse_manifest(manifest_path(manifest).read_bytes())
    index = package_index(index_dir or tree / "packages", console)
    package = read_package_tree(parsed, tree)
    deps = [read_package_tree(d, tree) for d in resolve(parsed, index.manifests)]
    variations = double_build.variations()
    options = double_build.build_options(
        cache_dir,
        optional_signer(double_build.key, passphrase_env, passphrase_file, insecure_plaintext),
        link_step,
    )
    archive = out_dir / parsed.name / parsed.version / f"{parsed.ident}.tar.gz"
    atomic_write(archive, archive_from_tree(tree, parsed.sources, parsed.source_date_epoch))
    if parsed.kind == "library":
        click.echo(f"source archive: {archive}")
        click.echo(f"{parsed.ident} is a library: its sources are built into its dependents")
        return
    requests = solo5_requests(package, deps, list(targets) or None)

    def work(step: Any, advance: Any) -> list[TargetResult]:
        results = []
        for request in requests:
            results += verify_package(
                [request], package, deps, variations, out_dir, with_progress(options, step)
            )
            advance()
        return results

    results = run_with_progress(console, f"building {parsed.ident}", len(requests), work, as_json)
    dashboard = dashboard_dir or out_dir
    update_dashboard(dashboard, [row_from_result(r.to_json(), dashboard) for r in results])
    if as_json:
        click.echo(
            json.dumps(
                {"archive": str(archive), "results": [r.to_json() for r in results]}, indent=2
            )
        )
    else:
        Console().print(results_table(results, None))
        for r in results:
            if r.sha256:
                click.echo(f"{r.package}.{r.target} sha256={r.sha256} length={r.size}")
        click.echo(f"source archive: {archive}")
        click.echo(f"dashboard: {dashboard / 'index.html'}")
    show_failures(results)
    bad = [r for r in results if r.status != BuildStatus.REPRODUCIBLE]
    if bad:
        click.echo(
            f"error: {len(bad)} of {len(results)} images not reproducible: "
            f"{bad[0].target}: {bad[0].status}: {bad[0].reason}",
            err=True,
        )
        raise SystemExit(exit_status([r.status for r in results]))

