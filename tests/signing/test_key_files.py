"""Signing with a key file without securesystemslib (signing.key_files.KeySigner): the same
keys, keyids and signatures securesystemslib's signers produce."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from securesystemslib.signer import Key, Signature

from signing.key_files import INSECURE, KeySigner, load_key_signer
from signing.keys import KEY_KINDS, KeyKind, generate_key, load_signer, write_key_pair
from signing.threshold import check_threshold

PAYLOAD = b"a snapshot's canonical bytes"


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_key_signer_matches_securesystemslib(kind: KeyKind, tmp_path: Path) -> None:
    private_path, _ = write_key_pair(generate_key(kind), tmp_path / "k.key", None)
    ours = load_key_signer(private_path, INSECURE)
    theirs = load_signer(private_path, INSECURE)
    assert ours.keyid == theirs.public_key.keyid
    assert ours.public_key == theirs.public_key.to_dict()
    entry = ours.sign(PAYLOAD)
    assert set(entry) == {"keyid", "sig"} and entry["keyid"] == ours.keyid
    theirs.public_key.verify_signature(Signature(entry["keyid"], entry["sig"]), PAYLOAD)
    keys = {ours.keyid: ours.public_key}
    assert check_threshold(PAYLOAD, {ours.keyid: entry["sig"]}, keys, 1).satisfied
    assert not check_threshold(b"other", {ours.keyid: entry["sig"]}, keys, 1).satisfied
    if kind == "ed25519":  # deterministic (RFC 8032): the very bytes securesystemslib signs
        assert entry["sig"] == theirs.sign(PAYLOAD).signature
    assert Key.from_dict(ours.keyid, dict(ours.public_key)).keyid == ours.keyid


@pytest.mark.slow  # a fresh python shows which modules signing loads
def test_signing_with_an_ed25519_key_file_does_not_load_securesystemslib(tmp_path: Path) -> None:
    private_path, _ = write_key_pair(generate_key("ed25519"), tmp_path / "k.key", None)
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from signing.key_files import INSECURE, load_key_signer\n"
        f"signer = load_key_signer(Path({str(private_path)!r}), INSECURE)\n"
        "signer.sign(b'payload')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('securesystemslib', 'tuf'))))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout == "[]\n"


def test_key_signer_is_built_from_the_private_key() -> None:
    signer = generate_key("ed25519")
    assert KeySigner(signer.private_key).keyid == signer.public_key.keyid
