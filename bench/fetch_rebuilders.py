"""What `fetch --require-rebuilders 2` costs an operator over a plain `fetch`.

    .venv/bin/python -m bench.fetch_rebuilders [--rounds 10] [--write]

Fixture, built once (untimed): a repository made through the CLI (maintainers, the
258 delegated roles, hello's author), hello 1.0.0 built by its author in the sandbox
and released with its hvt image and build info, published; two rebuilders, alice and
bob, delegated by the maintainers' quorum, each running the real `repo-tool rebuild
--package hello --submit` against the repository served on loopback (a double build
from the published inputs, a signed attestation submitted and published).

The repository is served by the project's own server (`repo-tool serve`'s
tuf_metadata.http_server, gzip for metadata as in production), which counts every
request and body byte and logs each request. Both sides are the same cold
`repo-tool fetch hello` process (the installed command) with a fresh metadata
directory, the trusted root and an empty output directory; the second adds
`--require-rebuilders 2` (both attestations fetched through TUF and checked). Rounds
are interleaved A B A B after one untimed warm-up of each; wall time is spawn to
exit, CPU the child's own user + system time; the load average is recorded before
and after. Issue #12's goal: time <= 1.3x and bytes <= 1.5x plain fetch.
--write records bench/results/fetch-rebuilders.md (bench/collect.py puts it in RESULTS.md),
keeping the file's hand-written "Earlier runs and what changed" section.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from click.testing import Result

from tests.rebuilder.support import World, add_rebuilder
from tests.repository.helpers import init_repo, make_keys, run
from tuf_metadata.http_server import HttpLimits, PublishedTreeServer
from tuf_metadata.repo_paths import repository_paths

REPO = Path(__file__).resolve().parents[1]
TOOL = REPO / ".venv" / "bin" / "repo-tool"
RESULTS = REPO / "bench" / "results" / "fetch-rebuilders.md"
HELLO = REPO / "packages" / "hello" / "1.0.0"
REBUILDERS = ("alice", "bob")
TIME_GOAL, BYTES_GOAL = 1.3, 1.5
PLAIN, REQUIRED = "fetch", "fetch --require-rebuilders 2"
HISTORY = "## Earlier runs and what changed"


@dataclass
class Side:
    label: str
    extra: tuple[str, ...]
    wall: list[float] = field(default_factory=list)  # ms
    cpu: list[float] = field(default_factory=list)  # ms
    requests: list[int] = field(default_factory=list)
    body_bytes: list[int] = field(default_factory=list)
    paths: dict[str, int] = field(default_factory=dict)  # request path -> body bytes (last run)
    client_bytes: int = 0  # what the client itself counted (its --json), last run


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def check(result: Result, what: str) -> None:
    if result.exit_code != 0:
        raise SystemExit(f"{what}: exit {result.exit_code}: {result.output[-2000:]}")


def build_fixture(work: Path) -> World:
    """hello published with its build info, alice and bob delegated (not yet rebuilt)."""
    fx = init_repo(work / "repository", authors=["hello"])
    fx.keys.update(make_keys(work / "repository" / "keys", REBUILDERS))
    world = World(fx)
    author = work / "author"
    check(run(["build-package", str(HELLO), "--tree", str(REPO), "--target", "hvt", "--out",
               str(author), "--no-blame"]), "the author's build-package")
    built = author / "hello" / "1.0.0"
    check(run(["release", "hello", "1.0.0", "--repo", str(fx.repo_dir),
               "--manifest", str(HELLO / "manifest.json"),
               "--source", str(built / "hello-1.0.0.tar.gz"),
               "--image", f"hvt={built / 'hvt' / 'hello.hvt'}",
               "--buildinfo", f"hvt={built / 'hvt' / 'buildinfo.json'}",
               "--key", str(fx.keys["hello"]), "--insecure-plaintext"]), "release")
    check(run(["publish", "--no-build", "--repo", str(fx.repo_dir)]), "publish")
    for name in REBUILDERS:
        add_rebuilder(world, name)
    return world


def rebuild_and_submit(world: World, url: str, name: str, out: Path) -> None:
    """The real `repo-tool rebuild --submit` of hello as rebuilder NAME."""
    result = subprocess.run(
        [str(TOOL), "rebuild", "--repo-url", url, "--root", str(root_file(world)),
         "--key", str(world.key_file(name)), "--insecure-plaintext", "--name", name,
         "--package", "hello", "--out", str(out), "--no-blame", "--submit",
         str(world.fx.repo_dir), "--json"],
        capture_output=True, text=True, check=False, cwd=REPO, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"rebuild as {name}: exit {result.returncode}: {result.stderr[-2000:]}")
    summary = json.loads(result.stdout)
    outcomes = [t["outcome"] for r in summary["releases"] for t in r["targets"]]
    if outcomes != ["confirmed"] or summary["submitted"] != 1:
        raise SystemExit(f"rebuild as {name}: {outcomes}, {summary['submitted']} submitted")


def root_file(world: World) -> Path:
    return repository_paths(world.fx.repo_dir).metadata / "1.root.json"


class AccessLog(io.StringIO):
    """The server's access log, kept in memory."""

    def lines(self) -> list[str]:
        return self.getvalue().splitlines()


