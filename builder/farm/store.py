"""A content-addressed artifact store: blobs named by their sha256, re-hashed on every read.

The store is a directory both the dispatcher and the workers can read and
write (a local path, or a network file system mounted at the same path on
every machine). Nothing in it is trusted: a reader asks for a hash and gets
those exact bytes or an error, so a tampered store can stop a build but
cannot change one. Blobs are capped at MAX_BLOB_BYTES.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from builder.farm.errors import FarmError
from fsio import atomic_write

MAX_BLOB_BYTES = 64 << 20  # an image, a source archive or a log; larger is refused
_SHA256 = re.compile(r"[0-9a-f]{64}")


class StoreError(FarmError):
    """A blob is missing, too large, or not the bytes its name promises."""


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ArtifactStore:
    """Blobs under ROOT/sha256/XX/HASH, written atomically, read back only if the hash matches."""

    def __init__(self, root: Path, max_bytes: int = MAX_BLOB_BYTES) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def _path(self, digest: str) -> Path:
        if not _SHA256.fullmatch(digest):
            raise StoreError(f"artifact name {digest[:80]!r} is not a sha256 hex digest")
        return self.root / "sha256" / digest[:2] / digest

    def put(self, data: bytes) -> str:
        if len(data) > self.max_bytes:
            raise StoreError(
                f"artifact of {len(data)} bytes is over the store's {self.max_bytes}-byte limit"
            )
        digest = sha256_hex(data)
        path = self._path(digest)
        if not (path.is_file() and self._matches(path, digest)):
            # No directory fsync: a name lost in a crash is a blob missing, which every reader
            # already handles (refused, the build sent again); the bytes are re-hashed anyway.
            atomic_write(path, data, 0o644, sync_dir=False)
        return digest

    def _matches(self, path: Path, digest: str) -> bool:
        try:
            return path.stat().st_size <= self.max_bytes and sha256_hex(path.read_bytes()) == digest
        except OSError:
            return False

    def get(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            if path.is_symlink():
                raise StoreError(f"artifact {digest[:16]} is a symbolic link")
            if path.stat().st_size > self.max_bytes:
                raise StoreError(f"artifact {digest[:16]} is over the {self.max_bytes}-byte limit")
            data = path.read_bytes()
        except FileNotFoundError:
            raise StoreError(f"artifact {digest[:16]} is not in the store {self.root}") from None
        except OSError as error:
            raise StoreError(f"artifact {digest[:16]}: {error.strerror}") from None
        if sha256_hex(data) != digest:
            raise StoreError(f"artifact {digest[:16]} in the store does not hash to its name")
        return data
