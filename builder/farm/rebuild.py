"""A rebuilder's double builds on the farm: A and B on workers, judged by the gate, signed.

`repo-tool rebuild --broker` hands each published release here instead of to
builder.rebuild.rebuild_release. The release's verified inputs go to the
artifact store, and build A and build B of every published image go to two
different workers through the dispatcher of `build --broker` (Farm.run); a
result counts only if bind_result accepts it (a configured worker key signed
it, for this very task).

Whether the accepted builds make one reproducible image is the publish gate's
rule (builder.gate.gate with a policy trusting exactly the worker keys): every
single build names the same image, one ran under build A's conditions and one
varied. That image is then compared with the published one exactly as
in-process (builder.reference.rebuild_reason, compare_toolchain), and the
rebuilder signs the verdict with its own key. Its statement records which
worker built what: each build's worker, signing keyids, image and the sha256
of the worker's signed result (kept beside it as X.provenance.dsse.json).

The workers build A under the farm's fixed conditions, not the rebuilder's own
build path and user (builder.rebuild.rebuilder_conditions); build B varies
both, and the worker machine is one more variation.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key

from builder.buildinfo import digest_of
from builder.double import run_diffoscope
from builder.errors import BuildError
from builder.farm.blame import FarmBlame, explain, mismatches
from builder.farm.dispatch import Build, Farm, FarmRelease
from builder.farm.protocol import BoundResult
from builder.farm.records import keep_builds
from builder.farm.store import ArtifactStore
from builder.gate import AuthorImage, AuthorRelease, GatePolicy, Refusal, gate
from builder.pipeline import PROVENANCE_NAME, RESULT_NAME, BuildOptions, TargetResult, write_json
from builder.plan import PublishedSource, published_dependencies
from builder.rebuild import PublishedImage, PublishedInputs, rebuildable_package
from builder.reference import Reference, compare_toolchain, rebuild_reason
from builder.status import BuildStatus
from builder.variations import Variation
from builder.verdict import BuildVerdict, sign_verdict, verdict_statement

FARM_REBUILD_TYPE = "https://unirepo.invalid/builder/farm-rebuild/v1"


@dataclass(frozen=True)
class Judged:
    """What the accepted single builds of one target say, compared with the published image."""

    status: BuildStatus  # reproducible, unreproducible or failed
    reason: str
    sha256: str | None  # the image both builds made (reproducible only)
    size: int | None
    toolchain: str  # the workers' toolchain vs the release's: same, differs, unknown


def _toolchain(results: Sequence[BoundResult], reference: Reference) -> str:
    if reference.toolchain is None:
        return "unknown"
    said = {
        "differs" if r.toolchain is None else compare_toolchain(
            [{"path": path, "sha256": digest} for path, digest in r.toolchain],
            reference.toolchain,
        )
        for r in results
    }
    return "differs" if "differs" in said or not said else "same"


def judge(
    package: str,
    version: str,
    target: str,
    results: Sequence[BoundResult],
    reference: Reference,
    policy: GatePolicy,
) -> Judged:
    """The rebuild verdict of one target from its workers' accepted results (pure).

    The gate decides whether they are one reproducible image (asked about the image
    they name, or the published one when they name none or several); the published
    image is then compared as the in-process rebuild compares it."""
    built = {(r.verdict.sha256, r.verdict.size) for r in results
             if r.verdict.status == BuildStatus.BUILT}
    sha256, size = next(iter(built)) if len(built) == 1 else (reference.sha256, reference.length)
    claimed = AuthorRelease(package, version, {target: AuthorImage(sha256 or "", size or 0)})
    (decided,) = gate(claimed, [r.signed for r in results], policy).targets
    reason = decided.reason.removeprefix(f"{target}: ")
    toolchain = _toolchain(results, reference)
    if decided.accepted:
        status = BuildStatus.REPRODUCIBLE
        reason = rebuild_reason(status, sha256, size, reason, reference, toolchain)
        return Judged(status, reason, sha256, size, toolchain)
    status = (BuildStatus.UNREPRODUCIBLE if decided.refusal == Refusal.UNREPRODUCIBLE
              else BuildStatus.FAILED)
    return Judged(status, reason, None, None, toolchain)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _envelope_digest(b: Build) -> str | None:
    if b.result is None:
        return None
    data = json.dumps(dict(b.result.signed.envelope), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode()).hexdigest()


def _seconds(result: BoundResult | None) -> float:
    return round(result.seconds or 0.0, 3) if result is not None else 0.0


def build_record(b: Build) -> dict[str, Any]:
    """Who built what, as the rebuilder's statement records it."""
    verdict = b.result.verdict if b.result else None
    return {
        "build": b.spec.build,
        "variations": list(b.spec.variations),
        "worker": verdict.builder_id if verdict else b.worker,
        "keyids": sorted(b.result.signers) if b.result else [],
        "status": str(verdict.status) if verdict else b.state,
        "sha256": verdict.sha256 if verdict else None,
        "attempts": b.attempts,
        "signed_result": _envelope_digest(b),
        "task": b.spec.task,
        "error": b.error,
    }


