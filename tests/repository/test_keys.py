"""repo-tool key: generation per type, encryption at rest, TUF keyids, refusals, key passwd.

New keys here use the cheap test scrypt cost (tests/conftest.py);
test_production_cost_end_to_end restores the production cost.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from securesystemslib.formats import encode_canonical

from signing import key_encryption
from signing.errors import SigningError
from signing.keys import INSECURE, PassphraseSource, load_public_key, load_signer
from tests.repository.helpers import run

DATA = Path(__file__).parent.parent / "signing" / "data"
OLD_KEY = "pbkdf2-2048-ed25519"  # written by the PBKDF2 (2,048 iterations) code path
OLD_PASSPHRASE = "old pw"


def kdf_of(path: Path) -> list[str]:
    """The PBES2 key-derivation function and its INTEGER parameters, as OpenSSL parses the file."""
    parsed = subprocess.run(["openssl", "asn1parse", "-in", str(path)], capture_output=True,
                            text=True, check=True).stdout
    found: list[str] = []
    for line in parsed.splitlines():
        kind, _, value = line.partition("prim: ")[2].partition(":")
        kind, value = kind.strip(), value.strip()
        if kind == "OBJECT" and found:
            break
        if kind == "OBJECT" and value in ("scrypt", "PBKDF2"):
            found.append(value)
        elif kind == "INTEGER" and found:
            found.append(value)
    return found


def sign_and_verify(private: Path, source: PassphraseSource, public: Path) -> None:
    signature = load_signer(private, source).sign(b"payload")
    load_public_key(public).verify_signature(signature, b"payload")


def one_line_error(result: object, *fragments: str) -> None:
    output = getattr(result, "output", "")
    assert getattr(result, "exit_code", 0) == 1, output
    assert output.startswith("error: ") and output.strip().count("\n") == 0, output
    for fragment in fragments:
        assert fragment in output, output


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
    (tmp_path / "pw").write_text("right passphrase\n")
    (tmp_path / "bad").write_text("wrong passphrase\n")
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


def test_new_keys_use_scrypt_and_refuse_short_passphrases(tmp_path: Path) -> None:
    short = run(["key", "generate", str(tmp_path / "s.key"), "--passphrase-env", "PW"],
                env={"PW": "x" * 11})
    one_line_error(short, "11 characters", "at least 12")
    assert list(tmp_path.iterdir()) == []

    made = run(["key", "generate", str(tmp_path / "k.key"), "--passphrase-env", "PW", "--json"],
               env={"PW": "twelve chars"})
    assert made.exit_code == 0, made.output
    assert json.loads(made.output)["encryption"] == "scrypt N=2^10, r=8, p=1"
    assert kdf_of(tmp_path / "k.key") == ["scrypt", "0400", "08", "01"]


def test_short_online_passphrase_is_refused_at_init(tmp_path: Path) -> None:
    assert run(["key", "generate", str(tmp_path / "m.key"), "--insecure-plaintext"]).exit_code == 0
    result = run(["init", "--repo", str(tmp_path / "repo"), "-t", "1", "--pubkey",
                  str(tmp_path / "m.pub.json"), "--online-passphrase-env", "ONLINE_PW"],
                 env={"ONLINE_PW": "secret"})
    one_line_error(result, "at least 12")
    assert not list((tmp_path / "repo").rglob("*.key"))


@pytest.mark.slow  # production scrypt cost: seconds per key
def test_production_cost_end_to_end(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(key_encryption, "NEW_KEY_COST", key_encryption.PRODUCTION_COST)
    made = run(["key", "generate", str(tmp_path / "k.key"), "--passphrase-env", "PW"],
               env={"PW": "production passphrase"})
    assert made.exit_code == 0, made.output
    assert "scrypt N=2^17, r=8, p=1" in made.output
    assert kdf_of(tmp_path / "k.key") == ["scrypt", "020000", "08", "01"]
    monkeypatch.setenv("PW", "production passphrase")
    sign_and_verify(tmp_path / "k.key", PassphraseSource("env", "PW"), tmp_path / "k.pub.json")


def test_passwd_moves_an_old_pbkdf2_key_to_scrypt(tmp_path: Path) -> None:
    for suffix in (".key", ".pub.json"):
        shutil.copy(DATA / f"{OLD_KEY}{suffix}", tmp_path / f"old{suffix}")
    (tmp_path / "old.key").chmod(0o600)
    assert kdf_of(tmp_path / "old.key") == ["PBKDF2", "0800"]  # 2,048 iterations
    env = {"OLD": OLD_PASSPHRASE, "NEW": "a much longer passphrase"}
    # the old key (and its too-short passphrase) still opens and signs
    result = run(["key", "export", str(tmp_path / "old.key"), "--passphrase-env", "OLD",
                  "--json"], env=env)
    assert result.exit_code == 0, result.output
    keyid = json.loads((tmp_path / "old.pub.json").read_text())["keyid"]
    assert json.loads(result.output)["keyid"] == keyid

    changed = run(["key", "passwd", str(tmp_path / "old.key"), "--passphrase-env", "OLD",
                   "--new-passphrase-env", "NEW", "--json"], env=env)
    assert changed.exit_code == 0, changed.output
    assert json.loads(changed.output)["keyid"] == keyid
    assert kdf_of(tmp_path / "old.key")[0] == "scrypt"
    info = os.lstat(tmp_path / "old.key")
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o600, os.geteuid())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.key", "old.pub.json"]
    os.environ["NEW"] = env["NEW"]
    try:
        sign_and_verify(tmp_path / "old.key", PassphraseSource("env", "NEW"),
                        tmp_path / "old.pub.json")
    finally:
        del os.environ["NEW"]
    stale = run(["key", "export", str(tmp_path / "old.key"), "--passphrase-env", "OLD"], env=env)
    one_line_error(stale, "wrong passphrase")


def test_passwd_refusals_change_nothing(tmp_path: Path) -> None:
    env = {"PW": "current passphrase", "BAD": "not the passphrase", "SHORT": "short"}
    assert run(["key", "generate", str(tmp_path / "k.key"), "--passphrase-env", "PW"],
               env=env).exit_code == 0
    before = (tmp_path / "k.key").read_bytes()
    one_line_error(run(["key", "passwd", str(tmp_path / "k.key"), "--passphrase-env", "BAD",
                        "--new-passphrase-env", "PW"], env=env), "wrong passphrase")
    one_line_error(run(["key", "passwd", str(tmp_path / "k.key"), "--passphrase-env", "PW",
                        "--new-passphrase-env", "SHORT"], env=env), "at least 12")
    one_line_error(run(["key", "passwd", str(tmp_path / "k.key"), "--passphrase-env", "PW",
                        "--new-passphrase-env", "UNSET"], env=env), "UNSET is unset", "set it")
    assert (tmp_path / "k.key").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["k.key", "k.pub.json"]


def test_passwd_encrypts_a_plaintext_key(tmp_path: Path) -> None:
    assert run(["key", "generate", str(tmp_path / "p.key"), "--insecure-plaintext"]).exit_code == 0
    result = run(["key", "passwd", str(tmp_path / "p.key"), "--insecure-plaintext",
                  "--new-passphrase-env", "NEW"], env={"NEW": "now it is encrypted"})
    assert result.exit_code == 0, result.output
    assert "re-encrypted" in result.output and "unchanged" in result.output
    assert b"ENCRYPTED PRIVATE KEY" in (tmp_path / "p.key").read_bytes()
    with pytest.raises(SigningError, match="is encrypted; give its passphrase"):
        load_signer(tmp_path / "p.key", INSECURE)


def test_export_json_and_out_refusal(tmp_path: Path) -> None:
    made = run(["key", "generate", str(tmp_path / "a.key"), "--insecure-plaintext", "--json"])
    keyid = json.loads(made.output)["keyid"]
    exported = run(["key", "export", str(tmp_path / "a.key"), "--insecure-plaintext",
                    "--out", str(tmp_path / "copy.pub.json"), "--json"])
    assert exported.exit_code == 0, exported.output
    document = json.loads(exported.output)
    assert (document["keyid"], document["public"]) == (keyid, str(tmp_path / "copy.pub.json"))
    assert document["key"] == json.loads((tmp_path / "a.pub.json").read_text())
    assert load_public_key(tmp_path / "copy.pub.json").keyid == keyid
    assert stat.S_IMODE((tmp_path / "copy.pub.json").stat().st_mode) == 0o644
    again = run(["key", "export", str(tmp_path / "a.key"), "--insecure-plaintext",
                 "--out", str(tmp_path / "copy.pub.json")])
    one_line_error(again, "already exists", "another --out")


def test_key_errors_say_what_to_do(tmp_path: Path) -> None:
    assert run(["key", "generate", str(tmp_path / "a.key"), "--insecure-plaintext"]).exit_code == 0
    (tmp_path / "notes.txt").write_text("hello\n")
    one_line_error(run(["key", "export", str(tmp_path / "a.pub.json"), "--insecure-plaintext"]),
                   "is a public key file", "give the private key file")
    one_line_error(run(["key", "export", str(tmp_path / "notes.txt"), "--insecure-plaintext"]),
                   "is not a private key file", "repo-tool key generate")
    (tmp_path / "empty").write_text("\n")
    one_line_error(run(["key", "generate", str(tmp_path / "b.key"), "--passphrase-file",
                        str(tmp_path / "empty")]), "is empty", "first line")


def test_list_shows_protection_and_pipes_complete_rows(tmp_path: Path) -> None:
    for suffix in (".key", ".pub.json"):
        shutil.copy(DATA / f"{OLD_KEY}{suffix}", tmp_path / f"old{suffix}")
    assert run(["key", "generate", str(tmp_path / "new.key"), "--passphrase-env", "PW"],
               env={"PW": "twelve chars"}).exit_code == 0
    assert run(["key", "generate", str(tmp_path / "plain.key"), "--insecure-plaintext"]
               ).exit_code == 0
    shutil.copy(tmp_path / "plain.pub.json", tmp_path / "public-only.pub.json")

    rows = json.loads(run(["key", "list", str(tmp_path), "--json"]).output)
    assert {Path(r["public"]).name: r["protection"] for r in rows} == {
        "new.pub.json": "scrypt", "old.pub.json": "pbkdf2", "plain.pub.json": "plaintext",
        "public-only.pub.json": "",
    }
    piped = run(["key", "list", str(tmp_path)]).output.splitlines()
    assert [line.split("\t") for line in piped] == [
        [r["keyid"], r["scheme"], r["protection"] or "-", r["public"]] for r in rows
    ]
    assert all(len(line.split("\t")[0]) == 64 for line in piped)  # keyids never cut
