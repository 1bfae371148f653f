"""Pinned layout functions and the fast snapshot signing path."""

from __future__ import annotations

import hashlib
import json

import pytest
from tuf.api.metadata import Metadata, MetaFile, Snapshot

from tuf_metadata import layout
from tuf_metadata.canonical import EncodedObject, canonical_json, canonical_with
from tuf_metadata.errors import TufError

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default


def test_layout_names() -> None:
    shard = hashlib.sha256(b"hello").hexdigest()[:2]
    assert SHARDS.shard_of("hello") == shard
    assert SHARDS.shard_role("hello") == f"shard-{shard}"
    assert layout.package_role("hello") == "pkg-hello"
    assert SHARDS.target_path("hello", "1.0", "hello.hvt") == f"{shard}/hello/1.0/hello.hvt"
    assert layout.rotate_file_name("pkg-hello", 3) == "rotate/pkg-hello.rotate.3.json"
    assert layout.rotate_file_path("pkg-hello", 3, 2) == "rotate/2.pkg-hello.rotate.3.json"
    assert layout.parse_rotate_file_name("rotate/pkg-hello.rotate.3.json") == ("pkg-hello", 3)
    assert layout.parse_rotate_file_name("rotate/a.rotate.b.rotate.12.json") == ("a.rotate.b", 12)
    for not_a_rotate_file in ("pkg-hello.json", "rotate/pkg-hello.rotate.03.json",
                              "rotate/pkg-hello.rotate.x.json", "rotate/.rotate.1.json"):
        assert layout.parse_rotate_file_name(not_a_rotate_file) is None
    assert SHARDS.package_paths("hello") == [f"{shard}/hello/*/*"]
    assert SHARDS.shard_paths(shard) == [f"{shard}/*/*/*"]
    assert len(set(SHARDS.all_shard_prefixes())) == 256
    assert layout.package_of_role("pkg-hello") == "hello"
    assert layout.package_of_role("shard-00") is None


@pytest.mark.parametrize("digits", [2, 3])
def test_each_layout_names_shards_by_its_prefix_length(digits: int) -> None:
    shards = layout.ShardLayout(digits)
    prefix = hashlib.sha256(b"hello").hexdigest()[:digits]
    assert shards.shard_role("hello") == f"shard-{prefix}"
    assert shards.target_path("hello", "1.0", "hello.hvt") == f"{prefix}/hello/1.0/hello.hvt"
    assert shards.package_paths("hello") == [f"{prefix}/hello/*/*"]
    prefixes = shards.all_shard_prefixes()
    assert len(set(prefixes)) == 16**digits and prefixes[0] == "0" * digits
    assert prefixes[-1] == "f" * digits and sorted(prefixes) == prefixes
    roles = [shards.shard_role_for_prefix(p) for p in prefixes] + ["rebuilder-r1"]
    assert layout.shard_digits(roles) == digits


def test_the_default_layout_is_the_pinned_256_shards() -> None:
    assert layout.DEFAULT_SHARDS.digits == 2
    roles = [SHARDS.shard_role_for_prefix(p) for p in SHARDS.all_shard_prefixes()]
    assert layout.shard_digits(roles) == 2


@pytest.mark.parametrize("digits", [0, 1, 4, 5])
def test_unsupported_shard_digits_are_refused(digits: int) -> None:
    refusal = rf"must be 2 or 3 \(256 or 4,096 shards\), got {digits}"
    with pytest.raises(layout.ShardLayoutError, match=refusal):
        layout.ShardLayout(digits)


def _shard_roles(digits: int) -> list[str]:
    return [f"shard-{i:0{digits}x}" for i in range(16**digits)]


@pytest.mark.parametrize(("roles", "refusal"), [
    ([], "delegates no shard roles"),
    (["rebuilder-r1"], "delegates no shard roles"),
    ([*_shard_roles(2), "shard-abc"], "mixes shard roles of 2 and 3 hex digits"),
    ([*_shard_roles(3)[:-1], "shard-ff"], "mixes shard roles of 2 and 3 hex digits"),
    (_shard_roles(1), "must be 2 or 3"),
    (_shard_roles(4), "must be 2 or 3"),
    ([*_shard_roles(2)[:-1], "shard-FF"], "shard-FF: not a shard name"),
    ([*_shard_roles(2), "shard-"], "shard-: not a shard name"),
])
def test_a_targets_role_with_an_incoherent_shard_set_is_refused(
    roles: list[str], refusal: str
) -> None:
    with pytest.raises(layout.ShardLayoutError, match=refusal):
        layout.shard_digits(roles)


def test_a_partial_set_of_shards_has_the_length_of_its_shards() -> None:
    # The repository simulator (tests/client) delegates only the shards it uses.
    assert layout.shard_digits(_shard_roles(3)[:5]) == 3


@pytest.mark.parametrize("name", ["", "-x", "A", "a/b", "a" * 65, "a.b", "..", "é"])
def test_bad_package_names(name: str) -> None:
    with pytest.raises(TufError, match="invalid package name"):
        layout.validate_package_name(name)


@pytest.mark.parametrize("version", ["", ".", "..", "../x", "1/2", "-1", "v" * 65, "1 0"])
def test_bad_versions(version: str) -> None:
    with pytest.raises(TufError, match="invalid version"):
        layout.validate_version(version)


def test_good_names() -> None:
    layout.validate_package_name("tcp-echo_2")
    layout.validate_version("1.0.0+build.5-rc1")


@pytest.mark.parametrize("role", ["pkg-a", "pkg-weird\\name", 'pkg-"quoted"', "pkg-ü", "pkg-\n"])
def test_snapshot_signing_bytes_are_canonical_json(role: str) -> None:
    md = Metadata(Snapshot(meta={"targets.json": MetaFile(3), f"{role}.json": MetaFile(7)}))
    assert canonical_json(md.signed.to_dict()) == md.signed_bytes


def test_encoded_object_updates_match_a_full_encoding() -> None:
    meta = {f"pkg-{i}.json": {"version": i} for i in range(1, 50)}
    encoded = EncodedObject.encode(meta)
    rotate_entry = {"version": 1, "length": 5, "hashes": {"sha256": "ab"}}
    changes = {"pkg-7.json": {"version": 99}, "aaa.json": {"version": 1},
               "rotate/pkg-7.rotate.1.json": rotate_entry}
    updated = encoded.updated(changes)
    assert encoded.join() == json.dumps(meta, sort_keys=True, separators=(",", ":"))
    new_meta = {**meta, **changes}
    signed = {"_type": "snapshot", "version": 3, "meta": new_meta, "spec_version": "1.0.31",
              "expires": "2030-01-01T00:00:00Z"}
    assert canonical_with(signed, "meta", updated) == (canonical_json(signed), True)
    odd = {**signed, "meta": {**new_meta, "pkg-ü.json": {"version": 1}}}
    payload, plain = canonical_with(odd, "meta", updated.updated({"pkg-ü.json": {"version": 1}}))
    assert plain and payload == Metadata(Snapshot.from_dict(dict(odd))).signed_bytes
