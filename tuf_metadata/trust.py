"""The trust core shared by the repository, `repo-tool verify` and the client. Pure.

- `canonical_json` (tuf_metadata.canonical): the bytes signatures cover.
- `signing.threshold.check_threshold`: the one threshold rule (distinct key
  material, only delegated keys, only valid signatures).
- here: which keys a delegator (root, or a targets role) assigns to a role,
  and the decision "does this role's signed payload meet its threshold under
  this delegator's keys" (`check_role`).

All of it takes plain TUF data (the delegator's "signed" object as the file holds
it, signatures as hex by keyid), so the publish path decides without python-tuf;
python-tuf callers pass `md.signed.to_dict()` and `signatures_of(md)`. Each side
maps a refusal to its own error type; none counts signatures itself.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from signing.threshold import KeyDict, ThresholdResult, check_threshold
from tuf_metadata.canonical import canonical_json

if TYPE_CHECKING:
    from securesystemslib.signer import Key, Signature
    from tuf.api.metadata import Metadata

K = TypeVar("K")


@dataclass(frozen=True)
class RoleKeys:
    """The keys (TUF key objects by keyid) and threshold a delegator assigns to one role."""

    keys: dict[str, KeyDict]
    threshold: int


def delegated_keys(table: Mapping[str, K], keyids: Iterable[str]) -> dict[str, K]:
    """The delegator's keys for a role: each listed keyid once; ids absent from TABLE dropped."""
    return {keyid: table[keyid] for keyid in keyids if keyid in table}


def _assigned(table: Any, spec: Any) -> RoleKeys | None:
    """RoleKeys from a key TABLE and a role SPEC ({"keyids", "threshold"}); None if malformed
    (a delegation nobody can read assigns no keys: never met)."""
    if not isinstance(table, Mapping) or not isinstance(spec, Mapping):
        return None
    keyids, threshold = spec.get("keyids"), spec.get("threshold")
    if not isinstance(keyids, list) or not all(isinstance(k, str) for k in keyids):
        return None
    if not isinstance(threshold, int) or isinstance(threshold, bool):
        return None
    return RoleKeys(delegated_keys(table, keyids), threshold)


def succinct_role_delegated(succinct: Mapping[str, Any], role: str) -> bool:
    """Is ROLE one of the bins of a succinct delegation (TAP 15): PREFIX-HEX, where HEX is
    the bin number in lower-case hex, zero-padded to the width of the last bin's number."""
    prefix, bits = succinct.get("name_prefix"), succinct.get("bit_length")
    if not isinstance(prefix, str) or not isinstance(bits, int) or not 1 <= bits <= 32:
        return False
    suffix = role.removeprefix(prefix + "-")
    width = len(f"{(1 << bits) - 1:x}")
    if suffix == role or len(suffix) != width or suffix.strip("0123456789abcdef"):
        return False
    return int(suffix, 16) < 1 << bits


def role_keys(delegator: Mapping[str, Any], role: str) -> RoleKeys | None:
    """What DELEGATOR (a root or targets "signed" object) says must sign ROLE, or None if it
    does not delegate ROLE."""
    if delegator.get("_type") == "root":
        roles = delegator.get("roles")
        spec = roles.get(role) if isinstance(roles, Mapping) else None
        return None if spec is None else _assigned(delegator.get("keys"), spec)
    delegations = delegator.get("delegations")
    if not isinstance(delegations, Mapping):
        return None
    table = delegations.get("keys")
    roles = delegations.get("roles")
    if isinstance(roles, list):
        named = [spec for spec in roles if isinstance(spec, Mapping) and spec.get("name") == role]
        # A name listed twice makes the delegation ambiguous (python-tuf refuses to parse it).
        return _assigned(table, named[0]) if len(named) == 1 else None
    succinct = delegations.get("succinct_roles")
    if isinstance(succinct, Mapping) and succinct_role_delegated(succinct, role):
        return _assigned(table, succinct)
    return None


