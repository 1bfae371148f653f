"""Rebuilder benchmark: `repo-tool rebuild` of the bundled packages vs the builder's double build.

    .venv/bin/python -m bench.rebuild [--target hvt] [--package NAME]... [--repeat 3] [--write]

Both sides do the same work on the same set: every reproducible bundled unikernel that
declares TARGET (the two deliberately unreproducible fixtures are left out: their blame
would dominate both sides alike), double-built in the sandbox with every variation and
a signed verdict, without a cache and without blame.

- build: the builder's own double build of each package from the tree
  (builder.pipeline.verify_package with its key, as `repo-tool build` runs it);
- rebuild: `repo-tool rebuild` (in-process, through click) against the same packages
  published in a repository served on loopback HTTP (every library released too):
  the verifying client's refresh and downloads, the dependencies from their published
  archives, the rebuilder's own build path and user, the comparison with the published
  hash and the attestation files.

A warm-up build (not timed) makes the images the repository publishes, so every rebuild
confirms. Rounds are interleaved (build, rebuild, build, rebuild, ...); the load average
is recorded before and after; min, median and the ratio rebuild/build of each are reported.
--write records bench/results/rebuild.md (bench/collect.py puts it in RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from securesystemslib.signer import Signer

from builder.archive import archive_from_tree
from builder.manifest import Manifest
from builder.pipeline import BuildOptions, verify_package
from builder.plan import load_index, read_package_tree, resolve, solo5_requests
from builder.variations import all_variations
from repo_tool.cli import cli
from signing.keys import generate_key, write_key_pair
from tests.client.simulator import RepositorySimulator, new_signer, serve_http

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results" / "rebuild.md"
UNREPRODUCIBLE = ("unrepro_date", "unrepro_path")


def reading(times: dict[str, list[float]]) -> str:
    """How to read the ratio, with this run's spread between rounds."""
    spread = max(max(t) - min(t) for t in times.values())
    gap = abs(statistics.median(times["rebuild"]) - statistics.median(times["build"]))
    return (
        "Reading: both sides run the same double builds; rebuild adds a TUF refresh, verified "
        "loopback downloads of every release file and library archive, and the attestation "
        f"files. Rounds of one side differ by up to {spread:.0f} s and the medians by "
        f"{gap:.0f} s: on this shared 2-core machine the other jobs' load (above) moves a side "
        "by the same order as the gap, so the ratio shows that rebuilding from the repository "
        "costs about what the builder's own double build costs, and a ratio below 1 is load, "
        "not a claim that rebuild is faster. Re-run on an idle machine for a finer number."
    )


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def newest(index: dict[tuple[str, str], Manifest]) -> dict[str, Manifest]:
    chosen: dict[str, Manifest] = {}
    for (name, _), manifest in sorted(index.items()):
        chosen[name] = manifest  # the index sorts versions; the last one wins
    return chosen


def build_side(unikernels: list[Manifest], index: dict[tuple[str, str], Manifest], target: str,
               out: Path, key_signer: Signer) -> dict[str, Path]:
    """The builder's double build of every package; name -> its image."""
    images = {}
    variations = all_variations(os.cpu_count() or 1)
    for manifest in unikernels:
        package = read_package_tree(manifest, REPO)
        deps = [read_package_tree(d, REPO) for d in resolve(manifest, index)]
        (result,) = verify_package(
            solo5_requests(package, deps, [target]), package, deps, variations, out,
            BuildOptions(signer=key_signer, builder_id="bench-builder", find_culprits=False),
        )
        if result.image is None:
            raise SystemExit(f"{manifest.ident} {target}: {result.status}: {result.reason}")
        images[manifest.name] = Path(result.image)
    return images


