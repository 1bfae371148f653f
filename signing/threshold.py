"""Threshold collection: which keys validly signed a payload, and is it enough.

Pure functions over securesystemslib keys and signatures. Each keyid counts
at most once (TUF spec §1.2 "Thresholds"), and only keyids the role trusts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from securesystemslib.exceptions import UnverifiedSignatureError
from securesystemslib.signer import Key, Signature

from signing.errors import SigningError


class ThresholdError(SigningError):
    """Fewer than a threshold of trusted keys signed."""


@dataclass(frozen=True)
class ThresholdResult:
    """Outcome of a threshold check: which trusted keys signed, which are still missing."""

    threshold: int
    signed: frozenset[str]
    missing: frozenset[str]

    @property
    def satisfied(self) -> bool:
        return len(self.signed) >= self.threshold


def valid_signers(
    payload: bytes,
    signatures: Mapping[str, Signature],
    keys: Mapping[str, Key],
    trusted_keyids: Iterable[str],
) -> frozenset[str]:
    """Keyids among trusted_keyids whose key verifies its signature over payload."""
    good: set[str] = set()
    for keyid in set(trusted_keyids):
        key = keys.get(keyid)
        signature = signatures.get(keyid)
        if key is None or signature is None:
            continue
        try:
            key.verify_signature(signature, payload)
        except UnverifiedSignatureError:
            continue
        good.add(keyid)
    return frozenset(good)


def check_threshold(
    payload: bytes,
    signatures: Mapping[str, Signature],
    keys: Mapping[str, Key],
    trusted_keyids: Iterable[str],
    threshold: int,
) -> ThresholdResult:
    """Count the distinct trusted keys that validly signed payload against threshold."""
    trusted = frozenset(trusted_keyids)
    signed = valid_signers(payload, signatures, keys, trusted)
    return ThresholdResult(threshold, signed, trusted - signed)


def require_threshold(
    what: str,
    payload: bytes,
    signatures: Mapping[str, Signature],
    keys: Mapping[str, Key],
    trusted_keyids: Iterable[str],
    threshold: int,
) -> ThresholdResult:
    """check_threshold, raising ThresholdError (naming what) when it is not met."""
    result = check_threshold(payload, signatures, keys, trusted_keyids, threshold)
    if not result.satisfied:
        raise ThresholdError(
            f"{what}: {len(result.signed)} of {threshold} required signatures valid"
        )
    return result
