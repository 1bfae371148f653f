"""Builder commands: `repo-tool build-package` (authors, rebuilders) and `repo-tool build` (gate).

build-package builds a package manifest from a source tree twice (build B
varied in everything reprotest varies), compares, blames, writes build info,
attestations and the dashboard, and prints the image hashes an author signs.

build is the publish gate over the repository's staging area: a staged
release is published only if, for every image, both builds are identical
AND equal to the hash its authors signed; otherwise it stays staged with the
reports and a one-line reason.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from builder.archive import archive_from_tree, read_archive
from builder.errors import BuildError
from builder.manifest import Manifest, parse_manifest
from builder.pipeline import TargetResult, verify_package
from builder.plan import Package, load_index, read_package_tree, resolve, solo5_requests
from builder.sandbox import missing_programs
from builder.variations import Variation, select, variation_names
from fsio import atomic_write
from repo_tool.commands.keys import passphrase_options, passphrase_source
from reports.dashboard import row_from_result, update_dashboard

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")


def double_build_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `build` and `build-package`: variations, blame, attestation."""
    for option in reversed((
        click.option("--only", help="Comma-separated variations for build B [default: all]."),
        click.option("--skip", multiple=True, help="Do not apply this variation (repeatable)."),
        click.option("--no-blame", is_flag=True,
                     help="On a mismatch, do not search for the culprit."),
        click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Builder private key: sign an in-toto link and SLSA provenance "
                          "per image."),
        click.option("--builder-id", default="unirepo-builder", show_default=True,
                     help="Who built it (shown as 'reproduced by')."),
    )):
        command = option(command)
    return command


def register(group: click.Group) -> None:
    group.add_command(build_package)
    group.add_command(build)


def _variations(only: str | None, skip: tuple[str, ...]) -> tuple[Variation, ...]:
    cpus = os.cpu_count() or 1
    chosen = select(only.split(",") if only else None, cpus)
    unknown = set(skip) - set(variation_names(cpus))
    if unknown:
        raise BuildError(f"unknown variation(s): {', '.join(sorted(unknown))}")
    return tuple(v for v in chosen if v.name not in skip)


def _signer(key: Path | None, env: str | None, file: Path | None, insecure: bool) -> Any:
    if key is None:
        return None
    from signing.keys import load_signer

    return load_signer(key, passphrase_source(env, file, insecure))


def _check_host() -> None:
    missing = missing_programs()
    if missing:
        raise BuildError(f"the builder needs {', '.join(missing)} (install: make deps)")
    if os.geteuid() != 0:
        raise BuildError("the builder runs as root (UTS namespace names, disorderfs mounts)")


def _manifest_path(path: Path) -> Path:
    return path / "manifest.json" if path.is_dir() else path


def _table(results: Sequence[TargetResult], author: dict[tuple[str, str], str] | None) -> Table:
    table = Table(title="builds")
    for column in (
        "package",
        "version",
        "target",
        "status",
        "sha256",
        "size",
        "time (s)",
        "blamed on",
    ):
        table.add_column(column)
    if author is not None:
        table.add_column("author hash")
    for r in results:
        style = {"reproducible": "green", "unreproducible": "red"}.get(r.status, "yellow")
        cells = [
            r.package,
            r.version,
            r.target,
            f"[{style}]{r.status}[/]" + (" (cached)" if r.cached else ""),
            r.sha256 or "-",
            f"{r.size:,}" if r.size else "-",
            f"{r.seconds:.2f}",
            ", ".join(r.culprits) or "-",
        ]
        if author is not None:
            expected = author.get((r.package, r.target))
            cells.append(
                "-" if expected is None else ("match" if expected == r.sha256 else "MISMATCH")
            )
        table.add_row(*cells)
    return table


def _run_with_progress(
    console: Console, label: str, units: int, work: Any, quiet: bool
) -> list[TargetResult]:
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=quiet,
        transient=True,
    ) as progress:
        task = progress.add_task(label, total=units)

        def step(message: str) -> None:
            progress.update(task, description=message)

        results: list[TargetResult] = work(step, lambda: progress.advance(task))
    return results


