"""Key encryption at rest: standard PKCS#8 PBES2/scrypt that OpenSSL reads; old keys still open."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from signing.key_encryption import (
    MIN_PASSPHRASE_LENGTH,
    ScryptCost,
    WeakPassphraseError,
    check_new_passphrase,
    encrypt_private_key,
    key_protection,
)
from signing.keys import PassphraseError, PassphraseSource, load_public_key, load_signer

DATA = Path(__file__).parent / "data"
CHEAP = ScryptCost(n=2**12, r=8, p=1)
PASSPHRASE = b"correct horse battery"


def unencrypted_der(private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return private.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                 serialization.NoEncryption())


@pytest.mark.parametrize("private", [ed25519.Ed25519PrivateKey.generate(),
                                     ec.generate_private_key(ec.SECP256R1())],
                         ids=["ed25519", "ecdsa-p256"])
def test_openssl_decrypts_our_files_to_the_same_key(
    tmp_path: Path, private: ed25519.Ed25519PrivateKey | ec.EllipticCurvePrivateKey
) -> None:
    path = tmp_path / "k.key"
    path.write_bytes(encrypt_private_key(unencrypted_der(private), PASSPHRASE, CHEAP))
    structure = subprocess.run(["openssl", "asn1parse", "-in", str(path)], capture_output=True,
                               text=True, check=True).stdout
    objects = [line.rsplit(":", 1)[1] for line in structure.splitlines() if "OBJECT" in line]
    assert objects == ["PBES2", "scrypt", "aes-256-cbc"]
    decrypted = subprocess.run(
        ["openssl", "pkcs8", "-in", str(path), "-passin", "env:PW", "-outform", "DER"],
        env={"PW": PASSPHRASE.decode()}, capture_output=True, check=True,
    ).stdout
    reloaded = serialization.load_der_private_key(decrypted, password=None)
    assert isinstance(reloaded, type(private))
    assert unencrypted_der(reloaded) == unencrypted_der(private)
    wrong = subprocess.run(["openssl", "pkcs8", "-in", str(path), "-passin", "pass:wrong"],
                           capture_output=True, check=False)
    assert wrong.returncode != 0


def test_salt_and_iv_are_fresh_for_every_file() -> None:
    der = unencrypted_der(ed25519.Ed25519PrivateKey.generate())
    first, second = (encrypt_private_key(der, PASSPHRASE, CHEAP) for _ in range(2))
    assert first != second


def test_minimum_passphrase_length_counts_characters() -> None:
    assert MIN_PASSPHRASE_LENGTH == 12
    check_new_passphrase(b"x" * 12)
    check_new_passphrase("äöüäöüäöüäöü".encode())  # 12 characters, 24 bytes
    for short in (b"", b"a", b"x" * 11, "äöüäöüäöüäö".encode()):
        with pytest.raises(WeakPassphraseError, match="at least 12"):
            check_new_passphrase(short)
    with pytest.raises(WeakPassphraseError):
        encrypt_private_key(unencrypted_der(ed25519.Ed25519PrivateKey.generate()), b"x", CHEAP)


def test_key_written_by_the_old_pbkdf2_code_still_opens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OLD_PW", "old pw")
    signer = load_signer(DATA / "pbkdf2-2048-ed25519.key", PassphraseSource("env", "OLD_PW"))
    public = load_public_key(DATA / "pbkdf2-2048-ed25519.pub.json")
    assert signer.public_key.keyid == public.keyid
    public.verify_signature(signer.sign(b"payload"), b"payload")
    monkeypatch.setenv("OLD_PW", "old pw!")
    with pytest.raises(PassphraseError, match="wrong passphrase"):
        load_signer(DATA / "pbkdf2-2048-ed25519.key", PassphraseSource("env", "OLD_PW"))


def test_key_protection_reads_the_header_and_never_guesses() -> None:
    der = unencrypted_der(ed25519.Ed25519PrivateKey.generate())
    new = encrypt_private_key(der, PASSPHRASE, CHEAP)
    assert key_protection(new) == "scrypt"
    assert key_protection((DATA / "pbkdf2-2048-ed25519.key").read_bytes()) == "pbkdf2"
    plain = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    assert key_protection(plain) == "plaintext"
    body = b"".join(new.splitlines()[1:-1])
    for broken in (
        b"{}",
        new.replace(body[:8], b"!!!!!!!!"),  # not base64
        new[: len(new) // 2],  # no END line
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMAA=\n-----END ENCRYPTED PRIVATE KEY-----\n",
        b"-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB\n-----END ENCRYPTED PRIVATE KEY-----\n",
    ):
        assert key_protection(broken) == "other", broken
