"""Package commands: delegate packages to their authors (`package`), and TAP 8 key
rotation or revocation of a package role (`rotate`)."""

from __future__ import annotations

from pathlib import Path

import click

from repo_tool.cli_table import echo_table
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
from signing.keys import load_public_key
from tuf_metadata import layout
from tuf_metadata.package_summary import package_summaries
from tuf_metadata.removal import propose_package_removal
from tuf_metadata.repo_types import PendingChange
from tuf_metadata.superseding import propose_fold


def register(group: click.Group) -> None:
    group.add_command(package)
    group.add_command(rotate)


@click.group()
def package() -> None:
    """Delegate packages to their authors, list or remove them."""


@package.command("add")
@REPO_OPTION
@click.argument("name")
@click.option("--pubkey", "authors", multiple=True, type=PUBLIC_KEY_FILE,
              help="Public key file of an author (repeatable; required).")
@renamed_option("--author", new="--pubkey", dest="authors", multiple=True, required=True,
                type=PUBLIC_KEY_FILE)
@click.option("--threshold", "-t", type=int, default=1, show_default=True,
              help="Author signatures needed for a release.")
@renamed_option("-k", new="--threshold/-t", dest="threshold", type=int)
@JSON_OPTION
def package_add(
    repo_dir: Path, name: str, authors: tuple[Path, ...], threshold: int, as_json: bool
) -> None:
    """Propose delegating package NAME (terminating, paths XX/NAME/*/*) to its authors.

    Takes effect when t maintainers signed the pending change it prints. A revoked or
    removed NAME is delegated again this way, to new author keys only: the change also
    holds the package role's next version (empty), which the new authors sign as well
    (`repo-tool sign ID --key AUTHOR-KEY`), so no metadata the earlier keys signed is
    accepted again and role versions keep increasing.
    """
    change = open_repo(repo_dir).propose_package(
        name, [load_public_key(path) for path in authors], threshold
    )
    role = layout.package_role(name)
    again = any(document_role == role for document_role, _ in change.documents)
    shard = _changed_shard(change)
    emit(as_json, {"id": change.change_id, "role": role, "shard": shard,
                   "redelegation": again},
         f"pending change {change.change_id}: {change.description} ({role} in "
         f"{shard}); sign it with `repo-tool sign {change.change_id} "
         "--key ...`" + ("; the new authors sign it too (the role's first version)"
                         if again else ""))


def _changed_shard(change: PendingChange) -> str:
    """The shard role a package change proposes (its name depends on the repository's
    shard layout, so it is read from the change, not computed)."""
    return next(role for role, _ in change.documents if role.startswith(layout.SHARD_PREFIX))


@package.command("remove")
@REPO_OPTION
@click.argument("name")
@JSON_OPTION
def package_remove(repo_dir: Path, name: str, as_json: bool) -> None:
    """Propose removing package NAME: its shard no longer delegates it, so no client
    reaches it. Takes effect when t maintainers signed the pending change it prints."""
    repo = open_repo(repo_dir)
    change = propose_package_removal(repo.files, repo.quorum, name)
    shard = _changed_shard(change)
    emit(as_json, {"id": change.change_id, "role": layout.package_role(name),
                   "shard": shard},
         f"pending change {change.change_id}: remove {layout.package_role(name)} from "
         f"{shard}; sign it with `repo-tool sign {change.change_id} --key ...`")


@package.command("fold-rotations")
@REPO_OPTION
@click.argument("name")
@click.option("--pubkey", "expected", multiple=True, type=PUBLIC_KEY_FILE,
              help="Public key file of a key the chain must end in (repeatable): the keys you "
              "confirmed with the authors; the fold is refused if the chain ends elsewhere.")
@click.option("--threshold", "-t", type=int, default=None,
              help="With --pubkey: the threshold the chain must end in.")
@JSON_OPTION
def package_fold_rotations(repo_dir: Path, name: str, expected: tuple[Path, ...],
                           threshold: int | None, as_json: bool) -> None:
    """Propose folding package NAME's TAP 8 rotations into its delegation.

    The next shard version delegates the package role to the keys in force at the end of
    its rotate chain (so clients that ignore rotate files, like python-tuf's ngclient,
    verify it again) and records that the chain now starts after those rotate files.
    Takes effect when t maintainers signed the pending change it prints.
    """
    if threshold is not None and not expected:
        raise click.UsageError("--threshold needs the --pubkey keys it is a threshold of")
    repo = open_repo(repo_dir)
    change = propose_fold(repo.files, repo.quorum, name,
                          [load_public_key(path) for path in expected], threshold)
    shard = _changed_shard(change)
    emit(as_json, {"id": change.change_id, "role": layout.package_role(name),
                   "shard": shard},
         f"pending change {change.change_id}: {change.description} in "
         f"{shard}; sign it with `repo-tool sign {change.change_id} --key ...`")


