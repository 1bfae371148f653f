"""builder.publication: the one place a gate Decision becomes publish-these-files or reject,
for `repo-tool build` in-process and on the farm alike (pure)."""

from __future__ import annotations

from pathlib import Path

from builder.gate import Decision, Refusal, TargetDecision, refused
from builder.publication import decision_record, publish_failed, settle

HVT, SPT = "ab/hello/1.0.0/hello.hvt", "ab/hello/1.0.0/hello.spt"
ACCEPTED = Decision(True, (TargetDecision("hvt", True, "hvt: ok"),
                           TargetDecision("spt", True, "spt: ok")))


def test_a_published_release_publishes_exactly_its_signed_images() -> None:
    built = {"hvt": Path("/b/hello.hvt"), "spt": Path("/b/hello.spt"), "xen": Path("/b/x")}
    settlement = settle(ACCEPTED, [SPT, HVT], built)
    assert settlement.outcome == "published"
    assert dict(settlement.images) == {HVT: Path("/b/hello.hvt"), SPT: Path("/b/hello.spt")}


def test_an_image_missing_turns_publish_into_a_refusal() -> None:
    settlement = settle(ACCEPTED, [HVT, SPT], {"hvt": Path("/b/hello.hvt")})
    assert settlement.outcome == "rejected" and dict(settlement.images) == {}
    assert settlement.decision.refusal == Refusal.INVALID
    assert settlement.decision.reason == f"no built image for {SPT}"


def test_a_refused_release_publishes_nothing_whatever_was_built() -> None:
    no = refused("hvt", Refusal.UNREPRODUCIBLE, "hvt: unreproducible: w1 built 12, w2 built 34")
    settlement = settle(no, [HVT], {"hvt": Path("/b/hello.hvt")})
    assert settlement.outcome == "rejected" and dict(settlement.images) == {}
    assert settlement.decision is no


def test_the_decision_record_both_build_paths_print() -> None:
    failed = publish_failed("the image is not the author's\ndetails")
    assert decision_record("hello", "1.0.0", failed) == {
        "package": "hello",
        "version": "1.0.0",
        "decision": "rejected",
        "refusal": Refusal.INVALID,
        "reason": "the image is not the author's",
        "targets": [{"target": "release", "accepted": False,
                     "reason": "the image is not the author's"}],
    }
    assert decision_record("hello", "1.0.0", ACCEPTED)["decision"] == "published"
