"""Assemble bench/RESULTS.md from the per-area result files in bench/results/.

Each benchmark script writes its own section (command, conditions, numbers,
the peer measured in the same run, and the ratio); this joins them under one
index so the results live in one place.
"""

from __future__ import annotations

from pathlib import Path

BENCH = Path(__file__).resolve().parent

# (file, what it measures, the goal from its issue)
SECTIONS = [
    ("boot.md", "Solo5 targets: hello boot-to-exit on hvt (32/512 MiB), spt and virtio "
     "(QEMU KVM/TCG); image sizes",
     "faster than upstream Solo5 (21 ms hvt 512 MiB, 2 ms spt); hello.hvt under 34 KB"),
    ("repository.md", "Repository: one cold `repo-tool publish` vs the same publish by python-tuf, "
     "1,000 and 10,000 packages; fresh client's download",
     "cold publish at 10,000 packages <= 0.5x python-tuf (not met: 0.77x / 0.78x in CPU, "
     "min / median, without importing python-tuf; the publish work is 0.35x; Python, click and "
     "cryptography's key loading alone plus that work are 0.58x, above the goal before any "
     "module of ours; 0.26x at 100,000, 0.06x at 1M, see scale)"),
    ("scale.md",
     "Scale: one cold publish (ours vs python-tuf) and a client's refresh (ours with and "
     "without gzip vs ngclient) at 10,000, 100,000 and 1,000,000 packages; time, CPU, bytes, "
     "peak RSS",
     "issue 18 at 1M: publish <= 0.1x python-tuf (met: 0.066x / 0.067x in CPU, min / median; "
     "0.059x / 0.061x with 4,096 shards), fresh client bytes <= 0.1x ngclient with gzip (met: "
     "0.079x; 0.068x with 4,096 shards), up-to-date refresh <= 0.25x"
     " ngclient's time (not met reading snapshot.json: 0.45x; met in tree mode: 0.0016x, see "
     "tree), client memory flat (not reading snapshot.json: 54 -> 572 MiB from 10k to 1M; tree"
     " mode 48 -> 63 MiB, 57 -> 59 MiB with 4,096 shards, see tree)"),
    ("client.md", "Verifying client vs python-tuf ngclient on the same repositories",
     "no slower and no more bytes than ngclient"),
    ("transfer.md",
     "Bytes on the wire: our client with gzip from `serve` vs ngclient (which asks for no "
     "coding)",
     "<= 0.1x ngclient's bytes with gzip alone at 1M packages (issue 18.2; met: 0.079x at 1M, "
     "measured by scale; this section measures 1,000 and 10,000)"),
    ("tree.md",
     "Snapshot tree (TAP 16 profile): a fresh and an up-to-date client in tree mode vs ours "
     "reading snapshot.json (gzip) vs ngclient, 10,000, 100,000 and 1,000,000 packages, with "
     "256 and 4,096 shards (`init --shard-digits`)",
     "issue 18.3: fresh client bytes <= 0.01x ngclient's at 1M (met with 4,096 shards: 0.0040x;"
     " 0.016x with 256, where the package's shard role of n/256 delegations was 84 % of them); "
     "up-to-date refresh 0.0075x ngclient's time at 1M (0.0016x with 256 shards); peak RSS in "
     "tree mode 57 / 58 / 59 MiB at 10k / 100k / 1M with 4,096 shards"),
    ("startup.md", "repo-tool start-up, cold processes: run/fetch/--help vs python -c pass "
     "and vs importing every command", "<= 150 ms for run and fetch"),
    ("build.md", "Builder: verified double build vs one plain build vs reprotest; blame",
     "<= 1.2x one plain build, <= 0.5x reprotest"),
    ("net.md", "Network stack: TCP throughput and ping RTT, unikernel vs Linux veth",
     ">= 0.25x Linux veth TCP bulk throughput on spt (issue 14); hvt reported"),
    ("dns.md", "Authoritative DNS: dns unikernel (spt, hvt) vs NSD with dnsperf, 10,000 records",
     ">= 1.0x NSD's queries/s on spt; hvt reported"),
    ("rebuild.md", "Rebuilder: `repo-tool rebuild` of every bundled reproducible image from a "
     "served repository vs the builder's double build of the same set",
     "reported as a ratio (issue #12: both in one run)"),
    ("fetch-rebuilders.md", "Operator's check: cold `repo-tool fetch --require-rebuilders 2` "
     "vs plain `fetch` of hello (two real rebuilders' attestations) from the project's server; "
     "wall, CPU, bytes, requests", "<= 1.3x time, <= 1.5x bytes of plain fetch (issue #12)"),
    ("farm.md", "Build farm: A + varied B in-process vs on 1 and 2 Celery workers (Redis)",
     "overhead <= 100 ms per task against the in-process builder; second worker reported"),
    ("www.md", "Static web serving: www unikernel (spt, hvt) vs nginx with wrk, 5.5 KB and 1 MiB",
     ">= 1.0x nginx's requests/s on spt; hvt reported (met: 1.79x on the page, 1.09x / 1.27x "
     "on 1 MiB in two quiet runs; hvt 0.25x / 0.26x)"),
]


def main() -> None:
    parts = [
        "# Benchmark results\n",
        "Produced by `make bench` (each script below, then `python -m bench.collect`). The\n"
        "machine is a shared 2-core VM, so every section compares against its peer in the same\n"
        "run and reports the ratio; absolute times are noisy.\n",
        "| section | measures | goal |",
        "|---|---|---|",
    ]
    for name, what, goal in SECTIONS:
        anchor = name.removesuffix(".md")
        parts.append(f"| [{anchor}](#{anchor}) | {what} | {goal} |")
    parts.append("")
    for name, _, _ in SECTIONS:
        path = BENCH / "results" / name
        body = path.read_text() if path.exists() else "_not yet measured_\n"
        parts.append(f'<a id="{name.removesuffix(".md")}"></a>\n')
        parts.append(body.rstrip() + "\n")
    out = BENCH / "RESULTS.md"
    tmp = out.with_suffix(".md.tmp")
    tmp.write_text("\n".join(parts))
    tmp.replace(out)


if __name__ == "__main__":
    main()
