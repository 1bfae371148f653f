"""`repo-tool build --broker URL`: the publish gate with builds on farm workers (docs/farm.md).

I/O only: reads the staged releases, hands them to builder.farm.dispatch.Farm,
writes what came back under OUT/NAME/VERSION/TARGET/, and publishes or
rejects each release exactly as builder.gate.gate() decides with a policy
trusting only the --worker-key keys.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from builder.archive import create_archive
from builder.errors import BuildError
from builder.farm.blame import FarmBlame, explain, mismatches
from builder.farm.dispatch import Build, Farm, FarmRelease
from builder.farm.records import keep_builds
from builder.farm.store import ArtifactStore
from builder.gate import AuthorRelease, Decision, GatePolicy, Refusal, gate, refused
from builder.plan import PackageIndex, read_package_tree, resolve, staged_package
from builder.publication import decision_record
from builder.status import BuildStatus
from builder.variations import select
from repo_tool.commands.settle_release import author_release, settle_release
from reports.dashboard import row_from_farm, update_dashboard

if TYPE_CHECKING:
    from tuf_metadata.repository import Repository, StagedRelease


@dataclass(frozen=True)
class FarmSettings:
    broker: str
    worker_keys: tuple[Path, ...]
    require_workers: int  # distinct worker keys that must attest each image (gate threshold)
    store: Path
    variations: tuple[str, ...]
    time_limit: float
    wait_seconds: float
    visibility_timeout: int
    find_culprits: bool = True  # on a mismatch, bisect the variations with probe builds
    dashboard: Path | None = None  # dashboard directory to update with the farm rows


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _farm_release(
    release: StagedRelease, author: AuthorRelease, index: PackageIndex, index_dir: Path, tree: Path
) -> FarmRelease:
    manifest_bytes = release.manifest.read_bytes()
    archive_bytes = release.source_archive.read_bytes()
    package = staged_package(manifest_bytes, archive_bytes, release.package, release.version)
    for target in author.images:
        if target not in package.manifest.targets:
            raise BuildError(f"{package.manifest.ident} does not declare target {target}")
    deps = []
    for dep in resolve(package.manifest, index.manifests):
        files = read_package_tree(dep, tree).files
        deps.append(
            (
                (index_dir / dep.name / dep.version / "manifest.json").read_bytes(),
                create_archive(files, dep.source_date_epoch),
            )
        )
    return FarmRelease(
        release.package,
        release.version,
        manifest_bytes,
        archive_bytes,
        tuple(deps),
        tuple(sorted(author.images)),
    )


def _build_record(b: Build) -> dict[str, Any]:
    verdict = b.result.verdict if b.result else None
    return {
        "target": b.spec.target,
        "build": b.spec.build,
        "variations": list(b.spec.variations),
        "worker": verdict.builder_id if verdict else b.worker,
        "state": b.state,
        "attempts": b.attempts,
        "status": str(verdict.status) if verdict else None,
        "sha256": verdict.sha256 if verdict else None,
        "reason": verdict.reason if verdict else b.error,
        "log": b.result.log if b.result else None,
        "buildinfo": b.result.buildinfo if b.result else None,
        "queue_seconds": None if b.queue_seconds is None else round(b.queue_seconds, 3),
        "seconds": b.result.seconds if b.result else None,
    }


def _variations_shown(names: Sequence[str]) -> list[dict[str, str]]:
    return [{"name": v.name, "how": v.how} for v in select(names, os.cpu_count() or 1)]


def _blame(
    farm: Farm, builds: Sequence[Build], out: Path, find_culprits: bool
) -> dict[str, FarmBlame]:
    """diffoscope and culprits of every target whose two builds differ (builder.farm.blame)."""
    found = {}
    for a, b in mismatches(builds):
        target_dir = out / a.spec.package / a.spec.version / a.spec.target
        explained = explain(farm, a, b, target_dir, find_culprits)
        found[a.spec.target] = explained
        what = ", ".join(explained.culprits) or "-"
        where = f"{a.spec.package} {a.spec.version} {a.spec.target}"
        click.echo(f"farm: {where}: A and B differ; blamed on: {what}"
                   + (f" ({explained.error})" if explained.error else ""), err=True)
    return found


def farm_build(
    repo: Repository,
    settings: FarmSettings,
    index: PackageIndex,
    index_dir: Path,
    tree: Path,
    out: Path,
) -> tuple[list[dict[str, Any]], list[Refusal | None]]:
    """Build every staged release on the farm, gate, publish or reject; the decisions."""
    from signing.keys import load_public_key

    keys = {}
    for path in settings.worker_keys:
        key = load_public_key(path)
        keys[key.keyid] = key
    if settings.require_workers > len(keys):
        raise BuildError(
            f"--require-workers {settings.require_workers} with only {len(keys)} --worker-key"
        )
    policy = GatePolicy(keys, settings.require_workers)
    farm = Farm(
        settings.broker,
        ArtifactStore(settings.store),
        keys,
        variations=settings.variations,
        time_limit=settings.time_limit,
        wait_seconds=settings.wait_seconds,
        visibility_timeout=settings.visibility_timeout,
        progress=lambda line: click.echo(f"farm: {line}", err=True),
    )
    early: dict[int, Decision] = {}
    sendable: list[tuple[int, FarmRelease]] = []
    staged = repo.staged_releases()
    authors = [author_release(r) for r in staged]
    for number, (release, author) in enumerate(zip(staged, authors, strict=True)):
        try:
            sendable.append((number, _farm_release(release, author, index, index_dir, tree)))
        except (BuildError, OSError) as error:
            early[number] = refused("release", Refusal.INVALID, str(error).splitlines()[0])
    ran = farm.run([r for _, r in sendable]) if sendable else []
    results = dict(zip((n for n, _ in sendable), ran, strict=True))
    decisions: list[dict[str, Any]] = []
    severities: list[Refusal | None] = []
    for number, (release, author) in enumerate(zip(staged, authors, strict=True)):
        report_dir = out / release.package / release.version
        got = results.get(number)
        builds = got.builds if got else ()
        ignored = list(got.refused) if got else []
        ignored += [f"{b.label}: {b.error}" for b in builds if b.error]
        decision = early.get(number) or gate(author, got.signed if got else [], policy)
        images = keep_builds(builds, out, farm.store,
                             lambda line: click.echo(f"farm: {line}", err=True))
        blames = _blame(farm, builds, out, settings.find_culprits)
        decision = settle_release(repo, release, decision, images, report_dir)
        severities.append(decision.refusal)
        record = {
            **decision_record(release.package, release.version, decision),
            "builds": [_build_record(b) for b in builds],
            "blame": [explained.to_json() for explained in blames.values()],
            "ignored_results": [*ignored, *decision.ignored],
        }
        decisions.append(record)
        if settings.dashboard is not None and builds:
            update_dashboard(settings.dashboard, [
                row_from_farm(
                    release.package, release.version, target, record["builds"],
                    settings.dashboard, target_dir=report_dir / target,
                    variations=_variations_shown(settings.variations),
                    author_sha256=author.images[target].sha256, decision=record["decision"],
                    blame=blames[target].to_json() if target in blames else None,
                    finished=_now(),
                )
                for target in sorted(author.images)
            ])
    for d in decisions:
        for line in d["ignored_results"]:
            click.echo(f"farm: ignored: {d['package']} {d['version']}: {line}", err=True)
    return decisions, severities


def failed_builds(decisions: Sequence[dict[str, Any]]) -> list[str]:
    return [
        f"{d['package']} {d['version']} {b['target']} build {b['build'].upper()}: {b['reason']}"
        for d in decisions
        for b in d["builds"]
        if b["status"] == BuildStatus.FAILED
    ]
