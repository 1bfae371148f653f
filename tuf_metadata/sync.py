"""`repo-tool sync --to DEST`: publish the published folder's metadata/ and targets/ (only).

DEST is a folder a web server serves or an S3-compatible bucket
(tuf_metadata.sync_destinations); this module decides what is copied, in
which order, and what may be deleted.

The copy keeps the destination consistent for a client at every moment, in
the order the repository itself writes (docs/repository.md, "Writes"):

1. target files (immutable, hash-prefixed names),
2. targets, shard and package role files and rotate files (versioned names
   that nothing published references yet),
3. snapshot files,
4. timestamp.json, the commit point (atomic rename),
5. N.root.json files last: a client seeing root N+1 must already find the
   timestamp signed after the maintainer change.

timestamp.json and the list of root versions are read together under the
repository lock, so the copy is one state of the repository. Every other
file is immutable: an existing destination file with other content is
refused, never overwritten.

Deletion (`prune`) keeps every file an unexpired published timestamp may
lead to. Each run records, in DIR/.unirepo-sync.json, for every file the
published timestamp references (its snapshot, the role and rotate files that
snapshot lists, the targets those roles list, and the snapshot tree's node and bundles when
timestamp pins one), the latest expiry of a
timestamp that referenced it. A file is deleted only once no current
reference remains and that expiry has passed by a grace period (default an
hour): a client that accepted such a timestamp just before it expired may
still be fetching (its expiry checks use its start time), and clients'
clocks may run behind. Root files and files never referenced by a
published timestamp (say, copied ahead of their snapshot) are never deleted.
Only regular files are copied; a source tree with a symlink or a private key
under metadata/ or targets/ is refused before anything is written.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fsio import is_temp_name
from tuf_metadata.errors import TufError
from tuf_metadata.hosting import PUBLISHED_FOLDERS, check_published_tree
from tuf_metadata.repo_paths import METADATA, repository_paths
from tuf_metadata.snapshot_tree import TIMESTAMP_FIELD, node_file_name, tree_file_names
from tuf_metadata.store import repository_lock
from tuf_metadata.sync_destinations import Destination, LocalFolder

_ROOT = re.compile(r"[0-9]+\.root\.json")
_SNAPSHOT = re.compile(r"[0-9]+\.snapshot\.json")
TIMESTAMP = "metadata/timestamp.json"
STATE_NAME = ".unirepo-sync.json"
_TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
DEFAULT_PRUNE_GRACE = timedelta(hours=1)


class SyncError(TufError):
    """The tree cannot be published as asked; nothing inconsistent was written."""


@dataclass(frozen=True)
class SyncPlan:
    """Relative paths (under `tree`, the published folder) to copy, in order, and the
    timestamp bytes that commit them."""

    tree: Path
    targets: tuple[str, ...]
    roles: tuple[str, ...]
    snapshots: tuple[str, ...]
    timestamp: bytes
    roots: tuple[str, ...]

    def ordered(self) -> Iterator[str]:
        yield from self.targets
        yield from self.roles
        yield from self.snapshots


@dataclass
class SyncReport:
    copied: list[str] = field(default_factory=list)
    unchanged: int = 0
    timestamp_written: bool = False
    deleted: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _files(top: Path) -> list[str]:
    """Regular files under top, relative to top's parent, without temporary files."""
    found = []
    for directory, _, names in os.walk(top):
        for name in names:
            if name.startswith(".") or is_temp_name(name):
                continue
            found.append(str((Path(directory) / name).relative_to(top.parent)))
    return sorted(found)


