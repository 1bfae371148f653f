"""The threshold rule: does a payload carry valid signatures by a threshold of distinct keys?

This is the one place the rule lives. The repository (staging, publish,
quorum changes, loading its own files), `repo-tool verify`, the client and
TAP 8 rotation all decide with `check_threshold`; `tuf_metadata.trust`
derives the keys a delegator assigns to a role and calls it.

It lives in `signing` because it is a rule about keys and signatures, not
about TUF roles: attestations and any other signed statement can use it, and
`tuf_metadata` may import `signing` (never the other way round).

What counts (TUF spec 4.2: a threshold is of *keys*, not of keyids):
- only the keys the delegator assigns to the role (``keys``, by keyid); a
  signature by any other key counts zero;
- a keyid counts at most once, and a key counts at most once however many
  keyids it is listed under: keys are compared by their public key material
  (normalised, so one key written two ways is still one key);
- a signature counts only if it verifies; a bad signature, an unknown scheme,
  a malformed key or signature counts zero;
- a threshold below 1 is never met.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)
from securesystemslib.signer import Key, Signature


@dataclass(frozen=True)
class ThresholdResult:
    """Outcome of one threshold check."""

    threshold: int
    counted: frozenset[str]
    """Keyids whose valid signature counted, one per distinct key."""

    @property
    def valid(self) -> int:
        return len(self.counted)

    @property
    def satisfied(self) -> bool:
        return self.threshold >= 1 and len(self.counted) >= self.threshold

    def describe(self) -> str:
        """`K of T required signatures` for error messages."""
        return f"{self.valid} of {self.threshold} required signatures"


@lru_cache(maxsize=1024)
def _material(keytype: str, keyval: str) -> bytes:
    """The public key as DER SubjectPublicKeyInfo, whatever way it was written down.

    Hex in either case, PEM with any line breaks: all the same key. A value that
    does not load is compared as written (such a key cannot verify anything).
    """
    values = json.loads(keyval)
    public = values.get("public") if isinstance(values, dict) else None
    try:
        if keytype == "ed25519" and isinstance(public, str):
            loaded = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
            return loaded.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        if isinstance(public, str):
            pem = load_pem_public_key(public.encode())
            return pem.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    except (ValueError, TypeError):
        pass
    return b"unparsed:" + keyval.encode()


def key_material(key: Key) -> bytes:
    """What identifies the holder of KEY: its normalised public key (not its keyid)."""
    return _material(key.keytype, json.dumps(key.keyval, sort_keys=True))


def check_threshold(
    payload: bytes,
    signatures: Mapping[str, Signature],
    keys: Mapping[str, Key],
    threshold: int,
) -> ThresholdResult:
    """Count the distinct keys among KEYS whose signature over PAYLOAD verifies.

    KEYS are the keys the delegator assigns to the role, by keyid (a keyid
    listed twice is one entry); SIGNATURES are the role's, by keyid.
    """
    counted: dict[bytes, str] = {}
    for keyid, key in keys.items():
        signature = signatures.get(keyid)
        if signature is None or signature.keyid != keyid:
            continue
        try:
            key.verify_signature(signature, payload)
        except Exception:  # bad signature, unknown scheme, malformed value: counts zero
            continue
        counted.setdefault(key_material(key), keyid)
    return ThresholdResult(threshold, frozenset(counted.values()))
