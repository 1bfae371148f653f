"""A farm rebuild's verdict from its workers' results (builder.farm.rebuild.judge, pure): the
gate's rule for single builds decides whether they are one reproducible image, which is then
compared with the published image as the in-process rebuild compares it."""

from __future__ import annotations

from builder.farm.protocol import BoundResult, bind_result
from builder.farm.rebuild import judge
from builder.gate import GatePolicy
from builder.reference import Reference
from builder.status import BuildStatus
from tests.farm.test_protocol import ATTACKER, IMAGE, KEYS, OTHER, WORKER_1, WORKER_2, result, spec

PUBLISHED = Reference(IMAGE, 100)
POLICY = GatePolicy(KEYS)


def bound(build: str, signer: object = WORKER_1, **kwargs: object) -> BoundResult:
    keys = {**KEYS, ATTACKER.public_key.keyid: ATTACKER.public_key}
    return bind_result(spec(build), result(spec(build), signer, **kwargs),  # type: ignore[arg-type]
                       keys)


def test_two_builds_of_the_published_image_confirm_it() -> None:
    judged = judge("hello", "1.0.0", "hvt", [bound("a"), bound("b", WORKER_2)], PUBLISHED, POLICY)
    assert (judged.status, judged.sha256, judged.size) == (BuildStatus.REPRODUCIBLE, IMAGE, 100)
    assert judged.reason == "both builds are bit-for-bit identical and equal to the published image"
    assert judged.toolchain == "unknown"  # the release published no build info


def test_two_builds_of_another_image_are_a_reproducible_mismatch() -> None:
    judged = judge("hello", "1.0.0", "hvt",
                   [bound("a", sha256=OTHER), bound("b", WORKER_2, sha256=OTHER)], PUBLISHED,
                   POLICY)
    assert (judged.status, judged.sha256) == (BuildStatus.REPRODUCIBLE, OTHER)
    assert "differ from the published image" in judged.reason


def test_builds_that_differ_are_unreproducible() -> None:
    judged = judge("hello", "1.0.0", "hvt", [bound("a"), bound("b", WORKER_2, sha256=OTHER)],
                   PUBLISHED, POLICY)
    assert (judged.status, judged.sha256) == (BuildStatus.UNREPRODUCIBLE, None)
    assert judged.reason.startswith("unreproducible: w1 built")


def test_one_build_or_a_failed_one_confirms_nothing() -> None:
    only_a = judge("hello", "1.0.0", "hvt", [bound("a")], PUBLISHED, POLICY)
    assert only_a.status == BuildStatus.FAILED and "one set of conditions only" in only_a.reason
    failed = judge("hello", "1.0.0", "hvt",
                   [bound("a", status=BuildStatus.FAILED), bound("b", WORKER_2)], PUBLISHED,
                   POLICY)
    assert failed.status == BuildStatus.FAILED and failed.sha256 is None


def test_results_of_keys_the_rebuilder_did_not_configure_count_for_nothing() -> None:
    forged = [bound("a", ATTACKER), bound("b", ATTACKER)]
    judged = judge("hello", "1.0.0", "hvt", forged, PUBLISHED, POLICY)
    assert judged.status == BuildStatus.FAILED
    assert judged.reason.startswith("no build result signed by a trusted key")


def test_two_workers_required_and_one_built_both() -> None:
    judged = judge("hello", "1.0.0", "hvt", [bound("a"), bound("b")], PUBLISHED,
                   GatePolicy(KEYS, 2))
    assert judged.status == BuildStatus.FAILED
    assert judged.reason == "reproduced by 1 of the 2 trusted builders required"


def test_a_worker_toolchain_other_than_the_releases_says_differs() -> None:
    release_toolchain = Reference(IMAGE, 100, (("/usr/bin/gcc", "0" * 64),))
    judged = judge("hello", "1.0.0", "hvt", [bound("a"), bound("b", WORKER_2)],
                   release_toolchain, POLICY)
    assert judged.status == BuildStatus.REPRODUCIBLE and judged.toolchain == "differs"