def plan_sync(source: Path) -> SyncPlan:
    """What to publish from the repository at source, as one consistent state."""
    paths = repository_paths(source)
    tree = paths.published
    check_published_tree(tree)
    with repository_lock(source):
        try:
            timestamp = (tree / TIMESTAMP).read_bytes()
        except FileNotFoundError:
            raise SyncError(f"{tree}: no metadata/timestamp.json; nothing is published "
                            f"yet") from None
        roots = [name for name in os.listdir(paths.metadata) if _ROOT.fullmatch(name)]
    metadata = _files(paths.metadata)
    roles = [path for path in metadata
             if path != TIMESTAMP and not _ROOT.fullmatch(Path(path).name)
             and not _SNAPSHOT.fullmatch(Path(path).name)]
    return SyncPlan(
        tree=tree,
        targets=tuple(_files(paths.targets)),
        roles=tuple(roles),
        snapshots=tuple(p for p in metadata if _SNAPSHOT.fullmatch(Path(p).name)
                        and Path(p).parent.name == METADATA),
        timestamp=timestamp,
        roots=tuple(f"metadata/{name}"
                    for name in sorted(roots, key=lambda name: int(name.split(".")[0]))),
    )


def _as_destination(destination: Path | Destination) -> Destination:
    return LocalFolder(destination) if isinstance(destination, Path) else destination


def check_destination(source: Path, published: Path | Destination) -> None:
    """Refuse folders that overlap the repository (its private files would be served)."""
    destination = _as_destination(published)
    if not isinstance(destination, LocalFolder):
        return
    source_real = source.resolve()
    destination_real = destination.path.resolve()
    if destination_real == source_real or source_real in destination_real.parents:
        raise SyncError(f"{destination.describe()}: inside the repository; sync to a folder "
                        f"outside it")
    if destination_real in source_real.parents:
        raise SyncError(f"{destination.describe()}: contains the repository, whose private files "
                        f"would be published; sync to a folder of its own")


def _copy_immutable(source: Path, destination: Destination, relative: str) -> bool:
    """Copy one immutable file; False if an identical copy is already there."""
    size = destination.size(relative)
    if size is None:
        destination.write(relative, (source / relative).read_bytes())
        return True
    # A target's name carries its sha256, so an equal size is enough for those;
    # metadata files are small and compared byte for byte.
    same = size == (source / relative).stat().st_size and (
        relative.startswith("targets/")
        or destination.read(relative) == (source / relative).read_bytes()
    )
    if not same:
        raise SyncError(f"{destination.describe(relative)}: already published with other "
                        f"content; immutable files are never overwritten (is "
                        f"{destination.describe()} another repository's?)")
    return False


def _timestamp_version(data: bytes) -> int:
    try:
        return int(json.loads(data)["signed"]["version"])
    except (ValueError, KeyError, TypeError):
        raise SyncError("timestamp.json: not a timestamp (no signed.version)") from None


