"""Builder benchmark: verified double build vs one plain build vs reprotest; time to blame.

    .venv/bin/python -m bench.build [--package hello] [--target hvt] [--repeat 3] [--write]

In one run, on the same package source and the same machine:
- plain: one sandboxed build under the fixed conditions (what a non-verifying builder does);
- verified: build A and build B (all 14 variations) in parallel, compared bit for bit;
- reprotest: reprotest --variations=+all,-user_group (the same variations; user_group is a
  no-op without configured users) on the same recipe, unsandboxed, via
  tests/builder/reprotest_build.py;
- blame: for each unreproducible fixture, the builder's mismatch-to-culprit time (bisection,
  diffoscope excluded and measured separately) vs reprotest --auto-build with the same variations.
Times are medians of --repeat wall-clock runs. --write records bench/results/build.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from builder.build import run_build
from builder.double import double_build, run_diffoscope
from builder.plan import load_index, read_package_tree, resolve, solo5_requests
from builder.variations import CONTROL, all_variations

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "build.md"
REPROTEST_BUILD = REPO / "tests" / "builder" / "reprotest_build.py"
RUN_REPROTEST = (
    "import importlib.resources as r, sys\n"
    "f = r.files\n"
    "r.files = lambda anchor=None: f(anchor or 'reprotest')\n"  # PyPI 0.7.33 needs 3.12 otherwise
    "from reprotest import main\n"
    "sys.argv[0] = 'reprotest'\n"
    "sys.exit(main())\n"
)


def request_for(name: str, target: str):  # type: ignore[no-untyped-def]
    index = load_index(REPO / "packages")
    manifest = index[(name, next(v for n, v in index if n == name))]
    package = read_package_tree(manifest, REPO)
    deps = [read_package_tree(d, REPO) for d in resolve(manifest, index)]
    return solo5_requests(package, deps, [target])[0], manifest


def reprotest(name: str, target: str, variations: str, auto: bool, work: Path) -> tuple[int, str]:
    _, manifest = request_for(name, target)
    source = work / "source"
    shutil.rmtree(source, ignore_errors=True)
    for path in manifest.sources:
        (source / path).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / path, source / path)
    shutil.copyfile(
        REPO / "packages" / name / manifest.version / "manifest.json", source / "manifest.json"
    )
    argv = [
        sys.executable,
        "-c",
        RUN_REPROTEST,
        "--no-diffoscope",
        f"--variations={variations}",
        f"--vary=build_path.path={work}/rp/i-capture-the-build-path/second/{name}",
        "-s",
        str(source),
        f"{sys.executable} {REPROTEST_BUILD} manifest.json {target} artifact.img",
        "artifact.img",
    ]
    if auto:
        argv.insert(3, "--auto-build")
    done = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    return done.returncode, done.stdout + done.stderr


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", default="hello")
    parser.add_argument("--target", default="hvt")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    variations = all_variations(os.cpu_count() or 1)
    request, _ = request_for(args.package, args.target)
    reprotest_variations = "+all,-user_group"
    load_before = load()
    rows: list[str] = []
    with tempfile.TemporaryDirectory(prefix="bench-build-") as tmp:
        work = Path(tmp)
        # Interleaved rounds, so a change of machine load hits every contender alike.
        times: dict[str, list[float]] = {"plain": [], "verified": [], "reprotest": []}
        for _ in range(args.repeat):
            started = time.monotonic()
            assert run_build(request, CONTROL, work, "plain").ok
            times["plain"].append(time.monotonic() - started)
            started = time.monotonic()
            verdict = double_build(request, variations, work / "double", find_culprits=False)
            times["verified"].append(time.monotonic() - started)
            assert verdict.status == "reproducible", verdict.reason
            started = time.monotonic()
            status, _ = reprotest(args.package, args.target, reprotest_variations, False, work)
            times["reprotest"].append(time.monotonic() - started)
            assert status == 0, "reprotest found the package unreproducible"
        plain, verified, rt = (statistics.median(times[k]) for k in times)
        rows.append(
            f"| {args.package} {args.target}: one plain sandboxed build | {plain:.2f} s | | |"
        )
        rows.append(
            f"| verified double build (A and B in parallel, 14 variations, compare) | "
            f"{verified:.2f} s | {verified / plain:.2f}x plain | <= 1.2x |"
        )
        rows.append(
            f"| reprotest {reprotest_variations} (same source, same recipe) | {rt:.2f} s | "
            f"ours = {verified / rt:.2f}x reprotest | <= 0.5x |"
        )
        for fixture in ("unrepro_date", "unrepro_path"):
            fixture_request, _ = request_for(fixture, args.target)
            blame_runs = []
            for _ in range(args.repeat):
                started = time.monotonic()
                outcome = double_build(fixture_request, variations, work / fixture)
                blame_runs.append(time.monotonic() - started)
            blamed = statistics.median(blame_runs)
            assert outcome.blame is not None
            a, b = outcome.control.image, outcome.experiment.image
            assert a is not None and b is not None
            started = time.monotonic()
            run_diffoscope(a, b, work / "reports", fixture)
            diff_time = time.monotonic() - started
            started = time.monotonic()
            auto_status, output = reprotest(fixture, args.target, reprotest_variations, True, work)
            auto = time.monotonic() - started
            named = output.split("varying each of the following:\n")[-1].split("\nThe build")[0]
            assert auto_status == 1 and named.split() == list(outcome.blame.culprits), output
            rows.append(
                f"| {fixture}: double build + blame (14 variations) -> "
                f"{', '.join(outcome.blame.culprits)} | {blamed:.2f} s | of which blame "
                f"{outcome.blame.seconds:.2f} s; diffoscope alone {diff_time:.2f} s | |"
            )
            rows.append(
                f"| {fixture}: reprotest --auto-build {reprotest_variations} "
                f"-> {', '.join(named.split())} | "
                f"{auto:.2f} s | ours = {blamed / auto:.2f}x reprotest | |"
            )
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    table = "\n".join(["| what | wall time (median) | ratio | goal |", "|---|---|---|---|", *rows])
    print(table)
    print(f"load average before {load_before}, after {load()}")
    if args.write:
        RESULTS.write_text(
            "# Builder benchmark: verified double build vs plain build vs reprotest\n\n"
            f"Command: `.venv/bin/python -m bench.build --package {args.package} --target "
            f"{args.target} --repeat {args.repeat} --write` ({when}; 2-core machine shared with "
            f"other jobs, load average {load_before} before and {load()} after; all numbers "
            "from this one run, contenders interleaved round by round).\n\n"
            "plain = one build in the sandbox under the fixed conditions; verified = build A and "
            "build B (every variation) run in parallel, then compared; reprotest = the same "
            "recipe unsandboxed under reprotest with the same variations (control then "
            "experiment, sequential, with its own tree copies). Blame = bisection over the 14 "
            "variations (2 builds per round, in parallel) after the mismatch; diffoscope "
            "(HTML + text + JSON) is timed separately.\n\n" + table + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
