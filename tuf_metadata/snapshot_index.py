"""The encoded snapshot, kept incrementally: one publish costs O(changed roles) in Python.

Snapshot lists every role (one entry per package), so re-encoding or even parsing
it at every publish is O(packages) Python work: about 34 MB and a million objects
at 1,000,000 packages. Instead the repository keeps, next to the newest snapshot
file, an index of that file (`snapshot.index.json`, private, never served): where
the signed object and its "meta" object lie in the file's bytes, and "meta" cut
into chunks of about CHUNK_ENTRIES consecutive entries (first key, byte length,
entry count). Canonical JSON sorts keys, so a chunk is a contiguous byte range of
the file and:

- a lookup parses only the chunk that holds the key (`IndexedMeta`);
- the next snapshot re-encodes only the chunks holding a changed entry and copies
  every other chunk's bytes as they are (`encode_next`). The result is exactly
  canonical_json of the whole new snapshot: signatures cover these bytes, and
  tests/repository/test_snapshot_index.py checks the equality on random histories.

What stays O(snapshot size) is byte work in C (read, sha256, ed25519 signing and
writing the file), which a full snapshot needs whatever the encoder.

The index names the snapshot it describes by version, length and sha256 of the
file, and the writer replaces it only after the snapshot file is durable. An
index that does not match the newest snapshot (a crash between the two writes,
or a repository written by an older version) is ignored: the reader parses the
snapshot once in full and the next write persists a fresh index. So the index is
a cache that a crash can make stale but never wrong.
"""

from __future__ import annotations

import bisect
import hashlib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuf_metadata.canonical import canonical_json
from tuf_metadata.repo_types import CorruptMetadataError

if TYPE_CHECKING:
    from tuf.api.metadata import MetaFile

INDEX_NAME = "snapshot.index.json"
INDEX_FORMAT = 1
CHUNK_ENTRIES = 1024
_SIGNED_KEY = b'"signed":'