class FarmRebuilder:
    """rebuild_release's counterpart on the farm; one dispatcher for the whole run."""

    def __init__(
        self,
        broker: str,
        store_dir: Path,
        worker_keys: Mapping[str, Key],
        require_workers: int,
        *,
        time_limit: float,
        wait_seconds: float,
        visibility_timeout: int,
        progress: Callable[[str], None],
    ) -> None:
        self.broker = broker
        self.store = ArtifactStore(store_dir)
        self.keys = dict(worker_keys)
        self.policy = GatePolicy(self.keys, require_workers)
        self.time_limit = time_limit
        self.wait_seconds = wait_seconds
        self.visibility_timeout = visibility_timeout
        self.progress = progress
        self._farm: Farm | None = None

    def _farm_for(self, variations: Sequence[Variation]) -> Farm:
        names = tuple(v.name for v in variations)
        if self._farm is None or self._farm.variations != names:
            self._farm = Farm(
                self.broker, self.store, self.keys, variations=names,
                time_limit=self.time_limit, wait_seconds=self.wait_seconds,
                visibility_timeout=self.visibility_timeout, progress=self.progress,
            )
        return self._farm

    def rebuild_release(
        self,
        inputs: PublishedInputs,
        dependencies: PublishedSource,
        variations: Sequence[Variation],
        out_dir: Path,
        options: BuildOptions,
        published_image: PublishedImage,
    ) -> list[TargetResult]:
        """builder.rebuild.rebuild_release with the builds on farm workers (module doc)."""
        package = rebuildable_package(inputs, options)
        fetched: dict[tuple[str, str], tuple[bytes, bytes]] = {}

        def recorded(name: str, version: str) -> tuple[bytes, bytes]:
            fetched[(name, version)] = dependencies(name, version)
            return fetched[(name, version)]

        deps = published_dependencies(package.manifest, recorded)
        release = FarmRelease(
            inputs.package, inputs.version, inputs.manifest, inputs.archive,
            tuple(fetched[(d.manifest.name, d.manifest.version)] for d in deps),
            tuple(sorted(inputs.images)),
        )
        farm = self._farm_for(variations)
        started, clock = _now(), time.monotonic()
        (got,) = farm.run([release])
        for target in release.targets:  # this run's records only, as in-process
            shutil.rmtree(out_dir / release.package / release.version / target,
                          ignore_errors=True)
        keep_builds(got.builds, out_dir, farm.store, self.progress)
        for line in got.refused:
            self.progress(f"ignored: {line}")
        blames = {
            a.spec.target: explain(
                farm, a, b, out_dir / a.spec.package / a.spec.version / a.spec.target,
                options.find_culprits,
            )
            for a, b in mismatches(got.builds)
        }
        results = []
        for target in release.targets:
            builds = [b for b in got.builds if b.spec.target == target]
            results.append(self._target_result(
                release, package.manifest.source_date_epoch, target, builds,
                inputs.images[target], variations, out_dir, options, published_image,
                blames.get(target), started, time.monotonic() - clock,
            ))
        return results

    def _target_result(
        self,
        release: FarmRelease,
        source_date_epoch: int,
        target: str,
        builds: Sequence[Build],
        reference: Reference,
        variations: Sequence[Variation],
        out_dir: Path,
        options: BuildOptions,
        published_image: PublishedImage,
        blame: FarmBlame | None,
        started: str,
        seconds: float,
    ) -> TargetResult:
        assert options.signer is not None
        culprits = blame.culprits if blame else ()
        diffoscope = dict(blame.diffoscope) if blame else {}
        accepted = [b.result for b in builds if b.result is not None]
        judged = judge(release.package, release.version, target, accepted, reference,
                       self.policy)
        target_dir = out_dir / release.package / release.version / target
        target_dir.mkdir(parents=True, exist_ok=True)
        spec = builds[0].spec
        inputs = {
            "manifest": spec.manifest, "archive": spec.archive,
            "dependencies": [list(d) for d in spec.dependencies], "target": target,
            "variations": [v.name for v in variations],
        }
        verdict = BuildVerdict(
            package=release.package, version=release.version, target=target,
            status=judged.status, reason=judged.reason, sha256=judged.sha256, size=judged.size,
            input_id=digest_of(inputs), builder_id=options.builder_id, culprits=culprits,
            toolchain=judged.toolchain,
        )
        records = [build_record(b) for b in builds]
        statement = verdict_statement(
            verdict,
            build_type=FARM_REBUILD_TYPE,
            source_date_epoch=source_date_epoch,
            internal_parameters={"variations": [v.name for v in variations], "farm": records},
            resolved_dependencies=[
                {"uri": f"store:{what}", "digest": {"sha256": digest}}
                for what, digest in (
                    ("manifest", spec.manifest), ("archive", spec.archive),
                    *((f"dependency-{i}-{kind}", digest)
                      for i, pair in enumerate(spec.dependencies)
                      for kind, digest in zip(("manifest", "archive"), pair, strict=True)),
                )
            ],
            invocation_id=str(uuid.uuid4()),
            started_on=started,
            finished_on=_now(),
            byproducts=[
                {"name": f"{r['build']}.{PROVENANCE_NAME}",
                 "digest": {"sha256": r["signed_result"]}}
                for r in records if r["signed_result"]
            ],
        )
        provenance = target_dir / PROVENANCE_NAME
        write_json(provenance, dict(sign_verdict(statement, options.signer).envelope))
        image_name = f"{release.package}.{target}"
        image = target_dir / image_name if judged.status == BuildStatus.REPRODUCIBLE else None
        if image is not None and judged.sha256 != reference.sha256:
            theirs = published_image(target)
            if theirs is not None:
                try:
                    diffoscope = {**diffoscope, **run_diffoscope(
                        image, theirs, target_dir,
                        f"{release.package}-{release.version}.{target}.published")}
                except BuildError as error:
                    self.progress(f"{image_name}: diffoscope: {error}")
        by_label = {b.spec.build: b for b in builds}

        def of(label: str) -> BoundResult | None:
            b = by_label.get(label)
            return b.result if b else None

        failed_log = next((target_dir / f"{label}.log" for label in ("a", "b")
                           if (r := of(label)) is not None
                           and r.verdict.status == BuildStatus.FAILED), None)
        result = TargetResult(
            package=release.package, version=release.version, target=target,
            status=judged.status, reason=judged.reason, sha256=judged.sha256, size=judged.size,
            sha256_a=(r.verdict.sha256 if (r := of("a")) else None),
            sha256_b=(r.verdict.sha256 if (r := of("b")) else None),
            seconds=round(seconds, 3),
            build_seconds=(_seconds(of("a")), _seconds(of("b"))),
            variations=tuple({"name": v.name, "how": v.how} for v in variations),
            culprits=culprits,
            blame_seconds=round(blame.seconds, 3) if blame else None,
            builder_id=options.builder_id,
            cached=False,
            finished=_now(),
            out_dir=str(target_dir),
            image=str(image) if image is not None else None,
            diffoscope=diffoscope,
            provenance=str(provenance),
            failed_log=(str(failed_log) if judged.status == BuildStatus.FAILED
                        and failed_log is not None and failed_log.is_file() else None),
            toolchain=judged.toolchain,
        )
        write_json(target_dir / RESULT_NAME, result.to_json())
        return result
