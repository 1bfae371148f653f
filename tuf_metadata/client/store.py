"""Local storage of trusted metadata: exact bytes, atomic writes, safe names.

Layout of a metadata directory (what tuf-conformance expects):
- ROLE.json for every trusted role, byte-for-byte as downloaded, ROLE
  percent-encoded (`/`, `%`, `?`, `#` and the like cannot escape the folder);
- root_history/N.root.json, every root version verified;
- rotate/ROLE.rotate.N.json, the verified TAP 8 rotate files;
- snapshot-tree/node.json and snapshot-tree/bundle-XX.json, the snapshot tree files
  verified last (docs/tap16-profile.md).
Only verified bytes are ever written here; the updater decides that.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote

from tuf_metadata.store import atomic_write

ROOT_HISTORY_DIR = "root_history"
ROTATE_DIR = "rotate"
TREE_DIR = "snapshot-tree"


def encode_role(role: str) -> str:
    """A file-name-safe, reversible encoding of a role name."""
    encoded = quote(role, safe="")
    # "." and ".." survive quote() but must not name a directory entry.
    return encoded.replace(".", "%2E") if encoded in (".", "..") else encoded


class MetadataStore:
    """Trusted metadata in one directory."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def role_path(self, role: str) -> Path:
        return self.directory / f"{encode_role(role)}.json"

    def load(self, role: str) -> bytes | None:
        try:
            return self.role_path(role).read_bytes()
        except FileNotFoundError:
            return None

    def save(self, role: str, data: bytes) -> None:
        atomic_write(self.role_path(role), data)

    def delete(self, role: str) -> None:
        self.role_path(role).unlink(missing_ok=True)

    def save_root_version(self, version: int, data: bytes) -> None:
        atomic_write(self.directory / ROOT_HISTORY_DIR / f"{version}.root.json", data)

    def rotate_path(self, role: str, number: int) -> Path:
        return self.directory / ROTATE_DIR / f"{encode_role(role)}.rotate.{number}.json"

    def load_rotate(self, role: str, number: int) -> bytes | None:
        try:
            return self.rotate_path(role, number).read_bytes()
        except FileNotFoundError:
            return None

    def save_rotate(self, role: str, number: int, data: bytes) -> None:
        atomic_write(self.rotate_path(role, number), data)

    def tree_path(self, name: str) -> Path:
        """NAME is `node` or `bundle-XX` (the updater's fixed names, never a role name)."""
        return self.directory / TREE_DIR / f"{name}.json"

    def load_tree(self, name: str) -> bytes | None:
        try:
            return self.tree_path(name).read_bytes()
        except FileNotFoundError:
            return None

    def save_tree(self, name: str, data: bytes) -> None:
        atomic_write(self.tree_path(name), data)

    def delete_tree(self) -> None:
        """Forget every kept tree file (after the online keys were rotated, spec 5.3.11)."""
        folder = self.directory / TREE_DIR
        if folder.is_dir():
            for path in folder.iterdir():
                path.unlink(missing_ok=True)
