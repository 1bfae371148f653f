"""A model of 1,000 packages on 50 farm workers, from what bench/farm.py measured.

Usage: .venv/bin/python -m bench.farm_model [bench/results/farm.json]   (prints Markdown)

Method (stated in the output too):
* service times: each of the 1,000 packages is one of the measured bundled unikernels in turn
  (package i builds like bundled package i mod N); build A and build B each take that
  package's measured sandboxed build time plus the farm's overhead per task measured within the
  farm's own runs (worker time around the build + coordinator time per task);
* queueing: the dispatcher's own rule, simulated exactly: it sends all 2,000 builds at once,
  build A of target k to worker k mod 50 and build B to worker (k + 1) mod 50 (round robin,
  builds of one target on two workers), every worker runs its own queue in order, one build at
  a time (concurrency 1). Reported: the makespan, each build's wait in its queue, and the
  lower bound any scheduler has (total work / 50, or the longest build);
* broker load: the measured Redis commands and bytes per task times 2,000, over the makespan,
  plus the dispatcher's reads: a state a worker publishes (2 per task: started, done) wakes
  an MGET of the keys published (counted in the measured commands per task), and once a
  second one MGET of every undecided build's key, costed with the measured time of an MGET
  of 1,000 keys;
* artifact traffic: the measured store bytes per task times 2,000, over the makespan.
It is a model: it assumes workers as fast as this machine, one build per worker, a store and
a Redis that are not the bottleneck unless the numbers say so, and no failures.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path
from typing import Any

PACKAGES = 1000
WORKERS = 50
POLL_SECONDS = 1.0  # the dispatcher's MGET of every undecided build, once a second


def simulate(service: list[float], workers: int) -> tuple[float, list[float]]:
    """Makespan and each build's queue wait under the dispatcher's static round robin."""
    queues: list[list[float]] = [[] for _ in range(workers)]
    for k, seconds in enumerate(service):
        queues[k % workers].append(seconds)  # build A of target k
        queues[(k + 1) % workers].append(seconds)  # build B of target k
    waits, makespan = [], 0.0
    for queue in queues:
        clock = 0.0
        for seconds in queue:
            waits.append(clock)
            clock += seconds
        makespan = max(makespan, clock)
    return makespan, waits


def model(measured: dict[str, Any]) -> str:
    times = list(measured["build_seconds"].values())
    samples = measured["samples"]
    seq, one = samples["in-process, sequential (A then B)"], samples["farm, 1 worker"]
    if "coordinator_seconds_per_task" in measured:  # measured within the farm's own runs
        overhead = (measured["coordinator_seconds_per_task"]
                    + measured["worker_extra_seconds_per_task"])
    else:
        overhead = max(0.0, (statistics.median(one) - statistics.median(seq))
                       / measured["builds_per_run"])
    service = [times[i % len(times)] + overhead for i in range(PACKAGES)]
    makespan, waits = simulate(service, WORKERS)
    tasks = 2 * PACKAGES
    total_work = 2 * sum(service)
    bound = max(total_work / WORKERS, max(service))
    waits.sort()
    commands = sum(measured["redis_commands_per_task"].values()) * tasks
    bytes_in = measured["redis_bytes_in_per_task"] * tasks
    bytes_out = measured["redis_bytes_out_per_task"] * tasks
    # MGETs of every undecided key (on average half the builds), once a second
    polls = makespan / POLL_SECONDS
    mget_busy = polls * measured["mget_ms_per_1000_keys"] * (tasks / 2 / 1000) / 1000
    artifacts = measured["artifact_bytes_per_task"] * tasks
    return f"""## Model: 1,000 packages on 50 workers

`.venv/bin/python -m bench.farm_model` over the numbers above (method in its docstring): each \
of the 1,000 packages builds like one of the {len(times)} bundled unikernels in turn (median \
sandboxed build time of its A and B in the sequential runs: {min(times):.2f}-{max(times):.2f} s, \
median {statistics.median(times):.2f} s) plus the measured farm overhead of \
{overhead * 1000:.0f} ms per build; 2,000 builds sent at once, \
A and B of each target round robin to two different workers, each worker one build at a time.

| quantity | value |
|---|---|
| makespan (dispatcher's round robin) | {makespan:.0f} s |
| lower bound for any scheduler (work / 50) | {bound:.0f} s |
| queue wait per build: median / p95 / max | {waits[len(waits) // 2]:.0f} / \
{waits[int(len(waits) * 0.95)]:.0f} / {waits[-1]:.0f} s |
| Redis commands (measured per task, x 2,000) | {commands:,.0f} ({commands / makespan:.0f}/s) |
| Redis bytes in / out (measured per task, x 2,000) | {bytes_in / 2**20:.1f} / \
{bytes_out / 2**20:.1f} MiB |
| reads of every undecided result (once a second): MGETs, Redis time busy with them | \
{polls:,.0f}, {mget_busy:.1f} s \
({100 * mget_busy / makespan:.1f}% of one core) |
| artifact store traffic | {artifacts / 2**20:,.0f} MiB ({artifacts / makespan / 2**20:.2f} MiB/s) |

Reading: the dispatcher's round robin at send time finishes \
{100 * (makespan / bound - 1):.0f}% after the best possible schedule (each queue gets \
{tasks // WORKERS} builds of a similar mix; no work stealing, so a mix of long and short \
packages would widen the gap). The farm's overhead is {100 * overhead * tasks / total_work:.1f}% \
of the work; Redis is busy with those reads {100 * mget_busy / makespan:.1f}% of one core.
"""


if __name__ == "__main__":
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else (
        Path(__file__).resolve().parent / "results" / "farm.json"
    )
    print(model(json.loads(path.read_text())))
