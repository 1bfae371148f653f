"""Benchmark: publish one release, and what a fresh client downloads, at 1,000 and 10,000 packages.

Run: .venv/bin/python -m bench.repo_publish [--packages 1000 10000] [--publishes 20]

For each size it builds a repository with that many delegated packages, each
with one published release (bulk: the shard roles are signed once with all
their delegations, rather than through one pending change per package),
then measures:

- publish: `Repository.publish_release` of a staged release (in-process,
  median and max over --publishes releases of random packages), and which
  metadata files each publish writes;
- the same through the CLI (`repo-tool publish --no-build`, one process,
  including Python start-up);
- the bytes a fresh client downloads to verify one package: root, timestamp,
  snapshot, targets, the package's shard, the package role;
- peer: a flat layout (top-level targets delegating every package directly,
  no shard level), for the size of top-level targets a client must fetch;
- peer: the snapshot step alone, ours against the plain python-tuf Metadata API
  path (parse, update, sign, serialize), in memory.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from securesystemslib.signer._crypto_signer import CryptoSigner
from tuf.api._payload import DelegatedRole, Delegations, MetaFile, Snapshot, TargetFile, Targets
from tuf.api.metadata import Metadata
from tuf.api.serialization.json import JSONSerializer

from signing.keys import INSECURE, generate_key, write_key_pair
from tuf_metadata import layout
from tuf_metadata.canonical import EncodedObject, canonical_with
from tuf_metadata.repository import Repository

SERIALIZER = JSONSerializer(compact=True)


def build_repository(root: Path, packages: int) -> tuple[Repository, dict[str, CryptoSigner]]:
    maintainers = [generate_key() for _ in range(3)]
    online = root / "online"
    online.mkdir(parents=True)
    snapshot_key, timestamp_key = generate_key(), generate_key()
    write_key_pair(snapshot_key, online / "snapshot.key", None)
    write_key_pair(timestamp_key, online / "timestamp.key", None)
    repo = Repository(root, INSECURE)
    change = repo.init(
        [m.public_key for m in maintainers], 2, snapshot_key.public_key, timestamp_key.public_key,
        {"snapshot": Path("online/snapshot.key"), "timestamp": Path("online/timestamp.key")},
        "insecure",
    )
    repo.sign_pending(change.change_id, maintainers[:2])

    names = [f"pkg{i:05d}" for i in range(packages)]
    authors = {name: generate_key() for name in names}
    by_shard: dict[str, list[str]] = {}
    for name in names:
        by_shard.setdefault(layout.shard_of(name), []).append(name)
    expires = repo.load_root().signed.expires
    for prefix, members in by_shard.items():
        shard = Targets(version=2, expires=expires)
        shard.delegations = Delegations(keys={}, roles={})
        assert shard.delegations.roles is not None
        for name in members:
            key = authors[name].public_key
            shard.delegations.keys[key.keyid] = key
            role = layout.package_role(name)
            shard.delegations.roles[role] = DelegatedRole(
                role, [key.keyid], 1, True, layout.package_paths(name)
            )
        md = Metadata(shard)
        for maintainer in maintainers[:2]:
            md.sign(maintainer, append=True)
        shard_name = layout.shard_role_for_prefix(prefix)
        (repo.metadata_dir / f"2.{shard_name}.json").write_bytes(md.to_bytes(SERIALIZER))
    for name in names:
        targets = {}
        for filename in (layout.target_path(name, "1.0", f) for f in
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


def stage(repo: Repository, work: Path, name: str, version: str, author: CryptoSigner) -> object:
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
    shard = layout.shard_role(name)
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
            layout.package_role(name), [key.keyid], 1, True, layout.package_paths(name)
        )
    md = Metadata(targets)
    for _ in range(2):
        md.sign(generate_key(), append=True)
    return len(md.to_bytes(SERIALIZER))


def snapshot_step(repo: Repository, rounds: int = 10) -> tuple[float, float]:
    """(ours, peer) median ms to turn the current snapshot into the next one, in memory.

    ours: the repository's path (encoded meta reused, one entry re-encoded, signed, framed);
    peer: the plain python-tuf Metadata API path (parse, update, sign, serialize).
    """
    root = repo.load_root().signed
    current = repo._snapshot_file(root, verify=False)
    data = repo._role_file("snapshot", current.metadata.signed.version).read_bytes()
    signer = repo.online_signer("snapshot")
    encoded = EncodedObject.encode(current.raw_signed["meta"])
    ours, peer = [], []
    for i in range(rounds):
        name = f"pkg-bench{i}.json"
        t0 = time.perf_counter()
        changed = encoded.updated({name: {"version": 1}})
        signed = {**current.raw_signed, "meta": {**current.raw_signed["meta"],
                                                 name: {"version": 1}}}
        payload, _ = canonical_with(signed, "meta", changed)
        signature = signer.sign(payload)
        json.dumps([signature.to_dict()]).encode() + payload
        ours.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        md = Metadata[Snapshot].from_bytes(data)
        md.signed.meta[name] = MetaFile(version=1)
        md.signed.version += 1
        md.sign(signer)
        md.to_bytes(SERIALIZER)
        peer.append(time.perf_counter() - t0)
    return statistics.median(ours) * 1000, statistics.median(peer) * 1000


def bench_size(packages: int, publishes: int, tmp: Path) -> dict[str, object]:
    root = tmp / f"repo-{packages}"
    start = time.perf_counter()
    repo, authors = build_repository(root, packages)
    build_seconds = time.perf_counter() - start
    rng = random.Random(packages)
    names = sorted(authors)

    times = []
    cpu_times = []
    written: list[str] = []
    for i in range(publishes):
        name = rng.choice(names)
        staged = stage(repo, tmp / "work", name, f"2.{i}", authors[name])
        before = set(os.listdir(repo.metadata_dir))
        stamp_before = (repo.metadata_dir / "timestamp.json").stat().st_mtime_ns
        t0, c0 = time.perf_counter(), time.process_time()
        repo.publish_release(staged, repo.author_images(staged))  # type: ignore[arg-type]
        times.append(time.perf_counter() - t0)
        cpu_times.append(time.process_time() - c0)
        new = sorted(set(os.listdir(repo.metadata_dir)) - before)
        if (repo.metadata_dir / "timestamp.json").stat().st_mtime_ns != stamp_before:
            new.append("timestamp.json (replaced)")
        written = [n.replace(name, "NAME") for n in new]

    name = rng.choice(names)
    stage(repo, tmp / "work", name, "3.0", authors[name])
    t0 = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).with_name("repo-tool")), "publish", "--no-build", "--repo",
         str(root), "--online-passphrase", "insecure", name, "3.0"],
        check=True, capture_output=True,
    )
    cli_seconds = time.perf_counter() - t0

    ours_ms, peer_ms = snapshot_step(repo)
    sizes = client_bytes(repo, name)
    snapshot_path = next(
        p for p in repo.metadata_dir.iterdir()
        if p.name.endswith(".snapshot.json")
        and p.stat().st_size == sizes["snapshot"]
    )
    return {
        "packages": packages,
        "build_seconds": round(build_seconds, 1),
        "publish_ms_median": round(statistics.median(times) * 1000, 1),
        "publish_ms_max": round(max(times) * 1000, 1),
        "publish_cpu_ms_median": round(statistics.median(cpu_times) * 1000, 1),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "cli_publish_ms": round(cli_seconds * 1000, 1),
        "files_written_per_publish": written,
        "client_download_bytes": sizes,
        "client_download_total": sum(sizes.values()),
        "snapshot_gzip_bytes": len(gzip.compress(snapshot_path.read_bytes())),
        "peer_flat_targets_bytes": flat_targets_bytes(repo, packages),
        "snapshot_step_ms_ours": round(ours_ms, 1),
        "snapshot_step_ms_peer_python_tuf": round(peer_ms, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--packages", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--publishes", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for packages in args.packages:
            print(json.dumps(bench_size(packages, args.publishes, Path(tmp)), indent=2))


if __name__ == "__main__":
    main()
