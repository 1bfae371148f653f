"""Private keys encrypted at rest: standard PKCS#8 PEM, PBES2 with scrypt.

New keys are written as an EncryptedPrivateKeyInfo (RFC 5958) whose
PBES2 scheme (RFC 8018 §6.2) derives the AES-256-CBC key with scrypt
(RFC 7914 §7), cost NEW_KEY_COST: N=2**17, r=8, p=1, the first setting
OWASP's password storage guidance lists for scrypt. It takes 128 MiB and
about 0.3-1.5 s per derivation, paid once per command that unlocks a key;
a guess at a 12-character passphrase costs an attacker the same.

Only writing is done here: reading is cryptography's own PKCS#8 loader,
which understands both this format and the one older versions of this tool
wrote (cryptography's BestAvailableEncryption: PBES2 with PBKDF2-HMAC-SHA256
at 2,048 iterations, far too cheap to resist guessing). Such keys keep
working; `repo-tool key passwd` re-encrypts them in this format.

Tests may lower NEW_KEY_COST in-process (tests/repository/conftest.py); the
cost is recorded in each file, so reading is unaffected and nothing outside
the test process changes.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from signing.errors import SigningError

MIN_PASSPHRASE_LENGTH = 12  # characters; with scrypt this costs an attacker years per key
PEM_LABEL = "ENCRYPTED PRIVATE KEY"
SALT_BYTES = 16  # RFC 8018 §4.1 recommends at least 8
AES_KEY_BYTES = 32
AES_BLOCK_BYTES = 16

# Object identifiers
OID_PBES2 = "1.2.840.113549.1.5.13"  # RFC 8018 Appendix A.4
OID_PBKDF2 = "1.2.840.113549.1.5.12"  # RFC 8018 Appendix A.2
OID_SCRYPT = "1.3.6.1.4.1.11591.4.11"  # RFC 7914 §7
OID_AES256_CBC = "2.16.840.1.101.3.4.1.42"  # RFC 8018 Appendix B.2.5 (NIST aes256-CBC-PAD)

# DER tags (X.690 §8)
_INTEGER, _OCTET_STRING, _OID, _SEQUENCE = 0x02, 0x04, 0x06, 0x30


class WeakPassphraseError(SigningError):
    """A new passphrase is too short to protect a key."""


@dataclass(frozen=True)
class ScryptCost:
    """scrypt's CPU/memory cost N (a power of two), block size r and parallelism p."""

    n: int
    r: int
    p: int

    def __str__(self) -> str:
        return f"scrypt N=2^{self.n.bit_length() - 1}, r={self.r}, p={self.p}"


PRODUCTION_COST = ScryptCost(n=2**17, r=8, p=1)
NEW_KEY_COST = PRODUCTION_COST

# How a private key file is protected: "scrypt" (this module), "pbkdf2" (older
# versions: re-encrypt with `repo-tool key passwd`), "plaintext", or "other".
KeyProtection = Literal["scrypt", "pbkdf2", "plaintext", "other"]


def check_new_passphrase(passphrase: bytes) -> None:
    """Refuse a passphrase for a newly encrypted key that is shorter than the minimum."""
    length = len(passphrase.decode("utf-8", errors="replace"))
    if length < MIN_PASSPHRASE_LENGTH:
        raise WeakPassphraseError(
            f"the new passphrase has {length} characters; use at least "
            f"{MIN_PASSPHRASE_LENGTH} (several random words)"
        )


def encrypt_private_key(
    private_pkcs8_der: bytes, passphrase: bytes, cost: ScryptCost | None = None
) -> bytes:
    """PEM of an EncryptedPrivateKeyInfo holding the unencrypted PKCS#8 DER given.

    The passphrase must pass check_new_passphrase. cost defaults to NEW_KEY_COST.
    """
    check_new_passphrase(passphrase)
    cost = cost or NEW_KEY_COST
    salt = os.urandom(SALT_BYTES)
    iv = os.urandom(AES_BLOCK_BYTES)
    key = Scrypt(salt=salt, length=AES_KEY_BYTES, n=cost.n, r=cost.r, p=cost.p).derive(passphrase)
    padder = padding.PKCS7(AES_BLOCK_BYTES * 8).padder()
    padded = padder.update(private_pkcs8_der) + padder.finalize()
    encryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).encryptor()
    ciphertext = encryptor.update(padded) + encryptor.finalize()

    scrypt_params = _sequence(
        _der(_OCTET_STRING, salt), _integer(cost.n), _integer(cost.r), _integer(cost.p)
    )
    pbes2_params = _sequence(
        _sequence(_oid(OID_SCRYPT), scrypt_params),
        _sequence(_oid(OID_AES256_CBC), _der(_OCTET_STRING, iv)),
    )
    info = _sequence(
        _sequence(_oid(OID_PBES2), pbes2_params), _der(_OCTET_STRING, ciphertext)
    )
    return _pem(PEM_LABEL, info)


