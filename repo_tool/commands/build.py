"""Builder commands: `repo-tool build-package` (authors, rebuilders) and `repo-tool build` (gate).

build-package builds a package manifest from a source tree twice (build B
varied in everything reprotest varies), compares, blames, writes build info,
attestations and the dashboard, and prints the image hashes an author signs.

build is the publish gate over the repository's staging area: it builds every
staged release, reads back the signed build results, and asks
builder.gate.gate() whether to publish. This module only does the I/O.

Exit statuses of both commands (also in README and docs/builder.md):
0 everything was reproducible (build: published) or nothing was staged;
3 some image was refused: unreproducible, not the author's bytes, or a
release refused before building; 4 some build failed (compile error, resource
limit; the log's last lines and path are shown); 1 the command could not run.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from securesystemslib.signer import Signer

from builder.archive import archive_from_tree
from builder.errors import BuildError
from builder.gate import (
    AuthorRelease,
    Decision,
    GatePolicy,
    Refusal,
    TargetDecision,
    gate,
    refused,
)
from builder.manifest import parse_manifest
from builder.pipeline import BuildOptions, TargetResult, log_tail, verify_package
from builder.plan import (
    PackageIndex,
    PublishedSource,
    published_dependencies,
    read_package_tree,
    resolve,
    scan_index,
    solo5_requests,
    staged_package,
)
from builder.publication import PUBLISHED, REJECTED, decision_record
from builder.sandbox import missing_programs
from builder.status import BuildStatus
from builder.variations import Variation, select, variation_names
from builder.verdict import SignedResult, VerdictError
from fsio import atomic_write
from repo_tool.commands.intoto import invocation
from repo_tool.commands.keys import (
    online_passphrase_options,
    passphrase_options,
    passphrase_source,
)
from repo_tool.commands.settle_release import author_release, settle_release
from reports.dashboard import row_from_result, update_dashboard
from signing.intoto_layout import AUTHOR_STEP, BUILDER_STEP, REBUILD_STEP

if TYPE_CHECKING:
    from tuf_metadata.repository import Repository, StagedRelease

JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
EXIT_REFUSED = 3  # some image unreproducible, not the author's, or the release refused
EXIT_BUILD_FAILED = 4  # some build failed (compiler error, resource limit)
STATUS_STYLE = {BuildStatus.REPRODUCIBLE: "green", BuildStatus.UNREPRODUCIBLE: "red"}


def double_build_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by `build` and `build-package`: variations, blame, attestation."""
    for option in reversed((
        click.option("--only", help="Comma-separated variations for build B [default: all]."),
        click.option("--skip", multiple=True, help="Do not apply this variation (repeatable)."),
        click.option("--no-blame", is_flag=True,
                     help="On a mismatch, do not search for the culprit."),
        click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="Builder private key: signs every verdict (SLSA provenance in DSSE) "
                          "and an in-toto link per image; the cache trusts only its verdicts."),
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


def _signer(key: Path | None, env: str | None, file: Path | None, insecure: bool) -> Signer | None:
    if key is None:
        return None
    from signing.keys import load_signer

    signer: Signer = load_signer(key, passphrase_source(env, file, insecure))
    return signer


def _check_host() -> None:
    missing = missing_programs()
    if missing:
        raise BuildError(f"the builder needs {', '.join(missing)} (install: make deps)")
    if os.geteuid() != 0:
        raise BuildError("the builder runs as root (UTS namespace names, disorderfs mounts)")


def _manifest_path(path: Path) -> Path:
    return path / "manifest.json" if path.is_dir() else path


def _index(packages_dir: Path, console: Console) -> PackageIndex:
    """The package index; each malformed manifest is reported and skipped, not fatal."""
    if not packages_dir.is_dir():
        return PackageIndex({}, {})
    index = scan_index(packages_dir)
    for path, problem in index.broken.items():
        console.print(f"[yellow]warning[/]: skipping {path}: {problem}", highlight=False)
    return index


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
        style = STATUS_STYLE.get(r.status, "yellow")
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


def _show_failures(results: Sequence[TargetResult]) -> None:
    """For every failed build: the log's path and its last lines (the compiler's error)."""
    for r in results:
        if r.status != BuildStatus.FAILED or r.failed_log is None:
            continue
        click.echo(f"{r.package} {r.version} {r.target}: {r.reason}", err=True)
        click.echo(f"  log: {r.failed_log}", err=True)
        for line in log_tail(Path(r.failed_log)):
            click.echo(f"  | {line}", err=True)


def _exit_status(statuses: Sequence[BuildStatus | Refusal | None]) -> int:
    if any(s in (BuildStatus.FAILED, Refusal.FAILED) for s in statuses):
        return EXIT_BUILD_FAILED
    if any(s not in (None, BuildStatus.REPRODUCIBLE) for s in statuses):
        return EXIT_REFUSED
    return 0


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
    only: str | None,
    skip: tuple[str, ...],
    no_blame: bool,
    key: Path | None,
    builder_id: str,
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
    _check_host()
    console = Console(stderr=True)
    parsed = parse_manifest(_manifest_path(manifest).read_bytes())
    index = _index(index_dir or tree / "packages", console)
    package = read_package_tree(parsed, tree)
    deps = [read_package_tree(d, tree) for d in resolve(parsed, index.manifests)]
    variations = _variations(only, skip)
    options = BuildOptions(
        cache_dir=cache_dir,
        signer=_signer(key, passphrase_env, passphrase_file, insecure_plaintext),
        builder_id=builder_id,
        find_culprits=not no_blame,
        link_step=link_step,
        command=invocation(click.get_current_context()),
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
                [request], package, deps, variations, out_dir, _with_progress(options, step)
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
    _show_failures(results)
    bad = [r for r in results if r.status != BuildStatus.REPRODUCIBLE]
    if bad:
        click.echo(
            f"error: {len(bad)} of {len(results)} images not reproducible: "
            f"{bad[0].target}: {bad[0].status}: {bad[0].reason}",
            err=True,
        )
        raise SystemExit(_exit_status([r.status for r in results]))


def _with_progress(options: BuildOptions, step: Callable[[str], None]) -> BuildOptions:
    return replace(options, progress=step)


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
    help="Source tree holding dependency sources (--dependencies tree, and the farm).",
)
@click.option(
    "--index",
    "index_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Package index for dependencies [default: TREE/packages].",
)
@click.option(
    "--dependencies", "dependencies_from", type=click.Choice(["published", "tree"]),
    default="published", show_default=True,
    help="Where library dependencies come from: their releases published in the repository "
         "(what rebuilders use), or the local --tree/--index.",
)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Build outputs and reports [default: REPO/public/builds].",
)
@click.option(
    "--dashboard",
    "dashboard_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Dashboard directory [default: REPO/public/dashboard].",
)
@click.option(
    "--cache",
    "cache_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Cache of verified builds [default: REPO/build-cache].",
)
@double_build_options
@click.option("--broker", metavar="URL",
              help="Build on farm workers through this Redis broker (docs/farm.md) instead of "
                   "in-process.")