@click.command("build-package")
@click.argument("manifest", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--tree",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Source tree the manifest's paths are relative to.",
)
@click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Package index for dependencies [default: TREE/packages].",
)
@click.option(
    "--target", "targets", multiple=True, help="Build only this Solo5 target (repeatable)."
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default="build-out",
    show_default=True,
    help="Where images and reports go.",
)
@click.option(
    "--dashboard",
    "dashboard_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Dashboard directory to update [default: OUT].",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache of verified builds keyed by the hash of all inputs.",
)
@double_build_options
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
    only: str | None,
    skip: tuple[str, ...],
    no_blame: bool,
    key: Path | None,
    builder_id: str,
    passphrase_env: str | None,
    passphrase_file: Path | None,
    insecure_plaintext: bool,
    as_json: bool,
) -> None:
    """Build package MANIFEST twice (B varied), compare bit for bit, report.

    MANIFEST is a manifest.json or its directory (packages/NAME/VERSION). The
    deterministic source archive is written to OUT/NAME/VERSION/NAME-VERSION.tar.gz;
    the printed sha256 per target is what an author signs. Exit status 1 if
    any image is not reproducible.
    """
    _check_host()
    console = Console(stderr=True)
    parsed = parse_manifest(_manifest_path(manifest).read_bytes())
    index = load_index(index_dir or tree / "packages")
    package = read_package_tree(parsed, tree)
    deps = [read_package_tree(d, tree) for d in resolve(parsed, index)]
    variations = _variations(only, skip)
    signer = _signer(key, passphrase_env, passphrase_file, insecure_plaintext)
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
                [request],
                package,
                deps,
                variations,
                out_dir,
                cache_dir=cache_dir,
                signer=signer,
                builder_id=builder_id,
                find_culprits=not no_blame,
                progress=step,
            )
            advance()
        return results

    results = _run_with_progress(console, f"building {parsed.ident}", len(requests), work, as_json)
    dashboard = dashboard_dir or out_dir
    update_dashboard(dashboard, [row_from_result(r.to_json(), dashboard) for r in results])
    if as_json:
        click.echo(
            json.dumps(
                {"archive": str(archive), "results": [r.to_json() for r in results]}, indent=2
            )
        )
    else:
        Console().print(_table(results, None))
        for r in results:
            if r.sha256:
                click.echo(f"{r.package}.{r.target} sha256={r.sha256} length={r.size}")
        click.echo(f"source archive: {archive}")
        click.echo(f"dashboard: {dashboard / 'index.html'}")
    bad = [r for r in results if r.status != "reproducible"]
    if bad:
        raise BuildError(f"{len(bad)} of {len(results)} images not reproducible: {bad[0].reason}")


def _staged_package(
    manifest_bytes: bytes, archive_bytes: bytes, package: str, version: str
) -> Package:
    manifest: Manifest = parse_manifest(manifest_bytes)
    if (manifest.name, manifest.version) != (package, version):
        raise BuildError(f"staged {package} {version} carries a manifest of {manifest.ident}")
    files = read_archive(archive_bytes)
    missing = sorted(set(manifest.sources) - set(files))
    extra = sorted(set(files) - set(manifest.sources))
    if missing or extra:
        raise BuildError(
            f"source archive does not match the manifest "
            f"(missing {missing[:3]}, undeclared {extra[:3]})"
        )
    return Package(manifest, files)


def _target_of(path: str) -> str:
    return path.rsplit(".", 1)[-1]


