"""The publish gate as a pure decision: author-signed hashes + signed build results + policy.

`gate(author, results, policy)` publishes a release only if, for every image
its authors signed, the build results signed by the keys the policy trusts
say "reproducible" with exactly the author's sha256 and length, attested by
at least `policy.threshold` distinct trusted keys, and no trusted result for
that image says otherwise. Results that are unsigned, signed by a key the
policy does not trust, not canonical, or about another release or target
count for nothing (and are listed in the decision's `ignored`).

Single builds (status BUILT, e.g. a farm worker's build A or build B) count
only together: they must all name the same image, and at least one must have
run under build A's conditions and one under varied conditions, so a single
build never publishes anything.

Values in, values out: no files, no clock, no network. The CLI reads the
staged release and the result envelopes, calls gate(), and publishes or
rejects according to the Decision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from securesystemslib.signer import Key

from builder.errors import BuildError
from builder.status import BuildStatus
from builder.verdict import SignedResult, TrustedVerdict, VerdictError, verify_result
from signing.threshold import key_material


class GateError(BuildError):
    """A gate policy is inconsistent (threshold, keyids)."""


class Refusal(StrEnum):
    """Why an image was refused, from the most to the least severe for the exit status."""

    FAILED = "failed"  # a trusted builder could not build it
    UNREPRODUCIBLE = "unreproducible"  # a trusted builder's two builds differ
    MISMATCH = "mismatch"  # reproducible, but not the bytes the authors signed
    UNVERIFIED = "unverified"  # too few trusted, valid results for it
    INVALID = "invalid"  # the release itself was refused before any build (archive, manifest)


@dataclass(frozen=True)
class AuthorImage:
    """What the authors signed for one image: its sha256 and length in bytes."""

    sha256: str
    length: int


@dataclass(frozen=True)
class AuthorRelease:
    """The release as its authors signed it: package, version, target -> image."""

    package: str
    version: str
    images: Mapping[str, AuthorImage]


@dataclass(frozen=True)
class GatePolicy:
    """Whose signed results count, and how many distinct keys must agree per image.

    Today the builder trusts its own key with threshold 1 (`GatePolicy.own_key`);
    a farm of workers or k independent rebuilders is the same policy with
    their keys and threshold k.
    """

    trusted_keys: Mapping[str, Key]  # keyid -> public key
    threshold: int = 1

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise GateError("gate policy: threshold must be at least 1")
        for keyid, key in self.trusted_keys.items():
            if key.keyid != keyid:
                raise GateError(f"gate policy: keyid {keyid[:16]} lists key {key.keyid[:16]}")
        if len(self.trusted_keys) < self.threshold:
            raise GateError(
                f"gate policy: threshold {self.threshold} with {len(self.trusted_keys)} keys"
            )

    @classmethod
    def own_key(cls, key: Key) -> GatePolicy:
        return cls({key.keyid: key}, 1)


@dataclass(frozen=True)
class TargetDecision:
    target: str
    accepted: bool
    reason: str
    refusal: Refusal | None = None


@dataclass(frozen=True)
class Decision:
    """publish is True only if every target was accepted."""

    publish: bool
    targets: tuple[TargetDecision, ...]
    ignored: tuple[str, ...] = field(default=())  # results that counted for nothing, and why

    @property
    def refusals(self) -> tuple[TargetDecision, ...]:
        return tuple(t for t in self.targets if not t.accepted)

    @property
    def reason(self) -> str:
        """One line: the first refusal, or what was accepted."""
        refused = self.refusals
        if refused:
            return refused[0].reason
        return "reproducible and equal to the author's hashes"

    @property
    def refusal(self) -> Refusal | None:
        """The most severe refusal (Refusal is ordered by severity), None if published."""
        kinds = {t.refusal for t in self.refusals if t.refusal is not None}
        return next((kind for kind in Refusal if kind in kinds), None)


def refused(target: str, refusal: Refusal, reason: str) -> Decision:
    """A release refused as a whole before the gate ran (e.g. its archive is unsafe)."""
    return Decision(False, (TargetDecision(target, False, reason, refusal),))


def _check_target(
    target: str,
    expected: AuthorImage,
    verdicts: Sequence[TrustedVerdict],
    policy: GatePolicy,
    ignored: Sequence[str],
) -> TargetDecision:
    if not verdicts:
        why = f" ({ignored[0]})" if ignored else ""
        return TargetDecision(
            target, False, f"{target}: no build result signed by a trusted key{why}",
            Refusal.UNVERIFIED,
        )
    for status, refusal in (
        (BuildStatus.FAILED, Refusal.FAILED),
        (BuildStatus.UNREPRODUCIBLE, Refusal.UNREPRODUCIBLE),
    ):
        bad = next((t.verdict for t in verdicts if t.verdict.status == status), None)
        if bad is not None:
            return TargetDecision(target, False, f"{target}: {status}: {bad.reason}", refusal)
    singles = [t.verdict for t in verdicts if t.verdict.status == BuildStatus.BUILT]
    if len({v.sha256 for v in singles}) > 1:
        first, other = singles[0], next(v for v in singles if v.sha256 != singles[0].sha256)
        return TargetDecision(
            target,
            False,
            f"{target}: unreproducible: {first.builder_id} built {(first.sha256 or '')[:16]}, "
            f"{other.builder_id} built {(other.sha256 or '')[:16]}",
            Refusal.UNREPRODUCIBLE,
        )
    attesting: set[bytes] = set()
    for trusted in verdicts:
        verdict = trusted.verdict
        if verdict.sha256 != expected.sha256:
            built = (verdict.sha256 or "")[:16]
            return TargetDecision(
                target,
                False,
                f"{target}: builds agree ({built}) but differ from the author's "
                f"{expected.sha256[:16]}",
                Refusal.MISMATCH,
            )
        if verdict.size != expected.length:
            return TargetDecision(
                target,
                False,
                f"{target}: image is {verdict.size} bytes, the author signed {expected.length}",
                Refusal.MISMATCH,
            )
        # One key listed under two keyids must not count twice towards the threshold.
        attesting |= {key_material(policy.trusted_keys[k].to_dict()) for k in trusted.signers}
    double_built = any(t.verdict.status == BuildStatus.REPRODUCIBLE for t in verdicts)
    if not double_built and not (
        any(not v.variations for v in singles) and any(v.variations for v in singles)
    ):
        return TargetDecision(
            target,
            False,
            f"{target}: built under one set of conditions only; reproducibility needs build A "
            "and a varied build B",
            Refusal.UNVERIFIED,
        )
    if len(attesting) < policy.threshold:
        return TargetDecision(
            target,
            False,
            f"{target}: reproduced by {len(attesting)} of the {policy.threshold} trusted "
            "builders required",
            Refusal.UNVERIFIED,
        )
    return TargetDecision(target, True, f"{target}: reproducible, equal to the author's image")


def gate(
    author: AuthorRelease, results: Sequence[SignedResult], policy: GatePolicy
) -> Decision:
    """Decide whether the release may be published (see the module docstring)."""
    if not author.images:
        return refused("release", Refusal.INVALID, "the authors signed no image")
    by_target: dict[str, list[TrustedVerdict]] = {t: [] for t in author.images}
    ignored: list[str] = []
    for index, signed in enumerate(results):
        try:
            trusted = verify_result(signed, policy.trusted_keys)
        except VerdictError as error:
            ignored.append(f"result {index}: {error}")
            continue
        verdict = trusted.verdict
        if (verdict.package, verdict.version) != (author.package, author.version):
            ignored.append(
                f"result {index} is for {verdict.package} {verdict.version}, "
                f"not {author.package} {author.version}"
            )
        elif verdict.target not in by_target:
            ignored.append(f"result {index} is for target {verdict.target}, which is not signed")
        else:
            by_target[verdict.target].append(trusted)
    decisions = tuple(
        _check_target(target, author.images[target], by_target[target], policy, ignored)
        for target in sorted(author.images)
    )
    return Decision(all(d.accepted for d in decisions), decisions, tuple(ignored))
