"""The one canonical JSON encoder agrees with securesystemslib's on a generated corpus.

`tuf_metadata.canonical.canonical_json` is what the repository signs and
verifies, what `repo-tool verify` checks and what the client verifies; a
difference from securesystemslib (which python-tuf and every other TUF
implementation use) would make signatures made elsewhere fail here, or ours
fail there. The corpus is random but seeded, so a failure reproduces.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from securesystemslib.formats import encode_canonical
from tuf.api.metadata import Metadata, MetaFile, Snapshot

from tuf_metadata.canonical import (
    CanonicalJsonError,
    EncodedObject,
    canonical_json,
    canonical_with,
)
from tuf_metadata.client.errors import MalformedMetadataError
from tuf_metadata.client.trusted import parse_metadata

# Characters that exercise every branch: plain ASCII, the two characters canonical
# JSON escapes, control characters (raw in canonical JSON, escaped by json.dumps),
# DEL, Latin-1, the JSON-hostile line separators, astral plane, a BOM.
ALPHABET = [
    *"abcXYZ019 _-./:",
    *['"', "\\", "\n", "\t", "\r", "\x00", "\x01", "\x1f", "\x7f"],
    *["é", "ü", "ß", "\u2028", "\u2029", "\ufeff", "漢", "\U0001f600"],
]


def random_text(rng: random.Random) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 8)))


def random_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.choice(["str", "int", "bool", "none", "list", "dict", "dict"] if depth < 4
                      else ["str", "int", "bool", "none"])
    if kind == "str":
        return random_text(rng)
    if kind == "int":
        return rng.choice([0, -1, 1, 2**31, -(2**63), 2**70, rng.randint(-10**6, 10**6)])
    if kind == "bool":
        return rng.choice([True, False])
    if kind == "none":
        return None
    if kind == "list":
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {random_text(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def reference(value: Any) -> bytes | None:
    """securesystemslib's canonical bytes, or None where it refuses (any exception)."""
    try:
        text = encode_canonical(value)
        assert isinstance(text, str)
        return text.encode("utf-8")
    except Exception:
        return None


def ours(value: Any) -> bytes | None:
    try:
        return canonical_json(value)
    except CanonicalJsonError:
        return None


CORPUS = [random_value(random.Random(seed)) for seed in range(3000)]


def test_generated_corpus_matches_securesystemslib() -> None:
    escaped = 0
    for value in CORPUS:
        expected = reference(value)
        assert expected is not None, value
        assert ours(value) == expected, value
        escaped += b"\\" in expected or b"\n" in expected
    assert escaped > 300  # the slow path was exercised, not only the fast one


def _inject(rng: random.Random, bad: Any) -> Any:
    """A corpus-like document with BAD somewhere inside it."""
    value: Any = bad
    for _ in range(rng.randint(0, 3)):
        if rng.random() < 0.5:
            value = [random_value(rng, 3), value]
        else:
            value = {random_text(rng) + "a": random_value(rng, 3), random_text(rng) + "b": value}
    return value


class Opaque:
    """An object json.dumps and canonical JSON both have no form for."""

    def __repr__(self) -> str:  # the same test id in every process (pytest-xdist compares them)
        return "Opaque()"


REFUSED = [
    1.5, 0.0, -2.5e300, float("nan"), float("inf"), float("-inf"), 1e16,
    b"bytes", {1, 2}, frozenset(), Opaque(), complex(1, 2),
    {1: "int key"}, {None: "null key"}, {True: "bool key"}, {(1, 2): "tuple key"},
    {"a": 1, 2: "mixed keys"},
    "lone surrogate \ud800", {"\udfff": 1}, ["ok", "\ud83d"],
]


@pytest.mark.parametrize("bad", REFUSED, ids=repr)
def test_both_refuse_what_has_no_canonical_form(bad: Any) -> None:
    rng = random.Random(repr(bad))
    for _ in range(20):
        value = _inject(rng, bad)
        assert reference(value) is None, value
        with pytest.raises(CanonicalJsonError):
            canonical_json(value)


def test_refuses_cycles_and_overlong_integers() -> None:
    cyclic: list[Any] = []
    cyclic.append(cyclic)
    with pytest.raises(CanonicalJsonError):
        canonical_json(cyclic)
    with pytest.raises(CanonicalJsonError):
        canonical_json({"big": 10**5000})  # beyond Python's int-to-str limit
    assert reference({"big": 10**5000}) is None


def test_client_refuses_metadata_whose_signed_part_holds_a_float() -> None:
    md = Metadata(Snapshot(meta={"targets.json": MetaFile(1)}))
    document = md.to_dict()
    document["signed"]["x-extra"] = 1.5  # an unrecognised field: python-tuf keeps it
    with pytest.raises(MalformedMetadataError, match="not canonical JSON"):
        parse_metadata(json.dumps(document).encode(), Snapshot, "snapshot")


@pytest.mark.parametrize("seed", range(40))
def test_incremental_snapshot_encoding_equals_the_full_one(seed: int) -> None:
    rng = random.Random(seed)
    meta = {random_text(rng) + ".json": {"version": rng.randint(1, 9)} for _ in range(30)}
    encoded = EncodedObject.encode(meta)
    changes = {random_text(rng) + ".json": random_value(rng, 2) for _ in range(5)}
    signed = {"_type": "snapshot", "version": 3, "meta": {**meta, **changes},
              "spec_version": "1.0.31", "expires": "2030-01-01T00:00:00Z"}
    payload, plain = canonical_with(signed, "meta", encoded.updated(changes))
    assert payload == reference(signed)
    if plain:  # the bytes are written as the file's JSON: they must read back the same
        assert json.loads(payload) == signed


def test_incremental_encoding_refuses_floats_and_non_string_keys() -> None:
    encoded = EncodedObject.encode({"a.json": {"version": 1}})
    with pytest.raises(CanonicalJsonError):
        encoded.updated({"b.json": {"version": 1.0}})
    with pytest.raises(CanonicalJsonError):
        EncodedObject.encode({1: {"version": 1}})  # type: ignore[dict-item]