@contextmanager
def serving(world: World) -> Iterator[tuple[str, PublishedTreeServer, AccessLog]]:
    log = AccessLog()
    server = PublishedTreeServer(("127.0.0.1", 0), repository_paths(world.fx.repo_dir).published,
                                 HttpLimits(), access_log=log)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server, log
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def totals(server: PublishedTreeServer) -> tuple[int, int]:
    by_code, body_bytes = server.stats.snapshot()
    return sum(by_code.values()), body_bytes


def settled(server: PublishedTreeServer) -> tuple[int, int]:
    """The server counts a request after its last byte is sent: wait for its threads."""
    last = totals(server)
    for _ in range(100):
        time.sleep(0.02)
        now = totals(server)
        if now == last:
            return now
        last = now
    raise SystemExit("the server's counters did not settle")


def parse_log_line(line: str) -> tuple[str, int]:
    """(path, body bytes) of a Common Log Format line."""
    request = line.split('"')[1]
    status_and_size = line.rsplit('"', 1)[1].split()
    size = status_and_size[1]
    return request.split()[1], 0 if size == "-" else int(size)


def fetch_once(world: World, url: str, side: Side, work: Path, server: PublishedTreeServer,
               log: AccessLog, record: bool) -> None:
    """One cold `repo-tool fetch hello` process (fresh metadata and output directories)."""
    out, metadata = work / "out", work / "metadata"
    for directory in (out, metadata):
        shutil.rmtree(directory, ignore_errors=True)
    argv = [str(TOOL), "fetch", "hello", "--url", url, "--root", str(root_file(world)),
            "-o", str(out), "--metadata-dir", str(metadata), "--json", *side.extra]
    requests_before, bytes_before = settled(server)
    lines_before = len(log.lines())
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        started = time.perf_counter()
        child = subprocess.Popen(argv, stdout=stdout, stderr=stderr, cwd=REPO)
        _, status, usage = os.wait4(child.pid, 0)
        wall = (time.perf_counter() - started) * 1000
        child.returncode = os.waitstatus_to_exitcode(status)
        stdout.seek(0)
        stderr.seek(0)
        output, errors = stdout.read(), stderr.read()
    if child.returncode != 0:
        raise SystemExit(f"{' '.join(argv)}: exit {child.returncode}: {errors.decode()}")
    document = json.loads(output)
    if side.extra and len(document["rebuilders"]["confirmed_by"]) != len(REBUILDERS):
        raise SystemExit(f"not confirmed by both rebuilders: {document['rebuilders']}")
    requests, body = settled(server)
    if not record:
        return
    side.wall.append(wall)
    side.cpu.append((usage.ru_utime + usage.ru_stime) * 1000)
    side.requests.append(requests - requests_before)
    side.body_bytes.append(body - bytes_before)
    side.client_bytes = int(document["bytes_downloaded"])
    side.paths = {}
    for line in log.lines()[lines_before:]:
        path, size = parse_log_line(line)
        side.paths[path] = side.paths.get(path, 0) + size


