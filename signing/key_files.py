"""Private key files read, and signing with them, without securesystemslib.

`load_private_key` reads a private key file (signing.keys writes them: PKCS#8 PEM,
scrypt-encrypted unless the caller passes the explicit insecure source);
`KeySigner` signs TUF payloads with it. ed25519 keys (every online key the
repository generates) sign with `cryptography` directly, so the repository's
publish path (snapshot and timestamp) never loads securesystemslib, which costs
about 50 ms of start-up; ECDSA and RSA-PSS keys sign through securesystemslib,
imported only for them. signing.keys builds on this module for everything else.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from signing.errors import SigningError

KeyKind = Literal["ed25519", "ecdsa-p256", "rsa-pss"]
KEY_KINDS: tuple[KeyKind, ...] = ("ed25519", "ecdsa-p256", "rsa-pss")
RSA_BITS = 3072  # spec §4.2: RSA keys MUST be >= 2048 bits

PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub.json"
PRIVATE_MODE = 0o600
PUBLIC_MODE = 0o644

PrivateKey = ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


class KeyFileError(SigningError):
    """A key file is missing, malformed, or of an unsupported type."""


class PassphraseError(SigningError):
    """The passphrase is wrong, missing, or its source is unusable."""


@dataclass(frozen=True)
class PassphraseSource:
    """Where a private key's passphrase comes from.

    kind: "prompt" (ask on the terminal), "env" (value names an environment
    variable), "file" (value is a path; first line is the passphrase), or
    "insecure" (the key file is plaintext; only for tests and the demo).
    """

    kind: Literal["prompt", "env", "file", "insecure"]
    value: str = ""

    @classmethod
    def parse(cls, spec: str) -> PassphraseSource:
        """Parse "prompt", "insecure", "env:VAR" or "file:PATH"."""
        if spec in ("prompt", "insecure"):
            return cls(spec)  # type: ignore[arg-type]
        kind, sep, value = spec.partition(":")
        if sep and value and kind in ("env", "file"):
            return cls(kind, value)  # type: ignore[arg-type]
        raise PassphraseError(
            f"bad passphrase source {spec!r}: use prompt, insecure, env:VAR or file:PATH"
        )

    def read(self, purpose: str, confirm: bool = False) -> bytes | None:
        """The passphrase bytes, or None for the insecure (plaintext) source."""
        if self.kind == "insecure":
            return None
        if self.kind == "env":
            value = os.environ.get(self.value)
            if not value:
                raise PassphraseError(
                    f"environment variable {self.value} is unset or empty; "
                    f"set it to the passphrase for {purpose}"
                )
            return value.encode()
        if self.kind == "file":
            try:
                lines = Path(self.value).read_text().splitlines()
            except OSError as error:
                raise PassphraseError(
                    f"cannot read passphrase file {self.value}: {error.strerror}"
                ) from None
            if not lines or not lines[0]:
                raise PassphraseError(
                    f"passphrase file {self.value} is empty; put the passphrase on its first line"
                )
            return lines[0].encode()
        import getpass  # only a prompt needs the terminal modules

        first = getpass.getpass(f"passphrase for {purpose}: ")
        if confirm and getpass.getpass(f"repeat passphrase for {purpose}: ") != first:
            raise PassphraseError("the two passphrases do not match; enter the same one twice")
        if not first:
            raise PassphraseError(f"empty passphrase for {purpose}; type the passphrase")
        return first.encode()


INSECURE = PassphraseSource("insecure")


def is_pem_private(data: bytes) -> bool:
    return b"PRIVATE KEY-----" in data


def not_a_private_key(path: Path, data: bytes) -> KeyFileError:
    if data.lstrip().startswith(b"{") and b'"keyid"' in data:
        return KeyFileError(f"{path} is a public key file; give the private key file (NAME.key)")
    return KeyFileError(
        f"{path} is not a private key file (expected PEM 'PRIVATE KEY', as written by "
        "`repo-tool key generate`)"
    )


def checked_private_key(private: object, path: Path) -> PrivateKey:
    if isinstance(private, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        return private
    if isinstance(private, ec.EllipticCurvePrivateKey):
        if not isinstance(private.curve, ec.SECP256R1):
            raise KeyFileError(f"{path}: only NIST P-256 ECDSA keys are supported")
        return private
    raise KeyFileError(f"{path}: unsupported private key type {type(private).__name__}")


def load_private_key(
    private_key_path: Path, passphrase_source: PassphraseSource | str = "prompt"
) -> PrivateKey:
    """The private key in a key file (either encryption format).

    Raises PassphraseError on a wrong passphrase, or when an encrypted file
    is opened with the insecure source or a plaintext file with a passphrase.
    """
    source = (
        passphrase_source
        if isinstance(passphrase_source, PassphraseSource)
        else PassphraseSource.parse(passphrase_source)
    )
    path = Path(private_key_path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"cannot read private key {path}: {error.strerror}") from None
    if not is_pem_private(data):
        raise not_a_private_key(path, data)
    encrypted = b"ENCRYPTED PRIVATE KEY" in data
    if encrypted and source.kind == "insecure":
        raise PassphraseError(
            f"{path} is encrypted; give its passphrase instead of the insecure (plaintext) flag"
        )
    if not encrypted and source.kind != "insecure":
        raise PassphraseError(
            f"{path} is an unencrypted key; refusing it without the explicit insecure flag"
        )
    passphrase = source.read(str(path)) if encrypted else None
    try:
        loaded = serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError):
        if encrypted:
            raise PassphraseError(
                f"wrong passphrase for private key {path}; check the passphrase you gave"
            ) from None
        raise KeyFileError(f"{path}: malformed private key") from None
    return checked_private_key(loaded, path)


def public_key_dict(private: PrivateKey) -> dict[str, Any]:
    """The TUF key object of PRIVATE's public half (keytype, scheme, keyval), as
    securesystemslib's SSlibKey.from_crypto writes it."""
    if isinstance(private, ed25519.Ed25519PrivateKey):
        public = private.public_key().public_bytes_raw().hex()
        return {"keytype": "ed25519", "scheme": "ed25519", "keyval": {"public": public}}
    from securesystemslib.signer import SSlibKey

    return SSlibKey.from_crypto(private.public_key()).to_dict()


