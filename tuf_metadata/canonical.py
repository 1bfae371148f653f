"""Canonical JSON (OLPC, as TUF signs it) with a fast path for plain-ASCII documents."""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping
from typing import Any

from securesystemslib.formats import encode_canonical


def canonical_bytes(signed: Mapping[str, Any]) -> tuple[bytes, bool]:
    """(canonical JSON of signed, whether those bytes are also plain JSON).

    Snapshot is O(n) in roles, so the C JSON encoder is used when its output
    has no escape at all: then every string was plain printable ASCII and the
    compact, key-sorted output is byte-identical to canonical JSON.
    """
    fast = json.dumps(signed, sort_keys=True, separators=(",", ":")).encode()
    if b"\\" not in fast:
        return fast, True
    canonical = encode_canonical(dict(signed))
    assert isinstance(canonical, str)
    return canonical.encode(), False


def _encode(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class EncodedObject:
    """A JSON object kept as one compact, key-sorted fragment per key.

    Snapshot lists every role, so re-encoding it per publish is O(n) JSON work;
    replacing a few entries of an EncodedObject re-encodes only those, and
    join() is a string join in key order (the order canonical JSON uses).
    """

    def __init__(self, fragments: dict[str, str], order: list[str]):
        self._fragments = fragments
        self._order = order

    @classmethod
    def encode(cls, mapping: Mapping[str, Any]) -> EncodedObject:
        order = sorted(mapping)
        return cls({key: _encode(key) + ":" + _encode(mapping[key]) for key in order}, order)

    def updated(self, changes: Mapping[str, Any]) -> EncodedObject:
        """A new object with changes applied (self is left as it is)."""
        fragments = dict(self._fragments)
        order = self._order
        for key, value in changes.items():
            if key not in fragments:
                if order is self._order:
                    order = list(order)
                bisect.insort(order, key)
            fragments[key] = _encode(key) + ":" + _encode(value)
        return EncodedObject(fragments, order)

    def join(self) -> str:
        return "{" + ",".join(self._fragments[key] for key in self._order) + "}"


def canonical_with(
    signed: Mapping[str, Any], key: str, encoded: EncodedObject
) -> tuple[bytes, bool]:
    """canonical_bytes(signed) where signed[key] is given pre-encoded (must equal it)."""
    parts = [
        _encode(name) + ":" + (encoded.join() if name == key else _encode(signed[name]))
        for name in sorted(signed)
    ]
    fast = ("{" + ",".join(parts) + "}").encode()
    if b"\\" not in fast:
        return fast, True
    return canonical_bytes(signed)
