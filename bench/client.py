"""Client benchmark: our verifying client vs python-tuf's ngclient on the same repository.

    .venv/bin/python -m bench.client [--sizes 1000 10000] [--repeat 3] [--write]

For each size, builds a repository of N packages on the pinned layout
(targets -> 256 shard-XX -> pkg-NAME, one release each) directly with the
Metadata API in a temporary directory, serves it on loopback HTTP, and
measures for each client, in the same process and run:
- fresh: a new client (only the initial root) refreshes and downloads one image;
- up-to-date: the same client's metadata directory, a new refresh.
Bytes and requests are counted by the server. Times are medians of --repeat.
--write records the table in bench/results/client.md.
"""

from __future__ import annotations

import argparse
import hashlib
import http.server
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from bench.client_phases import Phases, ngclient, ours
from tuf_metadata import layout
from tuf_metadata.client.fetcher import UrllibFetcher

SHARDS = layout.DEFAULT_SHARDS  # these benchmarks' fixtures use the default layout

IMAGE_BYTES = 64 * 1024
RESULTS = Path(__file__).parent / "results" / "client.md"


def _write(
    path: Path,
    metadata: Metadata[Root] | Metadata[Targets] | Metadata[Snapshot] | Metadata[Timestamp],
) -> bytes:
    data = metadata.to_bytes(JSONSerializer(compact=True))
    path.write_bytes(data)
    return data


