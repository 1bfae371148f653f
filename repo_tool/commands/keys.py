"""`repo-tool key`: generate, export, list and re-encrypt signing keys.

Private keys are encrypted at rest (scrypt, see signing.key_encryption) with a
passphrase of at least 12 characters taken from a prompt (default), a file
(--passphrase-file) or an environment variable (--passphrase-env).
--insecure-plaintext writes or reads an unencrypted key, for tests and the
demo only. `key passwd` re-encrypts a key with a new passphrase (and moves
keys of older versions to scrypt).
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from fsio import DestinationExistsError, create_exclusive
from repo_tool.deprecated import warn_renamed

# signing.keys (securesystemslib) and signing.key_encryption (scrypt, AES) are imported by the
# `key` commands that use them: every repository command imports this module for its
# passphrase options.
from signing.key_files import (
    INSECURE,
    KEY_KINDS,
    PRIVATE_SUFFIX,
    PUBLIC_MODE,
    PUBLIC_SUFFIX,
    KeyFileError,
    PassphraseSource,
)

F = TypeVar("F", bound=Callable[..., Any])
OLD_KEY_HINT = "  (old encryption: run repo-tool key passwd)"


def passphrase_options(func: F) -> F:
    """Add --passphrase-env / --passphrase-file / --insecure-plaintext to a command."""
    func = click.option(
        "--insecure-plaintext",
        is_flag=True,
        help="The private key files are (or are written) unencrypted. Tests and demos only.",
    )(func)
    func = click.option(
        "--passphrase-file",
        type=click.Path(dir_okay=False, path_type=Path),
        help="Read the passphrase from the first line of this file.",
    )(func)
    func = click.option(
        "--passphrase-env",
        metavar="VAR",
        help="Read the passphrase from environment variable VAR.",
    )(func)
    return func


def online_passphrase_options(func: F) -> F:
    """Add --online-passphrase-env VAR / --online-passphrase-file FILE (the online
    snapshot/timestamp keys' passphrase; default: the source recorded at init), passed to
    the command as `online_passphrase`, a passphrase source spec or None.

    The old --online-passphrase SOURCE (env:VAR, file:PATH, prompt, insecure) still works
    for one release, with a warning.
    """
    @functools.wraps(func)
    def with_source(*args: Any, online_passphrase_env: str | None,
                    online_passphrase_file: Path | None, deprecated_online_passphrase: str | None,
                    **kwargs: Any) -> Any:
        given = [v for v in (online_passphrase_env, online_passphrase_file,
                             deprecated_online_passphrase) if v]
        if len(given) > 1:
            raise click.UsageError(
                "give at most one of --online-passphrase-env, --online-passphrase-file"
            )
        source = deprecated_online_passphrase
        if source:
            warn_renamed("--online-passphrase SOURCE",
                         "--online-passphrase-env VAR or --online-passphrase-file FILE")
        if online_passphrase_env:
            source = f"env:{online_passphrase_env}"
        if online_passphrase_file:
            source = f"file:{online_passphrase_file.resolve()}"
        return func(*args, online_passphrase=source, **kwargs)

    options = [
        click.option("--online-passphrase-env", metavar="VAR",
                     help="Read the online keys' passphrase from environment variable VAR "
                     "(default: the source recorded at init)."),
        click.option("--online-passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Read the online keys' passphrase from the first line of this file."),
        click.option("--online-passphrase", "deprecated_online_passphrase", metavar="SOURCE",
                     hidden=True),
    ]
    wrapped: Any = with_source
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped  # type: ignore[no-any-return]


def passphrase_source(
    passphrase_env: str | None, passphrase_file: Path | None, insecure_plaintext: bool
) -> PassphraseSource:
    """The one passphrase source the options name (prompt if none)."""
    given = sum(bool(x) for x in (passphrase_env, passphrase_file, insecure_plaintext))
    if given > 1:
        raise click.UsageError(
            "give at most one of --passphrase-env, --passphrase-file, --insecure-plaintext"
        )
    if insecure_plaintext:
        return INSECURE
    if passphrase_env:
        return PassphraseSource("env", passphrase_env)
    if passphrase_file:
        return PassphraseSource("file", str(passphrase_file))
    return PassphraseSource("prompt")


def register(group: click.Group) -> None:
    group.add_command(key_group)


@click.group("key")
def key_group() -> None:
    """Generate, export and list signing keys (ed25519, ecdsa-p256, rsa-pss)."""


@key_group.command("generate")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--type", "kind", type=click.Choice(KEY_KINDS), default="ed25519", show_default=True,
    help="Key algorithm (TUF keytype/scheme: ed25519, ecdsa-sha2-nistp256, rsassa-pss-sha256).",
)
@passphrase_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def key_generate(
    path: Path, kind: str, passphrase_env: str | None, passphrase_file: Path | None,
    insecure_plaintext: bool, as_json: bool,
) -> None:
    """Write a new private key to PATH (NAME.key) and its public key to NAME.pub.json.

    Example: repo-tool key generate keys/alice.key --passphrase-env ALICE_PW
    """
    from signing import key_encryption
    from signing.keys import generate_key, write_key_pair

    if not path.name.endswith(PRIVATE_SUFFIX):
        path = path.with_name(path.name + PRIVATE_SUFFIX)
    source = passphrase_source(passphrase_env, passphrase_file, insecure_plaintext)
    passphrase = source.read(str(path), confirm=True)
    if passphrase is not None:
        # Before the user waits for a key to be generated.
        key_encryption.check_new_passphrase(passphrase)
    signer = generate_key(kind)  # type: ignore[arg-type]
    path.parent.mkdir(parents=True, exist_ok=True)
    private_path, public_path = write_key_pair(signer, path, passphrase)
    result = {
        "keyid": signer.public_key.keyid,
        "type": kind,
        "private": str(private_path),
        "public": str(public_path),
        "encrypted": passphrase is not None,
        "encryption": str(key_encryption.NEW_KEY_COST) if passphrase is not None else None,
    }
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"keyid {result['keyid']}")
        protection = f"encrypted, {key_encryption.NEW_KEY_COST}" if passphrase else "PLAINTEXT"
        click.echo(f"private key {private_path} ({protection})")
        click.echo(f"public key  {public_path}")


@key_group.command("export")
@click.argument("private", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--out", type=click.Path(dir_okay=False, path_type=Path),
    help="Write the public key file here (default: print it).",
)
@passphrase_options
@click.option("--json", "as_json", is_flag=True,
              help="Print {keyid, public, key} as JSON (public: the file written, or null).")
def key_export(
    private: Path, out: Path | None, passphrase_env: str | None, passphrase_file: Path | None,
    insecure_plaintext: bool, as_json: bool,
) -> None:
    """Export the public key of PRIVATE as a public key file (JSON with its TUF keyid)."""
    from signing.keys import load_signer, public_key_document

    signer = load_signer(private, passphrase_source(passphrase_env, passphrase_file,
                                                    insecure_plaintext))
    document = public_key_document(signer.public_key)
    text = json.dumps(document, indent=2, sort_keys=True) + "\n"
    if out is not None:
        try:
            create_exclusive(out, text.encode(), PUBLIC_MODE)
        except DestinationExistsError:
            raise KeyFileError(
                f"{out} already exists; choose another --out or remove it first"
            ) from None
    if as_json:
        result = {"keyid": signer.public_key.keyid, "public": str(out) if out else None,
                  "key": document}
        click.echo(json.dumps(result, indent=2, sort_keys=True))
    elif out is None:
        click.echo(text, nl=False)
    else:
        click.echo(f"wrote {out} (keyid {signer.public_key.keyid})")


@key_group.command("passwd")
@click.argument("private", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@passphrase_options
@click.option("--new-passphrase-env", metavar="VAR",
              help="Read the new passphrase from environment variable VAR.")
@click.option("--new-passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Read the new passphrase from the first line of this file.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def key_passwd(
    private: Path, passphrase_env: str | None, passphrase_file: Path | None,
    insecure_plaintext: bool, new_passphrase_env: str | None, new_passphrase_file: Path | None,
    as_json: bool,
) -> None:
    """Re-encrypt PRIVATE with a new passphrase (and with scrypt, if it is an older key).

    The current passphrase comes from --passphrase-env/--passphrase-file (or
    --insecure-plaintext for a plaintext key, which this encrypts), the new one
    from --new-passphrase-env/--new-passphrase-file; either is prompted for
    when not given. The key, its keyid and its public key file stay the same.

    Example: repo-tool key passwd keys/alice.key --passphrase-env OLD_PW --new-passphrase-env PW
    """
    from signing import key_encryption
    from signing.keys import load_signer, reencrypt_key_file

    if new_passphrase_env and new_passphrase_file:
        raise click.UsageError("give at most one of --new-passphrase-env, --new-passphrase-file")
    current = passphrase_source(passphrase_env, passphrase_file, insecure_plaintext)
    new_source = (
        PassphraseSource("env", new_passphrase_env) if new_passphrase_env
        else PassphraseSource("file", str(new_passphrase_file)) if new_passphrase_file
        else PassphraseSource("prompt")
    )
    signer = load_signer(private, current)
    new_passphrase = new_source.read(f"{private} (new)", confirm=True)
    assert new_passphrase is not None  # only the insecure source yields None
    reencrypt_key_file(private, signer, new_passphrase)
    result = {"keyid": signer.public_key.keyid, "private": str(private),
              "encryption": str(key_encryption.NEW_KEY_COST)}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(f"re-encrypted {private} ({result['encryption']}); "
                   f"keyid {result['keyid']} unchanged")


@key_group.command("list")
@click.argument(
    "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default="."
)
@click.option("--json", "as_json", is_flag=True, help="Print the keys as JSON.")
def key_list(directory: Path, as_json: bool) -> None:
    """List the key pairs (*.pub.json) in DIRECTORY: keyid, scheme, how the private key is kept.

    Protection is scrypt, pbkdf2 (an older key: re-encrypt it with `repo-tool
    key passwd`), plaintext, or empty when no private key file is beside the
    public one. On a terminal keyids are shortened; piped, rows are
    tab-separated and complete.
    """
    from signing import key_encryption
    from signing.keys import load_public_key

    rows: list[dict[str, str]] = []
    for path in sorted(directory.glob(f"*{PUBLIC_SUFFIX}")):
        key = load_public_key(path)
        private = path.with_name(path.name[: -len(PUBLIC_SUFFIX)] + PRIVATE_SUFFIX)
        protection = ""
        if private.is_file():
            protection = key_encryption.key_protection(private.read_bytes())
        rows.append({
            "keyid": key.keyid, "keytype": key.keytype, "scheme": key.scheme,
            "public": str(path), "private": str(private) if protection else "",
            "protection": protection,
        })
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    terminal = sys.stdout.isatty()
    for row in rows:
        fields = [row["keyid"], row["scheme"], row["protection"] or "-", row["public"]]
        if terminal:
            hint = OLD_KEY_HINT if row["protection"] == "pbkdf2" else ""
            click.echo(f"{fields[0][:16]}  {fields[1]:<22} {fields[2]:<9} {fields[3]}{hint}")
        else:
            click.echo("\t".join(fields))
