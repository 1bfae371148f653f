"""builder.rebuilder_policy: the operator's k-of-n rule, on signed verdicts (pure, no I/O)."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping

import pytest
from securesystemslib.dsse import Envelope
from securesystemslib.signer import CryptoSigner, Key

from builder.rebuilder_policy import (
    ImageUnderReview,
    RebuilderAttestation,
    RebuilderPolicy,
    RebuilderPolicyError,
    Stance,
    classify,
    judge,
)
from builder.status import BuildStatus
from signing.attestations import DSSE_PAYLOAD_TYPE
from tests.rebuilder.support import envelope

SHA = "a" * 64
OTHER = "b" * 64
IMAGE = ImageUnderReview("hello", "1.0.0", "hvt", SHA)
SIGNERS = {name: CryptoSigner.generate_ed25519() for name in ("alice", "bob", "carol", "eve")}


def keys(*names: str) -> Mapping[str, Key]:
    return {SIGNERS[n].public_key.keyid: SIGNERS[n].public_key for n in names}


def att(rebuilder: str, data: bytes, key_names: tuple[str, ...] | None = None
        ) -> RebuilderAttestation:
    return RebuilderAttestation(rebuilder, keys(*(key_names or (rebuilder,))), data)


def says(name: str, sha: str = SHA, **changes: object) -> bytes:
    return envelope(SIGNERS[name], sha, **changes)  # type: ignore[arg-type]


DELEGATED = ("alice", "bob", "carol")


def test_k_distinct_rebuilders_confirm() -> None:
    decision = judge(IMAGE, [att("alice", says("alice")), att("bob", says("bob"))],
                     RebuilderPolicy(2), DELEGATED)
    assert decision.accepted and decision.confirmed_by == ("alice", "bob")
    assert decision.reason.startswith(
        "hello 1.0.0 hvt (sha256 aaaaaaaaaaaaaaaa): confirmed by 2 of 2 required rebuilders "
        "(alice, bob)")
    assert "no attestation from: carol" in decision.reason


def test_too_few_says_how_many_and_from_whom() -> None:
    decision = judge(IMAGE, [att("alice", says("alice"))], RebuilderPolicy(2), DELEGATED)
    assert not decision.accepted
    assert "confirmed by 1 of 2 required rebuilders (alice)" in decision.reason
    assert "no attestation from: bob, carol" in decision.reason


def test_another_image_hash_disagrees_and_refuses_unless_allowed() -> None:
    attestations = [att("alice", says("alice")), att("bob", says("bob")),
                    att("carol", says("carol", OTHER))]
    refused = judge(IMAGE, attestations, RebuilderPolicy(2), DELEGATED)
    assert not refused.accepted and refused.confirmed_by == ("alice", "bob")
    assert refused.disagreed == ("carol",)
    assert "disagreed: carol: reproducible, but built sha256 bbbbbbbbbbbbbbbb" in refused.reason
    allowed = judge(IMAGE, attestations, RebuilderPolicy(2, allow_disagreement=True), DELEGATED)
    assert allowed.accepted and "allowed by --allow-disagreement" in allowed.reason


def test_unreproducible_disagrees_failed_and_other_toolchain_are_neutral() -> None:
    unreproducible = classify(IMAGE, att("bob", says("bob", status=BuildStatus.UNREPRODUCIBLE)))
    assert unreproducible.stance == Stance.DISAGREES
    failed = classify(IMAGE, att("bob", says("bob", status=BuildStatus.FAILED)))
    assert failed.stance == Stance.NEUTRAL
    other_toolchain = classify(IMAGE, att("bob", says("bob", OTHER, toolchain="differs")))
    assert other_toolchain.stance == Stance.NEUTRAL
    same_toolchain = classify(IMAGE, att("bob", says("bob", OTHER, toolchain="same")))
    assert same_toolchain.stance == Stance.DISAGREES
    single_build = classify(IMAGE, att("bob", says("bob", status=BuildStatus.BUILT)))
    assert single_build.stance == Stance.NEUTRAL


def test_signed_by_a_key_that_is_not_the_rebuilders_counts_for_nothing() -> None:
    forged = att("alice", says("eve"))  # envelope by eve, presented as alice's
    finding = classify(IMAGE, forged)
    assert finding.stance == Stance.IGNORED and "no valid signature" in finding.reason
    decision = judge(IMAGE, [forged], RebuilderPolicy(1), DELEGATED)
    assert not decision.accepted and "not counted: alice: DSSE envelope" in decision.reason


def test_an_attestation_about_another_release_counts_for_nothing() -> None:
    for changes in ({"version": "2.0.0"}, {"target": "spt"}, {"package": "other"}):
        finding = classify(IMAGE, att("alice", says("alice", **changes)))
        assert finding.stance == Stance.IGNORED and "not this image" in finding.reason


def test_truncated_or_non_canonical_envelopes_count_for_nothing() -> None:
    good = says("alice")
    truncated = classify(IMAGE, att("alice", good[: len(good) // 2]))
    assert truncated.stance == Stance.IGNORED and "truncated" in truncated.reason
    statement = json.loads(base64.b64decode(json.loads(good)["payload"]))
    spaced = json.dumps(statement, sort_keys=True, indent=1).encode()  # same statement
    # Validly signed, but not the one canonical encoding: refused all the same.
    env = Envelope(payload=spaced, payload_type=DSSE_PAYLOAD_TYPE, signatures={})
    env.sign(SIGNERS["alice"])
    resigned = env.to_dict()
    finding = classify(IMAGE, att("alice", json.dumps(resigned).encode()))
    assert finding.stance == Stance.IGNORED and "canonical" in finding.reason


def test_one_rebuilder_counts_once_however_many_attestations_or_keys() -> None:
    both_keys = ("alice", "carol")
    # alice's role has two keys; each signs an attestation; and one envelope is repeated.
    attestations = [att("alice", says("alice"), both_keys), att("alice", says("carol"), both_keys),
                    att("alice", says("alice"), both_keys)]
    decision = judge(IMAGE, attestations, RebuilderPolicy(2), DELEGATED)
    assert not decision.accepted and decision.confirmed_by == ("alice",)
    assert "confirmed by 1 of 2" in decision.reason


def test_two_rebuilder_names_with_the_same_key_count_once() -> None:
    # bob's role is (wrongly) delegated alice's key: one party, two names.
    attestations = [att("alice", says("alice")), att("bob", says("alice"), ("alice",))]
    decision = judge(IMAGE, attestations, RebuilderPolicy(2), DELEGATED)
    assert not decision.accepted and decision.confirmed_by == ("alice",)
    assert "bob: signed with the keys of another counted rebuilder" in decision.reason


def test_only_delegated_or_named_rebuilders_count() -> None:
    attestations = [att("alice", says("alice")), att("bob", says("bob")),
                    att("mallory", says("eve"), ("eve",))]
    not_delegated = judge(IMAGE, attestations, RebuilderPolicy(3), DELEGATED)
    assert not not_delegated.accepted
    assert "mallory: not a trusted rebuilder" in not_delegated.reason
    named = judge(IMAGE, attestations, RebuilderPolicy(1, frozenset({"bob"})), DELEGATED)
    assert named.accepted and named.confirmed_by == ("bob",)
    assert "alice: not a trusted rebuilder" in named.reason
    unknown = judge(IMAGE, attestations, RebuilderPolicy(1, frozenset({"zed"})), DELEGATED)
    assert not unknown.accepted and "not delegated by the repository: zed" in unknown.reason
    # A named rebuilder's disagreement refuses; an untrusted one's does not count.
    lying = [att("alice", says("alice")), att("mallory", says("eve", OTHER), ("eve",))]
    assert judge(IMAGE, lying, RebuilderPolicy(1), DELEGATED).accepted


def test_policy_needs_at_least_one_and_enough_names() -> None:
    with pytest.raises(RebuilderPolicyError):
        RebuilderPolicy(0)
    with pytest.raises(RebuilderPolicyError, match="2 rebuilders required but only 1 named"):
        RebuilderPolicy(2, frozenset({"alice"}))
