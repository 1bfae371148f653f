"""Canonical JSON (OLPC, as TUF signs it) with a fast path for plain-ASCII documents."""

from __future__ import annotations

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
