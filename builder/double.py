"""The double build: A under fixed conditions, B with every variation, in parallel.

Compare the images bit for bit. On a mismatch run diffoscope (HTML, text,
JSON) and blame: bisect the variation set (see blame()) to name the culprit variations.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

from builder.build import BuildOutcome, BuildRequest, run_build
from builder.limits import Limits
from builder.sandbox import TOOL_INPUTS, TOOL_OUTPUT, run_tool_sandboxed
from builder.status import BuildStatus
from builder.variations import CONTROL, Conditions, Variation, apply

NONDETERMINISTIC = "nondeterministic"  # the culprit when an unvaried rebuild already differs
DIFFOSCOPE_TIMEOUT = 120  # diffoscope's own budget; the sandbox kills it at twice that
DIFFOSCOPE_LIMITS = Limits(wall_seconds=DIFFOSCOPE_TIMEOUT * 2)
DIFFOSCOPE_FORMATS = (("html", "html"), ("text", "txt"), ("json", "json"))


@dataclass(frozen=True)
class Blame:
    culprits: tuple[str, ...]
    seconds: float
    # variation set ("a+b") -> sha256 of the image built with only that set varied (None: failed)
    builds: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class DoubleBuild:
    request: BuildRequest
    control: BuildOutcome
    experiment: BuildOutcome
    variations: tuple[Variation, ...]
    status: BuildStatus
    reason: str
    seconds: float
    blame: Blame | None = None
    diffoscope: dict[str, str] = field(default_factory=dict)  # format -> file path

    @property
    def sha256(self) -> str | None:
        return self.control.sha256 if self.status == BuildStatus.REPRODUCIBLE else None


def _pool_size() -> int:
    return max(1, min(2, os.cpu_count() or 1))


def on_cpu(conditions: Conditions, slot: int, control: Conditions = CONTROL) -> Conditions:
    """A one-CPU build moved to CPU slot % N, so parallel one-CPU builds do not share a core.

    The number of CPUs is the variation; which CPU a one-CPU build gets is not.
    """
    if conditions.cpus != control.cpus:
        return conditions
    return replace(conditions, cpus=str(slot % (os.cpu_count() or 1)))


def run_diffoscope(
    a: Path, b: Path, out_dir: Path, stem: str, limits: Limits = DIFFOSCOPE_LIMITS
) -> dict[str, str]:
    """diffoscope's HTML, text and JSON reports of a vs b in out_dir; {} if it is missing.

    The images are the author's (untrusted) code, so diffoscope runs in the
    sandbox: unprivileged, no network, the images read-only, an environment of
    four fixed variables (none of the builder's, so no passphrase), and limits.
    """
    if shutil.which("diffoscope") is None:
        return {}
    out_dir.mkdir(parents=True, exist_ok=True)
    names = {fmt: f"{stem}.diffoscope.{ext}" for fmt, ext in DIFFOSCOPE_FORMATS}
    with tempfile.TemporaryDirectory(prefix="diffoscope-") as scratch:
        written = Path(scratch) / "out"
        run_tool_sandboxed(
            [
                "diffoscope",
                "--html",
                f"{TOOL_OUTPUT}/{names['html']}",
                "--text",
                f"{TOOL_OUTPUT}/{names['text']}",
                "--json",
                f"{TOOL_OUTPUT}/{names['json']}",
                "--exclude-directory-metadata=yes",
                "--timeout",
                str(DIFFOSCOPE_TIMEOUT),
                "--no-progress",
                f"{TOOL_INPUTS}/a/{stem}",
                f"{TOOL_INPUTS}/b/{stem}",
            ],
            inputs=[(a, f"a/{stem}"), (b, f"b/{stem}")],
            out_dir=written,
            limits=limits,
        )
        reports = {}
        for fmt, name in names.items():
            report = written / name
            if report.is_file() and not report.is_symlink():
                shutil.copyfile(report, out_dir / name)
                reports[fmt] = str(out_dir / name)
    return reports


# Builds one image per set of variations (each applied alone to the control's conditions;
# () is the control again) and returns their sha256 in order (None: that build failed).
Probe = Callable[[Sequence[Sequence[Variation]]], list[str | None]]


def bisect(control_sha256: str | None, variations: Sequence[Variation], probe: Probe) -> Blame:
    """Name the variations that change the image, by bisection, building through `probe`.

    Round one rebuilds the control unvaried (a difference there means the
    build is nondeterministic by itself) and each half of the variation set
    alone. Every half whose build differs from A is split again, both parts
    built in the same round, down to single variations. A set that differs while
    none of its parts does is named as a combination ("a+b"). A build that
    fails under a variation also counts as a difference (recorded as null).
    With one culprit among 14 variations this takes 4 rounds of 2 builds
    instead of 14 single-variation builds. `probe` runs the builds of a round
    (in-process threads: blame(); farm workers: builder.farm.blame).
    """
    started = time.monotonic()
    built: dict[str, str | None] = {}

    def build_sets(sets: Sequence[Sequence[Variation]], extra_control: bool = False) -> list[bool]:
        jobs: list[tuple[str, Sequence[Variation]]] = [
            ("+".join(v.name for v in group), group) for group in sets
        ]
        if extra_control:
            jobs.append(("control-again", ()))
        hashes = probe([group for _, group in jobs])
        for (label, _), sha256 in zip(jobs, hashes, strict=True):
            built[label] = sha256
        return [sha256 != control_sha256 for sha256 in hashes]

    def halves(group: Sequence[Variation]) -> list[Sequence[Variation]]:
        middle = len(group) // 2
        return [group[:middle], group[middle:]]

    culprits: list[str] = []
    frontier: list[Sequence[Variation]] = [tuple(variations)] if variations else []
    first_round = True
    while frontier:
        splits = [part for group in frontier if len(group) > 1 for part in halves(group)]
        singles = [group for group in frontier if len(group) == 1]
        culprits += [group[0].name for group in singles]
        if not splits:
            break
        differs = build_sets(splits, extra_control=first_round)
        if first_round:
            first_round = False
            if differs.pop():
                return Blame((NONDETERMINISTIC,), time.monotonic() - started, built)
        next_frontier: list[Sequence[Variation]] = []
        for index in range(0, len(splits), 2):
            pair = splits[index : index + 2]
            hits = [part for part, hit in zip(pair, differs[index : index + 2], strict=True) if hit]
            if hits:
                next_frontier += hits
            else:
                culprits.append("+".join(v.name for part in pair for v in part))
        frontier = next_frontier
    order = {v.name: i for i, v in enumerate(variations)}
    culprits.sort(key=lambda name: order.get(name.split("+")[0], len(order)))
    return Blame(tuple(culprits), time.monotonic() - started, built)


def blame(
    request: BuildRequest,
    control: BuildOutcome,
    variations: Sequence[Variation],
    workdir: Path,
    control_conditions: Conditions = CONTROL,
) -> Blame:
    """bisect() with the builds of each round run here, in parallel on distinct CPUs."""
    counter = iter(range(1 << 20))

    def probe(sets: Sequence[Sequence[Variation]]) -> list[str | None]:
        with ThreadPoolExecutor(_pool_size()) as pool:
            outcomes = list(
                pool.map(
                    lambda indexed: run_build(
                        request,
                        on_cpu(apply(control_conditions, indexed[1]), indexed[0],
                               control_conditions),
                        workdir,
                        f"blame-{next(counter)}",
                    ),
                    enumerate(sets),
                )
            )
        return [outcome.sha256 for outcome in outcomes]

    return bisect(control.sha256, variations, probe)


def double_build(
    request: BuildRequest,
    variations: Sequence[Variation],
    workdir: Path,
    *,
    report_dir: Path | None = None,
    find_culprits: bool = True,
    parallel: bool = True,
    control_conditions: Conditions = CONTROL,
) -> DoubleBuild:
    """Build A and B (in parallel), compare, and on mismatch report and blame.

    A runs under `control_conditions` (the builder's CONTROL; a rebuilder has a build
    path and user of its own), B under the same with every variation applied.
    """
    started = time.monotonic()
    experiment_conditions = apply(control_conditions, variations)
    workdir.mkdir(parents=True, exist_ok=True)
    if parallel:
        with ThreadPoolExecutor(2) as pool:
            future_a = pool.submit(run_build, request, control_conditions, workdir, "a")
            future_b = pool.submit(run_build, request, experiment_conditions, workdir, "b")
            control, experiment = future_a.result(), future_b.result()
    else:
        control = run_build(request, control_conditions, workdir, "a")
        experiment = run_build(request, experiment_conditions, workdir, "b")
    variations = tuple(variations)
    if not control.ok or not experiment.ok:
        failed = control if not control.ok else experiment
        last = (failed.log.strip().splitlines() or ["no output"])[-1]
        return DoubleBuild(
            request,
            control,
            experiment,
            variations,
            BuildStatus.FAILED,
            f"build {failed.label} failed: {last}"[:300],
            time.monotonic() - started,
        )
    if control.sha256 == experiment.sha256:
        return DoubleBuild(
            request,
            control,
            experiment,
            variations,
            BuildStatus.REPRODUCIBLE,
            "both builds are bit-for-bit identical",
            time.monotonic() - started,
        )
    assert control.image is not None and experiment.image is not None
    reports: dict[str, str] = {}
    if report_dir is not None:
        reports = run_diffoscope(
            control.image, experiment.image, report_dir, f"{request.ident}.{request.target}"
        )
    found = (
        blame(request, control, variations, workdir, control_conditions)
        if find_culprits else None
    )
    reason = "build A and build B differ"
    if found is not None:
        if found.culprits:
            reason += f"; blamed on: {', '.join(found.culprits)}"
        else:
            reason += "; no single variation reproduces the difference (only their combination)"
    return DoubleBuild(
        request,
        control,
        experiment,
        variations,
        BuildStatus.UNREPRODUCIBLE,
        reason,
        time.monotonic() - started,
        found,
        reports,
    )