def path_matches_pattern(path: str, pattern: str) -> bool:
    """Component-wise shell-glob match; `*` and `?` never match `/` (spec 4.5)."""
    path_parts = path.split("/")
    pattern_parts = pattern.split("/")
    if len(path_parts) != len(pattern_parts):
        return False
    pairs = zip(path_parts, pattern_parts, strict=True)
    return all(fnmatch.fnmatchcase(part, glob) for part, glob in pairs)


def is_delegated_path(delegation: Mapping[str, Any], path: str) -> bool:
    """Does the delegated role object DELEGATION (from a delegator's "roles") cover target
    PATH: by a "paths" pattern, else by a "path_hash_prefixes" prefix of sha256(PATH)."""
    paths = delegation.get("paths")
    if isinstance(paths, list):
        return any(isinstance(pattern, str) and path_matches_pattern(path, pattern)
                   for pattern in paths)
    prefixes = delegation.get("path_hash_prefixes")
    if isinstance(prefixes, list):
        digest = hashlib.sha256(path.encode()).hexdigest()
        return any(isinstance(prefix, str) and digest.startswith(prefix) for prefix in prefixes)
    return False


@dataclass(frozen=True)
class SignedDocument:
    """One metadata file's content as plain data: its "signed" object and its signatures
    (hex by keyid). What the rules take; python-tuf callers build it with `of`."""

    signed: Mapping[str, Any]
    signatures: Mapping[str, str]

    @cached_property
    def payload(self) -> bytes:
        """The bytes the signatures cover: canonical JSON of the signed object."""
        return canonical_json(self.signed)

    @classmethod
    def of(cls, md: Metadata[Any]) -> SignedDocument:
        return cls(md.signed.to_dict(), signatures_of(md))


def signed_payload(md: Metadata[Any]) -> bytes:
    """The bytes MD's signatures cover: canonical JSON of its signed part."""
    return canonical_json(md.signed.to_dict())


def signatures_of(md: Metadata[Any]) -> dict[str, str]:
    """MD's signatures as the threshold rule takes them: hex by keyid."""
    return signature_hexes(md.signatures)


def signature_hexes(signatures: Mapping[str, Signature]) -> dict[str, str]:
    """securesystemslib Signatures (by keyid) as hex by keyid; an entry filed under a keyid
    other than its own is dropped (it names another key than the one it is filed as)."""
    return {keyid: sig.signature for keyid, sig in signatures.items() if sig.keyid == keyid}


def key_dicts(keys: Mapping[str, Key]) -> dict[str, KeyDict]:
    """securesystemslib Keys (by keyid) as TUF key objects by keyid."""
    return {keyid: key.to_dict() for keyid, key in keys.items()}


def sslib_keys(keys: Mapping[str, KeyDict]) -> dict[str, Key]:
    """KEYS as securesystemslib Keys, for the code that verifies with securesystemslib
    itself (DSSE envelopes of attestations); an unusable key is left out."""
    from securesystemslib.signer import Key

    found: dict[str, Key] = {}
    for keyid, key in keys.items():
        try:
            found[keyid] = Key.from_dict(keyid, json.loads(json.dumps(dict(key))))
        except Exception:  # securesystemslib raises several types for keys it cannot use
            continue
    return found


def check_role(
    delegator: Mapping[str, Any], role: str, payload: bytes, signatures: Mapping[str, str]
) -> ThresholdResult:
    """Does ROLE's PAYLOAD carry a threshold of signatures by the keys DELEGATOR assigns it?

    DELEGATOR is the "signed" object of root or of a targets role. A role it does not
    delegate has no keys and a threshold of 0: never met.
    """
    assigned = role_keys(delegator, role)
    if assigned is None:
        return ThresholdResult(0, frozenset())
    return check_threshold(payload, signatures, assigned.keys, assigned.threshold)