def keyid_of_dict(key: Mapping[str, Any]) -> str:
    """The TUF keyid of KEY (spec 4.2: hex sha256 of the key object's canonical JSON).

    The key objects written here hold only ASCII letters, digits and PEM text without
    quotes or backslashes, for which compact key-sorted JSON is the canonical form;
    a key that needs escapes is refused rather than hashed in another encoding.
    """
    text = json.dumps(key, sort_keys=True, separators=(",", ":"))
    if "\\" in text:
        from securesystemslib.formats import encode_canonical

        canonical = encode_canonical(dict(key))
        assert canonical is not None  # only None when writing to an output function
        text = canonical
    return hashlib.sha256(text.encode()).hexdigest()


class KeySigner:
    """Signs TUF payloads with one private key: `sign` returns the signature entry
    `{"keyid": KEYID, "sig": HEX}` a metadata file lists."""

    def __init__(self, private_key: PrivateKey) -> None:
        self.private_key = private_key
        self.public_key = public_key_dict(private_key)
        self.keyid = keyid_of_dict(self.public_key)

    def sign(self, payload: bytes) -> dict[str, str]:
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            return {"keyid": self.keyid, "sig": self.private_key.sign(payload).hex()}
        from securesystemslib.signer import CryptoSigner, SSlibKey

        public = SSlibKey.from_dict(self.keyid, json.loads(json.dumps(self.public_key)))
        signature = CryptoSigner(self.private_key, public).sign(payload)
        return {"keyid": self.keyid, "sig": signature.signature}


def load_key_signer(
    private_key_path: Path, passphrase_source: PassphraseSource | str = "prompt"
) -> KeySigner:
    """A KeySigner for a private key file (see load_private_key)."""
    return KeySigner(load_private_key(private_key_path, passphrase_source))
