"""Key files: generate, encrypt at rest, load as securesystemslib signers and TUF keys.

Private key file: PKCS#8 PEM (mode 0600), encrypted with a passphrase of at
least 12 characters through scrypt (signing.key_encryption; files of older
versions, PBKDF2 at 2,048 iterations, are still read and re-encrypted by
reencrypt_key_file). A plaintext private key file is written or read only
when the caller passes the explicit insecure source (tests and the demo).
Key files are created with fsio.create_exclusive: never over an existing
file or symbolic link, never through a name another user could plant.

Public key file: JSON ``{"keyid": KEYID, "key": {"keytype", "scheme", "keyval"}}``
where KEYID is the TUF keyid: hex sha256 of the canonical JSON of the key
(spec §4.2). A private key file is also accepted wherever a public key is
needed (its public half is used).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from securesystemslib.formats import encode_canonical
from securesystemslib.signer import CryptoSigner, Key, SSlibKey

from fsio import DestinationExistsError, atomic_write, create_exclusive, sweep_temp_files
from signing.key_encryption import encrypt_private_key
from signing.key_files import INSECURE as INSECURE
from signing.key_files import KEY_KINDS as KEY_KINDS
from signing.key_files import PRIVATE_MODE as PRIVATE_MODE
from signing.key_files import PRIVATE_SUFFIX as PRIVATE_SUFFIX
from signing.key_files import PUBLIC_MODE as PUBLIC_MODE
from signing.key_files import PUBLIC_SUFFIX as PUBLIC_SUFFIX
from signing.key_files import RSA_BITS as RSA_BITS
from signing.key_files import KeyFileError as KeyFileError
from signing.key_files import KeyKind as KeyKind
from signing.key_files import PassphraseError as PassphraseError
from signing.key_files import PassphraseSource as PassphraseSource
from signing.key_files import PrivateKey as PrivateKey
from signing.key_files import checked_private_key, is_pem_private, load_private_key


def load_signer(
    private_key_path: Path, passphrase_source: PassphraseSource | str = "prompt"
) -> KeyFileSigner:
    """A securesystemslib signer for a private key file (signing.key_files.load_private_key).

    Raises PassphraseError on a wrong passphrase, or when an encrypted file
    is opened with the insecure source or a plaintext file with a passphrase.
    """
    private = load_private_key(private_key_path, passphrase_source)
    return KeyFileSigner(private, SSlibKey.from_crypto(private.public_key()))


class KeyFileSigner(CryptoSigner):
    """A signer that keeps its private key object, so that it can be written to a key file."""

    def __init__(self, private_key: PrivateKey, public_key: SSlibKey) -> None:
        super().__init__(private_key, public_key)
        self.private_key = private_key


def generate_key(kind: KeyKind = "ed25519") -> KeyFileSigner:
    """A new private key of the given kind, as a signer whose public_key carries the TUF keyid."""
    private: PrivateKey
    if kind == "ed25519":
        private = ed25519.Ed25519PrivateKey.generate()
    elif kind == "ecdsa-p256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif kind == "rsa-pss":
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
    else:
        raise KeyFileError(f"unknown key kind {kind!r}: use one of {', '.join(KEY_KINDS)}")
    # SSlibKey.from_crypto picks the TUF scheme: ed25519, ecdsa-sha2-nistp256, rsassa-pss-sha256.
    return KeyFileSigner(private, SSlibKey.from_crypto(private.public_key()))


def keyid_of(key: Key) -> str:
    """The TUF keyid of a key: hex sha256 of the canonical JSON of its dict form."""
    canonical = encode_canonical(key.to_dict())
    assert canonical is not None  # only None when writing to an output function
    return hashlib.sha256(canonical.encode()).hexdigest()


def private_key_pem(signer: KeyFileSigner, passphrase: bytes | None) -> bytes:
    """PKCS#8 PEM of the signer's private key; scrypt-encrypted unless passphrase is None.

    Raises WeakPassphraseError for a passphrase shorter than the minimum.
    """
    if passphrase is None:
        return signer.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    der = signer.private_key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return encrypt_private_key(der, passphrase)


def public_key_document(key: Key) -> dict[str, object]:
    """The JSON document of a public key file."""
    return {"keyid": key.keyid, "key": key.to_dict()}


def write_key_pair(
    signer: KeyFileSigner, private_path: Path, passphrase: bytes | None
) -> tuple[Path, Path]:
    """Write private (mode 0600) and public key files; the public one beside it.

    Returns (private_path, public_path). passphrase None writes plaintext.
    """
    public_path = public_path_for(private_path)
    sweep_temp_files(private_path.parent)
    for path in (private_path, public_path):
        if os.path.lexists(path):
            raise KeyFileError(
                f"{path} already exists; refusing to overwrite a key (choose another name)"
            )
    doc = json.dumps(public_key_document(signer.public_key), indent=2, sort_keys=True)
    private_pem = private_key_pem(signer, passphrase)
    try:
        create_exclusive(private_path, private_pem, PRIVATE_MODE)
        try:
            create_exclusive(public_path, (doc + "\n").encode(), PUBLIC_MODE)
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


def reencrypt_key_file(
    private_key_path: Path, signer: KeyFileSigner, new_passphrase: bytes
) -> None:
    """Replace a private key file by the same key encrypted with new_passphrase (scrypt).

    signer is the key as load_signer read it from that file (any format this
    tool ever wrote, or plaintext). The new file is checked to decrypt to the
    same key before it replaces the old one atomically (mode 0600). The key,
    its keyid and its public key file do not change.
    """
    path = Path(private_key_path)
    pem = private_key_pem(signer, new_passphrase)
    reloaded = serialization.load_pem_private_key(pem, password=new_passphrase)
    if SSlibKey.from_crypto(reloaded.public_key()).keyid != signer.public_key.keyid:
        raise KeyFileError(f"{path}: re-encryption did not round-trip; the old file is kept")
    sweep_temp_files(path.parent)
    atomic_write(path, pem, PRIVATE_MODE)


def load_public_key(path: Path) -> Key:
    """The TUF public key in a public key file (or the public half of a private key file).

    An encrypted private key file cannot be used here: pass its .pub.json.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as error:
        raise KeyFileError(f"cannot read public key {path}: {error.strerror}") from None
    if is_pem_private(data):
        if b"ENCRYPTED PRIVATE KEY" in data:
            raise KeyFileError(f"{path} is an encrypted private key; pass its public key file")
        try:
            loaded = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise KeyFileError(f"{path}: malformed private key") from None
        return SSlibKey.from_crypto(checked_private_key(loaded, path).public_key())
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
