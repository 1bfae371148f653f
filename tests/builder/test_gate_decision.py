"""builder.gate.gate(): the publish decision, pure, over signed build results.

Every branch: publish; refuse failed, unreproducible, other bytes, other
length, too few trusted builders; and every result that must count for
nothing: unsigned, signed by an untrusted key, tampered, truncated,
non-canonical, and about another release, target or image.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, SSlibKey

from builder.gate import (
    AuthorImage,
    AuthorRelease,
    GateError,
    GatePolicy,
    Refusal,
    gate,
)
from builder.status import BuildStatus
from builder.verdict import (
    BuildVerdict,
    SignedResult,
    VerdictError,
    read_verdict,
    sign_verdict,
    verdict_statement,
    verify_result,
)
from signing.attestations import canonical_payload

HVT = "a" * 64
SPT = "b" * 64
BUILDER = CryptoSigner.generate_ed25519()
REBUILDER = CryptoSigner.generate_ed25519()
STRANGER = CryptoSigner.generate_ed25519()
AUTHOR = AuthorRelease(
    "hello", "1.0.0", {"hvt": AuthorImage(HVT, 1000), "spt": AuthorImage(SPT, 2000)}
)
OWN = GatePolicy.own_key(BUILDER.public_key)


def verdict(target: str, /, **changes: Any) -> BuildVerdict:
    base = BuildVerdict(
        package="hello",
        version="1.0.0",
        target=target,
        status=BuildStatus.REPRODUCIBLE,
        reason="both builds are bit-for-bit identical",
        sha256=HVT if target == "hvt" else SPT,
        size=1000 if target == "hvt" else 2000,
        input_id="c" * 64,
        builder_id="test-builder",
    )
    return replace(base, **changes)


def statement(v: BuildVerdict) -> dict[str, Any]:
    return verdict_statement(
        v,
        build_type="https://example.invalid/build",
        source_date_epoch=0,
        internal_parameters={},
        resolved_dependencies=[],
        invocation_id="1",
        started_on="2026-01-01T00:00:00Z",
        finished_on="2026-01-01T00:00:01Z",
    )


def signed(v: BuildVerdict, signer: CryptoSigner = BUILDER) -> SignedResult:
    return sign_verdict(statement(v), signer)


def both(signer: CryptoSigner = BUILDER) -> list[SignedResult]:
    return [signed(verdict("hvt"), signer), signed(verdict("spt"), signer)]


def test_publishes_when_every_image_is_reproducible_and_the_authors() -> None:
    decision = gate(AUTHOR, both(), OWN)
    assert decision.publish and decision.refusal is None and decision.ignored == ()
    assert [(t.target, t.accepted) for t in decision.targets] == [("hvt", True), ("spt", True)]
    assert decision.reason == "reproducible and equal to the author's hashes"


@pytest.mark.parametrize(
    ("change", "refusal", "reason"),
    [
        (
            {"status": BuildStatus.FAILED, "sha256": None, "size": None,
             "reason": "build a failed: resource limit: CPU time"},
            Refusal.FAILED,
            "hvt: failed: build a failed: resource limit: CPU time",
        ),
        (
            {"status": BuildStatus.UNREPRODUCIBLE, "sha256": None, "size": None,
             "reason": "build A and build B differ; blamed on: time"},
            Refusal.UNREPRODUCIBLE,
            "hvt: unreproducible: build A and build B differ; blamed on: time",
        ),
        (
            {"sha256": "d" * 64},
            Refusal.MISMATCH,
            f"hvt: builds agree ({'d' * 16}) but differ from the author's {'a' * 16}",
        ),
        (
            {"size": 999},
            Refusal.MISMATCH,
            "hvt: image is 999 bytes, the author signed 1000",
        ),
    ],
)
def test_refuses_an_image_that_is_not_exactly_the_authors(
    change: dict[str, Any], refusal: Refusal, reason: str
) -> None:
    decision = gate(AUTHOR, [signed(verdict("hvt", **change)), signed(verdict("spt"))], OWN)
    assert not decision.publish
    assert decision.refusal == refusal and decision.reason == reason
    assert [t.accepted for t in decision.targets] == [False, True]


def test_one_failed_target_outranks_a_mismatch_in_the_release_refusal() -> None:
    results = [
        signed(verdict("hvt", sha256="d" * 64)),
        signed(verdict("spt", status=BuildStatus.FAILED, sha256=None, size=None, reason="x")),
    ]
    assert gate(AUTHOR, results, OWN).refusal == Refusal.FAILED


def test_a_target_without_any_result_is_refused() -> None:
    decision = gate(AUTHOR, [signed(verdict("hvt"))], OWN)
    assert not decision.publish and decision.refusal == Refusal.UNVERIFIED
    assert decision.reason == "spt: no build result signed by a trusted key"


def test_the_authors_signed_no_image() -> None:
    decision = gate(replace(AUTHOR, images={}), [], OWN)
    assert not decision.publish and decision.refusal == Refusal.INVALID


def tamper(result: SignedResult, edit: Callable[[dict[str, Any]], None]) -> SignedResult:
    document = json.loads(json.dumps(dict(result.envelope)))
    edit(document)
    return SignedResult(document)


def payload_edit(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def edit(document: dict[str, Any]) -> None:
        inner = json.loads(base64.b64decode(document["payload"]))
        change(inner)
        document["payload"] = base64.b64encode(canonical_payload(inner)).decode()

    return edit


def set_sha(inner: dict[str, Any]) -> None:
    inner["subject"][0]["digest"]["sha256"] = "e" * 64


def unsign(document: dict[str, Any]) -> None:
    document["signatures"] = []


def truncate(document: dict[str, Any]) -> None:
    # 4k + 1 characters: never valid base64, whatever the payload's length.
    half = len(document["payload"]) // 8 * 4
    document["payload"] = document["payload"][: half + 1]


def junk_base64(document: dict[str, Any]) -> None:
    document["payload"] = document["payload"][:8] + "\n" + document["payload"][8:]


def extra_field(document: dict[str, Any]) -> None:
    document["note"] = "trust me"


def spaced_payload(document: dict[str, Any]) -> None:
    inner = json.loads(base64.b64decode(document["payload"]))
    document["payload"] = base64.b64encode(json.dumps(inner, indent=1).encode()).decode()


def wrong_payload_type(document: dict[str, Any]) -> None:
    document["payloadType"] = "application/json"


@pytest.mark.parametrize(
    ("edit", "why"),
    [
        (unsign, "unsigned"),
        (payload_edit(set_sha), "no valid signature"),
        (truncate, "canonical base64"),
        (junk_base64, "canonical base64"),
        (extra_field, "expected payload, payloadType, signatures"),
        (wrong_payload_type, "not in-toto"),
    ],
)
def test_tampered_or_malformed_results_count_for_nothing(
    edit: Callable[[dict[str, Any]], None], why: str
) -> None:
    results = [tamper(signed(verdict("hvt")), edit), signed(verdict("spt"))]
    decision = gate(AUTHOR, results, OWN)
    assert not decision.publish and decision.refusal == Refusal.UNVERIFIED
    assert decision.targets[0].reason.startswith("hvt: no build result signed by a trusted key")
    (ignored,) = decision.ignored
    assert why in ignored


def test_a_non_canonical_payload_is_refused_even_when_validly_signed() -> None:
    """One statement has one signed encoding: re-encoded (indented) JSON is refused."""
    result = signed(verdict("hvt"))
    document = json.loads(json.dumps(dict(result.envelope)))
    spaced_payload(document)
    # Re-sign the spaced payload with the trusted key: still refused.
    envelope = Envelope.from_dict(document | {"signatures": []})
    envelope.sign(BUILDER)
    decision = gate(AUTHOR, [SignedResult(envelope.to_dict()), signed(verdict("spt"))], OWN)
    assert not decision.publish
    assert "canonical JSON" in decision.ignored[0]


def test_results_signed_by_an_untrusted_key_count_for_nothing() -> None:
    decision = gate(AUTHOR, both(STRANGER), OWN)
    assert not decision.publish and decision.refusal == Refusal.UNVERIFIED
    assert len(decision.ignored) == 2 and "no valid signature" in decision.ignored[0]


@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"package": "evil"}, "is for evil 1.0.0, not hello 1.0.0"),
        ({"version": "0.9.0"}, "is for hello 0.9.0, not hello 1.0.0"),
        ({"target": "muen"}, "is for target muen, which is not signed"),
    ],
)
def test_results_about_another_release_or_target_count_for_nothing(
    change: dict[str, Any], why: str
) -> None:
    decision = gate(AUTHOR, [signed(verdict("hvt", **change)), signed(verdict("spt"))], OWN)
    assert not decision.publish and decision.targets[0].refusal == Refusal.UNVERIFIED
    assert why in decision.ignored[0]


def test_a_result_filed_under_another_target_does_not_stand_in_for_it() -> None:
    """spt's (valid, signed) verdict offered twice does not cover hvt."""
    decision = gate(AUTHOR, [signed(verdict("spt")), signed(verdict("spt"))], OWN)
    assert [t.accepted for t in decision.targets] == [False, True]


