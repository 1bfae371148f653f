"""`repo-tool rebuilder`: delegate, list and remove rebuilders; submit their attestations
(docs/rebuilder.md).

add/remove are maintainer-quorum pending changes of top-level targets, signed with
`repo-tool sign ID` like `package add`; submit is signed by the rebuilder, and so is
`repo-tool rotate rebuilder-NAME` (TAP 8, repo_tool.commands.packages).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

from repo_tool.commands.keys import (
    online_passphrase_options,
    passphrase_options,
    passphrase_source,
)
from repo_tool.commands.options import JSON_OPTION, PUBLIC_KEY_FILE, REPO_OPTION
from repo_tool.errors import RepoToolError
from signing.keys import load_public_key, load_signer
from tuf_metadata import layout
from tuf_metadata.repository import NotInitialisedError, Repository

if TYPE_CHECKING:
    from tuf_metadata.repo_verify import VerifySummary

PRIVATE_KEY_FILE = PUBLIC_KEY_FILE


def register(group: click.Group) -> None:
    group.add_command(rebuilder)


def _open(repo_dir: Path, online_passphrase: str | None = None) -> Repository:
    repo = Repository(repo_dir, online_passphrase)
    try:
        repo.config()
    except NotInitialisedError as error:
        raise RepoToolError(f"{error}: pass --repo DIR (or set REPO_TOOL_REPO)") from None
    return repo


def _emit(as_json: bool, data: object, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text)


def attestation_files(name: str, files: tuple[str, ...]) -> dict[str, bytes]:
    """Target path -> bytes of each FILE argument: `TARGET_PATH=FILE`, or a FILE whose own
    path ends with its target path (`.../attestations/PACKAGE/VERSION/TARGET/NAME.intoto.jsonl`,
    as `repo-tool rebuild` writes them). The repository checks the paths themselves."""
    found: dict[str, bytes] = {}
    for spec in files:
        target_path, sep, local = spec.partition("=")
        if not sep:
            local = spec
            parts = Path(spec).parts
            target_path = "/".join(parts[-5:])
            if len(parts) < 5 or layout.parse_attestation_path(target_path) is None:
                pattern = layout.attestation_path("PACKAGE", "VERSION", "TARGET", name)
                raise click.UsageError(f"{spec}: not named {pattern}; give TARGET_PATH=FILE")
        if target_path in found:
            raise click.UsageError(f"{target_path} is given twice")
        try:
            found[target_path] = Path(local).read_bytes()
        except OSError as error:
            raise RepoToolError(f"cannot read {local}: {error.strerror}") from None
    return found


@click.group()
def rebuilder() -> None:
    """Rebuilders: delegate (maintainer quorum), list, remove, submit attestations."""


@rebuilder.command("add")
@REPO_OPTION
@click.argument("name")
@click.option("--pubkey", "--key", "keys", multiple=True, required=True, type=PUBLIC_KEY_FILE,
              help="Public key file (NAME.pub.json) of the rebuilder (repeatable).")
@click.option("--threshold", "-t", type=int, default=1, show_default=True,
              help="Rebuilder signatures its role needs.")
@JSON_OPTION
def rebuilder_add(
    repo_dir: Path, name: str, keys: tuple[Path, ...], threshold: int, as_json: bool
) -> None:
    """Propose delegating rebuilder NAME (role rebuilder-NAME, terminating, paths
    attestations/*/*/*/NAME.intoto.jsonl) to its keys.

    Takes effect when t maintainers signed the pending change it prints.
    """
    change = _open(repo_dir).propose_rebuilder(
        name, [load_public_key(path) for path in keys], threshold
    )
    role = layout.rebuilder_role(name)
    _emit(as_json, {"id": change.change_id, "role": role},
          f"pending change {change.change_id}: delegate {role} in targets; sign it with "
          f"`repo-tool sign {change.change_id} --key ...`")


@rebuilder.command("remove")
@REPO_OPTION
@click.argument("name")
@JSON_OPTION
def rebuilder_remove(repo_dir: Path, name: str, as_json: bool) -> None:
    """Propose ending rebuilder NAME's delegation (its attestations stop counting).

    Takes effect when t maintainers signed the pending change it prints.
    """
    change = _open(repo_dir).propose_rebuilder_removal(name)
    role = layout.rebuilder_role(name)
    _emit(as_json, {"id": change.change_id, "role": role},
          f"pending change {change.change_id}: remove {role} from targets; sign it with "
          f"`repo-tool sign {change.change_id} --key ...`")


@rebuilder.command("list")
@REPO_OPTION
@JSON_OPTION
def rebuilder_list(repo_dir: Path, as_json: bool) -> None:
    """List delegated rebuilders: keys in force, threshold, attestations published."""
    found = _open(repo_dir).rebuilder_list()
    if as_json:
        _emit(True, [{
            "name": info.name, "role": info.role, "keyids": list(info.keyids),
            "threshold": info.threshold, "attestations": info.attestations,
            "revoked": info.revoked,
        } for info in found], "")
        return
    if not found:
        click.echo("no rebuilders")
        return
    for info in found:
        state = "revoked" if info.revoked else (
            f"{info.threshold} of [{', '.join(k[:12] for k in info.keyids)}]"
        )
        click.echo(f"{info.name}\t{state}\t{info.attestations} attestations")


@rebuilder.command("submit")
@REPO_OPTION
@click.argument("name")
@click.argument("files", nargs=-1, required=True)
@click.option("--key", "keys", multiple=True, required=True, type=PRIVATE_KEY_FILE,
              help="Private key of the rebuilder (repeatable, up to its threshold).")
@passphrase_options
@online_passphrase_options
@JSON_OPTION
def rebuilder_submit(
    repo_dir: Path, name: str, files: tuple[str, ...], keys: tuple[Path, ...],
    passphrase_env: str | None, passphrase_file: Path | None, insecure_plaintext: bool,
    online_passphrase: str | None, as_json: bool,
) -> None:
    """Rebuilder NAME: publish attestation FILES (TARGET_PATH=FILE, or files named
    .../attestations/PACKAGE/VERSION/TARGET/NAME.intoto.jsonl) in its role.

    Each must be a DSSE envelope signed by one of the rebuilder's keys about exactly that
    published image; the next version of rebuilder-NAME lists them with every earlier
    attestation, signed with --key. Nothing is written unless all of them pass.
    """
    attestations = attestation_files(name, files)
    source = passphrase_source(passphrase_env, passphrase_file, insecure_plaintext)
    signers = [load_signer(path, source) for path in keys]
    _open(repo_dir, online_passphrase).submit_attestations(name, attestations, signers)
    from repo_tool.attested_dashboard import refresh_attestations

    warning = refresh_attestations(repo_dir)  # the dashboard's "reproduced by"
    if warning:
        click.echo(f"warning: {warning}", err=True)
    role = layout.rebuilder_role(name)
    _emit(as_json, {"role": role, "submitted": sorted(attestations)},
          f"{role}: published {len(attestations)} attestations")


def confirmations(summary: VerifySummary) -> list[dict[str, object]]:
    """Per published image: which rebuilders confirmed it, which disagreed, and how many
    attestations did not count, by the operator's rule (builder.rebuilder_policy) applied
    to what `verify` verified. Empty when no rebuilder has published an attestation."""
    from builder.rebuilder_policy import (
        ImageUnderReview,
        RebuilderAttestation,
        RebuilderPolicy,
        judge,
    )

    if not summary.attestations:
        return []
    rebuilders = {a.rebuilder for a in summary.attestations}
    report: list[dict[str, object]] = []
    for image in summary.images:
        about = [a for a in summary.attestations
                 if (a.package, a.version, a.target) == (image.package, image.version,
                                                         image.target)]
        decision = judge(
            ImageUnderReview(image.package, image.version, image.target, image.sha256),
            [RebuilderAttestation(a.rebuilder, a.keys, a.envelope) for a in about],
            RebuilderPolicy(1), rebuilders,
        )
        report.append({
            "package": image.package, "version": image.version, "target": image.target,
            "sha256": image.sha256, "confirmed_by": list(decision.confirmed_by),
            "disagreed": list(decision.disagreed),
            "not_counted": len(about) - len(decision.confirmed_by) - len(decision.disagreed),
        })
    return report


def confirmations_text(report: list[dict[str, object]]) -> str:
    """One line per image of `confirmations`, for `repo-tool verify`."""
    lines = []
    for row in report:
        confirmed = cast(list[str], row["confirmed_by"])
        disagreed = cast(list[str], row["disagreed"])
        plural = "" if len(confirmed) == 1 else "s"
        line = (f"  {row['package']} {row['version']} {row['target']}: confirmed by "
                f"{len(confirmed)} rebuilder{plural}"
                + (f" ({', '.join(confirmed)})" if confirmed else ""))
        if disagreed:
            line += f"; disagreed: {', '.join(disagreed)}"
        if row["not_counted"]:
            line += f"; {row['not_counted']} attestations not counted"
        lines.append(line)
    return "\n".join(lines)