def ratio(a: float, b: float) -> str:
    return f"{b / a:.2f}x"


def goal(value: float, limit: float) -> str:
    return f"{value:.2f}x (goal <= {limit}x: {'met' if value <= limit else 'not met'})"


def reading(plain: Side, required: Side) -> str:
    """How much of the time difference this run can resolve."""
    spread = max(max(side.wall) - min(side.wall) for side in (plain, required))
    gap = statistics.median(required.wall) - statistics.median(plain.wall)
    cpu_gap = statistics.median(required.cpu) - statistics.median(plain.cpu)
    return (
        f"Reading: the samples of one side spread over {spread:.0f} ms at this load, against a "
        f"difference of medians of {gap:.0f} ms in wall time and {cpu_gap:.0f} ms in CPU: the "
        "check costs a few tens of milliseconds (four more requests, two role verifications, "
        "two DSSE signature checks, the imports below), and a ratio at or below 1 is load, not "
        "a claim that checking is free. The bytes do not depend on load: the attestations are "
        "the same size for any image, so the ratio is highest for small images like hello "
        "(25 KB) and falls as images grow."
    )


def render(sides: Sequence[Side], rounds: int, load_before: str, load_after: str,
           fixture_seconds: float, imports: str) -> str:
    plain, required = sides
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    rows = []
    for side in sides:
        rows.append(
            f"| `{side.label}` | {min(side.wall):.0f} | {statistics.median(side.wall):.0f} | "
            f"{max(side.wall):.0f} | {min(side.cpu):.0f} | {statistics.median(side.cpu):.0f} | "
            f"{statistics.median(side.requests):.0f} | {statistics.median(side.body_bytes):,.0f} "
            f"| {len(side.wall)} |")
    wall_min = min(required.wall) / min(plain.wall)
    wall_median = statistics.median(required.wall) / statistics.median(plain.wall)
    cpu_min = min(required.cpu) / min(plain.cpu)
    cpu_median = statistics.median(required.cpu) / statistics.median(plain.cpu)
    bytes_ratio = statistics.median(required.body_bytes) / statistics.median(plain.body_bytes)
    extra = sorted((path, size) for path, size in required.paths.items()
                   if path not in plain.paths)
    extra_rows = "\n".join(f"| `{path}` | {size:,} |" for path, size in extra)
    return "\n".join([
        "# Operator's fetch: `fetch --require-rebuilders 2` vs plain `fetch`",
        "",
        f"Command: `.venv/bin/python -m bench.fetch_rebuilders --rounds {rounds} --write` "
        f"({when}; {os.cpu_count()} CPUs shared with other jobs; load average {load_before} "
        f"before and {load_after} after; both sides in this one run, interleaved A B A B after "
        "one untimed warm-up each).",
        "",
        "Fixture (built once, untimed, "
        f"{fixture_seconds:.0f} s): a repository made through the CLI (3 maintainers, the "
        "258 delegated roles), hello 1.0.0 built by its author in the sandbox and released "
        "with its hvt image and build info, published; rebuilders alice and bob delegated by "
        "the maintainers' quorum, then each ran the real `repo-tool rebuild --package hello "
        "--submit` against the served repository (double build from the published inputs, "
        "attestation signed with its key and published under its role); no attestation was "
        "made any other way. Served on loopback by the project's own server "
        "(tuf_metadata.http_server, gzip for metadata as `repo-tool serve`), which counts "
        "requests and body bytes (headers excluded) and logs each request.",
        "",
        "Each sample is a cold `repo-tool fetch hello --url URL --root 1.root.json -o OUT "
        "--metadata-dir FRESH --json` process (the installed command), timed from spawn to "
        "exit; CPU is the child's own user + system time (the server runs in the benchmark's "
        "process). The second side adds `--require-rebuilders 2`: both rebuilder roles and "
        "their attestations fetched through TUF, each DSSE envelope verified against its "
        "role's keys, the operator's rule applied; every sample checked that both confirmed.",
        "",
        "| side | wall min (ms) | wall median | wall max | CPU min (ms) | CPU median | requests "
        "| body bytes | runs |",
        "|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Ratios (`--require-rebuilders 2` / plain): wall {goal(wall_min, TIME_GOAL)} by min, "
        f"{wall_median:.2f}x by median; CPU {cpu_min:.2f}x by min, {cpu_median:.2f}x by "
        f"median; bytes on the wire {goal(bytes_ratio, BYTES_GOAL)}; requests "
        f"{statistics.median(plain.requests):.0f} -> {statistics.median(required.requests):.0f}. "
        "The clients' own count of body bytes received (their `--json` `bytes_downloaded`, "
        f"last run): {plain.client_bytes:,} and {required.client_bytes:,}.",
        "",
        reading(plain, required),
        "",
        "What `--require-rebuilders 2` downloads in addition (one run, body bytes as sent):",
        "",
        "| request | bytes |",
        "|---|---|",
        extra_rows,
        "",
        imports,
    ]).rstrip() + "\n"


