"""The one threshold rule (signing.threshold.check_threshold), case by case."""

from __future__ import annotations

from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from securesystemslib.signer import CryptoSigner, Key, Signature, SSlibKey

from signing.threshold import check_threshold, key_material

PAYLOAD = b"the signed part"


def ed25519() -> tuple[Ed25519PrivateKey, CryptoSigner]:
    private = Ed25519PrivateKey.generate()
    return private, CryptoSigner(private)


def relisted(key: Key, keyid: str, scheme: str | None = None,
             public: str | None = None) -> SSlibKey:
    """KEY listed under KEYID, optionally with another scheme name or public value text."""
    keyval = {"public": public} if public is not None else dict(key.keyval)
    return SSlibKey(keyid, key.keytype, scheme or key.scheme, keyval)


def sign_as(private: Ed25519PrivateKey | ec.EllipticCurvePrivateKey, key: SSlibKey) -> Signature:
    return CryptoSigner(private, public_key=key).sign(PAYLOAD)


def test_distinct_keys_meet_the_threshold() -> None:
    (_, a), (_, b) = ed25519(), ed25519()
    keys = {a.public_key.keyid: a.public_key, b.public_key.keyid: b.public_key}
    signatures = {s.keyid: s for s in (a.sign(PAYLOAD), b.sign(PAYLOAD))}
    result = check_threshold(PAYLOAD, signatures, keys, 2)
    assert result.satisfied and result.counted == frozenset(keys)


def test_one_key_under_two_keyids_counts_once() -> None:
    private, signer = ed25519()
    twin = relisted(signer.public_key, "b" * 64)
    keys = {signer.public_key.keyid: signer.public_key, twin.keyid: twin}
    signatures = {signer.public_key.keyid: signer.sign(PAYLOAD), twin.keyid: sign_as(private, twin)}
    result = check_threshold(PAYLOAD, signatures, keys, 2)
    assert result.valid == 1 and not result.satisfied


def test_one_key_written_two_ways_counts_once() -> None:
    """Hex in upper case is the same ed25519 key; so is an EC key under another scheme name."""
    private, signer = ed25519()
    upper = relisted(signer.public_key, "c" * 64, public=signer.public_key.keyval["public"].upper())
    keys = {signer.public_key.keyid: signer.public_key, upper.keyid: upper}
    signatures = {
        signer.public_key.keyid: signer.sign(PAYLOAD), upper.keyid: sign_as(private, upper)
    }
    assert check_threshold(PAYLOAD, signatures, keys, 2).valid == 1

    ec_private = ec.generate_private_key(ec.SECP256R1())
    ec_signer = CryptoSigner(ec_private)
    pem = ec_private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    reflowed = relisted(ec_signer.public_key, "d" * 64, public=pem.decode().rstrip("\n"))
    assert reflowed.keyval != ec_signer.public_key.keyval
    assert key_material(reflowed) == key_material(ec_signer.public_key)


def test_unknown_scheme_counts_zero() -> None:
    _, signer = ed25519()
    odd = relisted(signer.public_key, signer.public_key.keyid, scheme="ed25519-but-new")
    signature = signer.sign(PAYLOAD)
    assert check_threshold(PAYLOAD, {odd.keyid: signature}, {odd.keyid: odd}, 1).valid == 0


def test_signatures_by_keys_not_assigned_count_zero() -> None:
    (_, assigned), (stranger_private, stranger) = ed25519(), ed25519()
    keys = {assigned.public_key.keyid: assigned.public_key}
    by_stranger = stranger.sign(PAYLOAD)
    assert not check_threshold(PAYLOAD, {by_stranger.keyid: by_stranger}, keys, 1).satisfied
    # ... also when the stranger signs under the assigned key's keyid.
    forged = sign_as(stranger_private, relisted(stranger.public_key, assigned.public_key.keyid))
    assert not check_threshold(PAYLOAD, {forged.keyid: forged}, keys, 1).satisfied


def test_bad_and_mislabelled_signatures_count_zero() -> None:
    _, signer = ed25519()
    keyid = signer.public_key.keyid
    keys = {keyid: signer.public_key}
    for bad in (Signature(keyid, "00" * 64), Signature(keyid, "not hex"),
                signer.sign(b"other bytes")):
        assert check_threshold(PAYLOAD, {keyid: bad}, keys, 1).valid == 0
    # A valid signature filed under a keyid it does not name.
    good = signer.sign(PAYLOAD)
    assert check_threshold(PAYLOAD, {"e" * 64: good}, {"e" * 64: signer.public_key}, 1).valid == 0


def test_threshold_below_one_is_never_met() -> None:
    _, signer = ed25519()
    keys = {signer.public_key.keyid: signer.public_key}
    signature = signer.sign(PAYLOAD)
    assert not check_threshold(PAYLOAD, {signature.keyid: signature}, keys, 0).satisfied
    assert not check_threshold(PAYLOAD, {}, {}, 0).satisfied
