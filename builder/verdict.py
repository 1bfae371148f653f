"""Signed build results: one verdict per image, an in-toto Statement in a DSSE envelope.

Every double build that has a builder key ends in one signed statement: an
in-toto Statement v1 whose predicate is SLSA provenance v1. Its
externalParameters name the release and target, internalParameters carry the
input hash (`input_id`, the cache key), and a `verdict` byproduct carries the
status, reason, size, culprits and `toolchain` (whether the builder's toolchain
is the release's own: same, differs, unknown). The subject is the image (`NAME.TARGET`,
sha256) when the build is reproducible, and otherwise the build inputs
(`NAME-VERSION.TARGET.inputs`, digest = input_id): a refusal attests to
*what* was refused without naming an image nobody should install.

The publish gate (builder.gate) and the input-hash cache trust a verdict only
through `verify_result`, i.e. only if a trusted key signed it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from securesystemslib.signer import Key, Signer

from builder.errors import BuildError
from builder.status import BuildStatus
from signing.attestations import (
    SLSA_PROVENANCE_V1,
    AttestationError,
    builder_name,
    provenance_statement,
    sign_statement,
    verify_envelope,
)

VERDICT_BYPRODUCT = "verdict"
INPUTS_SUFFIX = ".inputs"
TOOLCHAINS = ("same", "differs", "unknown")  # the `toolchain` annotation; absent = unknown


class VerdictError(BuildError):
    """A signed build result is unsigned, wrongly signed, malformed or about something else."""


@dataclass(frozen=True)
class BuildVerdict:
    """What one builder found for one image of one release (the signed claim)."""

    package: str
    version: str
    target: str
    status: BuildStatus
    reason: str
    sha256: str | None  # the image's, only when reproducible
    size: int | None  # bytes of that image
    input_id: str  # sha256 of every input (the cache key)
    builder_id: str
    culprits: tuple[str, ...] = ()
    # The variations a single build (status BUILT) ran under: () is build A's conditions.
    variations: tuple[str, ...] = ()
    # Whether this builder's toolchain is the one the release was built with (TOOLCHAINS);
    # a rebuilder whose toolchain differs says so instead of claiming a mismatch.
    toolchain: str = "unknown"

    @property
    def names_image(self) -> bool:
        """The subject is the image (reproducible or built); otherwise the inputs."""
        return self.status in (BuildStatus.REPRODUCIBLE, BuildStatus.BUILT)

    @property
    def image_name(self) -> str:
        return f"{self.package}.{self.target}"

    @property
    def inputs_name(self) -> str:
        return f"{self.package}-{self.version}.{self.target}{INPUTS_SUFFIX}"


@dataclass(frozen=True)
class SignedResult:
    """A DSSE envelope (JSON document) that should hold a BuildVerdict statement."""

    envelope: Mapping[str, Any]

    @classmethod
    def load(cls, path: Path) -> SignedResult:
        try:
            document = json.loads(path.read_bytes())
        except (OSError, ValueError) as error:
            raise VerdictError(f"{path.name}: cannot read a signed result ({error})") from None
        if not isinstance(document, dict):
            raise VerdictError(f"{path.name}: not a DSSE envelope")
        return cls(document)


@dataclass(frozen=True)
class TrustedVerdict:
    """A verdict together with the trusted keys whose signature on it verified."""

    verdict: BuildVerdict
    signers: frozenset[str]


def verdict_statement(
    verdict: BuildVerdict,
    *,
    build_type: str,
    source_date_epoch: int,
    internal_parameters: Mapping[str, Any],
    resolved_dependencies: Sequence[Mapping[str, Any]],
    invocation_id: str,
    started_on: str,
    finished_on: str,
    byproducts: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The in-toto Statement (SLSA provenance v1) that carries `verdict`."""
    if verdict.names_image:
        if verdict.sha256 is None:
            raise VerdictError(f"a {verdict.status} verdict needs the image's sha256")
        subjects = {verdict.image_name: verdict.sha256}
    else:
        subjects = {verdict.inputs_name: verdict.input_id}
    annotations: dict[str, Any] = {
        "status": str(verdict.status),
        "reason": verdict.reason,
        "size": verdict.size,
        "culprits": list(verdict.culprits),
        "variations": list(verdict.variations),
        "toolchain": verdict.toolchain,
    }
    return provenance_statement(
        subjects=subjects,
        build_type=build_type,
        external_parameters={
            "package": verdict.package,
            "version": verdict.version,
            "target": verdict.target,
            "source_date_epoch": source_date_epoch,
        },
        internal_parameters={**internal_parameters, "input_id": verdict.input_id},
        resolved_dependencies=resolved_dependencies,
        builder_id=verdict.builder_id,
        invocation_id=invocation_id,
        started_on=started_on,
        finished_on=finished_on,
        byproducts=[*byproducts, {"name": VERDICT_BYPRODUCT, "annotations": annotations}],
    )


