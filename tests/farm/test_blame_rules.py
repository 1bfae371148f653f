"""How farm blame reads its probe builds (builder.farm.blame.explain), with a probe whose images
depend on the machine and the variations by a known rule: the machine alone, a variation alone,
both, nondeterminism, and a probe that gets no result."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from pathlib import Path

from builder.double import NONDETERMINISTIC
from builder.farm.blame import MACHINE, explain, mismatches
from builder.farm.dispatch import Build
from builder.farm.errors import FarmError
from builder.farm.protocol import BoundResult, BuildSpec
from builder.status import BuildStatus
from builder.variations import variation_names
from builder.verdict import BuildVerdict, SignedResult

H = "ab" * 32
B_VARIATIONS = variation_names(os.cpu_count() or 1)
# The image of a build on a machine with some variations: names what mattered.
Rule = Callable[[str, frozenset[str]], str]


def image(*parts: object) -> str:
    return hashlib.sha256(repr(parts).encode()).hexdigest()


class RuleFarm:
    """Builds nothing: each probe's image is the rule's, as a worker would sign it."""

    def __init__(self, rule: Rule, lost: bool = False) -> None:
        self.rule, self.lost = rule, lost
        self.sent: list[tuple[str, tuple[str, ...]]] = []

    def probe(
        self, worker: str, base: BuildSpec, sets: Sequence[Sequence[str]]
    ) -> list[str | None]:
        if self.lost:
            raise FarmError("blame stopped: hello 1.0.0 hvt build B: worker w1 lost")
        self.sent += [(worker, tuple(s)) for s in sets]
        return [self.rule(worker, frozenset(s)) for s in sets]


def built(label: str, worker: str, sha256: str) -> Build:
    variations = () if label == "a" else B_VARIATIONS
    spec = BuildSpec(f"task-{label}", "hello", "1.0.0", "hvt", label, variations, H, H, (), 60)
    verdict = BuildVerdict(package="hello", version="1.0.0", target="hvt",
                           status=BuildStatus.BUILT, reason="built", sha256=sha256, size=1,
                           input_id=H, builder_id=worker, variations=variations)
    return Build(spec, worker=worker, result=BoundResult(SignedResult({}), verdict, None, None))


def blame_of(rule: Rule, tmp_path: Path, lost: bool = False) -> tuple[list[str], RuleFarm]:
    farm = RuleFarm(rule, lost)
    a = built("a", "w1", rule("w1", frozenset()))
    b = built("b", "w2", rule("w2", frozenset(B_VARIATIONS)))
    assert mismatches([a, b]) == [(a, b)]
    found = explain(farm, a, b, tmp_path, find_culprits=True)
    if lost:
        assert found.error is not None and "w1 lost" in found.error
    return list(found.culprits), farm


def test_only_the_machine(tmp_path: Path) -> None:
    culprits, farm = blame_of(lambda worker, _v: image(worker), tmp_path)
    assert culprits == [MACHINE]
    assert farm.sent == [("w1", tuple(B_VARIATIONS))]  # one probe: B's variations on A's worker


def test_only_a_variation_bisected_on_a_s_worker(tmp_path: Path) -> None:
    culprits, farm = blame_of(lambda _w, v: image("timezone" in v), tmp_path)
    assert culprits == ["timezone"]
    assert {worker for worker, _ in farm.sent} == {"w1"}


def test_the_machine_and_a_variation(tmp_path: Path) -> None:
    culprits, _farm = blame_of(lambda w, v: image(w, "umask" in v), tmp_path)
    assert culprits == ["umask", MACHINE]


def test_nondeterminism_is_not_blamed_on_the_machine(tmp_path: Path) -> None:
    counter = iter(range(1000))
    culprits, _farm = blame_of(lambda _w, _v: image(next(counter)), tmp_path)
    assert culprits == [NONDETERMINISTIC]


def test_a_probe_without_result_stops_blame_and_says_why(tmp_path: Path) -> None:
    culprits, _farm = blame_of(lambda w, _v: image(w), tmp_path, lost=True)
    assert culprits == []


def test_equal_or_failed_builds_are_not_mismatches() -> None:
    a, b = built("a", "w1", H), built("b", "w2", H)
    assert mismatches([a, b]) == []
    assert mismatches([a]) == []


