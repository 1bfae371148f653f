"""What a worker does with one task: fetch the inputs by hash, build once, sign the verdict.

The inputs are the release's manifest and source archive and each library
dependency's manifest and archive, read from the artifact store (which
re-hashes them) and checked exactly as the in-process gate checks a staged
release (staged_package: the manifest names this release, the archive holds
exactly its declared sources). The dependencies are re-resolved from the
manifests received, so a task cannot swap one library for another.

The result is a BUILT or FAILED verdict signed by the worker's key, with the
worker id as the builder id and the task's nonce as the invocation id; the
image, the log and the build info go to the store and travel by hash.

The Solo5 build inputs are copied once per worker (FrozenSolo5, as verify_target
copies them once per double build) and hashed once per pool process: every task
builds from that private copy, so the signed input hash describes exactly the
tree built. A change to the Solo5 tree takes a worker restart, as a toolchain
change does (the toolchain identity is also kept per process).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from securesystemslib.signer import Signer

from builder.build import BuildRequest, run_build
from builder.buildinfo import BUILDER_VERSION, digest_of
from builder.farm.errors import FarmError
from builder.farm.protocol import BuildSpec, WorkerResult
from builder.farm.store import ArtifactStore
from builder.limits import Limits
from builder.manifest import parse_manifest
from builder.pipeline import SOLO5_BUILD_INPUTS, build_record, input_record, solo5_hashes
from builder.plan import Package, resolve, solo5_requests, staged_package
from builder.status import BuildStatus
from builder.variations import CONTROL, apply, select
from builder.verdict import BuildVerdict, sign_verdict, verdict_statement

FARM_BUILD_TYPE = "https://unirepo.invalid/builder/farm-single-build/v1"


@dataclass(frozen=True)
class WorkerIdentity:
    """Who signs: the worker's key and the id recorded as the builder of every result."""

    signer: Signer
    worker_id: str


@dataclass
class FrozenSolo5:
    """A private copy of the Solo5 build inputs of `source`, and their hashes once known."""

    source: Path
    copy: Path
    hashes: dict[str, str] | None = field(default=None)  # per process, on its first task

    def request_for(self, request: BuildRequest) -> tuple[BuildRequest, dict[str, str] | None]:
        """`request` building from the copy, with the copy's hashes (None: not this tree)."""
        if request.solo5_root is None or request.solo5_root.resolve() != self.source:
            return request, None
        frozen = replace(request, solo5_root=self.copy)
        if self.hashes is None:
            self.hashes = solo5_hashes(frozen)
        return frozen, self.hashes


@contextmanager
def frozen_solo5(source: Path) -> Iterator[FrozenSolo5]:
    """Copy the Solo5 build inputs of `source` for the life of a worker."""
    with tempfile.TemporaryDirectory(prefix="farm-solo5-") as copy:
        os.chmod(copy, 0o755)  # the sandbox's unprivileged uid reads it
        for part in SOLO5_BUILD_INPUTS:
            if (source / part).is_dir():
                shutil.copytree(source / part, Path(copy) / part, symlinks=False)
        yield FrozenSolo5(source.resolve(), Path(copy))


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _packages(spec: BuildSpec, store: ArtifactStore) -> tuple[Package, list[Package]]:
    package = staged_package(
        store.get(spec.manifest), store.get(spec.archive), spec.package, spec.version
    )
    supplied: dict[tuple[str, str], Package] = {}
    for manifest_hash, archive_hash in spec.dependencies:
        manifest_bytes = store.get(manifest_hash)
        declared = parse_manifest(manifest_bytes)
        supplied[(declared.name, declared.version)] = staged_package(
            manifest_bytes, store.get(archive_hash), declared.name, declared.version
        )
    order = resolve(package.manifest, {key: p.manifest for key, p in supplied.items()})
    unused = set(supplied) - {(m.name, m.version) for m in order}
    if unused:
        raise FarmError(f"task carries dependencies the release does not use: {sorted(unused)}")
    return package, [supplied[(m.name, m.version)] for m in order]


