"""The one threshold rule (signing.threshold.check_threshold), case by case.

The rule takes plain TUF data (key objects by keyid, hex signatures by keyid). ed25519
keys are verified with `cryptography` directly; the cases below also run through the
other path (securesystemslib, loaded lazily) with an ECDSA key, and compare the direct
path's answers with securesystemslib's on the same inputs.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from securesystemslib.signer import CryptoSigner, Key, Signature

from signing.threshold import check_threshold, key_material, signature_map, verify_signature

PAYLOAD = b"the signed part"


def ed25519() -> tuple[Ed25519PrivateKey, dict[str, Any], str]:
    """A new key: its private half, its TUF key object and keyid."""
    private = Ed25519PrivateKey.generate()
    public = CryptoSigner(private).public_key
    return private, public.to_dict(), public.keyid


def sign(private: Ed25519PrivateKey, payload: bytes = PAYLOAD) -> str:
    return private.sign(payload).hex()


def relisted(key: dict[str, Any], scheme: str | None = None,
             public: str | None = None) -> dict[str, Any]:
    """KEY with another scheme name or public value text."""
    keyval = {"public": public} if public is not None else dict(key["keyval"])
    return {**key, "scheme": scheme or key["scheme"], "keyval": keyval}


def test_distinct_keys_meet_the_threshold() -> None:
    (a, key_a, id_a), (b, key_b, id_b) = ed25519(), ed25519()
    keys = {id_a: key_a, id_b: key_b}
    result = check_threshold(PAYLOAD, {id_a: sign(a), id_b: sign(b)}, keys, 2)
    assert result.satisfied and result.counted == frozenset(keys)


def test_one_key_under_two_keyids_counts_once() -> None:
    private, key, keyid = ed25519()
    keys = {keyid: key, "b" * 64: dict(key)}
    result = check_threshold(PAYLOAD, {keyid: sign(private), "b" * 64: sign(private)}, keys, 2)
    assert result.valid == 1 and not result.satisfied


def test_one_key_written_two_ways_counts_once() -> None:
    """Hex in upper case is the same ed25519 key (and verifies as it); so is an EC key
    under another PEM line layout."""
    private, key, keyid = ed25519()
    upper = relisted(key, public=key["keyval"]["public"].upper())
    assert key_material(upper) == key_material(key)
    keys = {keyid: key, "c" * 64: upper}
    signatures = {keyid: sign(private), "c" * 64: sign(private)}
    result = check_threshold(PAYLOAD, signatures, keys, 2)
    assert result.valid == 1
    assert check_threshold(PAYLOAD, {"c" * 64: sign(private)}, {"c" * 64: upper}, 1).satisfied

    ec_private = ec.generate_private_key(ec.SECP256R1())
    ec_key = CryptoSigner(ec_private).public_key.to_dict()
    pem = ec_private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    reflowed = relisted(ec_key, public=pem.decode().rstrip("\n"))
    assert reflowed["keyval"] != ec_key["keyval"]
    assert key_material(reflowed) == key_material(ec_key)


def test_unknown_scheme_counts_zero() -> None:
    private, key, keyid = ed25519()
    odd = relisted(key, scheme="ed25519-but-new")
    assert check_threshold(PAYLOAD, {keyid: sign(private)}, {keyid: odd}, 1).valid == 0


def test_signatures_by_keys_not_assigned_count_zero() -> None:
    (_, assigned, assigned_id), (stranger, _, stranger_id) = ed25519(), ed25519()
    keys = {assigned_id: assigned}
    assert not check_threshold(PAYLOAD, {stranger_id: sign(stranger)}, keys, 1).satisfied
    # ... also when the stranger signs under the assigned key's keyid.
    assert not check_threshold(PAYLOAD, {assigned_id: sign(stranger)}, keys, 1).satisfied


def test_bad_signatures_count_zero() -> None:
    private, key, keyid = ed25519()
    keys = {keyid: key}
    good = sign(private)
    for bad in ("00" * 64, "not hex", sign(private, b"other bytes"),
                good[:-2],  # one byte short
                good + "00",  # one byte long
                " " + good[1:],  # what bytes.fromhex would skip
                good[:64] + " " * 64):
        assert check_threshold(PAYLOAD, {keyid: bad}, keys, 1).valid == 0, bad
    assert check_threshold(PAYLOAD, {keyid: good.upper()}, keys, 1).valid == 1


def test_malformed_ed25519_keys_count_zero() -> None:
    private, key, keyid = ed25519()
    public = key["keyval"]["public"]
    for broken in (relisted(key, public=public[:-2]),  # 31 bytes
                   relisted(key, public=public + "00"),  # 33 bytes
                   relisted(key, public="zz" + public[2:]),  # not hex
                   relisted(key, public=" " + public[1:]),
                   {**key, "keyval": "not an object"},
                   {**key, "keyval": {"public": 7}},
                   {"keytype": "ed25519", "scheme": "ed25519"}):
        assert check_threshold(PAYLOAD, {keyid: sign(private)}, {keyid: broken}, 1).valid == 0


def test_an_ecdsa_key_is_verified_through_securesystemslib() -> None:
    """Keys other than ed25519 (an HSM's ecdsa, say) go through the lazy path."""
    ec_private = ec.generate_private_key(ec.SECP256R1())
    signer = CryptoSigner(ec_private)
    key, keyid = signer.public_key.to_dict(), signer.public_key.keyid
    assert key["scheme"] == "ecdsa-sha2-nistp256"
    signature = signer.sign(PAYLOAD).signature
    assert check_threshold(PAYLOAD, {keyid: signature}, {keyid: key}, 1).satisfied
    other = CryptoSigner(ec.generate_private_key(ec.SECP256R1())).sign(PAYLOAD).signature
    assert check_threshold(PAYLOAD, {keyid: other}, {keyid: key}, 1).valid == 0
    assert check_threshold(PAYLOAD, {keyid: "zz"}, {keyid: key}, 1).valid == 0
    # Mixed with an ed25519 key, each counts once.
    private, ed_key, ed_id = ed25519()
    mixed = check_threshold(PAYLOAD, {keyid: signature, ed_id: sign(private)},
                            {keyid: key, ed_id: ed_key}, 2)
    assert mixed.satisfied


@pytest.mark.parametrize("case", ["good", "other payload", "upper", "zeros", "short"])
def test_the_direct_ed25519_path_agrees_with_securesystemslib(case: str) -> None:
    private, key, keyid = ed25519()
    signature = {
        "good": sign(private), "other payload": sign(private, b"x"),
        "upper": sign(private).upper(), "zeros": "00" * 64, "short": sign(private)[:126],
    }[case]
    sslib_key = Key.from_dict(keyid, dict(key, keyval=dict(key["keyval"])))
    try:
        sslib_key.verify_signature(Signature(keyid, signature), PAYLOAD)
        sslib_says = True
    except Exception:
        sslib_says = False
    assert verify_signature(keyid, key, signature, PAYLOAD) is sslib_says


def test_threshold_below_one_is_never_met() -> None:
    private, key, keyid = ed25519()
    assert not check_threshold(PAYLOAD, {keyid: sign(private)}, {keyid: key}, 0).satisfied
    assert not check_threshold(PAYLOAD, {}, {}, 0).satisfied


def test_a_signatures_list_names_each_keyid_once() -> None:
    assert signature_map([{"keyid": "a", "sig": "00"}, {"keyid": "b", "sig": "11"}]) == {
        "a": "00", "b": "11"}
    for bad in ([{"keyid": "a", "sig": "00"}, {"keyid": "a", "sig": "11"}],
                [{"keyid": "a"}], [["a", "00"]], {"a": "00"}, [{"keyid": 1, "sig": "00"}]):
        with pytest.raises(ValueError):
            signature_map(bad)


@pytest.mark.slow  # a fresh python shows which modules the check loads
def test_checking_ed25519_signatures_does_not_load_securesystemslib() -> None:
    code = (
        "import sys\n"
        "from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey\n"
        "from signing.threshold import check_threshold\n"
        "k = Ed25519PrivateKey.generate()\n"
        "pub = k.public_key().public_bytes_raw().hex()\n"
        "key = {'keytype': 'ed25519', 'scheme': 'ed25519', 'keyval': {'public': pub}}\n"
        "assert check_threshold(b'p', {'a': k.sign(b'p').hex()}, {'a': key}, 1).satisfied\n"
        "print(sorted(m for m in sys.modules if m.startswith(('securesystemslib', 'tuf'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout == "[]\n"
