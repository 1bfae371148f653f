"""Authoritative DNS: the dns unikernel (spt, hvt) against NSD, with dnsperf.

Usage: .venv/bin/python bench/dns.py [--seconds 10] [--rounds 3]
                                     [--output bench/results/dns.md]

Needs root (namespace, tap), nsd and dnsperf (Makefile DEB_PACKAGES), and
/dev/kvm for hvt. One namespace holds everything: the unikernel on a tap
(10.77.0.2), NSD as one foreground server process on Linux's side of the
same tap (10.77.0.1, port 53, `server-count: 1`, `minimal-responses: yes`, response
rate limiting off)
and dnsperf. Both serve the same 10,000-record zone; the query file mixes
existing names (60%), names that do not exist (20%, NXDOMAIN) and a type
the names lack (20%, NODATA), shuffled with a fixed seed. Runs are
interleaved spt, NSD, hvt, NSD, ... for --rounds rounds of --seconds each;
each run records the load average. Reported: queries/s (min and median),
the ratio of medians to NSD, and latency percentiles from dnsperf -v.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from solo5.launcher import tender_command  # noqa: E402
from tests.dns.dns_build import build_image, zone_archive  # noqa: E402
from tests.dns.nsd import running_nsd  # noqa: E402
from tests.runtime.unikernel import Guest  # noqa: E402
from tests.support.netns import TapNamespace, tap_namespace  # noqa: E402

GUEST = "10.77.0.2"
HOST = "10.77.0.1"
RECORDS = 10_000
QUERIES = 20_000
ZONE_NAME = "bench.test"


@dataclass
class Run:
    qps: float
    lost: int
    load: float
    latencies_ms: list[float]


@dataclass
class Series:
    label: str
    runs: list[Run] = field(default_factory=list)

    def qps(self) -> list[float]:
        return [r.qps for r in self.runs]

    def percentile(self, p: float) -> float:
        values = sorted(v for r in self.runs for v in r.latencies_ms)
        return values[min(len(values) - 1, int(p / 100 * len(values)))]


def zone_text() -> str:
    lines = ["$TTL 3600", "@ SOA ns1 hostmaster 1 7200 3600 1209600 300", "@ NS ns1",
             f"ns1 A {GUEST}"]
    lines += [f"host{i} A 10.{i >> 16}.{(i >> 8) & 255}.{i & 255}" for i in range(RECORDS - 3)]
    return "\n".join(lines) + "\n"


def query_file(path: Path) -> Path:
    rng = random.Random(15)
    lines = []
    for n in range(QUERIES):
        i = rng.randrange(RECORDS - 3)
        kind = n % 5
        if kind < 3:
            lines.append(f"host{i}.{ZONE_NAME} A")
        elif kind == 3:
            lines.append(f"missing{i}.{ZONE_NAME} A")
        else:
            lines.append(f"host{i}.{ZONE_NAME} AAAA")
    rng.shuffle(lines)
    path.write_text("\n".join(lines) + "\n")
    return path


def dnsperf(ns: TapNamespace, server: str, queries: Path, seconds: int) -> Run:
    load = os.getloadavg()[0]
    out = ns.run(["dnsperf", "-s", server, "-p", "53", "-d", str(queries), "-l", str(seconds),
                  "-c", "4", "-q", "100", "-t", "2", "-v"], timeout=seconds + 120).stdout
    qps = re.search(r"Queries per second:\s+([\d.]+)", out)
    lost = re.search(r"Queries lost:\s+(\d+)", out)
    if not qps or not lost:
        raise SystemExit(f"dnsperf against {server} printed no statistics:\n{out[-2000:]}")
    latencies = [float(m.group(1)) * 1000 for m in
                 re.finditer(r"^> \S+ \S+ \S+ ([\d.]+)$", out, re.MULTILINE)]
    return Run(float(qps.group(1)), int(lost.group(1)), load, latencies)


def boot(image: Path, ns: TapNamespace, archive: Path) -> Guest:
    argv = tender_command(image, nets={"service": ns.tap}, blocks={"zones": str(archive)},
                          args=[f"--ipv4={GUEST}/24"])
    guest = Guest(subprocess.Popen(ns.command(argv), stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT))
    if not guest.wait_for("dns: ready", 30):
        guest.proc.kill()
        raise SystemExit(f"the dns unikernel did not start: {guest.text()}")
    return guest


def stop(guest: Guest) -> None:
    guest.proc.kill()
    guest.proc.wait(timeout=10)


def render(series: list[Series], nsd: Series, seconds: int, rounds: int, memory: str) -> str:
    nsd_median = statistics.median(nsd.qps())
    lines = [
        "# DNS benchmark: the dns unikernel vs NSD (dnsperf)\n",
        f"Command: `.venv/bin/python bench/dns.py --seconds {seconds} --rounds {rounds}`\n",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs (shared VM), Linux "
        f"{platform.release()}; NSD and dnsperf from Debian. Zone: {RECORDS:,} records; "
        f"{QUERIES:,} queries (60% existing A, 20% NXDOMAIN, 20% NODATA), dnsperf `-c 4 -q 100 "
        f"-l {seconds}` over UDP from the same namespace. NSD: one server process on Linux's "
        "side of the tap, `minimal-responses: yes`, response rate limiting off. Runs interleaved "
        "spt, NSD, hvt, NSD.\n",
        "| server | runs | queries/s min | queries/s median | median / NSD | lost | "
        "latency p50 | p90 | p99 | load (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in [*series, nsd]:
        qps = s.qps()
        lines.append(
            f"| {s.label} | {len(qps)} | {min(qps):,.0f} | {statistics.median(qps):,.0f} | "
            f"{statistics.median(qps) / nsd_median:.2f}x | {sum(r.lost for r in s.runs)} | "
            f"{s.percentile(50):.2f} ms | {s.percentile(90):.2f} ms | "
            f"{s.percentile(99):.2f} ms | "
            f"{', '.join(f'{r.load:.1f}' for r in s.runs)} |")
    loads = [r.load for s in [*series, nsd] for r in s.runs]
    lines.append("")
    lines.append(f"Memory for the zone inside the unikernel (its console): {memory}.\n")
    lines.append(
        f"Notes: the 1-minute load average was {min(loads):.1f}-{max(loads):.1f} on this "
        f"{os.cpu_count()}-CPU machine during the runs; the ratios come from the same interleaved "
        "run. On hvt every packet costs a VM exit to the tender and back (and, under load, a wait "
        "for a physical CPU); on spt the guest runs in the tender's process.\n")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "dns.md")
    args = parser.parse_args()
    targets = ["spt"] + (["hvt"] if os.path.exists("/dev/kvm") else [])
    with tempfile.TemporaryDirectory(prefix="bench-dns-") as tmp:
        work = Path(tmp)
        images = {t: build_image(t, work / t) for t in targets}
        zones = {f"{ZONE_NAME}.zone": zone_text()}
        archive = zone_archive(zones, work / "zones.tar")
        queries = query_file(work / "queries.txt")
        nsd_dir = work / "nsd"
        nsd_dir.mkdir()
        series = [Series(f"dns unikernel ({t})") for t in targets]
        nsd = Series("NSD (1 process)")
        memory = ""
        with tap_namespace() as ns, running_nsd(ns, nsd_dir, zones, HOST, 53, HOST):
            for _ in range(args.rounds):
                for target, s in zip(targets, series, strict=True):
                    guest = boot(images[target], ns, archive)
                    try:
                        found = re.search(r"dns: zone \S+ (\d+ records, \d+ bytes)", guest.text())
                        memory = found.group(1) if found else memory
                        s.runs.append(dnsperf(ns, GUEST, queries, args.seconds))
                    finally:
                        stop(guest)
                    nsd.runs.append(dnsperf(ns, HOST, queries, args.seconds))
                    print(f"{s.label}: {s.runs[-1].qps:,.0f} q/s; NSD {nsd.runs[-1].qps:,.0f} "
                          f"q/s", file=sys.stderr)
        text = render(series, nsd, args.seconds, args.rounds, memory)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
