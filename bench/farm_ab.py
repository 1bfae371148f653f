"""The farm's overhead per task, this tree against an earlier commit, interleaved A B A B.

Usage: .venv/bin/python -m bench.farm_ab COMMIT [--packages hello,test_ssp,test_time]
                                                 [--rounds 4] [--output FILE]      (root)

Two comparisons on a real redis-server and real workers, each over the same builds (A and a
varied B of each package's hvt image, on one worker):
  worker      the `repo-tool worker` of COMMIT (its tree unpacked with `git archive`) against
              this tree's, each on its own Redis database, driven by this tree's dispatcher:
              the worker's task time less its sandboxed build (from the build info), per task;
  dispatcher  COMMIT's builder/farm/dispatch.py against this tree's, driving this tree's
              worker: the run's wall time less the worker's task times, per task.
The first round warms both sides and is not counted. Load averages before and after.
"""

from __future__ import annotations

import argparse
import importlib.util
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from bench.farm import REPO, bundled
from bench.farm_processes import start_redis, start_worker, stop_group
from builder.farm.dispatch import Farm
from builder.farm.store import ArtifactStore
from builder.variations import all_variations
from signing.keys import generate_key, load_public_key, write_key_pair

TREE_PARTS = ("builder", "solo5", "signing", "fsio", "repo_tool", "tuf_metadata", "reports")


def unpack(commit: str, into: Path) -> None:
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, *TREE_PARTS],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def old_dispatch(root: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("farm_ab_dispatch",
                                                  root / "builder" / "farm" / "dispatch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def worker_of(root: Path, broker: str, key: Path, store: Path, name: str,
              log: Path) -> subprocess.Popen[bytes]:
    """`repo-tool worker` running the code under root (PYTHONPATH), ready."""
    process = subprocess.Popen(
        [sys.executable, "-c", "from repo_tool.cli import main; main()", "worker",
         "--broker", broker, "--key", str(key), "--insecure-plaintext", "--store", str(store),
         "--worker-id", name],
        cwd=root, env={**os.environ, "PYTHONPATH": str(root), "TMPDIR": str(log.parent)},
        stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while f"unirepo@{name} ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_group(process)
            raise RuntimeError(f"worker {name} did not start:\n{log.read_text()}")
        time.sleep(0.1)
    return process


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("commit")
    parser.add_argument("--packages", default="hello,test_ssp,test_time")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--output", type=Path,
                        default=REPO / "bench" / "results" / "farm-ab.md")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-farm-ab-"))
    old_root = tmp / "old"
    unpack(args.commit, old_root)
    releases = bundled(frozenset(args.packages.split(","))).releases
    names = [v.name for v in all_variations(os.cpu_count() or 1)]
    store_dir = tmp / "store"
    store = ArtifactStore(store_dir)
    redis = start_redis(tmp)
    keys = {}
    for label in ("old", "new"):
        write_key_pair(generate_key(), tmp / f"{label}.key", None)
        keys[label] = load_public_key(tmp / f"{label}.pub.json")
    processes = []
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    worker_extra: dict[str, list[float]] = {"old": [], "new": []}
    outside: dict[str, list[float]] = {"old": [], "new": []}
    try:
        processes.append(worker_of(old_root, redis.db(1), tmp / "old.key", store_dir, "old",
                                   tmp / "old.log"))
        processes.append(start_worker(redis.db(2), tmp / "new.key", store_dir, "new",
                                      tmp / "new.log"))
        dispatchers: dict[str, Callable[..., Any]] = {
            "old": old_dispatch(old_root).Farm, "new": Farm}

        def run(farm_class: Callable[..., Any], db: int, label: str) -> tuple[float, list[Any]]:
            key = keys[label]
            farm = farm_class(redis.db(db), store, {key.keyid: key}, variations=names,
                              time_limit=600, wait_seconds=600, visibility_timeout=3600,
                              progress=lambda _line: None)
            started = time.monotonic()
            got = farm.run(releases)
            return time.monotonic() - started, [b for r in got for b in r.builds]

        for round_number in range(args.rounds + 1):
            for label, db in (("old", 1), ("new", 2)):  # workers: this tree's dispatcher
                _, builds = run(Farm, db, label)
                extra = [b.result.seconds - json.loads(store.get(b.result.buildinfo))["record"]
                         ["seconds"] for b in builds]
                if round_number:
                    worker_extra[label].extend(extra)
            for label in ("old", "new"):  # dispatchers: this tree's worker
                wall, builds = run(dispatchers[label], 2, "new")
                if round_number:
                    outside[label].append(
                        (wall - sum(b.result.seconds for b in builds)) / len(builds))
    finally:
        for process in processes:
            stop_group(process)
        stop_group(redis.process)
        shutil.rmtree(tmp, ignore_errors=True)
    load_after = " ".join(f"{x:.2f}" for x in os.getloadavg())

    def row(what: str, samples: dict[str, list[float]], unit: str) -> str:
        old, new = samples["old"], samples["new"]
        return (f"| {what} | {min(old) * 1000:.0f} / {statistics.median(old) * 1000:.0f} | "
                f"{min(new) * 1000:.0f} / {statistics.median(new) * 1000:.0f} | "
                f"{statistics.median(new) / statistics.median(old):.2f} | {len(new)} {unit} |")

    text = f"""# Build farm: overhead per task, this tree against {args.commit}

Command: `.venv/bin/python -m bench.farm_ab {args.commit} --packages {args.packages} \
--rounds {args.rounds}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC; load average {load_before} \
before, {load_after} after).

A and a varied B of each package's hvt image on one worker, rounds interleaved (old, new), \
the first one not counted. Worker: the task's time on the worker less its sandboxed build, \
each side's worker driven by this tree's dispatcher. Dispatcher: the run's wall time less the \
worker's task times, per build, each side's dispatcher driving this tree's worker.

| per task (ms) | {args.commit} min / median | this tree min / median | ratio (median) | samples |
|---|---|---|---|---|
{row("worker, around the sandboxed build", worker_extra, "tasks")}
{row("dispatcher and Celery, outside the tasks", outside, "runs")}
"""
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    if os.geteuid() != 0:
        sys.exit("bench.farm_ab: run as root (the sandbox)")
    main()