@click.command("build")
@click.option(
    "--repo",
    "-r",
    "repo_dir",
    envvar="REPO_TOOL_REPO",
    default=".",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Repository directory (env REPO_TOOL_REPO).",
)
@click.option(
    "--tree",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    default=".",
    show_default=True,
    help="Source tree holding dependency sources.",
)
@click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Package index for dependencies [default: TREE/packages].",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Build outputs and reports [default: REPO/builds].",
)
@click.option(
    "--dashboard",
    "dashboard_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Dashboard directory [default: REPO/dashboard].",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache of verified builds [default: REPO/build-cache].",
)
@double_build_options
@click.option(
    "--online-passphrase",
    metavar="SOURCE",
    help="Passphrase source of the online snapshot/timestamp keys.",
)
@passphrase_options
@JSON_OPTION
def build(
    repo_dir: Path,
    tree: Path,
    index_dir: Path | None,
    out_dir: Path | None,
    dashboard_dir: Path | None,
    cache_dir: Path | None,
    only: str | None,
    skip: tuple[str, ...],
    no_blame: bool,
    key: Path | None,
    builder_id: str,
    online_passphrase: str | None,
    passphrase_env: str | None,
    passphrase_file: Path | None,
    insecure_plaintext: bool,
    as_json: bool,
) -> None:
    """Publish gate: build every staged release twice; publish only exact, author-matching images.

    Rejected releases stay staged with a one-line reason (see `repo-tool staging`)
    and their diffoscope reports; the dashboard shows every decision.
    """
    from tuf_metadata.errors import TufError
    from tuf_metadata.repository import Repository

    _check_host()
    console = Console(stderr=True)
    repo = Repository(repo_dir, online_passphrase)
    out = out_dir or repo_dir / "builds"
    dashboard = dashboard_dir or repo_dir / "dashboard"
    cache = cache_dir or repo_dir / "build-cache"
    variations = _variations(only, skip)
    signer = _signer(key, passphrase_env, passphrase_file, insecure_plaintext)
    index = (
        load_index(index_dir or tree / "packages")
        if (index_dir or tree / "packages").is_dir()
        else {}
    )
    staged = repo.staged_releases()
    decisions: list[dict[str, Any]] = []
    all_results: list[TargetResult] = []
    author: dict[tuple[str, str], str] = {}

    def work(step: Any, advance: Any) -> list[TargetResult]:
        for release in staged:
            step(f"{release.package} {release.version}")
            report_dir = out / release.package / release.version
            results: list[TargetResult] = []
            expected = {
                _target_of(path): tf.hashes.get("sha256", "")
                for path, tf in release.image_targets.items()
            }
            for target, digest in expected.items():
                author[(release.package, target)] = digest
            try:
                package = _staged_package(
                    release.manifest.read_bytes(),
                    release.source_archive.read_bytes(),
                    release.package,
                    release.version,
                )
                deps = [read_package_tree(d, tree) for d in resolve(package.manifest, index)]
                requests = solo5_requests(package, deps, sorted(expected))
                results = verify_package(
                    requests,
                    package,
                    deps,
                    variations,
                    out,
                    cache_dir=cache,
                    signer=signer,
                    builder_id=builder_id,
                    find_culprits=not no_blame,
                    progress=step,
                )
                reason = _gate_reason(results, expected, release.image_targets)
            except BuildError as error:
                reason = str(error).splitlines()[0]
            if reason is None:
                built = {
                    path: Path(r.image)
                    for path in release.image_targets
                    for r in results
                    if r.target == _target_of(path) and r.image
                }
                try:
                    repo.publish_release(release, built)
                    decision, reason = "published", "reproducible and equal to the author's hashes"
                except TufError as error:
                    decision, reason = "rejected", str(error).splitlines()[0]
            else:
                decision = "rejected"
            if decision == "rejected":
                # No report directory when nothing was built (e.g. the archive was refused).
                repo.reject_release(release, reason, report_dir if report_dir.is_dir() else None)
            decisions.append(
                {
                    "package": release.package,
                    "version": release.version,
                    "decision": decision,
                    "reason": reason,
                    "reports": str(report_dir) if report_dir.is_dir() else None,
                }
            )
            update_dashboard(
                dashboard,
                [
                    row_from_result(
                        r.to_json(),
                        dashboard,
                        author_sha256=expected.get(r.target),
                        decision=decision,
                    )
                    for r in results
                ],
            )
            all_results.extend(results)
            advance()
        return all_results

    _run_with_progress(console, "publish gate", len(staged), work, as_json)
    if as_json:
        click.echo(
            json.dumps(
                {"decisions": decisions, "results": [r.to_json() for r in all_results]}, indent=2
            )
        )
        return
    if not staged:
        click.echo("staging is empty: nothing to build")
        return
    Console().print(_table(all_results, author))
    for d in decisions:
        click.echo(f"{d['decision']}: {d['package']} {d['version']}: {d['reason']}")


def _gate_reason(
    results: Sequence[TargetResult], expected: dict[str, str], image_targets: dict[str, Any]
) -> str | None:
    """None if every image is reproducible and equals the author's; else the first problem."""
    by_target = {r.target: r for r in results}
    for target, digest in sorted(expected.items()):
        result = by_target.get(target)
        if result is None:
            return f"{target}: not built"
        if result.status != "reproducible":
            return f"{target}: {result.status}: {result.reason}"
        if result.sha256 != digest:
            built = (result.sha256 or "")[:16]
            return f"{target}: builds agree ({built}) but differ from the author's {digest[:16]}"
        lengths = {_target_of(p): tf.length for p, tf in image_targets.items()}
        if result.size != lengths.get(target):
            return (
                f"{target}: image is {result.size} bytes, the author signed {lengths.get(target)}"
            )
    return None
