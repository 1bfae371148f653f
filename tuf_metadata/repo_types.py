"""Values and errors of the repository side, shared by its modules (no I/O here).

The `Repository` facade (tuf_metadata.repository) re-exports every name here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signing.threshold import KeyDict
from tuf_metadata.errors import TufError

if TYPE_CHECKING:
    from tuf.api.metadata import Metadata, Snapshot

    from tuf_metadata.metadata_reader import SnapshotFile

CONFIG_NAME = "repo.json"
TREE_KEY = "snapshot_tree"  # repo.json: true when the repository publishes the snapshot tree
SHARD_DIGITS_KEY = "shard_digits"  # repo.json: the ceremony's shard prefix length (a cache)
RELEASE_NAME = "release.json"
STATUS_NAME = "status.json"
MANIFEST_FILE = "manifest.json"
SPEC_VERSION = "1.0.31"
"""The TUF specification version our metadata declares: python-tuf's (a test keeps them equal)."""
EXPIRES_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def utc_now() -> datetime:
    """Now, to the second (metadata expiry resolution)."""
    return datetime.now(UTC).replace(microsecond=0)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def document_bytes(document: Mapping[str, Any]) -> bytes:
    """The bytes a metadata file is written as: compact, key-sorted JSON with non-ASCII
    escaped, exactly as python-tuf's JSONSerializer(compact=True) writes it."""
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode("utf-8")


def metadata_bytes(md: Metadata[Any]) -> bytes:
    """The bytes a python-tuf metadata object is written as (`document_bytes`)."""
    return document_bytes(md.to_dict())


class RepositoryError(TufError):
    """A repository operation was refused; the message names the role and the check."""


class CorruptMetadataError(RepositoryError):
    """A metadata file on disk is unreadable, of the wrong type, or fails its signature check."""


class QuorumError(RepositoryError):
    """A signature does not belong in a pending change, or its threshold is not met."""


class StagingError(RepositoryError):
    """A release cannot be staged, or a staged release cannot be published."""


class ImageMismatchError(StagingError):
    """A built image differs from the author-signed length and sha256."""


class NotInitialisedError(RepositoryError):
    """The directory holds no repository."""


@dataclass(frozen=True)
class ExpiryPolicy:
    """Lifetimes of newly signed metadata, in days (RSTUF's defaults)."""

    root: float = 365.0
    targets: float = 365.0
    snapshot: float = 1.0
    timestamp: float = 1.0

    def for_role(self, role: str) -> timedelta:
        days = {"root": self.root, "snapshot": self.snapshot, "timestamp": self.timestamp}
        return timedelta(days=days.get(role, self.targets))


@dataclass(frozen=True)
class StagedRelease:
    """A release signed by its authors and waiting in staging for the builder."""

    package: str
    version: str
    source_archive: Path
    manifest: Path
    image_targets: dict[str, dict[str, Any]]
    """The author-signed target objects ({"length", "hashes"}) of its images, by path."""


@dataclass(frozen=True)
class PendingChange:
    """A proposed change to root/targets/shard roles collecting maintainer signatures."""

    change_id: str
    description: str
    documents: list[tuple[str, Metadata[Any]]]


@dataclass(frozen=True)
class DocumentStatus:
    """How far one document of a pending change is from its threshold(s)."""

    role: str
    version: int
    needed: list[tuple[str, int, int]]  # (which keys, valid signatures, threshold)

    @property
    def satisfied(self) -> bool:
        return all(valid >= threshold for _, valid, threshold in self.needed)


@dataclass(frozen=True)
class PackageContext:
    """What signing or publishing a package role is checked against."""

    snapshot: Snapshot | SnapshotFile
    delegation: dict[str, Any]
    """The delegated role object in the package's shard."""
    delegation_keys: dict[str, KeyDict]
    keys: dict[str, KeyDict]
    """Who must sign now: the delegation's keys after the role's TAP 8 rotate chain."""
    threshold: int


DEFAULT_EXPIRY = ExpiryPolicy()
