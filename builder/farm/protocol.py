"""The farm's wire format and the binding of a worker's signed result to its task (pure).

A task (BuildSpec) names one build of one target of one release under one
set of conditions: build A (no variation) or build B (the varied ones). Its
inputs travel as sha256 names in the artifact store. `task` is a random
nonce chosen by the dispatcher; the worker signs it as the statement's
invocationId, so a signed result answers exactly one task.

The broker and the result backend are not trusted. `bind_result` accepts a
result only if a configured worker key signed it, it answers this task
(nonce, release, target, conditions), and it is a single build's verdict;
everything else is refused with the reason, which the dispatcher logs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from securesystemslib.signer import Key

from builder.errors import BuildError
from builder.farm.errors import FarmError
from builder.reference import toolchain_of_buildinfo
from builder.status import BuildStatus
from builder.verdict import BuildVerdict, SignedResult, VerdictError, read_verdict
from signing.attestations import AttestationError, verify_envelope

TASK_NAME = "unirepo.build"
BUILD_LABELS = ("a", "b")
_SHA256 = re.compile(r"[0-9a-f]{64}")


class ResultRefused(FarmError):
    """A result from the broker counts for nothing (unsigned, untrusted key, another task...)."""


def _sha(value: Any, what: str) -> str:
    if not isinstance(value, str) or not _SHA256.fullmatch(value):
        raise FarmError(f"task: {what} is not a sha256 hex digest")
    return value


def _name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 200:
        raise FarmError(f"task: {what} is not a name")
    return value


@dataclass(frozen=True)
class BuildSpec:
    """One build on a worker; every input named by its sha256 in the artifact store."""

    task: str  # the dispatcher's nonce, signed back as the statement's invocationId
    package: str
    version: str
    target: str
    build: str  # "a" (fixed conditions) or "b" (varied)
    variations: tuple[str, ...]
    manifest: str
    archive: str
    dependencies: tuple[tuple[str, str], ...]  # (manifest, archive) of each library
    time_limit: float  # seconds of the sandboxed build's wall clock

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "package": self.package,
            "version": self.version,
            "target": self.target,
            "build": self.build,
            "variations": list(self.variations),
            "manifest": self.manifest,
            "archive": self.archive,
            "dependencies": [list(d) for d in self.dependencies],
            "time_limit": self.time_limit,
        }

    @classmethod
    def from_json(cls, document: Any) -> BuildSpec:
        if not isinstance(document, dict):
            raise FarmError("task: not a JSON object")
        build = document.get("build")
        if build not in BUILD_LABELS:
            raise FarmError("task: build is neither 'a' nor 'b'")
        variations = document.get("variations")
        if not isinstance(variations, list) or not all(isinstance(v, str) for v in variations):
            raise FarmError("task: variations is not a list of names")
        if (build == "a") != (not variations):
            raise FarmError("task: build A runs without variations, build B with some")
        deps = document.get("dependencies")
        if not isinstance(deps, list) or not all(
            isinstance(d, list) and len(d) == 2 for d in deps
        ):
            raise FarmError("task: dependencies is not a list of [manifest, archive] pairs")
        limit = document.get("time_limit")
        if (not isinstance(limit, int | float) or isinstance(limit, bool)
                or not 0 < limit <= 86400):
            raise FarmError("task: time_limit is not a number of seconds in (0, 86400]")
        return cls(
            task=_name(document.get("task"), "task"),
            package=_name(document.get("package"), "package"),
            version=_name(document.get("version"), "version"),
            target=_name(document.get("target"), "target"),
            build=build,
            variations=tuple(variations),
            manifest=_sha(document.get("manifest"), "manifest"),
            archive=_sha(document.get("archive"), "archive"),
            dependencies=tuple(
                (_sha(m, "dependency manifest"), _sha(a, "dependency archive")) for m, a in deps
            ),
            time_limit=limit,
        )


@dataclass(frozen=True)
class WorkerResult:
    """What a worker returns through the result backend: a signed verdict and blob names."""

    envelope: Mapping[str, Any]
    image: str | None  # sha256 of the image in the store (a built image only)
    log: str  # sha256 of the build log in the store
    buildinfo: str  # sha256 of the build info in the store
    seconds: float  # the task's time on the worker (unsigned: for the dashboard, never decisions)

    def to_json(self) -> dict[str, Any]:
        return {
            "envelope": dict(self.envelope),
            "image": self.image,
            "log": self.log,
            "buildinfo": self.buildinfo,
            "seconds": self.seconds,
        }


@dataclass(frozen=True)
class BoundResult:
    """A result accepted for a task: the signed envelope (for the gate) and what it says."""

    signed: SignedResult
    verdict: BuildVerdict
    log: str | None
    buildinfo: str | None
    seconds: float | None = None  # the worker's own task time, as it reported it (unsigned)
    # The worker's toolchain as its statement signed it ((path, sha256) pairs); None if absent.
    toolchain: tuple[tuple[str, str], ...] | None = None
    signers: frozenset[str] = frozenset()  # keyids of the configured worker keys that signed it


def bind_result(spec: BuildSpec, document: Any, worker_keys: Mapping[str, Key]) -> BoundResult:
    """The result of `spec` if a worker key signed it for this very task; else ResultRefused."""
    if not isinstance(document, dict) or not isinstance(document.get("envelope"), dict):
        raise ResultRefused("not a worker result (no DSSE envelope)")
    envelope = document["envelope"]
    try:
        statement, signers = verify_envelope(envelope, worker_keys)
        verdict = read_verdict(statement)
    except (AttestationError, VerdictError) as error:
        raise ResultRefused(str(error)) from None
    metadata = statement.get("predicate", {}).get("runDetails", {}).get("metadata", {})
    invocation = metadata.get("invocationId") if isinstance(metadata, dict) else None
    if invocation != spec.task:
        raise ResultRefused(f"signed for task {str(invocation)[:40]!r}, not {spec.task!r}")
    if (verdict.package, verdict.version, verdict.target) != (
        spec.package,
        spec.version,
        spec.target,
    ):
        raise ResultRefused(
            f"signed for {verdict.package} {verdict.version} {verdict.target}, "
            f"not {spec.package} {spec.version} {spec.target}"
        )
    if verdict.status not in (BuildStatus.BUILT, BuildStatus.FAILED):
        raise ResultRefused(f"a single build cannot be {verdict.status}")
    if verdict.variations != spec.variations:
        raise ResultRefused(f"built under other variations than build {spec.build.upper()}")
    image = document.get("image")
    if verdict.status == BuildStatus.BUILT and image != verdict.sha256:
        raise ResultRefused("the image named beside the verdict is not the signed one")
    log, info = document.get("log"), document.get("buildinfo")
    seconds = document.get("seconds")
    internal = statement.get("predicate", {}).get("buildDefinition", {}).get("internalParameters")
    try:
        toolchain: tuple[tuple[str, str], ...] | None = toolchain_of_buildinfo(internal)
    except BuildError:
        toolchain = None
    return BoundResult(
        SignedResult(envelope),
        verdict,
        log if isinstance(log, str) and _SHA256.fullmatch(log) else None,
        info if isinstance(info, str) and _SHA256.fullmatch(info) else None,
        float(seconds) if isinstance(seconds, int | float) and 0 <= seconds < 1e6 else None,
        toolchain,
        frozenset(signers),
    )