@package.command("list")
@REPO_OPTION
@JSON_OPTION
def package_list(repo_dir: Path, as_json: bool) -> None:
    """List delegated packages: latest version, versions, targets, author keys and
    threshold, TAP 8 rotations, revoked or not.

    On a terminal the columns are aligned; piped, the output is tab-separated with a
    header line. Nothing is cut in either.
    """
    summaries = list(package_summaries(open_repo(repo_dir).files))
    if as_json:
        emit(True, [summary.to_json() for summary in summaries], "")
        return
    if not summaries:
        click.echo("no packages")
        return
    rows = [[
        summary.name, summary.latest or "-", ",".join(summary.versions) or "-",
        ",".join(summary.targets[summary.latest]) if summary.latest else "-",
        f"{summary.threshold}/{len(summary.keyids)}" if not summary.revoked else "-",
        ",".join(summary.keyids) or "-", str(summary.rotations),
        "revoked" if summary.revoked else "active",
    ] for summary in summaries]
    echo_table(["NAME", "LATEST", "VERSIONS", "TARGETS", "THRESHOLD", "AUTHOR_KEYIDS",
                "ROTATIONS", "STATE"], rows)


@click.command()
@REPO_OPTION
@click.argument("role")
@click.option("--pubkey", "new_keys", multiple=True, type=PUBLIC_KEY_FILE,
              help="Public key file of the NEW key set (repeatable).")
@renamed_option("--key", new="--pubkey", dest="new_keys", multiple=True, type=PUBLIC_KEY_FILE)
@click.option("--threshold", "-t", type=int, default=1, show_default=True,
              help="Threshold of the new key set.")
@renamed_option("-k", new="--threshold/-t", dest="threshold", type=int)
@click.option("--sign-with", "old_keys", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Private key of the CURRENT key set, signing the rotate file (repeatable).")
@click.option("--new-signer", "new_signers", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Private key of the NEW set, re-signing the published package role "
              "(needed once the package has a release).")
@click.option("--revoke", is_flag=True, help="Rotate to the null key: revoke the role (TAP 20).")
@click.option("--replace-last", is_flag=True,
              help="With --revoke: replace the last rotate file by the revocation, signed by the "
              "keys that signed it (when its new keys are lost or compromised).")
@passphrase_options
@ONLINE_OPTION
@JSON_OPTION
def rotate(
    repo_dir: Path, role: str, new_keys: tuple[Path, ...], threshold: int,
    old_keys: tuple[Path, ...], new_signers: tuple[Path, ...], revoke: bool, replace_last: bool,
    passphrase_env: str | None, passphrase_file: Path | None, insecure_plaintext: bool,
    online_passphrase: str | None, as_json: bool,
) -> None:
    """TAP 8: rotate package role ROLE (pkg-NAME or NAME) to new keys, or revoke it.

    Writes rotate/ROLE.rotate.N.json signed by a threshold of the keys being
    replaced and lists it in a new snapshot. See docs/tap8-profile.md. A
    rebuilder's role is rotated the same way: ROLE = rebuilder-NAME.
    """
    if revoke == bool(new_keys):
        raise click.UsageError("give either --pubkey ... (the new public keys) or --revoke")
    repo = open_repo(repo_dir, online_passphrase)
    rebuilder = layout.rebuilder_of_role(role)
    name = rebuilder or layout.package_of_role(role) or role
    role_name = layout.rebuilder_role(name) if rebuilder else layout.package_role(name)
    source = passphrase_source(passphrase_env, passphrase_file, insecure_plaintext)
    number = (repo.rotate_rebuilder if rebuilder else repo.rotate)(
        name,
        [load_public_key(path) for path in new_keys],
        threshold,
        load_signers(old_keys, source),
        load_signers(new_signers, source),
        revoke=revoke,
        replace_last=replace_last,
    )
    rotate_name = layout.rotate_file_name(role_name, number)
    emit(as_json, {"role": role_name, "rotate": number,
                    "file": rotate_name, "revoked": revoke},
          f"wrote {rotate_name}" + (" (role revoked)" if revoke else ""))


