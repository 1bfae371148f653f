"""Compressed transfer of metadata for `serve`: Accept-Encoding negotiation and a gzip cache.

TUF lengths and hashes describe the file as stored (TAP 10 moved compression to
the transport), so gzip here is only a `Content-Encoding` the client removes
before it checks anything. The compressed bytes are deterministic (mtime 0 in
the gzip header, fixed level) and cached per file identity (device, inode,
size, mtime): versioned metadata never changes, and timestamp.json is replaced
by rename, which gives it a new identity, so a cached entry is never stale.
"""

from __future__ import annotations

import gzip
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

GZIP_LEVEL = 9
DEFAULT_CACHE_BYTES = 64 * 1024 * 1024


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding value (RFC 9110 §12.5.3) allows gzip.

    No header means "no preference"; like nginx, we then send the file as it is.
    """
    if not header:
        return False
    explicit: float | None = None
    wildcard: float | None = None
    for item in header.split(","):
        name, _, params = item.strip().partition(";")
        weight = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value.strip())
                except ValueError:
                    weight = 0.0
        coding = name.strip().lower()
        if coding in ("gzip", "x-gzip"):
            explicit = weight
        elif coding == "*":
            wildcard = weight
    if explicit is not None:
        return explicit > 0
    return wildcard is not None and wildcard > 0


def compress(data: bytes) -> bytes:
    """Deterministic gzip of data: the same bytes always give the same output."""
    return gzip.compress(data, compresslevel=GZIP_LEVEL, mtime=0)


@dataclass(frozen=True)
class FileIdentity:
    """What changes whenever a file's content may have changed (rename or rewrite)."""

    device: int
    inode: int
    size: int
    mtime_ns: int


class GzipCache:
    """Compressed bodies by file identity, least recently used evicted past a byte budget."""

    def __init__(self, budget: int = DEFAULT_CACHE_BYTES):
        self.budget = budget
        self.compressions = 0
        self._entries: OrderedDict[tuple[str, FileIdentity], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, path: str, identity: FileIdentity, read: Callable[[], bytes]) -> bytes:
        """The gzip of the file at path with this identity; read() gives its bytes on a miss."""
        key = (path, identity)
        with self._lock:
            cached = self._entries.get(key)
            if cached is not None:
                self._entries.move_to_end(key)
                return cached
        body = compress(read())
        with self._lock:
            self.compressions += 1
            if len(body) <= self.budget and key not in self._entries:
                self._entries[key] = body
                self._size += len(body)
                while self._size > self.budget:
                    _, evicted = self._entries.popitem(last=False)
                    self._size -= len(evicted)
        return body