def import_costs(runs: int = 3) -> str:
    """Cumulative import time of the modules only the rebuilder check loads (-X importtime)."""
    probe = ("import builder.rebuilder_policy, tuf_metadata.client.attestations")
    best: dict[str, float] = {}
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-X", "importtime", "-c",
             "import tuf_metadata.client.packages, repo_tool.commands.fetch; " + probe],
            capture_output=True, text=True, check=True, cwd=REPO)
        for line in result.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            _, cumulative, name = line.removeprefix("import time:").split("|")
            if not cumulative.strip().isdigit():
                continue
            depth = (len(name) - len(name.lstrip())) // 2
            if depth > 2:
                continue
            ms = int(cumulative) / 1000
            key = name.strip()
            best[key] = min(ms, best.get(key, ms))
    wanted = ("builder.rebuilder_policy", "builder.verdict", "signing.attestations",
              "in_toto", "securesystemslib.dsse", "tuf_metadata.client.attestations")
    found = ", ".join(f"`{name}` {best[name]:.0f} ms" for name in wanted if name in best)
    return ("Imports the rebuilder check adds to a fetch (`python -X importtime`, cumulative, "
            f"min of {runs}, after the client's own imports): {found or 'none'}.")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    sides = (Side(PLAIN, ()), Side(REQUIRED, ("--require-rebuilders", "2")))
    with tempfile.TemporaryDirectory(prefix="bench-fetch-rebuilders-") as tmp:
        work = Path(tmp)
        started = time.monotonic()
        world = build_fixture(work)
        with serving(world) as (url, server, log):
            for name in REBUILDERS:
                rebuild_and_submit(world, url, name, work / f"rebuild-{name}")
            fixture_seconds = time.monotonic() - started
            print(f"fixture built in {fixture_seconds:.0f} s", file=sys.stderr)
            load_before = load()
            for side in sides:  # warm-up: bytecode and page caches, untimed
                fetch_once(world, url, side, work / "fetch", server, log, record=False)
            for round_number in range(args.rounds):
                for side in sides:
                    fetch_once(world, url, side, work / "fetch", server, log, record=True)
                print(f"round {round_number + 1}/{args.rounds}: "
                      + ", ".join(f"{s.label} {s.wall[-1]:.0f} ms" for s in sides),
                      file=sys.stderr)
            load_after = load()
    text = render(sides, args.rounds, load_before, load_after, fixture_seconds, import_costs())
    print(text, end="")
    if args.write:
        # The hand-written history below the measured part (earlier runs, what changed) stays.
        previous = RESULTS.read_text() if RESULTS.exists() else ""
        kept = previous[previous.index(HISTORY):] if HISTORY in previous else ""
        tmp_out = RESULTS.with_suffix(".md.tmp")
        tmp_out.write_text(text + ("\n" + kept if kept else ""))
        tmp_out.replace(RESULTS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
