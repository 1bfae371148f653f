"""Blame on the farm: why build A and build B of a target differ, found with probe builds.

The dispatcher (the coordinator) runs this after the builds of a run, for every
target whose build A and build B both built but differ:

* diffoscope compares the two images, downloaded by hash (and re-hashed), on the
  coordinator, sandboxed as in-process (builder.double.run_diffoscope);
* the culprits come from the same bisection as in-process (builder.double.bisect),
  whose probe builds are farm tasks pinned to the worker that built A, so every
  comparison is between builds of one machine. Each probe result is bound like any
  build's (a configured worker key signed it, for this very task): the broker
  cannot choose the culprits.
* when A and B ran on different workers, one more probe comes first: B's
  variations on A's worker. Equal to A: the variations change nothing there, the
  machine does (culprit "machine"); equal to B: the machine plays no part;
  neither: both do, and "machine" is named beside the variations found.

Blame explains a refusal; it never decides one (builder.gate.gate does).
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from builder.double import NONDETERMINISTIC, bisect, run_diffoscope
from builder.errors import BuildError
from builder.farm.dispatch import Build
from builder.farm.protocol import BuildSpec
from builder.status import BuildStatus
from builder.variations import Variation, select

MACHINE = "machine"  # the culprit when only the worker machine explains the difference


class Prober(Protocol):
    """What blame needs of the farm: single builds pinned to one worker (Farm.probe)."""

    def probe(
        self, worker: str, base: BuildSpec, sets: Sequence[Sequence[str]]
    ) -> list[str | None]: ...


@dataclass(frozen=True)
class FarmBlame:
    """What blame found for one target: culprits, the probe builds, the diffoscope reports."""

    target: str
    workers: tuple[str, str]  # who built A, who built B
    culprits: tuple[str, ...]
    probes: dict[str, str | None]  # what was built where -> image sha256 (None: failed)
    seconds: float
    diffoscope: dict[str, str] = field(default_factory=dict)  # format -> report path
    error: str | None = None  # why blame stopped early (a probe's worker lost...)

    def to_json(self) -> dict[str, object]:
        return {
            "target": self.target,
            "workers": list(self.workers),
            "culprits": list(self.culprits),
            "probes": dict(self.probes),
            "seconds": round(self.seconds, 3),
            "diffoscope": dict(self.diffoscope),
            "error": self.error,
        }


def mismatches(builds: Sequence[Build]) -> list[tuple[Build, Build]]:
    """(build A, build B) of every target where both built and the images differ."""
    found = []
    for a in builds:
        if a.spec.build != "a" or a.result is None:
            continue
        for b in builds:
            if (b.spec.build == "b" and b.spec.target == a.spec.target and b.result is not None
                    and a.result.verdict.status == b.result.verdict.status == BuildStatus.BUILT
                    and a.result.verdict.sha256 != b.result.verdict.sha256):
                found.append((a, b))
    return found


def _diffoscope(a: Build, b: Build, report_dir: Path) -> dict[str, str]:
    if a.image is None or b.image is None:
        return {}
    stem = f"{a.spec.package}-{a.spec.version}.{a.spec.target}"
    with tempfile.TemporaryDirectory(prefix="farm-diff-") as scratch:
        os.chmod(scratch, 0o755)  # the sandbox's unprivileged uid reads the images
        paths = []
        for label, image in (("a", a.image), ("b", b.image)):
            path = Path(scratch) / label
            path.write_bytes(image)
            path.chmod(0o644)
            paths.append(path)
        return run_diffoscope(paths[0], paths[1], report_dir, stem)


def explain(farm: Prober, a: Build, b: Build, report_dir: Path, find_culprits: bool) -> FarmBlame:
    """diffoscope of A vs B into report_dir and, if asked, the culprits (see module doc)."""
    assert a.result is not None and b.result is not None
    started = time.monotonic()
    worker_a, worker_b = a.result.verdict.builder_id, b.result.verdict.builder_id
    sha_a, sha_b = a.result.verdict.sha256, b.result.verdict.sha256
    probes: dict[str, str | None] = {}
    culprits: tuple[str, ...] = ()
    error = None
    try:
        reports = _diffoscope(a, b, report_dir)
    except BuildError as failure:
        reports, error = {}, f"diffoscope: {failure}"
    if not find_culprits:
        return FarmBlame(a.spec.target, (worker_a, worker_b), (), probes,
                         time.monotonic() - started, reports, error)
    try:
        variations: tuple[Variation, ...] = select(b.spec.variations, os.cpu_count() or 1)
        machine = False
        if worker_a != worker_b:
            (on_a,) = farm.probe(worker_a, a.spec, [b.spec.variations])
            probes[f"B's variations on {worker_a}"] = on_a
            if on_a == sha_a:
                culprits = (MACHINE,)
            machine = on_a != sha_b
        if not culprits:

            def on_worker_a(sets: Sequence[Sequence[Variation]]) -> list[str | None]:
                return farm.probe(worker_a, a.spec, [[v.name for v in s] for s in sets])

            found = bisect(sha_a, variations, on_worker_a)
            probes.update({f"{label} on {worker_a}": h for label, h in found.builds.items()})
            culprits = found.culprits
            if machine and NONDETERMINISTIC not in culprits:
                culprits += (MACHINE,)
    except BuildError as failure:  # FarmError included: a probe got no result
        error = str(failure)
    return FarmBlame(a.spec.target, (worker_a, worker_b), culprits, probes,
                     time.monotonic() - started, reports, error)