@click.option("--worker-key", "worker_keys", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Public key of a farm worker whose results count (repeatable; with --broker).")
@click.option("--require-workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Farm: distinct worker keys whose builds must agree (2: no single worker "
                   "can publish alone).")
@click.option("--store", "store_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Farm artifact store shared with the workers [default: REPO/farm-store].")
@click.option("--build-time-limit", default=600.0, show_default=True,
              type=click.FloatRange(0, 86400, min_open=True),
              help="Farm: wall-clock seconds of one build; past it the build fails.")
@click.option("--farm-wait", default=3600, show_default=True, type=click.IntRange(1, 7 * 86400),
              help="Farm: seconds to wait for workers and results before giving up.")
@click.option("--visibility-timeout", default=3600, show_default=True,
              type=click.IntRange(10, 7 * 86400),
              help="Farm: Redis redelivery timeout; the same value as the workers'.")
@online_passphrase_options
@passphrase_options
@JSON_OPTION
def build(
    repo_dir: Path,
    tree: Path,
    index_dir: Path | None,
    dependencies_from: str,
    out_dir: Path | None,
    dashboard_dir: Path | None,
    cache_dir: Path | None,
    only: str | None,
    skip: tuple[str, ...],
    no_blame: bool,
    key: Path | None,
    builder_id: str,
    broker: str | None,
    worker_keys: tuple[Path, ...],
    require_workers: int,
    store_dir: Path | None,
    build_time_limit: float,
    farm_wait: int,
    visibility_timeout: int,
    online_passphrase: str | None,
    passphrase_env: str | None,
    passphrase_file: Path | None,
    insecure_plaintext: bool,
    as_json: bool,
) -> None:
    """Publish gate: build every staged release twice; publish only exact, author-matching images.

    Rejected releases stay staged with a one-line reason (see `repo-tool staging`)
    and their diffoscope reports; the dashboard shows every decision. Exit
    status 0 if everything staged was published (or nothing was staged), 3 if
    a release was refused, 4 if a build failed (its log is shown).
    """
    from tuf_metadata.repo_paths import repository_paths
    from tuf_metadata.repository import Repository

    # The reports are public: they go into the published folder, next to metadata/.
    published = repository_paths(repo_dir)
    if broker is not None:
        _farm(repo_dir, tree, index_dir, out_dir or published.builds, broker, worker_keys,
              require_workers, store_dir, only, skip, build_time_limit, farm_wait,
              visibility_timeout, online_passphrase, as_json, not no_blame,
              dashboard_dir or published.dashboard)
        return
    if worker_keys:
        raise click.UsageError("--worker-key needs --broker")
    _check_host()
    console = Console(stderr=True)
    signer = _signer(key, passphrase_env, passphrase_file, insecure_plaintext)
    if signer is None:
        raise BuildError("the publish gate needs the builder key (--key): it signs every verdict "
                         "and trusts only verdicts signed by it")
    repo = Repository(repo_dir, online_passphrase)
    out = out_dir or published.builds
    dashboard = dashboard_dir or published.dashboard
    variations = _variations(only, skip)
    options = BuildOptions(
        cache_dir=cache_dir or repo_dir / "build-cache",
        signer=signer,
        builder_id=builder_id,
        find_culprits=not no_blame,
        link_step=BUILDER_STEP,
        command=invocation(click.get_current_context()),
    )
    policy = GatePolicy.own_key(signer.public_key)
    index = _index(index_dir or tree / "packages", console)
    if dependencies_from == "published":
        dependencies = _published_source(repo)
    else:
        dependencies = _tree_source(index, tree)
    # Libraries first: a dependent staged in the same run builds from the one just published.
    staged = sorted(repo.staged_releases(), key=lambda r: bool(r.image_targets))
    decisions: list[dict[str, Any]] = []
    all_results: list[TargetResult] = []
    author: dict[tuple[str, str], str] = {}
    severities: list[Refusal | None] = []

    def work(step: Any, advance: Any) -> list[TargetResult]:
        for release in staged:
            step(f"{release.package} {release.version}")
            report_dir = out / release.package / release.version
            signed = author_release(release)
            for target, image in signed.images.items():
                author[(release.package, target)] = image.sha256
            results, decision = _build_and_decide(
                release, signed, dependencies, variations, out, options, policy, step
            )
            built = {r.target: Path(r.image) for r in results if r.image}
            decision = settle_release(repo, release, decision, built, report_dir)
            outcome = PUBLISHED if decision.publish else REJECTED
            severities.append(decision.refusal)
            decisions.append(
                {
                    **decision_record(release.package, release.version, decision),
                    "ignored_results": list(decision.ignored),
                    "reports": str(report_dir) if report_dir.is_dir() else None,
                }
            )
            update_dashboard(
                dashboard,
                [
                    row_from_result(
                        r.to_json(),
                        dashboard,
                        author_sha256=author.get((r.package, r.target)),
                        decision=outcome,
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
                {
                    "decisions": decisions,
                    "results": [r.to_json() for r in all_results],
                    "index_problems": {str(p): m for p, m in index.broken.items()},
                },
                indent=2,
            )
        )
    elif not staged:
        click.echo("staging is empty: nothing to build")
    else:
        Console().print(_table(all_results, author))
        for d in decisions:
            click.echo(f"{d['decision']}: {d['package']} {d['version']}: {d['reason']}")
    _show_failures(all_results)
    status = _exit_status(severities)
    if status:
        raise SystemExit(status)


def _published_source(repo: Repository) -> PublishedSource:
    """A library release's manifest and source archive as the repository published them."""
    from tuf_metadata.errors import TufError

    def published(name: str, version: str) -> tuple[bytes, bytes]:
        try:
            return (repo.published_file(name, version, "manifest.json"),
                    repo.published_file(name, version, f"{name}-{version}.tar.gz"))
        except TufError as error:
            raise BuildError(f"dependency {name} {version}: {str(error).splitlines()[0]} "
                             "(release the library first)") from None

    return published


def _tree_source(index: PackageIndex, tree: Path) -> PublishedSource:
    """`--dependencies tree`: a library's manifest from the index, its archive from the tree."""

    def from_tree(name: str, version: str) -> tuple[bytes, bytes]:
        manifest = index.manifests.get((name, version))
        if manifest is None:
            raise BuildError(f"dependency {name} {version} is not in the index "
                             "(or its manifest is malformed)")
        archive = archive_from_tree(tree, manifest.sources, manifest.source_date_epoch)
        return json.dumps(manifest.to_json()).encode(), archive

    return from_tree


def _build_and_decide(
    release: StagedRelease,
    author: AuthorRelease,
    dependencies: PublishedSource,
    variations: Sequence[Variation],
    out: Path,
    options: BuildOptions,
    policy: GatePolicy,
    step: Callable[[str], None],
) -> tuple[list[TargetResult], Decision]:
    """Build one staged release and read its signed results back; the gate decides.

    A library release has no image: it is published when its archive holds exactly
    its manifest's sources (its dependents then build from that published archive)."""
    try:
        package = staged_package(
            release.manifest.read_bytes(),
            release.source_archive.read_bytes(),
            release.package,
            release.version,
        )
        if package.manifest.kind == "library" and not author.images:
            return [], Decision(True, (TargetDecision(
                "release", True, f"library {package.manifest.ident}: the archive holds exactly "
                "its sources"),))
        deps = published_dependencies(package.manifest, dependencies)
        requests = solo5_requests(package, deps, sorted(author.images))
    except BuildError as error:
        return [], refused("release", Refusal.INVALID, str(error).splitlines()[0])
    try:
        results = verify_package(
            requests, package, deps, variations, out, _with_progress(options, step)
        )
    except BuildError as error:
        return [], refused("release", Refusal.FAILED, str(error).splitlines()[0])
    signed: list[SignedResult] = []
    for r in results:
        if r.provenance is not None:
            try:
                signed.append(SignedResult.load(Path(r.provenance)))
            except VerdictError:
                continue  # unreadable: the gate sees no result for that target
    return results, gate(author, signed, policy)




def _farm(
    repo_dir: Path,
    tree: Path,
    index_dir: Path | None,
    out_dir: Path,
    broker: str,
    worker_keys: tuple[Path, ...],
    require_workers: int,
    store_dir: Path | None,
    only: str | None,
    skip: tuple[str, ...],
    time_limit: float,
    wait: int,
    visibility_timeout: int,
    online_passphrase: str | None,
    as_json: bool,
    find_culprits: bool,
    dashboard: Path,
) -> None:
    """`build --broker`: the gate over results signed by farm workers (see farm_build)."""
    from repo_tool.commands.farm_build import FarmSettings, failed_builds, farm_build
    from repo_tool.commands.farm_rebuild import check_broker_options
    from tuf_metadata.repository import Repository

    check_broker_options(broker, worker_keys)
    repo = Repository(repo_dir, online_passphrase)
    console = Console(stderr=True)
    packages_dir = index_dir or tree / "packages"
    settings = FarmSettings(
        broker=broker,
        worker_keys=worker_keys,
        require_workers=require_workers,
        store=store_dir or repo_dir / "farm-store",
        variations=tuple(v.name for v in _variations(only, skip)),
        time_limit=time_limit,
        wait_seconds=float(wait),
        visibility_timeout=visibility_timeout,
        find_culprits=find_culprits,
        dashboard=dashboard,
    )
    decisions, severities = farm_build(
        repo, settings, _index(packages_dir, console), packages_dir, tree,
        out_dir,
    )
    if as_json:
        click.echo(json.dumps({"decisions": decisions}, indent=2))
    elif not decisions:
        click.echo("staging is empty: nothing to build")
    else:
        for d in decisions:
            click.echo(f"{d['decision']}: {d['package']} {d['version']}: {d['reason']}")
    for line in failed_builds(decisions):
        click.echo(line, err=True)
    status = _exit_status(severities)
    if status:
        raise SystemExit(status)
