"""Where tests find a repository's published files: through tuf_metadata.repo_paths, as the
code does, so no test spells REPO/public (or REPO/metadata) itself.

Also the old root layout (published tree in REPO itself), written the way repositories
created before the published folder existed look, for the migrate and compatibility tests.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from tuf_metadata.migrate import MOVED_FOLDERS
from tuf_metadata.repo_paths import PRIVATE_NAMES, PUBLISHED_DIR_KEY, repository_paths


def published_dir(repo: Path) -> Path:
    """The folder clients may see (REPO/public for a repository `init` made)."""
    return repository_paths(repo).published


def metadata_dir(repo: Path) -> Path:
    return repository_paths(repo).metadata


def targets_dir(repo: Path) -> Path:
    return repository_paths(repo).targets


def dashboard_dir(repo: Path) -> Path:
    return repository_paths(repo).dashboard


def builds_dir(repo: Path) -> Path:
    return repository_paths(repo).builds


def private_files_under(published: Path) -> list[str]:
    """Every file or folder under PUBLISHED (walked in full) that is private state: a private
    name (online/, pending/, staging/, repo.json) at any depth, or a PEM private key."""
    found = []
    for directory, folders, names in os.walk(published):
        for name in folders + names:
            path = Path(directory) / name
            relative = str(path.relative_to(published))
            if name in PRIVATE_NAMES or name.endswith(".key"):
                found.append(relative)
            elif path.is_file() and not path.is_symlink():
                with path.open("rb") as handle:
                    if b"PRIVATE KEY" in handle.read(128):
                        found.append(relative)
    return sorted(found)


def write_root_layout(repo: Path) -> None:
    """Turn a repository `init` made into the layout older versions created: metadata/,
    targets/ (and the reports) in REPO itself, repo.json without "published_dir"."""
    paths = repository_paths(repo)
    assert not paths.root_layout
    for folder in MOVED_FOLDERS:
        if (paths.published / folder).exists():
            os.rename(paths.published / folder, repo / folder)
    paths.published.rmdir()
    config = json.loads(paths.config.read_text())
    del config[PUBLISHED_DIR_KEY]
    paths.config.write_text(json.dumps(config, indent=2) + "\n")
    assert repository_paths(repo).root_layout