def build_repository(directory: Path, packages: int) -> tuple[bytes, str]:
    """Write a repository of PACKAGES packages; return (root bytes, one image's target path)."""
    metadata_dir = directory / "metadata"
    targets_dir = directory / "targets"
    metadata_dir.mkdir(parents=True)
    expires = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
    top = {
        role: CryptoSigner.generate_ed25519()
        for role in ("root", "timestamp", "snapshot", "targets")
    }
    shard_signer = CryptoSigner.generate_ed25519()
    root = Root(expires=expires, consistent_snapshot=True)
    for role, signer in top.items():
        root.add_key(signer.public_key, role)
    root_md = Metadata(root)
    root_md.sign(top["root"])
    root_bytes = _write(metadata_dir / "1.root.json", root_md)

    names = [f"pkg{index:05d}" for index in range(packages)]
    by_shard: dict[str, list[str]] = {}
    for name in names:
        by_shard.setdefault(SHARDS.shard_of(name), []).append(name)

    meta: dict[str, MetaFile] = {}
    chosen = names[packages // 2]
    chosen_path = ""
    top_targets = Targets(expires=expires)
    top_targets.delegations = Delegations(
        keys={shard_signer.public_key.keyid: shard_signer.public_key}, roles={}
    )
    for prefix in SHARDS.all_shard_prefixes():
        shard = SHARDS.shard_role_for_prefix(prefix)
        assert top_targets.delegations.roles is not None
        top_targets.delegations.roles[shard] = DelegatedRole(
            shard, [shard_signer.public_key.keyid], 1, True, paths=SHARDS.shard_paths(prefix)
        )
        shard_targets = Targets(expires=expires)
        shard_targets.delegations = Delegations(keys={}, roles={})
        for name in by_shard.get(prefix, []):
            author = CryptoSigner.generate_ed25519()
            role = layout.package_role(name)
            shard_targets.delegations.keys[author.public_key.keyid] = author.public_key
            assert shard_targets.delegations.roles is not None
            shard_targets.delegations.roles[role] = DelegatedRole(
                role, [author.public_key.keyid], 1, True, paths=SHARDS.package_paths(name)
            )
            image = hashlib.sha256(name.encode()).digest() * (IMAGE_BYTES // 32)
            path = SHARDS.target_path(name, "1.0", f"{name}.hvt")
            info = TargetFile.from_data(path, image, ["sha256"])
            package_md = Metadata(Targets(expires=expires, targets={path: info}))
            package_md.sign(author)
            _write(metadata_dir / f"1.{role}.json", package_md)
            meta[f"{role}.json"] = MetaFile(1)
            if name == chosen:
                chosen_path = path
                served = targets_dir / f"{prefix}/{name}/1.0/{info.hashes['sha256']}.{name}.hvt"
                served.parent.mkdir(parents=True)
                served.write_bytes(image)
        shard_md = Metadata(shard_targets)
        shard_md.sign(shard_signer)
        _write(metadata_dir / f"1.{shard}.json", shard_md)
        meta[f"{shard}.json"] = MetaFile(1)
    targets_md = Metadata(top_targets)
    targets_md.sign(top["targets"])
    _write(metadata_dir / "1.targets.json", targets_md)
    meta["targets.json"] = MetaFile(1)
    snapshot_md = Metadata(Snapshot(expires=expires, meta=meta))
    snapshot_md.sign(top["snapshot"])
    snapshot_bytes = _write(metadata_dir / "1.snapshot.json", snapshot_md)
    timestamp_md = Metadata(
        Timestamp(
            expires=expires,
            snapshot_meta=MetaFile(
                1, len(snapshot_bytes), {"sha256": hashlib.sha256(snapshot_bytes).hexdigest()}
            ),
        )
    )
    timestamp_md.sign(top["timestamp"])
    _write(metadata_dir / "timestamp.json", timestamp_md)
    return root_bytes, chosen_path


@dataclass
class Traffic:
    requests: int = 0
    bytes: int = 0


@contextmanager
def serve(directory: Path) -> Iterator[tuple[str, Traffic]]:
    traffic = Traffic()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, directory=str(directory), **kwargs)  # type: ignore[arg-type]

        def copyfile(self, source, outputfile) -> None:  # type: ignore[no-untyped-def]
            data = source.read()
            traffic.bytes += len(data)
            outputfile.write(data)

        def send_head(self):  # type: ignore[no-untyped-def]
            traffic.requests += 1
            return super().send_head()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", traffic
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class Measurement:
    seconds: float
    requests: int
    bytes: int


def measure(traffic: Traffic, action: Callable[[], None]) -> Measurement:
    traffic.requests = traffic.bytes = 0
    start = time.perf_counter()
    action()
    return Measurement(time.perf_counter() - start, traffic.requests, traffic.bytes)


CLIENTS: dict[str, Callable[[str, bytes, Path, str], Phases]] = {
    "ours": lambda base, root, work, path: ours(base, root, work, path, UrllibFetcher),
    "ngclient": ngclient,
}


def run_size(packages: int, repeat: int) -> dict[str, dict[str, Measurement]]:
    with tempfile.TemporaryDirectory() as temporary:
        directory = Path(temporary)
        started = time.perf_counter()
        root, target_path = build_repository(directory / "repo", packages)
        print(f"{packages} packages: repository built in {time.perf_counter() - started:.1f} s")
        results: dict[str, dict[str, list[Measurement]]] = {
            name: {"fresh": [], "up-to-date": []} for name in CLIENTS
        }
        with serve(directory / "repo") as (base, traffic):
            for round_number in range(repeat):
                for name, make in CLIENTS.items():
                    work = directory / f"{name}-{round_number}"
                    fresh, up_to_date = make(base, root, work, target_path)
                    results[name]["fresh"].append(measure(traffic, fresh))
                    results[name]["up-to-date"].append(measure(traffic, up_to_date))
        return {
            name: {
                phase: Measurement(
                    statistics.median(m.seconds for m in runs), runs[0].requests, runs[0].bytes
                )
                for phase, runs in phases.items()
            }
            for name, phases in results.items()
        }


def table(all_results: dict[int, dict[str, dict[str, Measurement]]]) -> str:
    lines = [
        "| packages | phase | ours: time / requests / bytes | ngclient: time / requests / bytes "
        "| time ratio | bytes ratio |",
        "|---|---|---|---|---|---|",
    ]
    for packages, results in all_results.items():
        for phase in ("fresh", "up-to-date"):
            mine, theirs = results["ours"][phase], results["ngclient"][phase]
            lines.append(
                f"| {packages:,} | {phase} | {mine.seconds * 1000:.0f} ms / {mine.requests} / "
                f"{mine.bytes:,} | {theirs.seconds * 1000:.0f} ms / {theirs.requests} / "
                f"{theirs.bytes:,} | {mine.seconds / theirs.seconds:.2f} | "
                f"{mine.bytes / theirs.bytes:.2f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--write", action="store_true", help=f"record results in {RESULTS}")
    args = parser.parse_args()
    all_results = {size: run_size(size, args.repeat) for size in args.sizes}
    rendered = table(all_results)
    print(rendered)
    if args.write:
        command = "python -m bench.client " + " ".join(
            ["--sizes", *map(str, args.sizes), "--repeat", str(args.repeat), "--write"]
        )
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(
            "# Client benchmark: our verifying client vs python-tuf ngclient\n\n"
            f"Command: `.venv/bin/{command}` ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            "2-core shared machine, loopback HTTP, both clients in one process, same run).\n\n"
            "Repository: pinned layout, targets -> 256 shard roles -> one role per package, "
            f"one release each, {IMAGE_BYTES // 1024} KiB image; snapshot lists role versions "
            "(no hashes), timestamp lists snapshot length and sha256. fresh = new client "
            "refresh + resolve + download of one image; up-to-date = refresh with current "
            f"metadata. Times are medians of {args.repeat}; ratio = ours / ngclient "
            "(< 1 is better).\n\n" + rendered + "\n"
        )


if __name__ == "__main__":
    main()
