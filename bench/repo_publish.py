"""Benchmark: one cold publish, and what a fresh client downloads, at 1,000 and 10,000 packages.

Run: .venv/bin/python -m bench.repo_publish [--packages 1000 10000] [--publishes 10]

For each size it builds a repository with that many delegated packages, each
with one published release (bulk: the shard roles are signed once with all
their delegations, rather than through one pending change per package; not
timed), then measures, interleaved A B A B in one run:

- A, ours: `repo-tool publish --no-build --repo R NAME VERSION`, one cold
  process, as a user runs it (Python start-up and imports included);
- B, peer: `python -m bench.peer_publish R NAME VERSION`, one cold process doing
  the same publish with python-tuf's Metadata API (bench/peer_publish.py says
  what it does). Same staged release shape, same repository, same work: verify
  root/timestamp/targets/shard and the staged role, check and copy the files,
  write the role, a new snapshot and a new timestamp. Each side publishes into
  its own copy of the fixture, so each builds on the snapshots it wrote itself. Ours also
  takes the writer lock and writes every file atomically with fsync; the peer
  writes plainly (this favours the peer);
- A0 and B0, where the time goes: ours' start-up, `repo-tool publish --no-build
  --repo R` with nothing staged (imports, opening the repository, listing
  staging), and the peer's imports, `python -c "import bench.peer_publish"`;
  and three floors: `python -c pass`; `python -c "import signing,
  tuf.api.metadata"`, what any publish built on python-tuf's Metadata API
  (securesystemslib and cryptography under it) imports at least; and the
  libraries ours cannot publish without, `python -c "import json, hashlib,
  dataclasses, click, cryptography.hazmat.primitives.serialization"` (click
  parses the command line; cryptography's public API loads the PEM key files).
  That floor plus ours' publish work (a publish minus ours' start-up) bounds
  from below what any publish built this way can cost.

Every child is a fresh process of the same interpreter and site, started from the
repository's directory, with bytecode caching on (CHILD_ENV) and after one untimed
round of both publishes, so neither side compiles source in a timed run, as an
installed package would not; each sample records wall time and the child's own CPU
time (user + system), which waiting for a core on a loaded machine does not inflate.

Also reported: which metadata files each publish writes; the bytes a fresh
client downloads to verify one package (root, timestamp, snapshot, targets,
the package's shard, the package role); and, as the peer layout, the size of a
top-level targets delegating every package directly (no shard level).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tuf.api.metadata import DelegatedRole, Delegations, Metadata, TargetFile, Targets
from tuf.api.serialization.json import JSONSerializer

from bench.fixture_repository import initialized_repository, write_shard_delegations
from signing.keys import INSECURE, KeyFileSigner, generate_key
from tuf_metadata import layout
from tuf_metadata.repository import Repository

SHARDS = layout.DEFAULT_SHARDS  # these benchmarks' fixtures use the default layout

SERIALIZER = JSONSerializer(compact=True)


def build_repository(root: Path, packages: int) -> tuple[Repository, dict[str, KeyFileSigner]]:
    repo, maintainers = initialized_repository(root)

    names = [f"pkg{i:05d}" for i in range(packages)]
    authors = {name: generate_key() for name in names}
    by_shard: dict[str, list[str]] = {}
    for name in names:
        by_shard.setdefault(SHARDS.shard_of(name), []).append(name)
    expires = repo.load_root().signed.expires
    members = {prefix: [(name, authors[name].public_key) for name in in_shard]
               for prefix, in_shard in by_shard.items()}
    write_shard_delegations(repo, SHARDS, members, maintainers[:2], expires)
    for name in names:
        targets = {}
        for filename in (SHARDS.target_path(name, "1.0", f) for f in
                         ("manifest.json", f"{name}-1.0.tar.gz", f"{name}.hvt", f"{name}.spt")):
            data = filename.encode()
            targets[filename] = TargetFile.from_data(filename, data, ["sha256"])
            directory, base = filename.rsplit("/", 1)
            target_dir = repo.targets_dir / directory
            target_dir.mkdir(parents=True, exist_ok=True)
            (target_dir / f"{targets[filename].hashes['sha256']}.{base}").write_bytes(data)
        md = Metadata(Targets(version=1, expires=expires, targets=targets))
        md.sign(authors[name])
        role = layout.package_role(name)
        (repo.metadata_dir / f"1.{role}.json").write_bytes(md.to_bytes(SERIALIZER))
    repo.refresh_snapshot()  # verifies every new role file against its delegator, then lists it
    return repo, authors


def stage(repo: Repository, work: Path, name: str, version: str, author: KeyFileSigner) -> object:
    work.mkdir(parents=True, exist_ok=True)
    files = {}
    for part in ("manifest.json", "src.tar.gz", "hvt", "spt"):
        path = work / f"{name}-{version}-{part}"
        path.write_bytes(os.urandom(256))
        files[part] = path
    return repo.stage_release(
        name, version, files["manifest.json"], files["src.tar.gz"],
        {"hvt": files["hvt"], "spt": files["spt"]}, [author],
    )


def client_bytes(repo: Repository, name: str) -> dict[str, int]:
    metadata = repo.metadata_dir
    root = repo.load_root().signed
    snapshot = repo.load_snapshot(root).signed
    sizes = {
        "root (1.root.json)": (metadata / "1.root.json").stat().st_size,
        "timestamp": (metadata / "timestamp.json").stat().st_size,
        "snapshot": (metadata / f"{snapshot.version}.snapshot.json").stat().st_size,
        "targets": (metadata / f"{snapshot.meta['targets.json'].version}.targets.json")
        .stat().st_size,
    }
    shard = repo.files.shard_layout().shard_role(name)
    sizes[f"shard ({shard})"] = (
        metadata / f"{snapshot.meta[shard + '.json'].version}.{shard}.json"
    ).stat().st_size
    role = layout.package_role(name)
    sizes[f"package role ({role})"] = (
        metadata / f"{snapshot.meta[role + '.json'].version}.{role}.json"
    ).stat().st_size
    return sizes


def flat_targets_bytes(repo: Repository, packages: int) -> int:
    """Size of a top-level targets delegating every package directly (the peer layout)."""
    targets = Targets(expires=repo.load_root().signed.expires)
    targets.delegations = Delegations(keys={}, roles={})
    assert targets.delegations.roles is not None
    for i in range(packages):
        key = generate_key().public_key
        name = f"pkg{i:05d}"
        targets.delegations.keys[key.keyid] = key
        targets.delegations.roles[layout.package_role(name)] = DelegatedRole(
            layout.package_role(name), [key.keyid], 1, True, SHARDS.package_paths(name)
        )
    md = Metadata(targets)
    for _ in range(2):
        md.sign(generate_key(), append=True)
    return len(md.to_bytes(SERIALIZER))


REPO = Path(__file__).resolve().parents[1]
# PYTHONDONTWRITEBYTECODE (set in some shells and CI) would make every child compile each
# module edited since its .pyc was written: tens of ms that a user's installation never pays.
CHILD_ENV = {name: value for name, value in os.environ.items()
             if name != "PYTHONDONTWRITEBYTECODE"}


def cold_process(command: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one fresh child process."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors, cwd=REPO,
                                 env=CHILD_ENV)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - start
        if os.waitstatus_to_exitcode(status) != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed: {errors.read().decode().strip()}")
    return elapsed, usage.ru_utime + usage.ru_stime


STARTUP_LABELS = {
    "ours0": "ours (publish, nothing staged)",
    "peer0": "peer (import bench.peer_publish)",
    "python": "python -c pass",
    "python_tuf": "import signing, tuf.api.metadata",
    "libraries": "import json, hashlib, dataclasses, click, cryptography...serialization",
}
LIBRARIES = ("import json, hashlib, dataclasses, click, "
             "cryptography.hazmat.primitives.serialization")


def summary_ms(samples: list[float]) -> dict[str, float]:
    return {"min": round(min(samples) * 1000, 1),
            "median": round(statistics.median(samples) * 1000, 1)}


def ratio(mine: list[float], peer: list[float]) -> dict[str, float]:
    return {"min": round(min(mine) / min(peer), 3),
            "median": round(statistics.median(mine) / statistics.median(peer), 3)}


def bench_size(packages: int, publishes: int, tmp: Path) -> dict[str, object]:
    root = tmp / f"repo-{packages}"
    start = time.perf_counter()
    repo, authors = build_repository(root, packages)
    # Each side publishes into its own copy: a snapshot written by the other side would not
    # be one ours wrote (no snapshot index), so ours would re-read it whole every time.
    peer_root = tmp / f"peer-repo-{packages}"
    shutil.copytree(root, peer_root, symlinks=True)
    repos = {"ours": repo, "peer": Repository(peer_root, INSECURE)}
    build_seconds = time.perf_counter() - start
    rng = random.Random(packages)
    names = sorted(authors)
    repo_tool = str(Path(sys.executable).with_name("repo-tool"))
    startup = {
        "ours0": [repo_tool, "publish", "--no-build", "--repo", str(root)],
        "peer0": [sys.executable, "-c", "import bench.peer_publish"],
        "python": [sys.executable, "-c", "pass"],
        "python_tuf": [sys.executable, "-c", "import signing, tuf.api.metadata"],
        "libraries": [sys.executable, "-c", LIBRARIES],
    }

    # wall and CPU seconds per configuration: a publish, and start-up alone
    wall: dict[str, list[float]] = {k: [] for k in ("ours", "peer", *startup)}
    cpu: dict[str, list[float]] = {k: [] for k in wall}
    written: list[str] = []
    loads = [os.getloadavg()[0]]
    for i in range(-1, publishes):  # round -1: untimed, writes both sides' bytecode caches
        for side in ("ours", "peer"):  # interleaved: A B A0 B0 A B ...
            name = rng.choice(names)
            version = f"2.{i + 1}.{side}"
            stage(repos[side], tmp / "work", name, version, authors[name])
            before = set(os.listdir(repo.metadata_dir))
            if side == "ours":
                command = [repo_tool, "publish", "--no-build", "--repo", str(root), name,
                           version]
            else:
                command = [sys.executable, "-m", "bench.peer_publish", str(peer_root), name,
                           version]
            seconds, used = cold_process(command)
            if i < 0:
                continue
            wall[side].append(seconds)
            cpu[side].append(used)
            if side == "ours":
                written = [n.replace(name, "NAME") for n in
                           sorted(set(os.listdir(repo.metadata_dir)) - before)]
        for label, command in startup.items():
            seconds, used = cold_process(command)
            if i < 0:
                continue
            wall[label].append(seconds)
            cpu[label].append(used)
        loads.append(os.getloadavg()[0])

    sizes = client_bytes(repo, rng.choice(names))
    snapshot_path = next(
        p for p in repo.metadata_dir.iterdir()
        if p.name.endswith(".snapshot.json") and p.stat().st_size == sizes["snapshot"]
    )
    return {
        "packages": packages,
        "fixture_build_seconds": round(build_seconds, 1),
        "publishes_per_side": publishes,
        "cold_publish_wall_ms": {"ours": summary_ms(wall["ours"]),
                                 "peer_python_tuf": summary_ms(wall["peer"])},
        "cold_publish_cpu_ms": {"ours": summary_ms(cpu["ours"]),
                                "peer_python_tuf": summary_ms(cpu["peer"])},
        "ratio_ours_to_peer_wall": ratio(wall["ours"], wall["peer"]),
        "ratio_ours_to_peer_cpu": ratio(cpu["ours"], cpu["peer"]),
        "startup_only_cpu_ms": {STARTUP_LABELS[k]: summary_ms(cpu[k]) for k in startup},
        # What a publish built on ours' libraries costs at least: their imports plus ours'
        # publish work (min of a publish minus min of ours' start-up), beside half the peer.
        "floor_cpu_ms": {
            "libraries_plus_ours_work": round(
                (min(cpu["libraries"]) + min(cpu["ours"]) - min(cpu["ours0"])) * 1000, 1),
            "half_of_peer": round(min(cpu["peer"]) * 500, 1),
        },
        "startup_only_wall_ms": {STARTUP_LABELS[k]: summary_ms(wall[k]) for k in startup},
        "load_average_1min": {"min": round(min(loads), 2), "max": round(max(loads), 2)},
        "files_written_per_publish": [*written, "timestamp.json (replaced)"],
        "client_download_bytes": sizes,
        "client_download_total": sum(sizes.values()),
        "snapshot_gzip_bytes": len(gzip.compress(snapshot_path.read_bytes())),
        "peer_flat_targets_bytes": flat_targets_bytes(repo, packages),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--publishes", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for packages in args.packages:
            print(json.dumps(bench_size(packages, args.publishes, Path(tmp)), indent=2))


if __name__ == "__main__":
    main()
