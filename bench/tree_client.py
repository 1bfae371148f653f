"""A fresh client's bytes with the snapshot tree (docs/tap16-profile.md) vs snapshot.json.

    .venv/bin/python -m bench.tree_client --packages 10000 [--repeat 3] [--write]

Fixture (not timed): bench/scale.py's repository of N packages (real keys and
signatures), then `snapshot --tree` (the full tree, built once). Served by `serve`'s
HTTP server on loopback (bench/transfer.py), three clients interleaved in every round
(A B C, A B C, ...) on the same files:
- ours-tree: our client in tree mode (node + one bundle, never snapshot.json), gzip;
- ours: our client told not to use the tree (ClientConfig.snapshot_tree=False), gzip;
- ngclient: python-tuf's ngclient (reads snapshot.json; asks for no content coding).
Phases: fresh (a new client refreshes and downloads one image) and up-to-date (the
same client's metadata, a new refresh). Bytes are response body bytes counted by the
server; times are min / median of --repeat. --write records bench/results/tree.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from tuf.ngclient.updater import Updater as NgUpdater

from bench.scale import DOWNLOADED, build
from bench.transfer import Phases, Sample, measure, serve
from tuf_metadata import layout
from tuf_metadata.client.fetcher import HttpFetcher
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.updater import ClientConfig, Updater
from tuf_metadata.snapshot_tree_files import set_tree_enabled

RESULTS = Path(__file__).parent / "results" / "tree.md"


def ours(base: str, root: bytes, work: Path, target_path: str, tree: bool) -> Phases:
    store = MetadataStore(work / "md")
    store.directory.mkdir(parents=True)
    store.save("root", root)
    config = ClientConfig(snapshot_tree=tree)

    def updater() -> Updater:
        return Updater(store, HttpFetcher(accept_gzip=True), f"{base}/metadata/",
                       f"{base}/targets/", config=config)

    def fresh() -> None:
        client = updater()
        report = client.refresh()
        assert report.snapshot_tree == tree
        client.download_target(client.resolve(target_path).info, work / "image")

    def up_to_date() -> None:
        updater().refresh()

    return fresh, up_to_date


def ngclient(base: str, root: bytes, work: Path, target_path: str) -> Phases:
    (work / "md").mkdir(parents=True)
    (work / "targets").mkdir()

    def updater() -> NgUpdater:
        return NgUpdater(str(work / "md"), f"{base}/metadata/", str(work / "targets"),
                         f"{base}/targets/", bootstrap=root)

    def fresh() -> None:
        client = updater()
        client.refresh()
        info = client.get_targetinfo(target_path)
        assert info is not None
        client.download_target(info)

    def up_to_date() -> None:
        updater().refresh()

    return fresh, up_to_date


CLIENTS = {
    "ours-tree": lambda base, root, work, path: ours(base, root, work, path, tree=True),
    "ours": lambda base, root, work, path: ours(base, root, work, path, tree=False),
    "ngclient": ngclient,
}
Results = dict[str, dict[str, list[Sample]]]


def run_size(packages: int, repeat: int, tmp: Path) -> tuple[Results, float, list[float]]:
    root = tmp / f"repo-{packages}"
    repo, _ = build(root, packages)
    started = time.perf_counter()
    set_tree_enabled(repo.files, True)
    repo.resign_snapshot()
    full_tree = time.perf_counter() - started
    root_bytes = (root / "metadata" / "1.root.json").read_bytes()
    target = layout.target_path(DOWNLOADED, "1.0.0", f"{DOWNLOADED}.hvt")
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
    load.append(os.getloadavg()[0])
    return results, full_tree, load


def _cell(samples: list[Sample]) -> str:
    times = [sample.seconds * 1000 for sample in samples]
    return (f"{min(times):.0f} / {statistics.median(times):.0f} ms, {samples[0].requests} req, "
            f"{samples[0].bytes:,} B")


def table(rows: list[tuple[int, Results, float, list[float]]]) -> str:
    lines = [
        "| packages | phase | ours-tree | ours (snapshot.json, gzip) | ngclient "
        "| bytes tree / ngclient | bytes tree / ours gzip | load (1 min) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for packages, results, _, load in rows:
        for phase in ("fresh", "up-to-date"):
            tree, gzip, theirs = (results[name][phase] for name in CLIENTS)
            lines.append(
                f"| {packages:,} | {phase} | {_cell(tree)} | {_cell(gzip)} | {_cell(theirs)} "
                f"| {tree[0].bytes / theirs[0].bytes:.3f} | {tree[0].bytes / gzip[0].bytes:.3f} "
                f"| {load[0]:.1f}-{load[1]:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--packages", type=int, nargs="+", default=[10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as temporary:
        for packages in args.packages:
            results, full_tree, load = run_size(packages, args.repeat, Path(temporary))
            rows.append((packages, results, full_tree, load))
    text = table(rows)
    print(text)
    for packages, _, full_tree, _ in rows:
        print(f"{packages:,} packages: turning the tree on (full build + snapshot) took "
              f"{full_tree:.1f} s")
    if args.write:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.write_text(
            f"# Snapshot tree: a fresh client's bytes (run {stamp})\n\n"
            f"Command: `.venv/bin/python -m bench.tree_client --packages "
            f"{' '.join(map(str, args.packages))} --repeat {args.repeat} --write`\n\n"
            f"{text}\n"
        )


if __name__ == "__main__":
    main()
