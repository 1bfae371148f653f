"""`repo-tool build`: the publish gate (`build-package` is in build_package.py).

build is the publish gate over the repository's staging area: it builds every
staged release, reads back the signed build results, and asks
builder.gate.gate() whether to publish. This module only does the I/O.

Exit statuses: repo_tool.commands.build_common.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from rich.console import Console

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
from builder.pipeline import BuildOptions, TargetResult, verify_package
from builder.plan import (
    PackageIndex,
    PublishedSource,
    published_dependencies,
    solo5_requests,
    staged_package,
)
from builder.publication import PUBLISHED, REJECTED, decision_record
from builder.variations import Variation
from builder.verdict import SignedResult, VerdictError
from repo_tool.commands.build_common import (
    INDEX_OPTION,
    DoubleBuildChoices,
    check_build_host,
    double_build_options,
    exit_status,
    optional_signer,
    output_options,
    package_index,
    results_table,
    run_with_progress,
    show_failures,
    tree_option,
    with_progress,
)
from repo_tool.commands.keys import online_passphrase_options, passphrase_options
from repo_tool.commands.options import JSON_OPTION, REPO_OPTION
from repo_tool.commands.settle_release import author_release, settle_release
from reports.dashboard import row_from_result, update_dashboard
from signing.intoto_layout import BUILDER_STEP

if TYPE_CHECKING:
    from tuf_metadata.repository import Repository, StagedRelease


def register(group: click.Group) -> None:
    group.add_command(build)


@click.command("build")
@REPO_OPTION
@tree_option("Source tree holding dependency sources (--dependencies tree, and the farm).")
@INDEX_OPTION
@click.option(
    "--dependencies", "dependencies_from", type=click.Choice(["published", "tree"]),
    default="published", show_default=True,
    help="Where library dependencies come from: their releases published in the repository "
         "(what rebuilders use), or the local --tree/--index.",
)
@output_options(
    None,
    out_help="Build outputs and reports [default: REPO/public/builds].",
    dashboard_help="Dashboard directory [default: REPO/public/dashboard].",
    cache_help="Cache of verified builds [default: REPO/build-cache].",
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
    double_build: DoubleBuildChoices,
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
              require_workers, store_dir, double_build, build_time_limit, farm_wait,
              visibility_timeout, online_passphrase, as_json, dashboard_dir or published.dashboard)
        return
    if worker_keys:
        raise click.UsageError("--worker-key needs --broker")
    check_build_host()
    console = Console(stderr=True)
    signer = optional_signer(double_build.key, passphrase_env, passphrase_file, insecure_plaintext)
    if signer is None:
        raise BuildError("the publish gate needs the builder key (--key): it signs every verdict "
                         "and trusts only verdicts signed by it")
    repo = Repository(repo_dir, online_passphrase)
    out = out_dir or published.builds
    dashboard = dashboard_dir or published.dashboard
    variations = double_build.variations()
    options = double_build.build_options(
        cache_dir or repo_dir / "build-cache", signer, BUILDER_STEP
    )
    policy = GatePolicy.own_key(signer.public_key)
    index = package_index(index_dir or tree / "packages", console)
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

    run_with_progress(console, "publish gate", len(staged), work, as_json)
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
        Console().print(results_table(all_results, author))
        for d in decisions:
            click.echo(f"{d['decision']}: {d['package']} {d['version']}: {d['reason']}")
    show_failures(all_results)
    status = exit_status(severities)
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
            requests, package, deps, variations, out, with_progress(options, step)
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
    double_build: DoubleBuildChoices,
    time_limit: float,
    wait: int,
    visibility_timeout: int,
    online_passphrase: str | None,
    as_json: bool,
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
        variations=tuple(v.name for v in double_build.variations()),
        time_limit=time_limit,
        wait_seconds=float(wait),
        visibility_timeout=visibility_timeout,
        find_culprits=double_build.find_culprits,
        dashboard=dashboard,
    )
    decisions, severities = farm_build(
        repo, settings, package_index(packages_dir, console), packages_dir, tree,
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
    status = exit_status(severities)
    if status:
        raise SystemExit(status)

