"""repo-tool key: generation per type, encryption at rest, TUF keyids, refusals."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from securesystemslib.formats import encode_canonical

from signing.errors import SigningError
from signing.keys import PassphraseSource, load_public_key, load_signer
from tests.repository.helpers import run


@pytest.mark.parametrize(
    ("kind", "keytype", "scheme"),
    [
        ("ed25519", "ed25519", "ed25519"),
        ("ecdsa-p256", "ecdsa", "ecdsa-sha2-nistp256"),
        ("rsa-pss", "rsa", "rsassa-pss-sha256"),
    ],
)
def test_generate_encrypted_key_signs_and_has_tuf_keyid(
    tmp_path: Path, kind: str, keytype: str, scheme: str
) -> None:
    env = {"KEY_PW": "correct horse"}
    result = run(["key", "generate", str(tmp_path / "k.key"), "--type", kind,
                  "--passphrase-env", "KEY_PW", "--json"], env=env)
    assert result.exit_code == 0, result.output
    info = json.loads(result.output)
    assert info["encrypted"] is True
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "k.key").read_bytes()
    assert (tmp_path / "k.key").stat().st_mode & 0o077 == 0

    key = load_public_key(tmp_path / "k.pub.json")
    assert (key.keytype, key.scheme) == (keytype, scheme)
    canonical = encode_canonical(key.to_dict())
    assert isinstance(canonical, str)
    assert key.keyid == info["keyid"] == hashlib.sha256(canonical.encode()).hexdigest()

    os.environ["KEY_PW"] = "correct horse"
    try:
        signer = load_signer(tmp_path / "k.key", PassphraseSource("env", "KEY_PW"))
    finally:
        del os.environ["KEY_PW"]
    signature = signer.sign(b"payload")
    key.verify_signature(signature, b"payload")


def test_wrong_passphrase_is_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "pw").write_text("right\n")
    (tmp_path / "bad").write_text("wrong\n")
    assert run(["key", "generate", str(tmp_path / "k.key"), "--passphrase-file",
                str(tmp_path / "pw")]).exit_code == 0
    before = (tmp_path / "k.key").read_bytes()
    result = run(["key", "export", str(tmp_path / "k.key"), "--passphrase-file",
                  str(tmp_path / "bad")])
    assert result.exit_code == 1
    assert result.output.strip().count("\n") == 0
    assert "wrong passphrase" in result.output
    assert (tmp_path / "k.key").read_bytes() == before
    with pytest.raises(SigningError, match="wrong passphrase"):
        load_signer(tmp_path / "k.key", PassphraseSource("file", str(tmp_path / "bad")))


def test_plaintext_only_with_explicit_flag(tmp_path: Path) -> None:
    result = run(["key", "generate", str(tmp_path / "p.key"), "--insecure-plaintext", "--json"])
    assert result.exit_code == 0
    assert b"BEGIN PRIVATE KEY" in (tmp_path / "p.key").read_bytes()
    refused = run(["key", "export", str(tmp_path / "p.key"), "--passphrase-env", "X"],
                  env={"X": "pw"})
    assert refused.exit_code == 1 and "insecure" in refused.output
    exported = run(["key", "export", str(tmp_path / "p.key"), "--insecure-plaintext"])
    assert exported.exit_code == 0
    assert json.loads(exported.output)["keyid"] == json.loads(result.output)["keyid"]


def test_generate_refuses_to_overwrite_and_list_shows_keys(tmp_path: Path) -> None:
    assert run(["key", "generate", str(tmp_path / "a.key"), "--insecure-plaintext"]).exit_code == 0
    again = run(["key", "generate", str(tmp_path / "a.key"), "--insecure-plaintext"])
    assert again.exit_code == 1 and "refusing to overwrite" in again.output
    assert run(["key", "generate", str(tmp_path / "b.key"), "--type", "ecdsa-p256",
                "--insecure-plaintext"]).exit_code == 0
    listed = json.loads(run(["key", "list", str(tmp_path), "--json"]).output)
    assert sorted(Path(row["public"]).name for row in listed) == ["a.pub.json", "b.pub.json"]
    assert {row["scheme"] for row in listed} == {"ed25519", "ecdsa-sha2-nistp256"}


def test_tampered_public_key_file_fails_keyid_check(tmp_path: Path) -> None:
    assert run(["key", "generate", str(tmp_path / "a.key"), "--insecure-plaintext"]).exit_code == 0
    doc = json.loads((tmp_path / "a.pub.json").read_text())
    doc["keyid"] = "00" * 32
    (tmp_path / "a.pub.json").write_text(json.dumps(doc))
    with pytest.raises(SigningError, match="keyid does not match"):
        load_public_key(tmp_path / "a.pub.json")