def test_a_subject_naming_another_image_is_refused() -> None:
    def rename(inner: dict[str, Any]) -> None:
        inner["subject"][0]["name"] = "other.hvt"

    document = json.loads(json.dumps(dict(signed(verdict("hvt")).envelope)))
    payload_edit(rename)(document)
    envelope = Envelope.from_dict(document | {"signatures": []})
    envelope.sign(BUILDER)  # validly signed, but about the wrong image
    decision = gate(AUTHOR, [SignedResult(envelope.to_dict()), signed(verdict("spt"))], OWN)
    assert not decision.publish
    assert "subject 'other.hvt' is not 'hello.hvt'" in decision.ignored[0]


def test_a_threshold_of_rebuilders_needs_that_many_distinct_keys() -> None:
    policy = GatePolicy(
        {BUILDER.public_key.keyid: BUILDER.public_key,
         REBUILDER.public_key.keyid: REBUILDER.public_key},
        threshold=2,
    )
    one = gate(AUTHOR, both(BUILDER), policy)
    assert not one.publish and one.refusal == Refusal.UNVERIFIED
    assert one.reason == "hvt: reproduced by 1 of the 2 trusted builders required"
    assert gate(AUTHOR, both(BUILDER) + both(REBUILDER), policy).publish
    # The same builder twice is still one builder.
    assert not gate(AUTHOR, both(BUILDER) + both(BUILDER), policy).publish
    # One disagreeing trusted rebuilder refuses, whatever the others say.
    disagreeing = [signed(verdict("hvt", sha256="d" * 64), REBUILDER), *both(BUILDER)]
    assert gate(AUTHOR, disagreeing, policy).refusal == Refusal.MISMATCH


