"""Cold start-up of `repo-tool`: `run --help`, `fetch --help`, `--help`, against the floor.

Usage: .venv/bin/python -m bench.startup [--runs N] [--output bench/results/startup.md]

Every sample is a fresh process of the venv's interpreter, timed by the parent
from spawn to exit; configurations are interleaved round by round so load from
other processes hits all of them alike. The floor is `python -c pass` with the
same interpreter and site (the editable-install finder included); "eager" is
what start-up cost before commands were loaded lazily: every command area
imported, then `run --help`. "fetch: client import" is what a real fetch adds
before its first request (the verifying client and python-tuf under it), so the
numbers say which part of a fetch is start-up and which is the client.
A `-X importtime` run of each repo-tool command gives the biggest imports.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
GOAL_MS = 150.0
# With PYTHONDONTWRITEBYTECODE set (some shells and CI), the untimed warm-up would not write
# the .pyc files, and every timed run would compile each module edited since: an installed
# package never pays that.
CHILD_ENV = {name: value for name, value in os.environ.items()
             if name != "PYTHONDONTWRITEBYTECODE"}

EAGER = (
    "from repo_tool.cli import cli, load_area\n"
    "from repo_tool.commands import COMMANDS\n"
    "for module in sorted({entry.module for entry in COMMANDS.values()}):\n"
    "    load_area(module)\n"
    "cli(['run', '--help'], prog_name='repo-tool')\n"
)
CLIENT_IMPORT = "import tuf_metadata.client.mirrors"


@dataclass(frozen=True)
class Config:
    label: str
    argv: tuple[str, ...]
    goal: bool  # the issue's <= 150 ms applies


@dataclass(frozen=True)
class Timing:
    label: str
    samples: tuple[float, ...]  # wall ms, spawn to exit
    cpu: tuple[float, ...]  # user + system ms of the child itself
    goal: bool

    @property
    def min_ms(self) -> float:
        return min(self.samples)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples)

    @property
    def cpu_min_ms(self) -> float:
        return min(self.cpu)

    @property
    def cpu_median_ms(self) -> float:
        return statistics.median(self.cpu)


def configs() -> list[Config]:
    python = str(BIN / "python")
    tool = str(BIN / "repo-tool")
    return [
        Config("python -c pass (floor)", (python, "-c", "pass"), False),
        Config("repo-tool run --help", (tool, "run", "--help"), True),
        Config("repo-tool fetch --help", (tool, "fetch", "--help"), True),
        Config("repo-tool --help", (tool, "--help"), False),
        Config("eager: every area imported, then run --help", (python, "-c", EAGER), False),
        Config("fetch: client import (python -c)", (python, "-c", CLIENT_IMPORT), False),
    ]


def run_once(argv: Sequence[str]) -> tuple[float, float]:
    """Wall ms from spawn to exit, and the child's own CPU ms (user + system)."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             cwd=REPO, env=CHILD_ENV)
    _, status, usage = os.wait4(child.pid, 0)
    wall = (time.perf_counter() - start) * 1000
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        failed = subprocess.run(argv, capture_output=True, text=True, check=False, cwd=REPO,
                                env=CHILD_ENV)
        raise SystemExit(f"{' '.join(argv)}: exit {child.returncode}: {failed.stderr.strip()}")
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


def time_rounds(chosen: Sequence[Config], runs: int) -> list[Timing]:
    wall: dict[str, list[float]] = {config.label: [] for config in chosen}
    cpu: dict[str, list[float]] = {config.label: [] for config in chosen}
    for config in chosen:  # warm the bytecode caches and the page cache, untimed
        run_once(config.argv)
    for _ in range(runs):
        for config in chosen:
            elapsed, used = run_once(config.argv)
            wall[config.label].append(elapsed)
            cpu[config.label].append(used)
    return [Timing(c.label, tuple(wall[c.label]), tuple(cpu[c.label]), c.goal)
            for c in chosen]


def top_imports(argv: Sequence[str], count: int, repeat: int) -> list[tuple[str, float]]:
    """The largest top-level imports (cumulative ms, min over `repeat` runs)."""
    best: dict[str, float] = {}
    for _ in range(repeat):
        result = subprocess.run([str(BIN / "python"), "-X", "importtime", *argv],
                                capture_output=True, text=True, check=True, cwd=REPO,
                                env=CHILD_ENV)
        for line in result.stderr.splitlines():
            if not line.startswith("import time:") or "|" not in line:
                continue
            _, cumulative, name = line.removeprefix("import time:").split("|")
            if name.startswith("  ") or not cumulative.strip().isdigit():
                continue  # nested import, or the header line
            ms = int(cumulative) / 1000
            best[name.strip()] = min(ms, best.get(name.strip(), ms))
    return sorted(best.items(), key=lambda item: -item[1])[:count]


