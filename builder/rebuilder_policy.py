"""The operator's rebuilder rule, pure: may this published image be used?

`judge(image, attestations, policy)` accepts an image only if at least
`policy.required` distinct rebuilders published a positive attestation for
exactly its sha256, and no trusted rebuilder published a negative one (unless
the policy allows disagreement). Each attestation is the DSSE envelope a
rebuilder role lists for the image, given with that role's keys in force (the
verifying TUF client fetched both); its signature and statement are checked
with the builder's own `verify_result` / `read_verdict`, never a second DSSE
check.

One attestation says (docs/rebuilder.md, "What an attestation means"):
- confirms: status reproducible and the image subject's sha256 is the published one;
- disagrees: reproducible or built with another sha256 (toolchain not "differs"),
  or unreproducible;
- neutral: failed, a single build of the same image, or a rebuilder whose toolchain
  "differs" from the release's (it says so instead of claiming a mismatch);
- ignored: not a DSSE envelope, not signed by one of its rebuilder's keys, not
  canonical, or about another package, version or target.

Distinct rebuilders, not keys, are counted, and a rebuilder counts once however
many attestations or signatures it has; two rebuilder roles whose signatures
come from the same key material count as one (`count_confirmations`, the one
place that counts). Values in, values out: no files, no network, no clock.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from securesystemslib.signer import Key

from builder.errors import BuildError
from builder.status import BuildStatus
from builder.verdict import SignedResult, VerdictError, verify_result
from signing.threshold import key_material


class RebuilderPolicyError(BuildError):
    """An operator's rebuilder policy is inconsistent (e.g. requires fewer than one)."""


class Stance(StrEnum):
    CONFIRMS = "confirms"
    DISAGREES = "disagrees"
    NEUTRAL = "neutral"
    IGNORED = "ignored"


@dataclass(frozen=True)
class ImageUnderReview:
    """The published image the operator is about to use (sha256 from verified TUF metadata)."""

    package: str
    version: str
    target: str
    sha256: str


@dataclass(frozen=True)
class RebuilderAttestation:
    """One attestation as the verifying client fetched it: the rebuilder's name, its role's
    keys in force, and the attestation file's bytes (a DSSE envelope)."""

    rebuilder: str
    keys: Mapping[str, Key]
    envelope: bytes


@dataclass(frozen=True)
class Finding:
    """What one attestation says about the image, and why."""

    rebuilder: str
    stance: Stance
    reason: str
    signer_keys: frozenset[bytes] = frozenset()
    """Key material of the rebuilder keys whose signature verified."""


@dataclass(frozen=True)
class RebuilderPolicy:
    """How many distinct rebuilders must confirm, which ones count (None: every rebuilder
    the repository delegates), and whether a negative attestation may be outvoted."""

    required: int
    named: frozenset[str] | None = None
    allow_disagreement: bool = False

    def __post_init__(self) -> None:
        if self.required < 1:
            raise RebuilderPolicyError("--require-rebuilders must be at least 1")
        if self.named is not None and len(self.named) < self.required:
            raise RebuilderPolicyError(
                f"{self.required} rebuilders required but only {len(self.named)} named "
                f"({', '.join(sorted(self.named))})"
            )


@dataclass(frozen=True)
class RebuilderDecision:
    accepted: bool
    confirmed_by: tuple[str, ...]
    disagreed: tuple[str, ...]
    findings: tuple[Finding, ...]
    reason: str


def classify(image: ImageUnderReview, attestation: RebuilderAttestation) -> Finding:
    """What ATTESTATION says about IMAGE (see the module docstring)."""
    name = attestation.rebuilder
    try:
        document = json.loads(attestation.envelope)
    except (UnicodeDecodeError, ValueError):
        return Finding(name, Stance.IGNORED, "not a JSON DSSE envelope (truncated?)")
    if not isinstance(document, dict):
        return Finding(name, Stance.IGNORED, "not a DSSE envelope")
    try:
        trusted = verify_result(SignedResult(document), attestation.keys)
    except VerdictError as error:
        return Finding(name, Stance.IGNORED, str(error))
    verdict = trusted.verdict
    about = (verdict.package, verdict.version, verdict.target)
    if about != (image.package, image.version, image.target):
        return Finding(name, Stance.IGNORED, f"about {' '.join(about)}, not this image")
    signers = frozenset(key_material(attestation.keys[keyid].to_dict())
                        for keyid in trusted.signers)

    def finding(stance: Stance, reason: str) -> Finding:
        return Finding(name, stance, reason, signers)

    built = (verdict.sha256 or "")[:16]
    if verdict.status == BuildStatus.REPRODUCIBLE and verdict.sha256 == image.sha256:
        return finding(Stance.CONFIRMS, "reproducible, same sha256")
    if verdict.status == BuildStatus.FAILED:
        return finding(Stance.NEUTRAL, f"could not build it: {verdict.reason}")
    if verdict.toolchain == "differs":
        return finding(Stance.NEUTRAL, "its toolchain differs from the release's")
    if verdict.status == BuildStatus.BUILT and verdict.sha256 == image.sha256:
        return finding(Stance.NEUTRAL, "built once (no double build), same sha256")
    if verdict.status == BuildStatus.UNREPRODUCIBLE:
        return finding(Stance.DISAGREES, f"unreproducible: {verdict.reason}")
    return finding(Stance.DISAGREES, f"{verdict.status}, but built sha256 {built}")