def rebuild_side(base: str, root: Path, key: Path, target_count: int, out: Path) -> None:
    result = CliRunner().invoke(cli, [
        "rebuild", "--repo-url", base, "--root", str(root), "--key", str(key),
        "--insecure-plaintext", "--name", "bench", "--out", str(out), "--no-blame", "--json",
    ])
    if result.exit_code != 0:
        raise SystemExit(f"rebuild exited {result.exit_code}: {result.stderr[-2000:]}")
    confirmed = [t for r in json.loads(result.stdout)["releases"] for t in r["targets"]
                 if t["outcome"] == "confirmed"]
    if len(confirmed) != target_count:
        raise SystemExit(f"rebuild confirmed {len(confirmed)} of {target_count} images")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="hvt")
    parser.add_argument("--package", action="append", default=[])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    index = load_index(REPO / "packages")
    manifests = newest(index)
    unikernels = [m for name, m in sorted(manifests.items())
                  if m.kind == "unikernel" and name not in UNREPRODUCIBLE
                  and args.target in m.targets and (not args.package or name in args.package)]
    libraries = [m for m in manifests.values() if m.kind == "library"]
    load_before = load()
    times: dict[str, list[float]] = {"build": [], "rebuild": []}
    with tempfile.TemporaryDirectory(prefix="bench-rebuild-") as tmp:
        work = Path(tmp)
        signer = generate_key()
        write_key_pair(signer, work / "rebuilder.key", None)
        images = build_side(unikernels, index, args.target, work / "warm-up", signer)
        repo = RepositorySimulator()
        author = new_signer()
        for manifest in [*libraries, *unikernels]:
            files = {
                "manifest.json": (REPO / "packages" / manifest.name / manifest.version
                                  / "manifest.json").read_bytes(),
                f"{manifest.ident}.tar.gz": archive_from_tree(
                    REPO, manifest.sources, manifest.source_date_epoch),
            }
            if manifest.name in images:
                files[f"{manifest.name}.{args.target}"] = images[manifest.name].read_bytes()
            repo.add_package(manifest.name, [author], files, version=manifest.version)
        repo.release_all()
        (work / "root.json").write_bytes(repo.root_bytes)
        with serve_http(repo) as (metadata_url, _, _):
            base = metadata_url.removesuffix("/metadata/")
            for round_number in range(args.repeat):
                started = time.monotonic()
                build_side(unikernels, index, args.target, work / f"build-{round_number}", signer)
                times["build"].append(time.monotonic() - started)
                started = time.monotonic()
                rebuild_side(base, work / "root.json", work / "rebuilder.key", len(unikernels),
                             work / f"rebuild-{round_number}")
                times["rebuild"].append(time.monotonic() - started)
                shutil.rmtree(work / f"build-{round_number}", ignore_errors=True)
                shutil.rmtree(work / f"rebuild-{round_number}", ignore_errors=True)
    load_after = load()
    build_min, build_median = min(times["build"]), statistics.median(times["build"])
    rebuild_min, rebuild_median = min(times["rebuild"]), statistics.median(times["rebuild"])
    names = ", ".join(m.name for m in unikernels)
    table = "\n".join([
        "| side | min | median | rebuild / build (min) | rebuild / build (median) |",
        "|---|---|---|---|---|",
        f"| build: the builder's double build of {len(unikernels)} images | {build_min:.1f} s "
        f"| {build_median:.1f} s | | |",
        f"| rebuild: `repo-tool rebuild` of the same images from the served repository | "
        f"{rebuild_min:.1f} s | {rebuild_median:.1f} s | {rebuild_min / build_min:.2f}x | "
        f"{rebuild_median / build_median:.2f}x |",
    ])
    print(table)
    print(f"load average before {load_before}, after {load_after}")
    print(reading(times))
    if args.write:
        when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        RESULTS.write_text(
            "# Rebuilder benchmark: `repo-tool rebuild` vs the builder's double build\n\n"
            f"Command: `.venv/bin/python -m bench.rebuild --target {args.target} --repeat "
            f"{args.repeat} --write` ({when}; 2-core machine shared with other jobs, load "
            f"average {load_before} before and {load_after} after; both sides in this one run, "
            "interleaved round by round).\n\n"
            f"Set: the {args.target} image of every reproducible bundled unikernel ({names}), "
            "every variation, signed verdicts, no cache, no blame. build = "
            "builder.pipeline.verify_package from the tree; rebuild = `repo-tool rebuild` "
            "against the same releases (libraries published too) served on loopback: TUF "
            "refresh, verified downloads of manifests, archives and dependencies, the "
            "rebuilder's own build path and user, comparison with the published hash, "
            "attestation files.\n\n" + table + "\n\n" + reading(times) + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
