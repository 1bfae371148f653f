"""Sizes of the snapshot tree (docs/tap16-profile.md) against snapshot.json, computed.

Not a timing: the files are encoded by the repository's own functions
(tuf_metadata.snapshot_tree.next_tree, canonical_json) for a repository of N packages
named like bench/scale.py's fixture (`pkg%07d`), every role at version 1, plus the
256 shards and top-level targets. Reported: snapshot.json's meta bytes, the node, the
largest and median bundle, and what a fresh tree-mode client reads instead of
snapshot.json (node + one bundle).

    .venv/bin/python -m bench.tree_sizes --packages 10000 100000 1000000
"""

from __future__ import annotations

import argparse
import statistics
from typing import Any

from tuf_metadata import layout
from tuf_metadata.canonical import canonical_json
from tuf_metadata.snapshot_tree import Node, next_tree, parse_node

SHARDS = layout.DEFAULT_SHARDS  # these benchmarks' fixtures use the default layout

_SIGNATURE = 160  # one ed25519 signature object in a node file: {"keyid":64 hex,"sig":128 hex}


def sizes(packages: int) -> dict[str, int]:
    groups: dict[str, list[int]] = {prefix: [] for prefix in SHARDS.all_shard_prefixes()}
    for number in range(packages):
        groups[SHARDS.shard_of(f"pkg{number:07d}")].append(number)
    entry = {"version": 1}
    snapshot_meta = 1  # "{"; each group adds its members and one "," or the closing "}"
    bundle_sizes: list[int] = []
    previous: Node | None = None
    node: dict[str, Any] = {}
    for prefix, numbers in groups.items():
        meta = {f"{layout.package_role(f'pkg{n:07d}')}.json": entry for n in numbers}
        meta[f"{SHARDS.shard_role_for_prefix(prefix)}.json"] = entry
        if previous is None:
            meta["targets.json"] = entry
        # One bundle at a time, each step the repository's own incremental encoding.
        update = next_tree(1, "2026-12-03T00:00:00Z", "1.0.31", previous, {}, meta)
        bundle_sizes.extend(len(data) for data in update.bundles.values())
        snapshot_meta += len(canonical_json(meta)) - 1  # members plus one separator
        node = update.node_signed
        previous = parse_node(node)
    node_bytes = len(canonical_json({"signatures": [], "signed": node})) + _SIGNATURE
    return {"packages": packages, "snapshot_meta": snapshot_meta, "node": node_bytes,
            "bundle_max": max(bundle_sizes),
            "bundle_median": int(statistics.median(bundle_sizes)),
            "fresh_tree": node_bytes + max(bundle_sizes)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--packages", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    args = parser.parse_args()
    print("| packages | snapshot.json meta | node | bundle median / max | node + largest bundle "
          "| ratio |")
    print("|---|---|---|---|---|---|")
    for count in args.packages:
        row = sizes(count)
        print(f"| {count:,} | {row['snapshot_meta']:,} | {row['node']:,} | "
              f"{row['bundle_median']:,} / {row['bundle_max']:,} | {row['fresh_tree']:,} | "
              f"{row['fresh_tree'] / row['snapshot_meta']:.4f} |")


if __name__ == "__main__":
    main()
