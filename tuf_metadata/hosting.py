"""What may be published, and how: the public folders, cache rules and the published-tree check.

Clients may see exactly two folders of a repository, metadata/ and targets/
(and `serve` also shows the build reports, dashboard/ and builds/);
everything else (online/ holds the online private keys, pending/ and
staging/ unpublished changes, repo.json the configuration) is private. The
published tree must hold no symlink (a link to online/timestamp.key would
hand out the key through any server that follows links) and no private key.
One rule, used by `serve`, `sync` and `verify`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from tuf_metadata.errors import TufError

PUBLISHED_FOLDERS = ("metadata", "targets")
# Written by `repo-tool build` under the repository: public reports, served read-only by `serve`
# (never synced: they are not TUF data and clients never need them).
REPORT_FOLDERS = ("dashboard", "builds")
PRIVATE_NAMES = ("online", "pending", "staging", "repo.json", ".lock")
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
    """Symlinks and private keys under tree/metadata and tree/targets, one line each."""
    problems: list[str] = []
    for folder in PUBLISHED_FOLDERS:
        top = tree / folder
        if top.is_symlink():
            problems.append(f"{folder}: is a symbolic link; it is never served or synced")
            continue
        for directory, subdirs, files in os.walk(top):
            for name in sorted(subdirs + files):
                path = Path(directory) / name
                relative = path.relative_to(tree)
                if path.is_symlink():
                    problems.append(
                        f"{relative}: symbolic link to {os.readlink(path)}; it is never served "
                        f"or synced — remove it"
                    )
                elif name in files and _looks_like_private_key(path):
                    problems.append(f"{relative}: a private key in a published folder — "
                                    f"remove it and replace the key")
    return problems


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


def private_entries(publish_dir: Path) -> list[str]:
    """Entries of a folder being published other than metadata/ and targets/."""
    try:
        names = sorted(os.listdir(publish_dir))
    except FileNotFoundError:
        return []
    return [name for name in names if name not in PUBLISHED_FOLDERS]
