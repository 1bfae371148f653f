"""Benchmark at scale: one cold publish and a client's refresh, 10,000 to 1,000,000 packages.

    .venv/bin/python -m bench.scale [--packages 10000 100000] [--publishes 5] [--repeat 3]
                                    [--shard-digits 2] [--fixture-dir DIR] [--write]

Fixture (built once per size, its time reported but not measured): the pinned
layout (targets -> 16^d shard roles -> one role per package; d = --shard-digits, chosen
at the key ceremony as `repo-tool init --shard-digits` does), 3 maintainers
(threshold 2) signing targets and the shards, one real ed25519 author key per
package signing its role (4 target entries: manifest, source, hvt, spt). The
role files are written directly (no pending change per package) and snapshot
and timestamp are signed once by the repository's online services. Only the
target files of the package the clients download exist on disk (a publish never
reads other packages' files; `repo-tool verify` is not run on this fixture).
The author keys are kept beside the repository (repo-N.author-keys, raw ed25519
private keys in package order) and read one at a time when a run signs with one.
--fixture-dir DIR builds each size's fixture once into DIR/repo-N (DIR/repo-N-dD for
a shard prefix length D other than 2) and keeps it (DIR/repo-N.built marks it
complete); later runs, and bench/tree_client.py's --fixture-dir, copy it instead of
building it again (at 1,000,000 packages the build took 580 s here). Every run works on its
own copy.

Measured, interleaved A B A B, each a cold process as a user runs it:
- publish: `repo-tool publish --no-build` (ours) vs bench/peer_publish.py
  (python-tuf's Metadata API), each of a freshly staged release of a random
  package, each side into its own copy of the fixture (so ours builds on snapshots
  it wrote, with their index), after one untimed round with bytecode caching on
  (bench.repo_publish.CHILD_ENV); wall time, CPU time and peak RSS;
- client, against `serve`'s HTTP server on loopback (bench/transfer.py's
  clients): a fresh client's refresh + one image download, and the same
  client's refresh when up to date, for ours with gzip, ours without, and
  ngclient: time, requests, body bytes; peak RSS of one fresh run in a child
  process per client.
The 1-minute load average is recorded before and after every size.
--write records the table in bench/results/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import Key, SSlibKey
from tuf.api.metadata import Metadata, TargetFile, Targets
from tuf.api.serialization.json import JSONSerializer

from bench.fixture_repository import initialized_repository, write_shard_delegations
from bench.repo_publish import CHILD_ENV, stage
from bench.transfer import CLIENTS, Sample, measure, serve
from signing.keys import INSECURE, KeyFileSigner, generate_key
from tuf_metadata import layout
from tuf_metadata.repo_paths import repository_paths
from tuf_metadata.repository import Repository
from tuf_metadata.store import repository_lock

RESULTS = Path(__file__).parent / "results" / "scale.md"
SERIALIZER = JSONSerializer(compact=True)
DOWNLOADED = "pkg0000000"  # the package whose files exist and which the clients fetch
IMAGE = os.urandom(64 * 1024)
KEY_BYTES = 32  # a raw ed25519 private key


def package_name(number: int) -> str:
    return f"pkg{number:07d}"


class AuthorKeys(Mapping[str, KeyFileSigner]):
    """The packages' author keys, read one by one from the fixture's key file (the raw
    32-byte ed25519 private keys in package order): a million signers in memory would cost
    this process gigabytes and loading them all a minute, and a run signs with a few."""

    def __init__(self, path: Path, packages: int) -> None:
        self.path = path
        self.packages = packages

    def __getitem__(self, name: str) -> KeyFileSigner:
        number = int(name.removeprefix("pkg"))
        if name != package_name(number) or not 0 <= number < self.packages:
            raise KeyError(name)
        with self.path.open("rb") as keys:
            keys.seek(number * KEY_BYTES)
            private = Ed25519PrivateKey.from_private_bytes(keys.read(KEY_BYTES))
        return KeyFileSigner(private, SSlibKey.from_crypto(private.public_key()))

    def __iter__(self) -> Iterator[str]:
        return (package_name(number) for number in range(self.packages))

    def __len__(self) -> int:
        return self.packages


def author_keys_path(root: Path) -> Path:
    return root.with_name(root.name + ".author-keys")


def build(root: Path, packages: int, shards: layout.ShardLayout
          ) -> tuple[Repository, AuthorKeys]:
    """The fixture; returns the repository and the author keys of the packages (kept in
    author_keys_path(root), beside the repository)."""
    repo, maintainers = initialized_repository(root, shards)
    expires = repo.load_root().signed.expires
    by_shard: dict[str, list[tuple[str, Key]]] = {}
    updates: dict[str, dict[str, int]] = {}  # snapshot meta entries, as plain data
    # Every package's image has the same bytes: hash them once.
    image = TargetFile.from_data("image", IMAGE, ["sha256"])
    with author_keys_path(root).open("wb") as key_file:
        for number in range(packages):
            name = package_name(number)
            author = generate_key()
            assert isinstance(author.private_key, Ed25519PrivateKey)
            key_file.write(author.private_key.private_bytes_raw())
            by_shard.setdefault(shards.shard_of(name), []).append((name, author.public_key))
            targets = {}
            for filename in ("manifest.json", f"{name}-1.0.0.tar.gz", f"{name}.hvt",
                             f"{name}.spt"):
                path = shards.target_path(name, "1.0.0", filename)
                data = IMAGE if filename.endswith(".hvt") else path.encode()
                targets[path] = (TargetFile(image.length, image.hashes, path)
                                 if data is IMAGE else TargetFile.from_data(path, data, ["sha256"]))
                if name == DOWNLOADED:
                    directory, base = path.rsplit("/", 1)
                    (repo.targets_dir / directory).mkdir(parents=True, exist_ok=True)
                    (repo.targets_dir / directory / f"{targets[path].hashes['sha256']}.{base}"
                     ).write_bytes(data)
            md = Metadata(Targets(version=1, expires=expires, targets=targets))
            md.sign(author)
            role = layout.package_role(name)
            (repo.metadata_dir / f"1.{role}.json").write_bytes(md.to_bytes(SERIALIZER))
            updates[f"{role}.json"] = {"version": 1}
    for shard_name in write_shard_delegations(repo, shards, by_shard, maintainers[:2], expires):
        updates[f"{shard_name}.json"] = {"version": 2}
    with repository_lock(root):
        repo.online.new_snapshot_and_timestamp(updates)
    return repo, AuthorKeys(author_keys_path(root), packages)


def copy_repository(source: Path, destination: Path) -> None:
    """A copy of a fixture repository and its author keys (cp: a million files copy in a
    fraction of shutil.copytree's time)."""
    subprocess.run(["cp", "-a", str(source), str(destination)], check=True)
    shutil.copyfile(author_keys_path(source), author_keys_path(destination))


def fixture_name(packages: int, shards: layout.ShardLayout) -> str:
    """The fixture's folder name (the default layout's keeps the name kept fixtures have)."""
    if shards.digits == layout.DEFAULT_SHARD_DIGITS:
        return f"repo-{packages}"
    return f"repo-{packages}-d{shards.digits}"


def fixture(packages: int, tmp: Path, fixture_dir: Path | None,
            shards: layout.ShardLayout = layout.DEFAULT_SHARDS
            ) -> tuple[Repository, AuthorKeys, float]:
    """A fresh fixture of PACKAGES at tmp/repo-N and the seconds its build took.

    With fixture_dir, the fixture is built once into fixture_dir/repo-N (kept, and marked
    complete by fixture_dir/repo-N.built, which holds the build's seconds) and every run,
    of this benchmark or of bench/tree_client.py, works on its own copy of it."""
    root = tmp / fixture_name(packages, shards)
    if fixture_dir is None:
        started = time.perf_counter()
        repo, authors = build(root, packages, shards)
        return repo, authors, time.perf_counter() - started
    kept = fixture_dir / fixture_name(packages, shards)
    marker = kept.with_name(kept.name + ".built")
    if not marker.exists():
        shutil.rmtree(kept, ignore_errors=True)  # an interrupted build
        started = time.perf_counter()
        build(kept, packages, shards)
        marker.write_text(f"{time.perf_counter() - started:.1f}\n")
    copy_repository(kept, root)
    return (Repository(root, INSECURE), AuthorKeys(author_keys_path(root), packages),
            float(marker.read_text()))


def run_measured(command: list[str]) -> tuple[float, float, int]:
    """Wall seconds, CPU seconds (user + system) and peak RSS (KiB) of one child process.

    The child runs under /usr/bin/time, which forks it: a process forked from this
    benchmark's own (large) one would report this process's RSS as its peak."""
    with tempfile.NamedTemporaryFile() as report:
        started = time.perf_counter()
        child = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", report.name, *command],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                 env=CHILD_ENV)
        _, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        stderr = child.stderr.read().decode() if child.stderr else ""
        if child.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {stderr.strip()}")
        peak = int(Path(report.name).read_text().split()[-1])
    return elapsed, usage.ru_utime + usage.ru_stime, peak


def summary(values: list[float]) -> dict[str, float]:
    return {"min": min(values), "median": statistics.median(values)}


def bench_publish(root: Path, repo: Repository, authors: Mapping[str, KeyFileSigner],
                  publishes: int, work: Path) -> dict[str, dict[str, list[float]]]:
    rng = random.Random(len(authors))
    names = sorted(authors)
    # Each side publishes into its own copy: a snapshot written by the other side would not
    # be one ours wrote (no snapshot index), so ours would re-read it whole every time.
    peer_root = root.with_name(root.name + "-peer")
    copy_repository(root, peer_root)
    roots = {"ours": root, "python-tuf": peer_root}
    repos = {"ours": repo, "python-tuf": Repository(peer_root, INSECURE)}
    repo_tool = str(Path(sys.executable).with_name("repo-tool"))
    results: dict[str, dict[str, list[float]]] = {
        side: {"seconds": [], "cpu_seconds": [], "rss_kib": []} for side in ("ours", "python-tuf")
    }
    for round_number in range(-1, publishes):  # round -1 untimed: bytecode caches written
        for side in ("ours", "python-tuf"):  # interleaved: A B A B
            name = rng.choice(names)
            version = f"2.{round_number + 1}.{'0' if side == 'ours' else '1'}"
            stage(repos[side], work, name, version, authors[name])
            command = (
                [repo_tool, "publish", "--no-build", "--repo", str(root), name, version]
                if side == "ours"
                else [sys.executable, "-m", "bench.peer_publish", str(roots[side]), name, version]
            )
            seconds, cpu, rss = run_measured(command)
            if round_number < 0:
                continue
            results[side]["seconds"].append(seconds)
            results[side]["cpu_seconds"].append(cpu)
            results[side]["rss_kib"].append(rss)
    return results


def client_memory(base: str, root_bytes: bytes, work: Path, target: str) -> dict[str, int]:
    """Peak RSS of one fresh refresh + download per client, each in its own process."""
    peaks = {}
    for name in CLIENTS:
        run = work / f"mem-{name}"
        command = [sys.executable, "-m", "bench.scale", "--client-once", name, base,
                   str(run), target]
        run.mkdir(parents=True)
        (run / "root.json").write_bytes(root_bytes)
        peaks[name] = run_measured(command)[2]
    return peaks


def client_once(name: str, base: str, work: Path, target: str) -> None:
    fresh, _ = CLIENTS[name](base, (work / "root.json").read_bytes(), work / "c", target)
    fresh()


def bench_clients(root: Path, repeat: int, work: Path, shards: layout.ShardLayout
                  ) -> dict[str, object]:
    root_bytes = (repository_paths(root).metadata / "1.root.json").read_bytes()
    target = shards.target_path(DOWNLOADED, "1.0.0", f"{DOWNLOADED}.hvt")
    samples: dict[str, dict[str, list[Sample]]] = {
        name: {"fresh": [], "up-to-date": []} for name in CLIENTS
    }
    with serve(root) as (base, server):
        for round_number in range(repeat):
            for name, make in CLIENTS.items():
                fresh, up_to_date = make(base, root_bytes, work / f"{name}-{round_number}", target)
                samples[name]["fresh"].append(measure(server, fresh))
                samples[name]["up-to-date"].append(measure(server, up_to_date))
        memory = client_memory(base, root_bytes, work, target)
    return {"samples": samples, "rss_kib": memory}


def bench_size(packages: int, publishes: int, repeat: int, tmp: Path,
               fixture_dir: Path | None, shards: layout.ShardLayout) -> dict[str, object]:
    repo, authors, built = fixture(packages, tmp, fixture_dir, shards)
    root = repo.root_dir
    print(f"{packages:,} packages: fixture built in {built:.0f} s", file=sys.stderr)
    snapshot_bytes = max(
        (p for p in repository_paths(root).metadata.iterdir()
         if p.name.endswith(".snapshot.json")),
        key=lambda p: int(p.name.split(".")[0]),
    ).stat().st_size
    load = [os.getloadavg()[0]]
    publish = bench_publish(root, repo, authors, publishes, tmp / "work")
    load.append(os.getloadavg()[0])
    clients = bench_clients(root, repeat, tmp / f"clients-{packages}", shards)
    load.append(os.getloadavg()[0])
    return {"packages": packages, "fixture_seconds": built, "snapshot_bytes": snapshot_bytes,
            "publish": publish, "clients": clients, "load": load}


def ms(values: list[float]) -> str:
    return f"{min(values) * 1000:.0f} / {statistics.median(values) * 1000:.0f}"


def ratios(mine: list[float], peer: list[float]) -> str:
    return (f"{min(mine) / min(peer):.3f} / "
            f"{statistics.median(mine) / statistics.median(peer):.3f}")


def render(results: list[dict[str, object]]) -> str:
    lines = [
        "## Cold publish (one process each; wall and CPU = user + system: min / median ms; "
        "peak RSS MiB)",
        "",
        "| packages | snapshot bytes | ours wall | python-tuf wall | wall ratio min / median "
        "| ours CPU | python-tuf CPU | CPU ratio min / median | RSS ours / python-tuf "
        "| load (1 min) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for size in results:
        publish = size["publish"]
        assert isinstance(publish, dict)
        mine, peer = publish["ours"], publish["python-tuf"]
        load = size["load"]
        assert isinstance(load, list)
        lines.append(
            f"| {size['packages']:,} | {size['snapshot_bytes']:,} | {ms(mine['seconds'])} "
            f"| {ms(peer['seconds'])} | {ratios(mine['seconds'], peer['seconds'])} "
            f"| {ms(mine['cpu_seconds'])} | {ms(peer['cpu_seconds'])} "
            f"| {ratios(mine['cpu_seconds'], peer['cpu_seconds'])} "
            f"| {max(mine['rss_kib']) / 1024:.0f} / {max(peer['rss_kib']) / 1024:.0f} "
            f"| {min(load):.1f}-{max(load):.1f} |"
        )
    lines += [
        "",
        "## Client (min / median ms, requests, body bytes; peak RSS of one fresh run)",
        "",
        "| packages | phase | ours gzip | ours plain | ngclient | bytes gzip / ngclient | bytes "
        "plain / ngclient | median time ours gzip / ngclient |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for size in results:
        clients = size["clients"]
        assert isinstance(clients, dict)
        samples = clients["samples"]
        for phase in ("fresh", "up-to-date"):
            mine, plain, theirs = (samples[name][phase] for name in CLIENTS)

            def cell(runs: list[Sample]) -> str:
                return (f"{ms([r.seconds for r in runs])}, {runs[0].requests} req, "
                        f"{runs[0].bytes:,} B")

            time_ratio = (statistics.median(r.seconds for r in mine)
                          / statistics.median(r.seconds for r in theirs))
            lines.append(
                f"| {size['packages']:,} | {phase} | {cell(mine)} | {cell(plain)} "
                f"| {cell(theirs)} | {mine[0].bytes / theirs[0].bytes:.3f} "
                f"| {plain[0].bytes / theirs[0].bytes:.3f} | {time_ratio:.2f} |"
            )
        rss = clients["rss_kib"]
        lines.append(
            f"| {size['packages']:,} | peak RSS (MiB) | {rss['ours'] / 1024:.0f} "
            f"| {rss['ours-plain'] / 1024:.0f} | {rss['ngclient'] / 1024:.0f} | | | |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--packages", type=int, nargs="+", default=[10000, 100000])
    parser.add_argument("--publishes", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help=f"record results in {RESULTS}")
    parser.add_argument("--fixture-dir", type=Path, metavar="DIR",
                        help="build each size's fixture once into DIR and keep it (reused by "
                             "later runs and by bench.tree_client --fixture-dir); every run "
                             "works on its own copy")
    parser.add_argument("--shard-digits", type=int, default=layout.DEFAULT_SHARD_DIGITS,
                        help="the fixture's shard prefix length (2 or 3 hex digits)")
    parser.add_argument("--client-once", nargs=4, metavar=("CLIENT", "URL", "WORK", "TARGET"),
                        help=argparse.SUPPRESS)  # a child of client_memory
    args = parser.parse_args()
    if args.client_once:
        name, base, work, target = args.client_once
        client_once(name, base, Path(work), target)
        return
    started = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    with tempfile.TemporaryDirectory() as tmp:
        results = [bench_size(n, args.publishes, args.repeat, Path(tmp), args.fixture_dir,
                              layout.ShardLayout(args.shard_digits))
                   for n in args.packages]
    rendered = render(results)
    print(rendered)
    if args.write:
        command = "python -m bench.scale --packages " + " ".join(map(str, args.packages))
        command += f" --publishes {args.publishes} --repeat {args.repeat}"
        command += f" --shard-digits {args.shard_digits}"
        RESULTS.write_text(
            f"# Scale benchmark\n\nCommand: `.venv/bin/{command}` ({started}; "
            f"{os.cpu_count()} CPUs, shared).\n\n{rendered}\n"
        )
        raw = [{k: v for k, v in r.items() if k != "clients"} for r in results]
        print(json.dumps(raw, indent=1, default=str), file=sys.stderr)


if __name__ == "__main__":
    main()