def count_confirmations(findings: Sequence[Finding]) -> tuple[str, ...]:
    """The distinct rebuilders that confirm: each rebuilder once, none that also disagrees,
    and none whose signing keys another counted rebuilder already used (one party under
    two names counts once). The only place confirmations are counted."""
    disagreeing = {f.rebuilder for f in findings if f.stance == Stance.DISAGREES}
    counted: list[str] = []
    used_keys: set[bytes] = set()
    for found in sorted(findings, key=lambda f: f.rebuilder):
        if found.stance != Stance.CONFIRMS or found.rebuilder in disagreeing:
            continue
        if found.rebuilder in counted or found.signer_keys & used_keys:
            continue
        counted.append(found.rebuilder)
        used_keys |= found.signer_keys
    return tuple(counted)


def judge(
    image: ImageUnderReview,
    attestations: Sequence[RebuilderAttestation],
    policy: RebuilderPolicy,
    delegated: Collection[str],
) -> RebuilderDecision:
    """Accept IMAGE or not under POLICY, given the ATTESTATIONS fetched for it from the
    rebuilders the repository DELEGATED (see the module docstring)."""
    trusted = set(delegated) if policy.named is None else set(policy.named) & set(delegated)
    findings = tuple(
        classify(image, attestation) if attestation.rebuilder in trusted
        else Finding(attestation.rebuilder, Stance.IGNORED, "not a trusted rebuilder")
        for attestation in attestations
    )
    confirmed = count_confirmations(findings)
    disagreed = tuple(sorted({f.rebuilder for f in findings if f.stance == Stance.DISAGREES}))
    enough = len(confirmed) >= policy.required
    accepted = enough and (not disagreed or policy.allow_disagreement)
    return RebuilderDecision(
        accepted, confirmed, disagreed, findings,
        _reason(image, policy, confirmed, disagreed, findings, trusted, delegated, accepted),
    )


def _reason(
    image: ImageUnderReview, policy: RebuilderPolicy, confirmed: Sequence[str],
    disagreed: Sequence[str], findings: Sequence[Finding], trusted: Collection[str],
    delegated: Collection[str], accepted: bool,
) -> str:
    """One line: how many confirmed, from whom, who disagreed, what did not count."""
    subject = f"{image.package} {image.version} {image.target} (sha256 {image.sha256[:16]})"
    who = f" ({', '.join(confirmed)})" if confirmed else ""
    parts = [f"{subject}: confirmed by {len(confirmed)} of {policy.required} required "
             f"rebuilders{who}"]
    if disagreed:
        why = "; ".join(f"{f.rebuilder}: {f.reason}" for f in findings
                        if f.stance == Stance.DISAGREES)
        allowed = " (allowed by --allow-disagreement)" if accepted else ""
        parts.append(f"disagreed: {why}{allowed}")
    other = []
    for f in findings:
        if f.stance in (Stance.NEUTRAL, Stance.IGNORED):
            other.append(f"{f.rebuilder}: {f.reason}")
        elif f.stance == Stance.CONFIRMS and f.rebuilder not in (*confirmed, *disagreed):
            other.append(f"{f.rebuilder}: signed with the keys of another counted rebuilder")
    if other:
        parts.append(f"not counted: {'; '.join(other)}")
    silent = sorted(set(trusted) - {f.rebuilder for f in findings})
    if silent:
        parts.append(f"no attestation from: {', '.join(silent)}")
    if policy.named is not None:
        undelegated = sorted(set(policy.named) - set(delegated))
        if undelegated:
            parts.append(f"not delegated by the repository: {', '.join(undelegated)}")
    return "; ".join(parts)
