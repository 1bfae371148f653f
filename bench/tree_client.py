"""A fresh client's bytes with the snapshot tree (docs/tap16-profile.md) vs snapshot.json.

    .venv/bin/python -m bench.tree_client --packages 10000 [--repeat 3] [--shard-digits 2]
                                          [--fixture-dir DIR] [--write]

Fixture (not timed): bench/scale.py's repository of N packages (real keys and
signatures; 16^d shards, d = --shard-digits), then `snapshot --tree` (the full tree,
built once). With --fixture-dir DIR, a copy of bench.scale's kept fixture DIR/repo-N
(DIR/repo-N-dD for d other than 2; built there first if absent).
Served by `serve`'s HTTP server on loopback (bench/transfer.py), three clients
interleaved in every round (A B C, A B C, ...) on the same files:
- ours-tree: our client in tree mode (node + one bundle, never snapshot.json), gzip;
- ours: our client told not to use the tree (ClientConfig.snapshot_tree=False), gzip;
- ngclient: python-tuf's ngclient (reads snapshot.json; asks for no content coding).
Phases: fresh (a new client refreshes and downloads one image) and up-to-date (the
same client's metadata, a new refresh). Bytes are response body bytes counted by the
server; times are min / median of --repeat.
Peak RSS of one fresh client per mode, each in a child process (/usr/bin/time).
Then the publish side: --repeat snapshots, each listing a new version of one package role
(as a release does), with the tree on: the whole snapshot + tree + timestamp write, and
the tree's part of it (tuf_metadata.snapshot_tree_files.write_tree).
--write records bench/results/tree.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from tuf.api.metadata import Metadata, Targets

from bench.client_phases import Phases, ngclient, ours
from bench.scale import DOWNLOADED, SERIALIZER, fixture, package_name
from bench.transfer import Sample, measure, serve
from signing.keys import KeyFileSigner
from tuf_metadata import layout, snapshot_tree_files
from tuf_metadata.client.fetcher import HttpFetcher
from tuf_metadata.repo_paths import repository_paths
from tuf_metadata.repository import Repository
from tuf_metadata.snapshot_tree_files import set_tree_enabled
from tuf_metadata.store import repository_lock

RESULTS = Path(__file__).parent / "results" / "tree.md"
_PATCHED = "write_tree"  # the publish path's call, timed in publish_costs


GZIP = partial(HttpFetcher, accept_gzip=True)
CLIENTS: dict[str, Callable[[str, bytes, Path, str], Phases]] = {
    "ours-tree": lambda base, root, work, path: ours(base, root, work, path, GZIP, tree=True),
    "ours": lambda base, root, work, path: ours(base, root, work, path, GZIP),
    "ngclient": ngclient,
}
Results = dict[str, dict[str, list[Sample]]]


def publish_costs(repo: Repository, authors: Mapping[str, KeyFileSigner], rounds: int
                  ) -> tuple[list[float], list[float]]:
    """Seconds of each snapshot + tree + timestamp listing one new package role version, and
    of write_tree within it."""
    tree_seconds: list[float] = []
    # The publish path imports write_tree from snapshot_tree_files when it runs; time it there.
    original = getattr(snapshot_tree_files, _PATCHED)

    def timed_write_tree(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            tree_seconds.append(time.perf_counter() - started)

    totals = []
    setattr(snapshot_tree_files, _PATCHED, timed_write_tree)
    try:
        for number in range(1, rounds + 1):
            name = package_name(number)
            role = layout.package_role(name)
            expires = repo.load_root().signed.expires
            md = Metadata(Targets(version=2, expires=expires))
            md.sign(authors[name])
            (repo.metadata_dir / f"2.{role}.json").write_bytes(md.to_bytes(SERIALIZER))
            started = time.perf_counter()
            with repository_lock(repo.root_dir):
                repo.online.new_snapshot_and_timestamp({f"{role}.json": {"version": 2}})
            totals.append(time.perf_counter() - started)
    finally:
        setattr(snapshot_tree_files, _PATCHED, original)
    return totals, tree_seconds


def peak_rss_kib(command: list[str]) -> int:
    """Peak RSS of COMMAND, reported by /usr/bin/time, which forks it (a process forked from
    this benchmark's own large one would report this process's pages as its peak)."""
    with tempfile.NamedTemporaryFile() as report:
        subprocess.run(["/usr/bin/time", "-f", "%M", "-o", report.name, *command], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return int(Path(report.name).read_text().split()[-1])


def client_once(name: str, base: str, work: Path, target: str, root_file: Path) -> None:
    fresh, _ = CLIENTS[name](base, root_file.read_bytes(), work, target)
    fresh()


def run_size(packages: int, repeat: int, tmp: Path, fixture_dir: Path | None,
             shards: layout.ShardLayout
             ) -> tuple[Results, float, list[float], tuple[list[float], list[float]],
                        dict[str, int]]:
    repo, authors, _ = fixture(packages, tmp, fixture_dir, shards)
    root = repo.root_dir
    started = time.perf_counter()
    set_tree_enabled(repo.files, True)
    repo.resign_snapshot()
    full_tree = time.perf_counter() - started
    root_bytes = (repository_paths(root).metadata / "1.root.json").read_bytes()
    target = shards.target_path(DOWNLOADED, "1.0.0", f"{DOWNLOADED}.hvt")
    results: Results = {name: {"fresh": [], "up-to-date": []} for name in CLIENTS}
    load = [os.getloadavg()[0]]
    with serve(root) as (base, server):
        for round_number in range(repeat):
            for name, make in CLIENTS.items():
                fresh, up_to_date = make(base, root_bytes,
                                         tmp / f"{packages}-{name}-{round_number}",
                                         target)
                results[name]["fresh"].append(measure(server, fresh))
                results[name]["up-to-date"].append(measure(server, up_to_date))
        root_file = repository_paths(root).metadata / "1.root.json"
        memory = {name: peak_rss_kib([sys.executable, "-m", "bench.tree_client", "--client-once",
                                      name, base, str(tmp / f"{packages}-mem-{name}"), target,
                                      str(root_file)])
                  for name in CLIENTS}
    publish = publish_costs(repo, authors, repeat)
    load.append(os.getloadavg()[0])
    return results, full_tree, load, publish, memory


def _cell(samples: list[Sample]) -> str:
    times = [sample.seconds * 1000 for sample in samples]
    return (f"{min(times):.0f} / {statistics.median(times):.0f} ms, {samples[0].requests} req, "
            f"{samples[0].bytes:,} B")


Row = tuple[int, Results, float, list[float], tuple[list[float], list[float]], dict[str, int]]


def _ms(values: list[float]) -> str:
    return f"{min(values) * 1000:.1f} / {statistics.median(values) * 1000:.1f}"


def publish_table(rows: list[Row]) -> str:
    lines = ["| packages | snapshot + tree + timestamp (min / median ms) "
             "| of which write_tree (min / median ms) | tree share (median) |",
             "|---|---|---|---|"]
    for packages, _, _, _, (totals, trees), _ in rows:
        share = statistics.median(trees) / statistics.median(totals)
        lines.append(f"| {packages:,} | {_ms(totals)} | {_ms(trees)} | {share:.2f} |")
    return "\n".join(lines)


def table(rows: list[Row]) -> str:
    lines = [
        "| packages | phase | ours-tree | ours (snapshot.json, gzip) | ngclient "
        "| bytes tree / ngclient | bytes tree / ours gzip | load (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for packages, results, _, load, _, memory in rows:
        for phase in ("fresh", "up-to-date"):
            tree, gzip, theirs = (results[name][phase] for name in CLIENTS)
            lines.append(
                f"| {packages:,} | {phase} | {_cell(tree)} | {_cell(gzip)} | {_cell(theirs)} "
                f"| {tree[0].bytes / theirs[0].bytes:.3f} | {tree[0].bytes / gzip[0].bytes:.3f} "
                f"| {load[0]:.1f}-{load[1]:.1f} |"
            )
        lines.append(f"| {packages:,} | peak RSS, fresh (MiB) | "
                     + " | ".join(f"{memory[name] / 1024:.0f}" for name in CLIENTS) + " | | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--packages", type=int, nargs="+", default=[10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--fixture-dir", type=Path, metavar="DIR",
                        help="use (or build once and keep) the fixture of bench.scale "
                             "--fixture-dir DIR; this run works on its own copy")
    parser.add_argument("--shard-digits", type=int, default=layout.DEFAULT_SHARD_DIGITS,
                        help="the fixture's shard prefix length (2 or 3 hex digits)")
    parser.add_argument("--client-once", nargs=5, metavar=("CLIENT", "URL", "WORK", "TARGET",
                                                          "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client_once:
        name, base, work, target, root_file = args.client_once
        client_once(name, base, Path(work), target, Path(root_file))
        return
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        for packages in args.packages:
            rows.append((packages, *run_size(packages, args.repeat, Path(temporary),
                                             args.fixture_dir,
                                             layout.ShardLayout(args.shard_digits))))
    text = table(rows) + "\n\nPublish side (tree on), one package role changed per snapshot:\n\n"
    text += publish_table(rows)
    print(text)
    for packages, _, full_tree, _, _, _ in rows:
        print(f"{packages:,} packages: turning the tree on (full build + snapshot) took "
              f"{full_tree:.1f} s")
    if args.write:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.write_text(
            f"# Snapshot tree: a fresh client's bytes (run {stamp})\n\n"
            f"Command: `.venv/bin/python -m bench.tree_client --packages "
            f"{' '.join(map(str, args.packages))} --repeat {args.repeat} "
            f"--shard-digits {args.shard_digits} --write`\n\n"
            f"{text}\n"
        )


if __name__ == "__main__":
    main()
