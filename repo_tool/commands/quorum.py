"""Maintainer-quorum commands: the key ceremony (`init`), `pending` changes, `sign`,
`maintainers` (a new maintainer set) and `online-keys rotate` (new online keys).

A change that needs t of n maintainers is written to pending/ and published when t
maintainers signed it (tuf_metadata.quorum).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from repo_tool.commands.keys import passphrase_options, passphrase_source
from repo_tool.commands.repo_options import (
    JSON_OPTION,
    ONLINE_OPTION,
    PUBLIC_KEY_FILE,
    REPO_OPTION,
    emit,
    load_signers,
    open_repo,
)
from repo_tool.deprecated import renamed_option
from signing.keys import PassphraseSource, generate_key, load_public_key, write_key_pair
from tuf_metadata import layout
from tuf_metadata.online_keys import propose_online_keys
from tuf_metadata.repository import ExpiryPolicy, PendingChange, Repository


def register(group: click.Group) -> None:
    for command in (init, pending, sign, maintainers, online_keys):
        group.add_command(command)


def _status_dict(repo: Repository, change: PendingChange) -> dict[str, Any]:
    statuses = repo.pending_status(change)
    return {
        "id": change.change_id,
        "description": change.description,
        "ready": all(s.satisfied for s in statuses),
        "documents": [
            {
                "role": s.role,
                "version": s.version,
                "signatures": [
                    {"keys": label, "valid": valid, "threshold": threshold}
                    for label, valid, threshold in s.needed
                ],
            }
            for s in statuses
        ],
    }


def _status_text(data: dict[str, Any]) -> str:
    lines = [f"{data['id']}  {data['description']}"]
    docs = data["documents"]
    shown = docs if len(docs) <= 6 else docs[:3]
    for doc in shown:
        need = ", ".join(
            f"{s['valid']}/{s['threshold']} {s['keys']}" for s in doc["signatures"]
        )
        lines.append(f"    {doc['role']} v{doc['version']}: {need}")
    if len(docs) > len(shown):
        lines.append(f"    ... and {len(docs) - len(shown)} more roles signed the same way")
    return "\n".join(lines)


def _commit_message(change: PendingChange, committed: bool, data: dict[str, Any]) -> str:
    if committed:
        return f"{change.change_id}: threshold reached, committed and published"
    return _status_text(data) + "\n(threshold not reached yet; nothing published)"


@click.command()
@REPO_OPTION
@click.option("--pubkey", "maintainer_keys", multiple=True, type=PUBLIC_KEY_FILE,
              help="Public key file of a maintainer (repeat for each of the n maintainers; "
              "required).")
@renamed_option("--maintainer", new="--pubkey", dest="maintainer_keys", multiple=True,
                required=True, type=PUBLIC_KEY_FILE)
@click.option("--threshold", "-t", type=int, required=True,
              help="Signatures t of n needed for root and targets changes.")
@click.option("--key", "keys", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A maintainer private key to sign the ceremony with right away (repeatable).")
@passphrase_options
@click.option("--online-passphrase-env", metavar="VAR",
              help="Encrypt the new online snapshot/timestamp keys with the passphrase in VAR; "
              "the service reads it from VAR too.")
@click.option("--online-passphrase-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Encrypt the new online keys with the passphrase on the first line of this "
              "file; the service reads it from there too.")
@click.option("--insecure-online-keys", is_flag=True,
              help="Store the online keys unencrypted (tests and demos only).")
@click.option("--root-days", type=float, default=365.0, show_default=True)
@click.option("--targets-days", type=float, default=365.0, show_default=True)
@click.option("--snapshot-days", type=float, default=1.0, show_default=True)
@click.option("--timestamp-days", type=float, default=1.0, show_default=True)
@click.option("--shard-digits", type=int, default=layout.DEFAULT_SHARD_DIGITS, show_default=True,
              help="Shard prefix length in hex digits, fixed for the repository's life: "
              "2 or 3 (256 or 4,096 shards; about n/16^d packages per shard, "
              "docs/repository.md).")
@JSON_OPTION
def init(
    repo_dir: Path, maintainer_keys: tuple[Path, ...], threshold: int, keys: tuple[Path, ...],
    passphrase_env: str | None, passphrase_file: Path | None, insecure_plaintext: bool,
    online_passphrase_env: str | None, online_passphrase_file: Path | None,
    insecure_online_keys: bool, root_days: float,
    targets_days: float, snapshot_days: float, timestamp_days: float, shard_digits: int,
    as_json: bool,
) -> None:
    """Key ceremony: create a repository with n maintainers and threshold t.

    Generates the online snapshot and timestamp keys under REPO/online/ and
    proposes root, targets (delegating to 16^d shard roles, d = --shard-digits)
    and the shards as pending change; it is published when t maintainers signed it (here with
    --key, or later with `repo-tool sign ID --key ...`). The published tree is
    REPO/public/ (metadata/, targets/), the only folder to serve or sync; keys,
    pending/, staging/ and repo.json stay outside it.

    Example: repo-tool init --repo repo --pubkey a.pub.json --pubkey b.pub.json
    --pubkey c.pub.json -t 2 --online-passphrase-env ONLINE_PW
    """
    if sum(map(bool, (online_passphrase_env, online_passphrase_file,
                      insecure_online_keys))) != 1:
        raise click.UsageError("give exactly one of --online-passphrase-env, "
                               "--online-passphrase-file, --insecure-online-keys")
    shards = layout.ShardLayout(shard_digits)  # refused before anything is written
    online_spec = (
        "insecure" if insecure_online_keys
        else f"env:{online_passphrase_env}" if online_passphrase_env
        else f"file:{Path(str(online_passphrase_file)).resolve()}"
    )
    maintainers = [load_public_key(path) for path in maintainer_keys]
    signers = load_signers(keys, passphrase_source(passphrase_env, passphrase_file,
                                               insecure_plaintext)) if keys else []
    repo = Repository(repo_dir)
    repo.check_ceremony(maintainers, threshold)
    passphrase = PassphraseSource.parse(online_spec).read("online keys")
    online_dir = repo.paths.online
    online_dir.mkdir(parents=True, exist_ok=True)
    online: dict[str, Path] = {}
    public = {}
    for role in ("snapshot", "timestamp"):
        signer = generate_key()
        write_key_pair(signer, online_dir / f"{role}.key", passphrase)
        online[role] = online_dir.relative_to(repo.root_dir) / f"{role}.key"
        public[role] = signer.public_key
    change = repo.init(
        maintainers, threshold, public["snapshot"], public["timestamp"], online,
        online_spec,
        ExpiryPolicy(root_days, targets_days, snapshot_days, timestamp_days), shards,
    )
    committed = False
    if signers:
        change, committed = repo.sign_pending(change.change_id, signers)
    data = {"id": change.change_id, "committed": committed}
    if not committed:
        data.update(_status_dict(repo, change))
    emit(as_json, data, _commit_message(change, committed, data))


@click.command()
@REPO_OPTION
@click.argument("change_id", required=False)
@click.option("--withdraw", is_flag=True, help="Delete the pending change CHANGE_ID unpublished.")
@JSON_OPTION
def pending(repo_dir: Path, change_id: str | None, withdraw: bool, as_json: bool) -> None:
    """List pending root/targets/shard changes and how many signatures each still needs."""
    repo = open_repo(repo_dir)
    if withdraw:
        if not change_id:
            raise click.UsageError("--withdraw needs a CHANGE_ID")
        repo.withdraw_pending(change_id)
        emit(as_json, {"withdrawn": change_id}, f"withdrew {change_id}")
        return
    changes = [repo.pending_change(change_id)] if change_id else repo.pending_changes()
    data = [_status_dict(repo, change) for change in changes]
    text = "\n".join(_status_text(d) for d in data) or "no pending changes"
    emit(as_json, data, text)


@click.command()
@REPO_OPTION
@click.argument("change_id")
@click.option("--key", "keys", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Maintainer private key to sign with (repeatable); for a package delegated "
              "again, the new authors sign its first role version with theirs.")
@passphrase_options
@ONLINE_OPTION
@JSON_OPTION
def sign(
    repo_dir: Path, change_id: str, keys: tuple[Path, ...], passphrase_env: str | None,
    passphrase_file: Path | None, insecure_plaintext: bool, online_passphrase: str | None,
    as_json: bool,
) -> None:
    """Sign pending change CHANGE_ID; it is published once t maintainers signed (t-1: nothing)."""
    repo = open_repo(repo_dir, online_passphrase)
    signers = load_signers(keys, passphrase_source(passphrase_env, passphrase_file,
                                               insecure_plaintext))
    change, committed = repo.sign_pending(change_id, signers)
    data: dict[str, Any] = {"id": change.change_id, "committed": committed}
    if not committed:
        data.update(_status_dict(repo, change))
    emit(as_json, data, _commit_message(change, committed, data))


@click.command()
@REPO_OPTION
@click.option("--pubkey", "keys", multiple=True, type=PUBLIC_KEY_FILE,
              help="Public key file of each maintainer of the NEW set (repeatable; required).")
@renamed_option("--key", new="--pubkey", dest="keys", multiple=True, required=True,
                type=PUBLIC_KEY_FILE)
@click.option("--threshold", "-t", type=int, required=True, help="New threshold t.")
@JSON_OPTION
def maintainers(repo_dir: Path, keys: tuple[Path, ...], threshold: int, as_json: bool) -> None:
    """Propose a new maintainer set and threshold (adds/removes maintainers, rotates root).

    Creates a pending change of root N+1 (signed by t of the current and t of
    the new root keys, per the TUF root chain rules), targets and every shard.
    """
    change = open_repo(repo_dir).propose_maintainers(
        "change maintainers", [load_public_key(path) for path in keys], threshold
    )
    emit(as_json, {"id": change.change_id}, f"pending change {change.change_id}: sign it with "
          f"`repo-tool sign {change.change_id} --key ...`")




@click.group("online-keys")
def online_keys() -> None:
    """Replace the online snapshot/timestamp keys (a root change t maintainers sign)."""


@online_keys.command("rotate")
@REPO_OPTION
@ONLINE_OPTION
@JSON_OPTION
def online_keys_rotate(repo_dir: Path, online_passphrase: str | None, as_json: bool) -> None:
    """Propose new online snapshot and timestamp keys: root N+1 naming them.

    New keys are written to online/ (encrypted with the online keys' passphrase); when t
    maintainers signed the change (`repo-tool sign ID --key ...`), the new keys sign
    beside the old until root N+1 is published, then alone, and the old key files are
    deleted. Clients that update refuse metadata signed by the old keys from then on:
    the way to recover from stolen online keys (docs/operations.md).
    """
    repo = open_repo(repo_dir, online_passphrase)
    change = propose_online_keys(repo.files, repo.online, repo.quorum)
    emit(as_json, {"id": change.change_id, "root": change.documents[0][1].signed.version},
         f"pending change {change.change_id}: root v{change.documents[0][1].signed.version} "
         f"with new online keys; sign it with `repo-tool sign {change.change_id} --key ...`")
