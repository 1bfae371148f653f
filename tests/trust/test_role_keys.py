"""Which keys a delegator assigns to a role (tuf_metadata.trust), read from plain "signed"
objects, compared with python-tuf's reading of the same objects."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import DelegatedRole, Delegations, SuccinctRoles, Targets

from tuf_metadata.trust import is_delegated_path, role_keys, succinct_role_delegated


def key() -> tuple[str, dict[str, Any]]:
    public = CryptoSigner(Ed25519PrivateKey.generate()).public_key
    return public.keyid, public.to_dict()


def test_delegated_roles_by_name_once() -> None:
    (a, key_a), (b, key_b) = key(), key()
    targets = Targets(delegations=Delegations(
        keys={}, roles={"pkg-x": DelegatedRole("pkg-x", [a, b, "c" * 64], 2, True, paths=["x/*"])},
    )).to_dict()
    targets["delegations"]["keys"] = {a: key_a, b: key_b}
    assigned = role_keys(targets, "pkg-x")
    assert assigned is not None and assigned.threshold == 2
    assert assigned.keys == {a: key_a, b: key_b}  # the keyid absent from the table dropped
    assert role_keys(targets, "pkg-y") is None
    # One name listed twice: ambiguous, so nothing is delegated (python-tuf refuses the file).
    targets["delegations"]["roles"].append(dict(targets["delegations"]["roles"][0]))
    assert role_keys(targets, "pkg-x") is None


@pytest.mark.parametrize("spec", [
    {"keyids": "not a list", "threshold": 1}, {"keyids": [], "threshold": "1"},
    {"keyids": [], "threshold": True}, "not an object",
])
def test_a_malformed_role_assigns_no_keys(spec: object) -> None:
    root = {"_type": "root", "keys": {}, "roles": {"timestamp": spec}}
    assert role_keys(root, "timestamp") is None


@pytest.mark.parametrize("bits", [1, 4, 5, 8])
def test_succinct_bins_are_the_ones_python_tuf_names(bits: int) -> None:
    succinct = SuccinctRoles([], 1, bits, "bin")
    names = set(succinct.get_roles())
    plain = succinct.to_dict()
    for name in names:
        assert succinct_role_delegated(plain, name)
    width = len(names.pop()) - len("bin-")
    outside = [f"bin-{1 << bits:0{width}x}", "bin-" + "g" * width, "bin-" + "0" * (width + 1),
               "bin-", "nib-" + "0" * width, "bin" + "0" * width]
    for name in outside:
        assert not succinct_role_delegated(plain, name), name
        assert not succinct.is_delegated_role(name) or name.startswith("bin-0x"), name


def test_delegated_paths_by_pattern_or_hash_prefix() -> None:
    by_path = DelegatedRole("r", [], 1, True, paths=["ab/*/1.0/*"]).to_dict()
    assert is_delegated_path(by_path, "ab/hello/1.0/hello.hvt")
    assert not is_delegated_path(by_path, "ab/hello/1.0/sub/hello.hvt")  # * stops at /
    assert not is_delegated_path(by_path, "AB/hello/1.0/hello.hvt")
    digest = hashlib.sha256(b"some/file").hexdigest()
    by_hash = DelegatedRole("r", [], 1, True, path_hash_prefixes=[digest[:2]]).to_dict()
    assert is_delegated_path(by_hash, "some/file")
    other = next(p for p in ("a", "b", "c", "d") if
                 not hashlib.sha256(p.encode()).hexdigest().startswith(digest[:2]))
    assert not is_delegated_path(by_hash, other)
    assert not is_delegated_path({"name": "r"}, "some/file")  # neither: covers nothing
    for role, path in ((by_path, "ab/x/1.0/y"), (by_hash, "some/file"), (by_hash, other)):
        assert is_delegated_path(role, path) == DelegatedRole.from_dict(
            dict(role)).is_delegated_path(path)