@dataclass(frozen=True)
class SnapshotIndex:
    """Where the parts of one snapshot file lie (byte offsets into the file)."""

    version: int
    length: int
    sha256: str
    payload_start: int  # the signed object, which runs to the file's last byte but one
    meta_start: int  # the first byte after "meta":{
    meta_end: int  # the "}" closing meta
    chunks: tuple[tuple[str, int, int], ...]  # (first key, byte length, entries), in order

    def to_json(self) -> bytes:
        doc = {
            "format": INDEX_FORMAT, "version": self.version, "length": self.length,
            "sha256": self.sha256, "payload_start": self.payload_start,
            "meta_start": self.meta_start, "meta_end": self.meta_end,
            "chunks": [list(chunk) for chunk in self.chunks],
        }
        return json.dumps(doc, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> SnapshotIndex | None:
        """The index in DATA, or None if it is not one (a stale format is not an error)."""
        try:
            doc = json.loads(data)
            if doc["format"] != INDEX_FORMAT:
                return None
            chunks = tuple((str(first), int(size), int(count)) for first, size, count
                           in doc["chunks"])
            return cls(int(doc["version"]), int(doc["length"]), str(doc["sha256"]),
                       int(doc["payload_start"]), int(doc["meta_start"]), int(doc["meta_end"]),
                       chunks)
        except (ValueError, KeyError, TypeError):
            return None

    def describes(self, data: bytes, version: int) -> bool:
        """True if this index was made for exactly the snapshot file DATA of VERSION."""
        return (
            self.version == version and self.length == len(data)
            and self.sha256 == hashlib.sha256(data).hexdigest()
        )

    def payload(self, data: bytes) -> bytes:
        """The signed object's canonical bytes (what the snapshot signature covers)."""
        return data[self.payload_start:-1]


def _chunk_bytes(entries: Mapping[str, Any]) -> bytes:
    """The canonical `"key":value,...` members of ENTRIES (without the braces)."""
    return canonical_json(dict(entries))[1:-1]


def _members(signed: Mapping[str, Any], names: list[str]) -> bytes:
    return b",".join(canonical_json(name) + b":" + canonical_json(signed[name]) for name in names)


def _frame(signed: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """The canonical bytes of SIGNED before and after the members of its meta object."""
    names = sorted(signed)
    before = [name for name in names if name < "meta"]
    after = [name for name in names if name > "meta"]
    head = b"{" + _members(signed, before) + (b"," if before else b"") + b'"meta":{'
    tail = b"}" + (b"," + _members(signed, after) if after else b"") + b"}"
    return head, tail


def _chunked(items: list[tuple[str, Any]]) -> list[dict[str, Any]]:
    return [dict(items[i:i + CHUNK_ENTRIES]) for i in range(0, len(items), CHUNK_ENTRIES)]


@dataclass(frozen=True)
class EncodedSnapshot:
    """A new snapshot: its canonical signed bytes and the index of the file it becomes."""

    payload: bytes
    meta_offset: int  # meta_start within payload
    meta_length: int  # bytes of meta's members
    chunks: tuple[tuple[str, int, int], ...]

    def file_bytes(self, signatures: bytes) -> bytes:
        return b'{"signatures":' + signatures + b',"signed":' + self.payload + b"}"

    def index(self, version: int, data: bytes) -> SnapshotIndex:
        payload_start = len(data) - 1 - len(self.payload)
        meta_start = payload_start + self.meta_offset
        return SnapshotIndex(version, len(data), hashlib.sha256(data).hexdigest(),
                             payload_start, meta_start, meta_start + self.meta_length, self.chunks)

    @property
    def plain(self) -> bool:
        """No string needed an escape: the canonical bytes are also the file's JSON text."""
        return b"\\" not in self.payload


def _assemble(signed: Mapping[str, Any], pieces: list[bytes | memoryview],
              chunks: list[tuple[str, int, int]]) -> EncodedSnapshot:
    head, tail = _frame(signed)
    meta = b",".join(pieces)
    return EncodedSnapshot(head + meta + tail, len(head), len(meta), tuple(chunks))


def encode_full(signed: Mapping[str, Any]) -> EncodedSnapshot:
    """Encode a whole snapshot's signed object (O(entries); a new index from scratch)."""
    meta = signed["meta"]
    pieces: list[bytes | memoryview] = []
    chunks: list[tuple[str, int, int]] = []
    for chunk in _chunked(sorted(meta.items())):
        encoded = _chunk_bytes(chunk)
        pieces.append(encoded)
        chunks.append((next(iter(chunk)), len(encoded), len(chunk)))
    return _assemble(signed, pieces, chunks)


def index_of_file(data: bytes, signed: Mapping[str, Any], version: int) -> SnapshotIndex | None:
    """The index of a snapshot file parsed in full, or None if the file's signed part is not
    byte for byte its canonical form (then only full re-encoding can be used)."""
    encoded = encode_full(signed)
    if not data.endswith(encoded.payload + b"}"):
        return None
    if not data[: len(data) - 1 - len(encoded.payload)].endswith(_SIGNED_KEY):
        return None
    return encoded.index(version, data)


class IndexedMeta(Mapping[str, "MetaFile"]):
    """Snapshot meta read through an index: only the chunks of looked-up keys are parsed
    (`raw`: the entry as the file holds it; indexing: python-tuf's MetaFile of it)."""

    def __init__(self, data: bytes, index: SnapshotIndex):
        self.data = data
        self.index = index
        self._firsts = [first for first, _, _ in index.chunks]
        self._starts: list[int] = []
        offset = index.meta_start
        for _, size, _ in index.chunks:
            self._starts.append(offset)
            offset += size + 1
        if index.chunks and offset - 1 != index.meta_end:
            raise CorruptMetadataError("snapshot: its index does not add up; run repo-tool verify")
        self._parsed: dict[int, dict[str, Any]] = {}

    def chunk_of(self, key: str) -> int:
        """The chunk KEY lies in, or would be inserted in."""
        return max(bisect.bisect_right(self._firsts, key) - 1, 0)

    def chunk(self, number: int) -> dict[str, Any]:
        """The entries of chunk NUMBER, parsed (and checked against the index)."""
        parsed = self._parsed.get(number)
        if parsed is None:
            first, size, count = self.index.chunks[number]
            start = self._starts[number]
            try:
                parsed = json.loads(b"{" + self.data[start:start + size] + b"}")
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict) or len(parsed) != count or next(iter(parsed)) != first:
                raise CorruptMetadataError(
                    f"snapshot: chunk {number} does not match its index; run repo-tool verify"
                )
            self._parsed[number] = parsed
        return parsed

    def raw(self, key: str) -> Any:
        if not self.index.chunks:
            raise KeyError(key)
        return self.chunk(self.chunk_of(key))[key]

    def __getitem__(self, key: str) -> MetaFile:
        # python-tuf's view of an entry, for its callers; the publish path reads `raw`.
        from tuf.api.metadata import MetaFile

        value = self.raw(key)
        try:
            return MetaFile.from_dict(dict(value))
        except (KeyError, TypeError, ValueError):
            raise CorruptMetadataError(f"snapshot: meta entry {key} is malformed") from None

    def __iter__(self) -> Iterator[str]:
        for number in range(len(self.index.chunks)):
            yield from self.chunk(number)

    def __len__(self) -> int:
        return sum(count for _, _, count in self.index.chunks)

    def encode_next(self, signed: Mapping[str, Any], changes: Mapping[str, Any]) -> EncodedSnapshot:
        """The snapshot SIGNED (its "meta" ignored) whose meta is this one with CHANGES applied:
        changed chunks re-encoded, every other chunk's bytes reused."""
        by_chunk: dict[int, dict[str, Any]] = {}
        for key, value in changes.items():
            by_chunk.setdefault(self.chunk_of(key), {})[key] = value
        if not self.index.chunks:
            return encode_full({**signed, "meta": dict(changes)})
        view = memoryview(self.data)
        pieces: list[bytes | memoryview] = []
        chunks: list[tuple[str, int, int]] = []
        for number, (first, size, count) in enumerate(self.index.chunks):
            changed = by_chunk.get(number)
            if changed is None:
                start = self._starts[number]
                pieces.append(view[start:start + size])
                chunks.append((first, size, count))
                continue
            entries = {**self.chunk(number), **changed}
            items = sorted(entries.items())
            # A chunk that grew to twice its size is split, so chunks stay bounded.
            for part in _chunked(items) if len(items) >= 2 * CHUNK_ENTRIES else [dict(items)]:
                encoded = _chunk_bytes(part)
                pieces.append(encoded)
                chunks.append((next(iter(part)), len(encoded), len(part)))
        return _assemble(signed, pieces, chunks)
