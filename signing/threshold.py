"""The threshold rule: does a payload carry valid signatures by a threshold of distinct keys?

This is the one place the rule lives. The repository (staging, publish,
quorum changes, loading its own files), `repo-tool verify`, the client and
TAP 8 rotation all decide with `check_threshold`; `tuf_metadata.trust`
derives the keys a delegator assigns to a role and calls it.

It lives in `signing` because it is a rule about keys and signatures, not
about TUF roles: attestations and any other signed statement can use it, and
`tuf_metadata` may import `signing` (never the other way round).

It takes plain TUF data, as the metadata files hold it: keys as TUF key objects
(`{"keytype", "scheme", "keyval": {"public"}}`) by keyid, signatures as hex by
keyid. ed25519 (the repository's and the authors' keys) is verified with
`cryptography` directly; any other scheme through securesystemslib, imported
only then, so a process that meets only ed25519 keys (a publish) never loads it.

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
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

KeyDict = Mapping[str, Any]
"""A public key as TUF metadata writes it: keytype, scheme, keyval {"public": ...}."""

SignatureMap = Mapping[str, str]
"""Signatures over one payload: hex signature by keyid."""

ED25519 = "ed25519"
_HEX = re.compile(r"[0-9a-fA-F]*")
_ED25519_KEY_HEX = 64  # 32 bytes (RFC 8032 section 5.1.5)
_ED25519_SIGNATURE_HEX = 128  # 64 bytes (RFC 8032 section 5.1.6)


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


def _hex_bytes(text: object, length: int) -> bytes | None:
    """TEXT as bytes if it is exactly LENGTH hex digits (either case), else None.

    bytes.fromhex alone would also take spaces: one key must have one spelling
    up to letter case.
    """
    if not isinstance(text, str) or len(text) != length or not _HEX.fullmatch(text):
        return None
    return bytes.fromhex(text)


def _public_text(key: KeyDict) -> str | None:
    keyval = key.get("keyval")
    public = keyval.get("public") if isinstance(keyval, Mapping) else None
    return public if isinstance(public, str) else None


def _is_ed25519(key: KeyDict) -> bool:
    return key.get("keytype") == ED25519 and key.get("scheme") == ED25519


@lru_cache(maxsize=1024)
def _ed25519_public(public: str) -> Ed25519PublicKey | None:
    raw = _hex_bytes(public, _ED25519_KEY_HEX)
    if raw is None:
        return None
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError:
        return None


@lru_cache(maxsize=1024)
def _material(keytype: object, public: str | None, written: str) -> bytes:
    """The public key as DER SubjectPublicKeyInfo, whatever way it was written down.

    Hex in either case, PEM with any line breaks: all the same key. A value that
    does not load is compared as written (such a key cannot verify anything).
    """
    if public is not None:
        try:
            if keytype == ED25519:
                loaded = _ed25519_public(public)
                if loaded is not None:
                    return loaded.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
            else:
                pem = load_pem_public_key(public.encode())
                return pem.public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
        except (ValueError, TypeError):
            pass
    return b"unparsed:" + written.encode()


def key_material(key: KeyDict) -> bytes:
    """What identifies the holder of KEY: its normalised public key (not its keyid)."""
    try:
        written = json.dumps(key.get("keyval"), sort_keys=True)
    except (TypeError, ValueError):
        written = repr(key.get("keyval"))
    return _material(key.get("keytype"), _public_text(key), written)


def distinct_keys(keys: Iterable[KeyDict]) -> int:
    """How many different keys KEYS holds (by key material, not by keyid)."""
    return len({key_material(key) for key in keys})


def _verify_other_scheme(keyid: str, key: KeyDict, signature: str, payload: bytes) -> bool:
    # Only non-ed25519 keys get here (a maintainer's HSM ecdsa key, say): securesystemslib
    # knows every scheme TUF names and costs ~50 ms to import, paid only by those.
    from securesystemslib.signer import Key, Signature

    try:
        parsed = Key.from_dict(keyid, json.loads(json.dumps(dict(key))))  # from_dict pops
        parsed.verify_signature(Signature(keyid, signature), payload)
    except Exception:  # bad signature, unknown scheme, malformed value: counts zero
        return False
    return True


def verify_signature(keyid: str, key: KeyDict, signature: str, payload: bytes) -> bool:
    """True if SIGNATURE (hex) is KEY's valid signature over PAYLOAD."""
    if not _is_ed25519(key):
        return _verify_other_scheme(keyid, key, signature, payload)
    public_text = _public_text(key)
    public = _ed25519_public(public_text) if public_text is not None else None
    raw = _hex_bytes(signature, _ED25519_SIGNATURE_HEX)
    if public is None or raw is None:
        return False
    try:
        public.verify(raw, payload)
    except InvalidSignature:
        return False
    return True


def usable_key(keyid: str, key: KeyDict) -> bool:
    """Whether signatures can be checked with KEY: a keytype and scheme this rule knows
    and a public value that loads (ed25519 here; other schemes as securesystemslib says)."""
    if _is_ed25519(key):
        public = _public_text(key)
        return public is not None and _ed25519_public(public) is not None
    from securesystemslib.signer import Key

    try:
        Key.from_dict(keyid, json.loads(json.dumps(dict(key))))
    except Exception:  # securesystemslib raises several types for keys it cannot use
        return False
    return True


def check_threshold(
    payload: bytes,
    signatures: SignatureMap,
    keys: Mapping[str, KeyDict],
    threshold: int,
) -> ThresholdResult:
    """Count the distinct keys among KEYS whose signature over PAYLOAD verifies.

    KEYS are the keys the delegator assigns to the role, by keyid (a keyid
    listed twice is one entry); SIGNATURES are the role's, hex by keyid.
    """
    counted: dict[bytes, str] = {}
    for keyid, key in keys.items():
        signature = signatures.get(keyid)
        if signature is None or not isinstance(key, Mapping):
            continue
        if verify_signature(keyid, key, signature, payload):
            counted.setdefault(key_material(key), keyid)
    return ThresholdResult(threshold, frozenset(counted.values()))


def signature_map(entries: object) -> dict[str, str]:
    """The signatures list of a metadata file (`[{"keyid", "sig"}, ...]`) by keyid.

    ValueError if it is not such a list or names one keyid twice (python-tuf refuses
    those files too; counting either signature would make the file mean two things).
    """
    if not isinstance(entries, list):
        raise ValueError("signatures is not a list")
    found: dict[str, str] = {}
    for entry in entries:
        keyid = entry.get("keyid") if isinstance(entry, dict) else None
        sig = entry.get("sig") if isinstance(entry, dict) else None
        if not isinstance(keyid, str) or not isinstance(sig, str):
            raise ValueError("malformed signature entry")
        if keyid in found:
            raise ValueError(f"duplicate signature by keyid {keyid}")
        found[keyid] = sig
    return found
