"""What may be published, and how: the public folders, cache rules and the published-tree check.

Clients may see exactly two folders of a repository's published folder
(tuf_metadata.repo_paths), metadata/ and targets/ (and `serve` also shows the
build reports, dashboard/ and builds/); everything else (online/ holds the
online private keys, pending/ and staging/ unpublished changes, repo.json the
configuration) is private and lives outside the published folder, except in a
repository still in the old root layout, which `verify` warns about. The
published tree must hold no symlink (a link to online/timestamp.key would
hand out the key through any server that follows links) and no private key.
One rule, used by `serve`, `sync` and `verify`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tuf_metadata.errors import TufError
from tuf_metadata.repo_paths import (
    BUILDS,
    DASHBOARD,
    METADATA,
    PRIVATE_NAMES,
    TARGETS,
    RepositoryPaths,
)
from tuf_metadata.repo_types import CONFIG_NAME

PUBLISHED_FOLDERS = (METADATA, TARGETS)
# Written by `repo-tool build` into the published folder: public reports, served read-only by
# `serve` (never synced: they are not TUF data and clients never need them).
REPORT_FOLDERS = (DASHBOARD, BUILDS)
IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"
_VERSIONED_METADATA = re.compile(r"metadata/(rotate/)?[0-9]+\.[^/]+\.json")
_HASHED_TARGET = re.compile(r"targets/(.+/)?[0-9a-f]{64}\.[^/]+")
_PEM_PRIVATE = b"PRIVATE KEY-----"


class PublishedTreeError(TufError):
    """The published folders hold something clients must never get."""


def cache_control(relative_path: str) -> str:
    """Cache-Control for a published file: versioned metadata and hashed targets never change
    (consistent snapshots); timestamp.json changes in place and must be revalidated."""
    if _VERSIONED_METADATA.fullmatch(relative_path) or _HASHED_TARGET.fullmatch(relative_path):
        return IMMUTABLE
    return REVALIDATE


def published_tree_problems(tree: Path) -> list[str]:
    """Symlinks and private keys under tree/metadata and tree/targets, one line each.

    One scandir pass (no extra stat per entry). Only files not named the way the repository
    names what it writes (`_VERSIONED_METADATA`, `timestamp.json`, hashed targets) are opened
    to look for a private key: a key copied into a published folder by mistake keeps a key's
    name, and opening every one of a large repository's files made `verify` O(files) reads.
    """
    problems: list[str] = []
    for folder in PUBLISHED_FOLDERS:
        top = tree / folder
        if top.is_symlink():
            problems.append(f"{folder}: is a symbolic link; it is never served or synced")
            continue
        pending = [top]
        while pending:
            directory = pending.pop()
            try:
                entries = sorted(os.scandir(directory), key=lambda entry: entry.name)
            except FileNotFoundError:
                continue
            for entry in entries:
                relative = f"{folder}/{Path(entry.path).relative_to(top).as_posix()}"
                if entry.is_symlink():
                    problems.append(
                        f"{relative}: symbolic link to {os.readlink(entry.path)}; it is never "
                        f"served or synced — remove it"
                    )
                elif entry.is_dir():
                    pending.append(Path(entry.path))
                elif not _named_as_written(relative) and _looks_like_private_key(
                    Path(entry.path)
                ):
                    problems.append(f"{relative}: a private key in a published folder — "
                                    f"remove it and replace the key")
    return sorted(problems)


def _named_as_written(relative_path: str) -> bool:
    """True for the names the repository itself writes into the published folders."""
    return bool(
        relative_path == "metadata/timestamp.json"
        or _VERSIONED_METADATA.fullmatch(relative_path)
        or _HASHED_TARGET.fullmatch(relative_path)
    )


def _looks_like_private_key(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            head = handle.read(64)
    except OSError:
        return False
    return head.startswith(b"-----BEGIN") and _PEM_PRIVATE in head


def check_published_tree(tree: Path) -> None:
    """Raise PublishedTreeError naming the first problem (and how many there are)."""
    problems = published_tree_problems(tree)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise PublishedTreeError(f"published tree: {problems[0]}{more}")



def private_files_in_published(paths: RepositoryPaths) -> list[str]:
    """The private files and folders (online/, pending/, staging/, repo.json) that sit in
    the published folder: in a root-layout repository, its own; elsewhere, a copy by mistake."""
    return [name for name in PRIVATE_NAMES if (paths.published / name).exists()]


def layout_warning(paths: RepositoryPaths) -> str | None:
    """One line when private files sit under the published folder, naming the fix."""
    found = private_files_in_published(paths)
    if not found:
        return None
    names = ", ".join(f"{name}/" if (paths.published / name).is_dir() else name
                      for name in found)
    if paths.root_layout and (paths.root / CONFIG_NAME).is_file():
        fix = (f"run `repo-tool migrate --repo {paths.root}` to move the published tree into "
               f"a folder of its own")
    else:
        fix = "move them out of it"
    return f"warning: {paths.published}: private files ({names}) sit in the published folder; {fix}"