def key_protection(pem_data: bytes) -> KeyProtection:
    """How a PEM private key file is protected, read from its PKCS#8 header (no passphrase).

    Lets `key list` point out keys still encrypted the old, cheap way.
    """
    if f"-----BEGIN {PEM_LABEL}-----".encode() not in pem_data:
        return "plaintext" if b"-----BEGIN PRIVATE KEY-----" in pem_data else "other"
    try:
        der = _pem_body(pem_data, PEM_LABEL)
        _, info, _ = _read_tlv(der, _SEQUENCE)  # EncryptedPrivateKeyInfo
        _, algorithm, _ = _read_tlv(info, _SEQUENCE)  # encryptionAlgorithm
        scheme, _, rest = _read_tlv(algorithm, _OID)
        _, pbes2_params, _ = _read_tlv(rest, _SEQUENCE)
        _, kdf, _ = _read_tlv(pbes2_params, _SEQUENCE)  # keyDerivationFunc
        kdf_oid, _, _ = _read_tlv(kdf, _OID)
    except ValueError:
        return "other"
    if scheme != _oid(OID_PBES2):
        return "other"
    if kdf_oid == _oid(OID_SCRYPT):
        return "scrypt"
    return "pbkdf2" if kdf_oid == _oid(OID_PBKDF2) else "other"


def _read_tlv(data: bytes, tag: int) -> tuple[bytes, bytes, bytes]:
    """(the whole TLV, its content, what follows) for the DER TLV at the start of data.

    Raises ValueError unless data starts with a complete TLV of this tag.
    """
    if len(data) < 2 or data[0] != tag:
        raise ValueError("unexpected DER tag")
    offset, size = 2, data[1]
    if size & 0x80:
        count = size & 0x7F
        if not 1 <= count <= 4 or len(data) < 2 + count:
            raise ValueError("bad DER length")
        offset, size = 2 + count, int.from_bytes(data[2 : 2 + count], "big")
    end = offset + size
    if end > len(data):
        raise ValueError("truncated DER")
    return data[:end], data[offset:end], data[end:]


def _pem_body(pem_data: bytes, label: str) -> bytes:
    """The DER inside the first PEM block with this label (RFC 7468); ValueError if absent."""
    text = pem_data.decode("ascii", errors="replace")
    begin, end = f"-----BEGIN {label}-----", f"-----END {label}-----"
    start = text.index(begin) + len(begin)
    return base64.b64decode("".join(text[start : text.index(end, start)].split()), validate=True)


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV with a definite, minimal length (X.690 §8.1.3, §10.1)."""
    size = len(content)
    if size < 0x80:
        length = bytes([size])
    else:
        raw = size.to_bytes((size.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + content


def _sequence(*items: bytes) -> bytes:
    return _der(_SEQUENCE, b"".join(items))


def _integer(value: int) -> bytes:
    """A non-negative INTEGER: minimal two's complement, so a leading 0 when the top bit is set."""
    return _der(_INTEGER, value.to_bytes(value.bit_length() // 8 + 1, "big"))


def _oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER (X.690 §8.19): first two arcs in one byte, then base-128."""
    arcs = [int(arc) for arc in dotted.split(".")]
    body = bytearray([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        digits = [arc & 0x7F]
        arc >>= 7
        while arc:
            digits.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(digits))
    return _der(_OID, bytes(body))


def _pem(label: str, der: bytes) -> bytes:
    """RFC 7468 textual encoding: base64 in 64-character lines between the labels."""
    text = base64.b64encode(der).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    armored = [f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]
    return ("\n".join(armored) + "\n").encode()
