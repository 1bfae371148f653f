"""Key files: generate, encrypt at rest, load as securesystemslib signers and TUF keys.

Private key file: PKCS#8 PEM, encrypted with a passphrase (cryptography's best
available encryption). A plaintext private key file is written or read only
when the caller passes the explicit insecure source (tests and the demo).

Public key file: JSON ``{"keyid": KEYID, "key": {"keytype", "scheme", "keyval"}}``
where KEYID is the TUF keyid: hex sha256 of the canonical JSON of the key
(spec §4.2). A private key file is also accepted wherever a public key is
needed (its public half is used).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from securesystemslib.formats import encode_canonical
from securesystemslib.signer._crypto_signer import CryptoSigner
from securesystemslib.signer._key import Key, SSlibKey
from securesystemslib.signer._signer import Signer

from fsio import DestinationExistsError, create_exclusive, sweep_temp_files
from signing.errors import SigningError

KeyKind = Literal["ed25519", "ecdsa-p256", "rsa-pss"]
KEY_KINDS: tuple[KeyKind, ...] = ("ed25519", "ecdsa-p256", "rsa-pss")
RSA_BITS = 3072  # spec §4.2: RSA keys MUST be >= 2048 bits

PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub.json"


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
                raise PassphraseError(f"environment variable {self.value} is unset or empty")
            return value.encode()
        if self.kind == "file":
            try:
                lines = Path(self.value).read_text().splitlines()
            except OSError as error:
                raise PassphraseError(
                    f"cannot read passphrase file {self.value}: {error.strerror}"
                ) from None
            if not lines or not lines[0]:
                raise PassphraseError(f"passphrase file {self.value} is empty")
            return lines[0].encode()
        first = getpass.getpass(f"passphrase for {purpose}: ")
        if confirm and getpass.getpass(f"repeat passphrase for {purpose}: ") != first:
            raise PassphraseError("passphrases do not match")
        if not first:
            raise PassphraseError("empty passphrase")
        return first.encode()


INSECURE = PassphraseSource("insecure")


def generate_key(kind: KeyKind = "ed25519") -> CryptoSigner:
    """A new private key of the given kind, as a signer whose public_key carries the TUF keyid."""
    if kind == "ed25519":
        return CryptoSigner.generate_ed25519()
    if kind == "ecdsa-p256":
        return CryptoSigner.generate_ecdsa()
    if kind == "rsa-pss":
        return CryptoSigner.generate_rsa(size=RSA_BITS)
    raise KeyFileError(f"unknown key kind {kind!r}: use one of {', '.join(KEY_KINDS)}")


def keyid_of(key: Key) -> str:
    """The TUF keyid of a key: hex sha256 of the canonical JSON of its dict form."""
    canonical = encode_canonical(key.to_dict())
    assert canonical is not None  # only None when writing to an output function
    return hashlib.sha256(canonical.encode()).hexdigest()


def private_key_pem(signer: CryptoSigner, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM of the signer's private key; encrypted unless passphrase is None."""
    encryption: serialization.KeySerializationEncryption = (
        serialization.NoEncryption()
        if passphrase is None
        else serialization.BestAvailableEncryption(passphrase)
    )
    private = signer._private_key
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


def public_key_document(key: Key) -> dict[str, object]:
    """The JSON document of a public key file."""
    return {"keyid": key.keyid, "key": key.to_dict()}


def write_key_pair(
    signer: CryptoSigner, private_path: Path, passphrase: bytes | None
) -> tuple[Path, Path]:
    """Write private (mode 0600) and public key files; the public one beside it.

    Returns (private_path, public_path). passphrase None writes plaintext.
    """
    public_path = public_path_for(private_path)
    sweep_temp_files(private_path.parent)
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise KeyFileError(f"{path} already exists; refusing to overwrite a key")
    doc = json.dumps(public_key_document(signer.public_key), indent=2, sort_keys=True)
    try:
        create_exclusive(private_path, private_key_pem(signer, passphrase), 0o600)
        try:
            create_exclusive(public_path, (doc + "\n").encode(), 0o644)
        except BaseException:
            private_path.unlink()  # no private key without its public half
            raise
    except DestinationExistsError as error:
        raise KeyFileError(str(error)) from None
    return private_path, public_path


def public_path_for(private_path: Path) -> Path:
    """Public key file path beside a private key file: NAME.key -> NAME.pub.json."""
    name = private_path.name
    stem = name[: -len(PRIVATE_SUFFIX)] if name.endswith(PRIVATE_SUFFIX) else name
    return private_path.with_name(stem + PUBLIC_SUFFIX)


def _is_pem_private(data: bytes) -> bool:
    return b"PRIVATE KEY-----" in data


def _key_from_private(private: object, path: Path) -> SSlibKey:
    if isinstance(private, ed25519.Ed25519PrivateKey | rsa.RSAPrivateKey):
        return SSlibKey.from_crypto(private.public_key())
    if isinstance(private, ec.EllipticCurvePrivateKey):
        if not isinstance(private.curve, ec.SECP256R1):
            raise KeyFileError(f"{path}: only NIST P-256 ECDSA keys are supported")
        return SSlibKey.from_crypto(private.public_key())
    raise KeyFileError(f"{path}: unsupported private key type {type(private).__name__}")


def load_signer(
    private_key_path: Path, passphrase_source: PassphraseSource | str = "prompt"
) -> Signer:
    """A securesystemslib signer for a private key file.

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
    if not _is_pem_private(data):
        raise KeyFileError(f"{path} is not a PEM private key file")
    encrypted = b"ENCRYPTED PRIVATE KEY" in data
    if encrypted and source.kind == "insecure":
        raise PassphraseError(f"{path} is encrypted; give its passphrase source")
    if not encrypted and source.kind != "insecure":
        raise PassphraseError(
            f"{path} is an unencrypted key; refusing it without the explicit insecure flag"
        )
    passphrase = source.read(str(path)) if encrypted else None
    try:
        private = serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError):
        if encrypted:
            raise PassphraseError(f"wrong passphrase for private key {path}") from None
        raise KeyFileError(f"{path}: malformed private key") from None
    public = _key_from_private(private, path)
    return CryptoSigner(private, public)


def load_public_key(path: Path) -> Key:
    """The TUF public key in a public key file (or the public half of a private key file).

    An encrypted private key file cannot be used here: pass its .pub.json.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"cannot read public key {path}: {error.strerror}") from None
    if _is_pem_private(data):
        if b"ENCRYPTED PRIVATE KEY" in data:
            raise KeyFileError(f"{path} is an encrypted private key; pass its public key file")
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise KeyFileError(f"{path}: malformed private key") from None
        return _key_from_private(private, path)
    try:
        doc = json.loads(data)
        key_dict = dict(doc["key"])
        key = Key.from_dict(_keyid_from_doc(doc, path), key_dict)
    except (ValueError, KeyError, TypeError) as error:
        raise KeyFileError(f"{path}: not a public key file ({error})") from None
    if keyid_of(key) != key.keyid:
        raise KeyFileError(f"{path}: keyid does not match the key (TUF keyid check)")
    return key


def _keyid_from_doc(doc: dict[str, object], path: Path) -> str:
    keyid = doc.get("keyid")
    if not isinstance(keyid, str):
        raise KeyFileError(f"{path}: public key file lacks a keyid")
    return keyid