def test_one_key_under_two_keyids_does_not_meet_a_threshold_of_two() -> None:
    private = Ed25519PrivateKey.generate()
    key = SSlibKey.from_crypto(private.public_key())
    alias = SSlibKey.from_crypto(private.public_key(), keyid="f" * 64)
    with pytest.raises(GateError, match="lists key"):
        GatePolicy({key.keyid: key, "e" * 64: alias}, 2)
    policy = GatePolicy({key.keyid: key, alias.keyid: alias}, threshold=2)
    results = both(CryptoSigner(private, key)) + both(CryptoSigner(private, alias))
    decision = gate(AUTHOR, results, policy)
    assert not decision.publish
    assert decision.reason == "hvt: reproduced by 1 of the 2 trusted builders required"


def test_policy_refuses_an_impossible_threshold() -> None:
    with pytest.raises(GateError, match="threshold"):
        GatePolicy({BUILDER.public_key.keyid: BUILDER.public_key}, threshold=2)
    with pytest.raises(GateError, match="threshold"):
        GatePolicy({}, threshold=0)


def test_read_verdict_refuses_statements_without_a_single_verdict() -> None:
    good = statement(verdict("hvt"))
    assert read_verdict(good).sha256 == HVT
    broken = json.loads(json.dumps(good))
    broken["predicate"]["runDetails"]["byproducts"] = []
    with pytest.raises(VerdictError, match="no single verdict"):
        read_verdict(broken)
    unknown = json.loads(json.dumps(good))
    unknown["predicate"]["runDetails"]["byproducts"][-1]["annotations"]["status"] = "fine"
    with pytest.raises(VerdictError, match="unknown build status"):
        read_verdict(unknown)
    refused = statement(verdict("hvt", status=BuildStatus.FAILED, sha256=None, size=None))
    assert refused["subject"] == [
        {"name": "hello-1.0.0.hvt.inputs", "digest": {"sha256": "c" * 64}}
    ]
    assert read_verdict(refused).sha256 is None


def test_verify_result_reports_who_signed() -> None:
    trusted = verify_result(signed(verdict("hvt")), {BUILDER.public_key.keyid: BUILDER.public_key})
    assert trusted.signers == {BUILDER.public_key.keyid}
    assert trusted.verdict == verdict("hvt")
