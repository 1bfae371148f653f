"""The farm's trust rules without a broker: binding a worker's signed result to its task,
the gate over single builds, and the content-addressed store.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from securesystemslib.signer import CryptoSigner

from builder.farm.errors import FarmError
from builder.farm.protocol import BuildSpec, ResultRefused, bind_result
from builder.farm.store import ArtifactStore, StoreError
from builder.gate import AuthorImage, AuthorRelease, GatePolicy, Refusal, gate
from builder.status import BuildStatus
from builder.verdict import BuildVerdict, SignedResult, sign_verdict, verdict_statement
from signing.keys import generate_key

IMAGE = hashlib.sha256(b"image").hexdigest()
OTHER = hashlib.sha256(b"other").hexdigest()
H = "ab" * 32
WORKER_1, WORKER_2, ATTACKER = generate_key(), generate_key(), generate_key()
KEYS = {k.public_key.keyid: k.public_key for k in (WORKER_1, WORKER_2)}
AUTHOR = AuthorRelease("hello", "1.0.0", {"hvt": AuthorImage(IMAGE, 100)})


def spec(build: str = "a", task: str = "task-1") -> BuildSpec:
    return BuildSpec(task, "hello", "1.0.0", "hvt", build, () if build == "a" else ("time",),
                     H, H, ((H, H),), 60)


def result(
    spec: BuildSpec,
    signer: CryptoSigner,
    *,
    sha256: str = IMAGE,
    status: BuildStatus = BuildStatus.BUILT,
    task: str | None = None,
    package: str = "hello",
    worker: str = "w1",
) -> dict[str, Any]:
    verdict = BuildVerdict(package, "1.0.0", "hvt", status, "built",
                           sha256 if status != BuildStatus.FAILED else None,
                           100 if status != BuildStatus.FAILED else None, H, worker,
                           variations=spec.variations)
    statement = verdict_statement(
        verdict, build_type="t", source_date_epoch=0, internal_parameters={},
        resolved_dependencies=[], invocation_id=task or spec.task, started_on="", finished_on="",
    )
    envelope = dict(sign_verdict(statement, signer).envelope)
    return {"envelope": envelope, "image": verdict.sha256, "log": H, "buildinfo": H}


def test_spec_round_trips_and_bad_specs_are_refused() -> None:
    assert BuildSpec.from_json(spec("b").to_json()) == spec("b")
    for change in (
        {"build": "c"},
        {"build": "a", "variations": ["time"]},  # build A never varies
        {"build": "b", "variations": []},
        {"archive": "../../etc/passwd"},
        {"time_limit": 0},
        {"dependencies": [[H]]},
    ):
        with pytest.raises(FarmError):
            BuildSpec.from_json({**spec("b").to_json(), **change})


def test_a_workers_result_for_its_task_is_bound() -> None:
    bound = bind_result(spec(), result(spec(), WORKER_1), KEYS)
    assert bound.verdict.sha256 == IMAGE and bound.verdict.builder_id == "w1"


@pytest.mark.parametrize(
    ("document", "why"),
    [
        (result(spec(), ATTACKER), "no valid signature by a trusted key"),
        ({**result(spec(), WORKER_1), "envelope": {
            **result(spec(), WORKER_1)["envelope"], "signatures": []}}, "unsigned"),
        ({"image": IMAGE}, "no DSSE envelope"),
        ("SUCCESS", "no DSSE envelope"),
        # a genuine result of another task (a replay) answers nothing else
        (result(spec(), WORKER_1, task="task-2"), "signed for task 'task-2'"),
        (result(spec(), WORKER_1, package="test_time"), "signed for test_time"),
        # build B's result offered for build A
        (result(spec("b"), WORKER_1, task="task-1"), "other variations"),
        ({**result(spec(), WORKER_1), "image": OTHER}, "not the signed one"),
        (result(spec(), WORKER_1, status=BuildStatus.REPRODUCIBLE), "cannot be reproducible"),
    ],
)
def test_results_that_answer_nothing_are_refused(document: Any, why: str) -> None:
    with pytest.raises(ResultRefused, match=why):
        bind_result(spec(), document, KEYS)


def signed(document: dict[str, Any]) -> SignedResult:
    return SignedResult(document["envelope"])


POLICY = GatePolicy(KEYS, 1)


def test_gate_publishes_agreeing_build_a_and_varied_build_b() -> None:
    a, b = spec("a"), spec("b", "task-2")
    results = [signed(result(a, WORKER_1)), signed(result(b, WORKER_2, worker="w2"))]
    assert gate(AUTHOR, results, POLICY).publish


def test_gate_refuses_one_build_or_two_builds_under_one_condition() -> None:
    a = spec("a")
    only_a = gate(AUTHOR, [signed(result(a, WORKER_1))], POLICY)
    assert not only_a.publish and only_a.refusal == Refusal.UNVERIFIED
    assert "one set of conditions" in only_a.reason
    twice_a = gate(
        AUTHOR, [signed(result(a, WORKER_1)), signed(result(a, WORKER_2, worker="w2"))], POLICY
    )
    assert not twice_a.publish and twice_a.refusal == Refusal.UNVERIFIED


def test_gate_refuses_builds_that_differ_and_failed_builds() -> None:
    a, b = spec("a"), spec("b", "task-2")
    differ = gate(
        AUTHOR,
        [signed(result(a, WORKER_1)), signed(result(b, WORKER_2, sha256=OTHER, worker="w2"))],
        POLICY,
    )
    assert differ.refusal == Refusal.UNREPRODUCIBLE
    assert differ.reason.startswith("hvt: unreproducible: w1 built")
    failed = gate(
        AUTHOR,
        [signed(result(a, WORKER_1)), signed(result(b, WORKER_2, status=BuildStatus.FAILED))],
        POLICY,
    )
    assert failed.refusal == Refusal.FAILED


def test_store_returns_exact_bytes_or_refuses(tmp_path: Path) -> None:
    store = ArtifactStore(tmp_path, max_bytes=1000)
    name = store.put(b"image bytes")
    assert store.get(name) == b"image bytes"
    path = tmp_path / "sha256" / name[:2] / name
    path.write_bytes(b"tampered")
    with pytest.raises(StoreError, match="does not hash to its name"):
        store.get(name)
    with pytest.raises(StoreError, match="not in the store"):
        store.get(OTHER)
    with pytest.raises(StoreError, match="not a sha256"):
        store.get("../" + name)
    with pytest.raises(StoreError, match="over the store's 1000-byte limit"):
        store.put(b"x" * 1001)
