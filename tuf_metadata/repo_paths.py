"""Where a repository's files live: the published folder, apart from the private state.

A repository folder REPO holds private state (repo.json, the configuration;
online/, the online private keys; pending/ and staging/, unpublished changes;
the writer lock and the snapshot index) and one published folder, the only one
a web server, a CDN or `repo-tool sync` may see::

    REPO/public/metadata/   TUF metadata, served as-is
    REPO/public/targets/    target files
    REPO/public/dashboard/  build reports written by `repo-tool build`
    REPO/public/builds/

`repo-tool init` creates that layout and records the published folder's name in
repo.json ("published_dir"). A repository created before has no such key: its
published folder is REPO itself, next to the private files (the "root layout",
which `repo-tool verify` warns about and `repo-tool migrate` moves). A folder
without repo.json (say a `sync --to` copy) is a published tree itself.

Every reader and writer takes its paths from `repository_paths`; nothing else
spells these names.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuf_metadata.repo_types import CONFIG_NAME, CorruptMetadataError

PUBLISHED_DIR_KEY = "published_dir"  # repo.json: the published folder's name inside REPO
DEFAULT_PUBLISHED_DIR = "public"
METADATA = "metadata"
TARGETS = "targets"
DASHBOARD = "dashboard"
BUILDS = "builds"
ONLINE = "online"
PENDING = "pending"
STAGING = "staging"
PRIVATE_NAMES = (ONLINE, PENDING, STAGING, CONFIG_NAME)
"""What must never sit in a published folder (the lock and index files are private too,
but hold nothing secret)."""
_FOLDER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


@dataclass(frozen=True)
class RepositoryPaths:
    """The folders of the repository at `root`; `published` is what clients may see."""

    root: Path
    published: Path

    @property
    def config(self) -> Path:
        return self.root / CONFIG_NAME

    @property
    def metadata(self) -> Path:
        return self.published / METADATA

    @property
    def targets(self) -> Path:
        return self.published / TARGETS

    @property
    def dashboard(self) -> Path:
        return self.published / DASHBOARD

    @property
    def builds(self) -> Path:
        return self.published / BUILDS

    @property
    def online(self) -> Path:
        return self.root / ONLINE

    @property
    def pending(self) -> Path:
        return self.root / PENDING

    @property
    def staging(self) -> Path:
        return self.root / STAGING

    @property
    def root_layout(self) -> bool:
        """True when the published folder is the repository folder itself (the old layout)."""
        return self.published == self.root


def separate_layout(root: Path, name: str = DEFAULT_PUBLISHED_DIR) -> RepositoryPaths:
    """The layout `init` creates and `migrate` moves to: the published tree in ROOT/NAME."""
    check_published_name(name)
    return RepositoryPaths(Path(root), Path(root) / name)


def check_published_name(name: str) -> None:
    """A published folder is one plain name inside the repository, never a private one."""
    if not _FOLDER_NAME.fullmatch(name) or name in PRIVATE_NAMES or name in (METADATA, TARGETS):
        raise CorruptMetadataError(
            f"{CONFIG_NAME}: {PUBLISHED_DIR_KEY} {name!r} is not a folder name of its own "
            f"(one name of [A-Za-z0-9._-], not {', '.join(PRIVATE_NAMES)}, metadata or targets)"
        )


def paths_from_config(root: Path, config: dict[str, Any] | None) -> RepositoryPaths:
    """The layout repo.json (parsed, or None when there is none) describes."""
    root = Path(root)
    name = None if config is None else config.get(PUBLISHED_DIR_KEY)
    if name is None:
        return RepositoryPaths(root, root)
    if not isinstance(name, str):
        raise CorruptMetadataError(f"{CONFIG_NAME}: {PUBLISHED_DIR_KEY} must be a string")
    return separate_layout(root, name)


def read_config(root: Path) -> dict[str, Any] | None:
    """ROOT/repo.json parsed, or None when ROOT holds none."""
    try:
        data = json.loads((Path(root) / CONFIG_NAME).read_text())
    except FileNotFoundError:
        return None
    except ValueError:
        raise CorruptMetadataError(f"{CONFIG_NAME}: not valid JSON") from None
    if not isinstance(data, dict):
        raise CorruptMetadataError(f"{CONFIG_NAME}: not a JSON object")
    return data


def repository_paths(root: Path) -> RepositoryPaths:
    """The folders of the repository (or published tree) at ROOT, from its repo.json."""
    return paths_from_config(root, read_config(root))