def _signed(tree: Destination, relative: str) -> dict[str, Any]:
    try:
        data = tree.read(relative)
        if data is None:
            raise FileNotFoundError("missing")
        return dict(json.loads(data)["signed"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise SyncError(f"{tree.describe(relative)}: cannot read its signed part ({error})"
                        ) from None


def _target_file(path: str, hashes: dict[str, str]) -> str:
    """The consistent-snapshot name a client requests for target PATH."""
    digest = hashes.get("sha256") or next(iter(hashes.values()))
    directory, _, name = path.rpartition("/")
    return f"targets/{directory}/{digest}.{name}" if directory else f"targets/{digest}.{name}"


def referenced_files(published: Path | Destination) -> tuple[set[str], datetime]:
    """Files reachable from tree's timestamp.json (roots excluded), and its expiry."""
    tree = _as_destination(published)
    timestamp = _signed(tree, TIMESTAMP)
    try:
        snapshot_version = int(timestamp["meta"]["snapshot.json"]["version"])
        expires = datetime.strptime(timestamp["expires"], _TIME_FORMAT).replace(tzinfo=UTC)
    except (KeyError, TypeError, ValueError) as error:
        raise SyncError(f"{tree.describe(TIMESTAMP)}: no snapshot version or expiry ({error})"
                        ) from None
    snapshot_file = f"metadata/{snapshot_version}.snapshot.json"
    files = {snapshot_file}
    if TIMESTAMP_FIELD in timestamp:  # the snapshot tree's node and bundles (tap16-profile.md)
        node_file = f"metadata/{node_file_name(snapshot_version)}"
        files.add(node_file)
        try:
            files.update(f"metadata/{name}" for name in tree_file_names(_signed(tree, node_file)))
        except ValueError as error:
            raise SyncError(f"{tree.describe(node_file)}: {error}") from None
    for name, meta in _signed(tree, snapshot_file).get("meta", {}).items():
        version = int(meta["version"])
        if name.startswith("rotate/"):
            files.add(f"metadata/rotate/{version}.{name[len('rotate/'):]}")
            continue
        role_file = f"metadata/{version}.{name}"
        files.add(role_file)
        for path, info in _signed(tree, role_file).get("targets", {}).items():
            files.add(_target_file(path, info["hashes"]))
    return files, expires


def _load_state(destination: Destination) -> dict[str, datetime]:
    data = destination.read(STATE_NAME)
    if data is None:
        return {}
    try:
        raw = json.loads(data)["needed_until"]
        return {path: datetime.strptime(until, _TIME_FORMAT).replace(tzinfo=UTC)
                for path, until in raw.items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        raise SyncError(f"{destination.describe(STATE_NAME)}: unreadable; remove it (no file "
                        f"will be pruned until the current references expire)") from None


def _record_and_prune(destination: Destination, prune: bool, now: datetime,
                      grace: timedelta) -> list[str]:
    """Update the destination's reference record; delete what no live timestamp reaches."""
    needed_until = _load_state(destination)
    current, expires = referenced_files(destination)
    for path in current:
        needed_until[path] = max(needed_until.get(path, expires), expires)
    deleted = []
    if prune:
        for path, until in sorted(needed_until.items()):
            if (path not in current and until + grace < now
                    and not _ROOT.fullmatch(Path(path).name)):
                destination.delete(path)
                del needed_until[path]
                deleted.append(path)
    state = {"needed_until": {path: until.strftime(_TIME_FORMAT)
                              for path, until in sorted(needed_until.items())}}
    destination.write(STATE_NAME, json.dumps(state, indent=1).encode())
    return deleted


def sync_tree(source: Path, published: Path | Destination,
              log: Callable[[str], None] = lambda message: None, *, prune: bool = False,
              now: datetime | None = None,
              prune_grace: timedelta = DEFAULT_PRUNE_GRACE) -> SyncReport:
    """Publish the metadata/ and targets/ of source's published folder (tuf_metadata.repo_paths)
    into the destination in the consistent order."""
    destination = _as_destination(published)
    check_destination(source, destination)
    plan = plan_sync(source)
    report = SyncReport()
    for stage in (plan.targets, plan.roles, plan.snapshots):
        for relative in stage:
            if _copy_immutable(plan.tree, destination, relative):
                report.copied.append(relative)
            else:
                report.unchanged += 1
        # Each stage is durable before the next one references it.
        destination.settle(stage)
    timestamp = destination.read(TIMESTAMP)
    published_version = 0 if timestamp is None else _timestamp_version(timestamp)
    if published_version > _timestamp_version(plan.timestamp):
        raise SyncError(f"{destination.describe(TIMESTAMP)}: version {published_version} is "
                        f"newer than the repository's {_timestamp_version(plan.timestamp)}; "
                        f"refusing to roll it back")
    if timestamp != plan.timestamp:
        destination.write(TIMESTAMP, plan.timestamp)
        destination.settle([TIMESTAMP])
        report.timestamp_written = True
        log("published timestamp.json")
    for relative in plan.roots:
        if _copy_immutable(plan.tree, destination, relative):
            report.copied.append(relative)
            destination.settle([relative])
        else:
            report.unchanged += 1
    report.deleted = _record_and_prune(destination, prune, now or datetime.now(UTC),
                                       prune_grace)
    for path in report.deleted:
        log(f"pruned {path}")
    report.warnings = [
        f"{destination.describe(name)}: not metadata or targets, but in the published folder — "
        f"move it out" for name in destination.top_level_names()
        if name not in (*PUBLISHED_FOLDERS, STATE_NAME)
    ]
    if isinstance(destination, LocalFolder):
        report.warnings += [f"{destination.describe(folder)}: a symbolic link"
                            for folder in PUBLISHED_FOLDERS
                            if (destination.path / folder).is_symlink()]
    return report
