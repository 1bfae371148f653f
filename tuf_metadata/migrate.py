"""`repo-tool migrate`: move a root-layout repository's published tree into a folder of its own.

A repository created before the published folder existed keeps metadata/,
targets/ and the build reports (dashboard/, builds/) in REPO itself, next to
online/ (the online private keys), pending/, staging/ and repo.json, so the
obvious folder to serve is one that holds private keys. This moves the
published tree to REPO/public/ (tuf_metadata.repo_paths), under the writer
lock, in steps after each of which the repository opens:

1. a marker file REPO/public/.unirepo-migrating, then a hard link in
   REPO/public/ of every file of the published folders (no data is copied;
   every directory is fsynced). repo.json names no published folder yet, so
   every reader still uses REPO itself, untouched;
2. repo.json gets "published_dir": "public" (one atomic write: the commit
   point). From here every reader uses REPO/public/, complete;
3. the old REPO/metadata, targets, dashboard and builds are deleted, then the
   marker.

Recovery: run `repo-tool migrate` again. Before the commit it deletes the
interrupted REPO/public/ (recognised by its marker; a REPO/public/ without
the marker is somebody else's and is refused) and starts over; after it, it
finishes step 3. Stop `serve` and `sign-service` first: a running service
keeps the paths it started with.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from tuf_metadata.repo_paths import (
    BUILDS,
    DASHBOARD,
    METADATA,
    PUBLISHED_DIR_KEY,
    TARGETS,
    RepositoryPaths,
    paths_from_config,
    read_config,
    separate_layout,
)
from tuf_metadata.repo_types import CONFIG_NAME, NotInitialisedError, RepositoryError
from tuf_metadata.store import atomic_write, crash_point, fsync_dir, repository_lock

MOVED_FOLDERS = (TARGETS, DASHBOARD, BUILDS, METADATA)
MARKER_NAME = ".unirepo-migrating"


class MigrationError(RepositoryError):
    """The repository cannot be migrated as it is; nothing was changed."""


@dataclass
class MigrationReport:
    published: Path
    linked_files: int = 0
    moved: list[str] = field(default_factory=list)
    already: bool = False


def migrate_layout(root: Path) -> MigrationReport:
    """Move the published tree of the repository at ROOT into ROOT/public (see module doc)."""
    root = Path(root)
    with repository_lock(root):
        config = read_config(root)
        if config is None:
            raise NotInitialisedError(f"{root} is not a repository (no {CONFIG_NAME})")
        current = paths_from_config(root, config)
        if not current.root_layout:
            # Already migrated; a crash after the commit may have left step 3 to do.
            report = MigrationReport(current.published)
            report.already = not _finish(current)
            return report
        for folder in MOVED_FOLDERS:
            if (root / folder).is_symlink():
                raise MigrationError(f"{root / folder}: a symbolic link; replace it with the "
                                     f"folder it points to, then migrate")
        target = separate_layout(root)
        _clear_interrupted(target)
        report = MigrationReport(target.published)
        target.published.mkdir()
        marker = target.published / MARKER_NAME
        marker.touch()
        fsync_dir(target.published)
        fsync_dir(root)
        crash_point("migrate: started")
        for folder in MOVED_FOLDERS:
            if (root / folder).is_dir():
                report.linked_files += _link_tree(root / folder, target.published / folder)
                report.moved.append(folder)
                crash_point(f"migrate: linked {folder}")
        config[PUBLISHED_DIR_KEY] = target.published.name
        atomic_write(current.config, (json.dumps(config, indent=2) + "\n").encode())
        crash_point("migrate: committed")
        _finish(target)
        return report


def _clear_interrupted(target: RepositoryPaths) -> None:
    """Delete a published folder left by an interrupted migration; refuse anyone else's."""
    if not target.published.exists() and not target.published.is_symlink():
        return
    if target.published.is_symlink() or not (target.published / MARKER_NAME).is_file():
        raise MigrationError(
            f"{target.published} exists and was not made by `repo-tool migrate`; move it out "
            f"of the repository and run migrate again"
        )
    shutil.rmtree(target.published)
    fsync_dir(target.root)


def _finish(paths: RepositoryPaths) -> bool:
    """Step 3: delete the old published folders in REPO (every file is in the published
    folder since the commit), then the marker. Without the marker there is nothing to finish
    (and a folder in REPO is not a leftover of ours): returns False."""
    marker = paths.published / MARKER_NAME
    if not marker.is_file():
        return False
    for folder in MOVED_FOLDERS:
        old = paths.root / folder
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
            fsync_dir(paths.root)
            crash_point(f"migrate: removed {folder}")
    marker.unlink()
    fsync_dir(paths.published)
    return True


def _link_tree(source: Path, destination: Path) -> int:
    """Hard-link every file under SOURCE (symlinks as links) into DESTINATION; fsync each
    new directory. Returns the number of files linked."""
    count = 0
    destination.mkdir()
    for directory, subdirectories, names in os.walk(source):
        relative = Path(directory).relative_to(source)
        for name in subdirectories:
            if not (Path(directory) / name).is_symlink():
                (destination / relative / name).mkdir()
        for name in names + [d for d in subdirectories if (Path(directory) / d).is_symlink()]:
            os.link(Path(directory) / name, destination / relative / name,
                    follow_symlinks=False)
            count += 1
    for directory, _, _ in os.walk(destination):
        fsync_dir(Path(directory))
    fsync_dir(destination.parent)
    return count
