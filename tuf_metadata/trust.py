"""The trust core shared by the repository, `repo-tool verify` and the client. Pure.

- `canonical_json` (tuf_metadata.canonical): the bytes signatures cover.
- `signing.threshold.check_threshold`: the one threshold rule (distinct key
  material, only delegated keys, only valid signatures).
- here: which keys a delegator (root, or a targets role) assigns to a role,
  and the decision "does this role's signed payload meet its threshold under
  this delegator's keys" (`check_role`).

Each side maps a refusal to its own error type; none counts signatures itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from securesystemslib.signer import Key, Signature
from tuf.api.metadata import Metadata, Root, Targets

from signing.threshold import ThresholdResult, check_threshold
from tuf_metadata.canonical import canonical_json


@dataclass(frozen=True)
class RoleKeys:
    """The keys (by keyid) and threshold a delegator assigns to one role."""

    keys: dict[str, Key]
    threshold: int


def delegated_keys(table: Mapping[str, Key], keyids: Iterable[str]) -> dict[str, Key]:
    """The delegator's keys for a role: each listed keyid once; ids absent from TABLE dropped."""
    return {keyid: table[keyid] for keyid in keyids if keyid in table}


def role_keys(delegator: Root | Targets, role: str) -> RoleKeys | None:
    """What DELEGATOR says must sign ROLE, or None if it does not delegate ROLE."""
    if isinstance(delegator, Root):
        spec = delegator.roles.get(role)
        if spec is None:
            return None
        return RoleKeys(delegated_keys(delegator.keys, spec.keyids), spec.threshold)
    delegations = delegator.delegations
    if delegations is None:
        return None
    if delegations.roles is not None:
        delegated = delegations.roles.get(role)
        if delegated is None:
            return None
        return RoleKeys(delegated_keys(delegations.keys, delegated.keyids), delegated.threshold)
    succinct = delegations.succinct_roles
    if succinct is not None and succinct.is_delegated_role(role):
        return RoleKeys(delegated_keys(delegations.keys, succinct.keyids), succinct.threshold)
    return None


def signed_payload(md: Metadata[Any]) -> bytes:
    """The bytes MD's signatures cover: canonical JSON of its signed part."""
    return canonical_json(md.signed.to_dict())


def check_role(
    delegator: Root | Targets, role: str, payload: bytes, signatures: Mapping[str, Signature]
) -> ThresholdResult:
    """Does ROLE's PAYLOAD carry a threshold of signatures by the keys DELEGATOR assigns it?

    A role DELEGATOR does not delegate has no keys and a threshold of 0: never met.
    """
    assigned = role_keys(delegator, role)
    if assigned is None:
        return ThresholdResult(0, frozenset())
    return check_threshold(payload, signatures, assigned.keys, assigned.threshold)
