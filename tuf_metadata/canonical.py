"""Canonical JSON (OLPC, as TUF signs it): the one encoder of the bytes signatures cover.

`canonical_json` is the rule for the whole package: the repository signs and
verifies with it, `repo-tool verify` checks with it, and the client verifies
with it. It accepts exactly what securesystemslib's `encode_canonical` accepts
as a JSON value (dicts with str keys, lists/tuples, str, int, bool, None) and
returns the same bytes (UTF-8); it refuses everything else, floats included
(canonical JSON has no floats), with CanonicalJsonError.

Two ways to the same bytes:
- fast: the C JSON encoder (compact, key-sorted, non-ASCII left as is) is
  byte-identical to canonical JSON when its output has no backslash, i.e. no
  string needed an escape. That covers almost every document and matters for
  a snapshot that lists 10,000 roles.
- slow: our own encoder, which escapes only backslash and double quote and
  writes every other character (control characters too) as it is.

`EncodedObject` and `canonical_with` are the snapshot writer's incremental
form of the same encoding (re-encode only the entries that changed).
"""

from __future__ import annotations

import bisect
import json
from collections.abc import Mapping
from typing import Any

from tuf_metadata.errors import TufError

_SCALARS = (str, int, bool, type(None))


class CanonicalJsonError(TufError):
    """A value that canonical JSON cannot encode (a float, a non-string key, ...)."""


def _check_json_value(value: Any) -> None:
    """Refuse what the C encoder would write but canonical JSON has no form for.

    json.dumps already refuses unknown types and cycles; what it silently accepts
    are floats and non-string dict keys (it turns 1 into "1"). Iterative, so deep
    documents do not hit the recursion limit here.
    """
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            for key, member in item.items():
                if not isinstance(key, str):
                    raise CanonicalJsonError(f"object key {key!r} is not a string")
                if isinstance(member, (dict, list, tuple)):
                    pending.append(member)
                elif not isinstance(member, _SCALARS):
                    raise CanonicalJsonError(f"cannot encode {type(member).__name__} {member!r}")
        elif isinstance(item, (list, tuple)):
            for member in item:
                if isinstance(member, (dict, list, tuple)):
                    pending.append(member)
                elif not isinstance(member, _SCALARS):
                    raise CanonicalJsonError(f"cannot encode {type(member).__name__} {member!r}")
        elif not isinstance(item, _SCALARS):
            raise CanonicalJsonError(f"cannot encode {type(item).__name__} {item!r}")


def _compact(value: Any) -> str:
    """Compact, key-sorted JSON text; non-ASCII kept; raises CanonicalJsonError."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise CanonicalJsonError(f"not a JSON value: {error}") from None


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _slow(value: Any, out: list[str]) -> None:
    if isinstance(value, str):
        out.append(_quote(value))
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif value is None:
        out.append("null")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, (list, tuple)):
        out.append("[")
        for index, member in enumerate(value):
            if index:
                out.append(",")
            _slow(member, out)
        out.append("]")
    else:  # a dict: _check_json_value ran first
        out.append("{")
        for index, key in enumerate(sorted(value)):
            if index:
                out.append(",")
            out.append(_quote(key))
            out.append(":")
            _slow(value[key], out)
        out.append("}")


def _to_utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise CanonicalJsonError("a string holds a lone surrogate (not UTF-8 text)") from None


def canonical_json(value: Any) -> bytes:
    """The canonical JSON bytes of VALUE; CanonicalJsonError if it has no canonical form."""
    text = _compact(value)
    _check_json_value(value)
    if "\\" in text:
        out: list[str] = []
        try:
            _slow(value, out)
        except RecursionError:
            raise CanonicalJsonError("not a JSON value: nested too deeply") from None
        text = "".join(out)
    return _to_utf8(text)


def _fragment(value: Any) -> str:
    text = _compact(value)
    _check_json_value(value)
    return text


def _member(key: Any, value: Any) -> str:
    """The `"key":value` fragment of one object member."""
    if not isinstance(key, str):
        raise CanonicalJsonError(f"object key {key!r} is not a string")
    return _compact(key) + ":" + _fragment(value)


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
        return cls({key: _member(key, mapping[key]) for key in order}, order)

    def updated(self, changes: Mapping[str, Any]) -> EncodedObject:
        """A new object with changes applied (self is left as it is)."""
        fragments = dict(self._fragments)
        order = self._order
        for key, value in changes.items():
            if key not in fragments:
                if order is self._order:
                    order = list(order)
                bisect.insort(order, key)
            fragments[key] = _member(key, value)
        return EncodedObject(fragments, order)

    def join(self) -> str:
        return "{" + ",".join(self._fragments[key] for key in self._order) + "}"


def canonical_with(
    signed: Mapping[str, Any], key: str, encoded: EncodedObject
) -> tuple[bytes, bool]:
    """(canonical_json(signed), whether those bytes are also plain JSON), where signed[key]
    is given pre-encoded (it must equal it).

    Plain means no string needed an escape, so the canonical bytes can also be
    written as the file's JSON text; otherwise (control characters are raw in
    canonical JSON) the caller must write ordinary JSON.
    """
    parts = [
        _compact(name) + ":" + encoded.join() if name == key else _member(name, signed[name])
        for name in sorted(signed)
    ]
    text = "{" + ",".join(parts) + "}"
    if "\\" not in text:
        return _to_utf8(text), True
    return canonical_json(dict(signed)), False