def render(timings: Sequence[Timing], runs: int, load_before: tuple[float, ...],
           load_after: tuple[float, ...], imports: dict[str, list[tuple[str, float]]]) -> str:
    floor = timings[0]
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Start-up benchmark: repo-tool run / fetch / --help, cold processes",
        "",
        f"Command: `.venv/bin/python -m bench.startup --runs {runs}` ({now}; "
        f"{os.cpu_count()} CPUs shared with other jobs; load average "
        f"{' '.join(f'{x:.2f}' for x in load_before)} before and "
        f"{' '.join(f'{x:.2f}' for x in load_after)} after).",
        "",
        "Every sample is a fresh process timed from spawn to exit, configurations interleaved "
        "round by round, after one untimed warm-up each (with bytecode caching on: "
        "`PYTHONDONTWRITEBYTECODE` is removed from the children's environment, so no timed run "
        "compiles source). The floor is `python -c pass` with the "
        "same venv interpreter. Commands are loaded lazily: the top-level group reads names and "
        "short help from the table in `repo_tool/commands/__init__.py` and imports only the "
        "module of the command invoked. \"eager\" imports every command area first, as start-up "
        "did before. A real `fetch` also pays the verifying client's import (last row) before "
        "its first request; that is the client's cost, not start-up's. Under load the minimum "
        "shows the undisturbed cost better than the median; CPU is the child's own user + "
        "system time, which waiting for a core does not inflate.",
        "",
        "| configuration | wall min (ms) | wall median | wall max | CPU min (ms) | CPU median "
        "| runs | wall min - floor | CPU min - floor | goal (wall) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for timing in timings:
        goal = ""
        if timing.goal:
            met = "met" if timing.min_ms <= GOAL_MS else "not met"
            goal = f"<= {GOAL_MS:.0f} ms: {met} by min, " + (
                "met" if timing.median_ms <= GOAL_MS else "not met") + " by median"
        extra = "" if timing is floor else f"{timing.min_ms - floor.min_ms:.0f}"
        cpu_extra = "" if timing is floor else f"{timing.cpu_min_ms - floor.cpu_min_ms:.0f}"
        lines.append(f"| {timing.label} | {timing.min_ms:.0f} | {timing.median_ms:.0f} | "
                     f"{max(timing.samples):.0f} | {timing.cpu_min_ms:.0f} | "
                     f"{timing.cpu_median_ms:.0f} | {len(timing.samples)} | {extra} | "
                     f"{cpu_extra} | {goal} |")
    eager = next(t for t in timings if t.label.startswith("eager"))
    lazy = next(t for t in timings if t.label == "repo-tool run --help")
    lines += [
        "",
        f"Ratio lazy / eager for `run --help`: wall {lazy.min_ms / eager.min_ms:.2f} (min), "
        f"{lazy.median_ms / eager.median_ms:.2f} (median); CPU "
        f"{lazy.cpu_min_ms / eager.cpu_min_ms:.2f} (min).",
        "",
        "Against the floor (same run): " + "; ".join(
            f"`{t.label}` {t.min_ms / floor.min_ms:.1f}x wall, "
            f"{t.cpu_min_ms / floor.cpu_min_ms:.1f}x CPU (min)" for t in timings if t.goal)
        + ". The goal column judges this run's wall times, at the load above; on a loaded "
        "machine every process, the floor included, "
        "waits for a core, so judge the absolute goal from a run on an idle machine "
        "(`make bench`) and the effect of this change from the ratios.",
        "",
        "Largest top-level imports (`python -X importtime`, cumulative, min of 3 runs):",
        "",
    ]
    for label, rows in imports.items():
        shown = ", ".join(f"{name} {ms:.0f} ms" for name, ms in rows)
        lines.append(f"- `{label}`: {shown}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--output", type=Path, help="Write the markdown section here.")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()
    timings = time_rounds(configs(), args.runs)
    probe = "from repo_tool.cli import main; main()"
    imports = {
        "repo-tool run --help": top_imports(["-c", probe, "run", "--help"], 4, 3),
        "repo-tool fetch --help": top_imports(["-c", probe, "fetch", "--help"], 4, 3),
        "fetch: client import": top_imports(["-c", CLIENT_IMPORT], 4, 3),
    }
    load_after = os.getloadavg()
    text = render(timings, args.runs, load_before, load_after, imports)
    if args.output:
        tmp = args.output.with_suffix(".md.tmp")
        tmp.write_text(text)
        tmp.replace(args.output)
    print(text, end="")


if __name__ == "__main__":
    main()