def sign_verdict(statement: Mapping[str, Any], signer: Signer) -> SignedResult:
    return SignedResult(sign_statement(statement, signer))


def _field(document: Any, *path: str) -> Any:
    for name in path:
        if not isinstance(document, dict) or name not in document:
            raise VerdictError(f"statement has no {'.'.join(path)}")
        document = document[name]
    return document


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise VerdictError(f"statement: {what} is not a non-empty string")
    return value


def read_verdict(statement: Mapping[str, Any]) -> BuildVerdict:
    """The BuildVerdict a (verified) statement carries; VerdictError if it carries none."""
    if statement.get("predicateType") != SLSA_PROVENANCE_V1:
        raise VerdictError("statement is not SLSA provenance v1")
    external = _field(statement, "predicate", "buildDefinition", "externalParameters")
    internal = _field(statement, "predicate", "buildDefinition", "internalParameters")
    byproducts = _field(statement, "predicate", "runDetails", "byproducts")
    found = [
        b for b in byproducts if isinstance(b, dict) and b.get("name") == VERDICT_BYPRODUCT
    ] if isinstance(byproducts, list) else []
    if len(found) != 1:
        raise VerdictError("statement carries no single verdict")
    annotations = _field(found[0], "annotations")
    try:
        status = BuildStatus(_field(annotations, "status"))
    except ValueError:
        raise VerdictError("statement: unknown build status") from None
    size = annotations.get("size")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
        raise VerdictError("statement: size is not a byte count")
    culprits = annotations.get("culprits", [])
    if not isinstance(culprits, list) or not all(isinstance(c, str) for c in culprits):
        raise VerdictError("statement: culprits is not a list of names")
    variations = annotations.get("variations", [])
    if not isinstance(variations, list) or not all(isinstance(v, str) for v in variations):
        raise VerdictError("statement: variations is not a list of names")
    reason = annotations.get("reason")
    if not isinstance(reason, str):
        raise VerdictError("statement: reason is not a string")
    toolchain = annotations.get("toolchain", "unknown")  # verdicts before issue #12 lack it
    if toolchain not in TOOLCHAINS:
        raise VerdictError(f"statement: toolchain is not one of {', '.join(TOOLCHAINS)}")
    verdict = BuildVerdict(
        package=_text(external.get("package"), "package"),
        version=_text(external.get("version"), "version"),
        target=_text(external.get("target"), "target"),
        status=status,
        reason=reason,
        sha256=None,
        size=size,
        input_id=_text(internal.get("input_id"), "input_id"),
        builder_id=builder_name(
            _text(_field(statement, "predicate", "runDetails", "builder", "id"), "builder")
        ),
        culprits=tuple(culprits),
        variations=tuple(variations),
        toolchain=toolchain,
    )
    subjects = statement.get("subject")
    if not isinstance(subjects, list) or len(subjects) != 1 or not isinstance(subjects[0], dict):
        raise VerdictError("statement: expected exactly one subject")
    name = subjects[0].get("name")
    digest = _text(_field(subjects[0], "digest", "sha256"), "subject digest")
    expected_name = verdict.image_name if verdict.names_image else verdict.inputs_name
    if name != expected_name:
        raise VerdictError(f"statement: subject {name!r} is not {expected_name!r}")
    if verdict.names_image:
        if size is None:
            raise VerdictError(f"statement: a {status} image without a size")
        return replace(verdict, sha256=digest)
    if digest != verdict.input_id:
        raise VerdictError("statement: subject digest is not the input hash")
    return verdict


def verify_result(signed: SignedResult, keys: Mapping[str, Key]) -> TrustedVerdict:
    """The verdict of a signed result if one of `keys` signed it canonically; else VerdictError."""
    try:
        statement, signers = verify_envelope(signed.envelope, keys)
    except AttestationError as error:
        raise VerdictError(str(error)) from None
    return TrustedVerdict(read_verdict(statement), signers)