def run_task(
    spec: BuildSpec,
    store: ArtifactStore,
    identity: WorkerIdentity,
    solo5: FrozenSolo5 | None = None,
) -> WorkerResult:
    """Build `spec` once in the sandbox and return the signed result (raises FarmError/BuildError
    only when the inputs cannot be had: missing, tampered, or not this release)."""
    started, clock = _now(), time.monotonic()
    package, deps = _packages(spec, store)
    (request,) = solo5_requests(package, deps, [spec.target])
    request, solo5_inputs = solo5.request_for(request) if solo5 else (request, None)
    variations = select(spec.variations, os.cpu_count() or 1) if spec.variations else ()
    conditions = apply(CONTROL, variations)
    inputs = input_record(request, package, deps, variations, solo5=solo5_inputs)
    input_id = digest_of(inputs)
    work = tempfile.mkdtemp(prefix=f"farm-{spec.build}-")
    try:
        outcome = run_build(
            request,
            conditions,
            Path(work),
            spec.build,
            Limits(wall_seconds=float(spec.time_limit)),
        )
        image_hash = store.put(outcome.image.read_bytes()) if outcome.image else None
    finally:
        # The build tree goes while the result travels (Celery stores it, acknowledges the
        # message and fetches the next task): removing it is off the task's critical path.
        threading.Thread(target=shutil.rmtree, args=(work,), kwargs={"ignore_errors": True},
                         daemon=True).start()
    if outcome.ok:
        status, reason = BuildStatus.BUILT, f"build {spec.build.upper()} produced the image"
    else:
        last = (outcome.log.strip().splitlines() or ["no output"])[-1]
        status, reason = BuildStatus.FAILED, f"build {spec.build.upper()} failed: {last}"[:300]
    image_name = f"{spec.package}.{spec.target}"
    info: dict[str, Any] = {
        "buildinfo_version": 1,
        "builder_version": BUILDER_VERSION,
        "worker": identity.worker_id,
        "task": spec.task,
        "package": spec.package,
        "version": spec.version,
        "target": spec.target,
        "build": spec.build,
        "variations": list(spec.variations),
        "source_date_epoch": request.source_date_epoch,
        "host": {"machine": platform.machine(), "kernel": platform.release()},
        "toolchain": inputs["toolchain"],
        "inputs": {
            "manifest": spec.manifest,
            "archive": spec.archive,
            "dependencies": [list(d) for d in spec.dependencies],
            "sources": inputs["sources"],
            "solo5_tree_digest": inputs["solo5_tree_digest"],
            "input_id": input_id,
        },
        "outputs": {image_name: outcome.sha256} if outcome.ok else {},
        "status": str(status),
        "reason": reason,
        "record": build_record(outcome, request.source_date_epoch),
    }
    info_bytes = (json.dumps(info, indent=2, sort_keys=True) + "\n").encode()
    info_hash = store.put(info_bytes)
    log_hash = store.put(outcome.log.encode()[-(1 << 20):])  # the last MiB, as the sandbox keeps
    verdict = BuildVerdict(
        package=spec.package,
        version=spec.version,
        target=spec.target,
        status=status,
        reason=reason,
        sha256=outcome.sha256 if outcome.ok else None,
        size=outcome.size if outcome.ok else None,
        input_id=input_id,
        builder_id=identity.worker_id,
        variations=spec.variations,
    )
    statement = verdict_statement(
        verdict,
        build_type=FARM_BUILD_TYPE,
        source_date_epoch=request.source_date_epoch,
        internal_parameters={
            "build": spec.build,
            "variations": list(spec.variations),
            "toolchain": inputs["toolchain"],
        },
        resolved_dependencies=[
            {"uri": f"store:{what}", "digest": {"sha256": digest}}
            for what, digest in (
                ("manifest", spec.manifest),
                ("archive", spec.archive),
                *(
                    (f"dependency-{i}-{kind}", digest)
                    for i, pair in enumerate(spec.dependencies)
                    for kind, digest in zip(("manifest", "archive"), pair, strict=True)
                ),
            )
        ],
        invocation_id=spec.task,
        started_on=started,
        finished_on=_now(),
        byproducts=[
            {"name": "buildinfo.json", "digest": {"sha256": info_hash}},
            {"name": "build.log", "digest": {"sha256": log_hash}},
        ],
    )
    signed = sign_verdict(statement, identity.signer)
    return WorkerResult(
        signed.envelope, image_hash, log_hash, info_hash, round(time.monotonic() - clock, 3)
    )
