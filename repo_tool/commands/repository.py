"""Repository commands: key ceremony, quorum, packages, releases, TAP 8, snapshot/timestamp, serve.

Every command takes --repo DIR (or $REPO_TOOL_REPO; default: the current
directory). Private keys are passed with --key and unlocked with the
--passphrase-env / --passphrase-file / --insecure-plaintext options.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import click

from builder.plan import check_release
from repo_tool.commands.keys import (
    online_passphrase_options,
    passphrase_options,
    passphrase_source,
)
from repo_tool.commands.service_options import (
    http_options,
    open_access_log,
    schedule_options,
    schedule_policy,
    stop_on_signals,
)
from repo_tool.deprecated import renamed_option
from repo_tool.errors import RepoToolError
from signing.keys import (
    PassphraseSource,
    generate_key,
    load_public_key,
    load_signer,
    write_key_pair,
)
from tuf_metadata import layout
from tuf_metadata.errors import TufError
from tuf_metadata.http_server import HttpLimits
from tuf_metadata.repo_verify import now_utc, verify_repository
from tuf_metadata.repository import (
    ExpiryPolicy,
    NotInitialisedError,
    PendingChange,
    Repository,
)
from tuf_metadata.service import RepositoryService

REPO_OPTION = click.option(
    "--repo", "-r", "repo_dir", envvar="REPO_TOOL_REPO", default=".", show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Repository directory (env REPO_TOOL_REPO).",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
ONLINE_OPTION = online_passphrase_options
PUBLIC_KEY_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)


def register(group: click.Group) -> None:
    for command in (
        init, pending, sign, maintainers, package, release, staging, publish, rotate,
        snapshot, timestamp, verify, serve,
    ):
        group.add_command(command)


def _repo(repo_dir: Path, online_passphrase: str | None = None) -> Repository:
    """An existing repository; a folder without repo.json is refused up front."""
    repo = Repository(repo_dir, online_passphrase)
    try:
        repo.config()
    except NotInitialisedError as error:
        raise RepoToolError(f"{error}: pass --repo DIR (or set REPO_TOOL_REPO), or create one "
                            "with `repo-tool init`") from None
    return repo


def _published(repo_dir: Path) -> None:
    """Refuse a folder with nothing published, saying why, before `verify` looks for roots."""
    metadata = repo_dir / "metadata"
    if metadata.is_dir() and any(metadata.iterdir()):
        return  # a published repository, or a damaged one: verify says what is wrong
    if (repo_dir / "repo.json").is_file():
        raise RepoToolError(f"{repo_dir}: nothing is published yet (no metadata/1.root.json); "
                            "the key ceremony waits for maintainer signatures: see "
                            f"`repo-tool pending --repo {repo_dir}`")
    raise RepoToolError(f"{repo_dir} is not a repository (no metadata/1.root.json): pass "
                        "--repo DIR, a repository or a published copy of one (or set "
                        "REPO_TOOL_REPO)")


def _signers(keys: tuple[Path, ...], source: PassphraseSource) -> list[Any]:
    return [load_signer(path, source) for path in keys]


def _emit(as_json: bool, data: Any, text: str) -> None:
    click.echo(json.dumps(data, indent=2) if as_json else text)


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
@JSON_OPTION
def init(
    repo_dir: Path, maintainer_keys: tuple[Path, ...], threshold: int, keys: tuple[Path, ...],
    passphrase_env: str | None, passphrase_file: Path | None, insecure_plaintext: bool,
    online_passphrase_env: str | None, online_passphrase_file: Path | None,
    insecure_online_keys: bool, root_days: float,
    targets_days: float, snapshot_days: float, timestamp_days: float, as_json: bool,
) -> None:
    """Key ceremony: create a repository with n maintainers and threshold t.

    Generates the online snapshot and timestamp keys under REPO/online/ and
    proposes root, targets (delegating to 256 shard roles) and the shards as
    pending change; it is published when t maintainers signed it (here with
    --key, or later with `repo-tool sign ID --key ...`).

    Example: repo-tool init --repo repo --pubkey a.pub.json --pubkey b.pub.json
    --pubkey c.pub.json -t 2 --online-passphrase-env ONLINE_PW
    """
    if sum(map(bool, (online_passphrase_env, online_passphrase_file,
                      insecure_online_keys))) != 1:
        raise click.UsageError("give exactly one of --online-passphrase-env, "
                               "--online-passphrase-file, --insecure-online-keys")
    online_spec = (
        "insecure" if insecure_online_keys
        else f"env:{online_passphrase_env}" if online_passphrase_env
        else f"file:{Path(str(online_passphrase_file)).resolve()}"
    )
    maintainers = [load_public_key(path) for path in maintainer_keys]
    signers = _signers(keys, passphrase_source(passphrase_env, passphrase_file,
                                               insecure_plaintext)) if keys else []
    repo = Repository(repo_dir)
    repo.check_ceremony(maintainers, threshold)
    passphrase = PassphraseSource.parse(online_spec).read("online keys")
    online_dir = repo_dir / "online"
    online_dir.mkdir(parents=True, exist_ok=True)
    online: dict[str, Path] = {}
    public = {}
    for role in ("snapshot", "timestamp"):
        signer = generate_key()
        write_key_pair(signer, online_dir / f"{role}.key", passphrase)
        online[role] = Path("online") / f"{role}.key"
        public[role] = signer.public_key
    change = repo.init(
        maintainers, threshold, public["snapshot"], public["timestamp"], online,
        online_spec,
        ExpiryPolicy(root_days, targets_days, snapshot_days, timestamp_days),
    )
    committed = False
    if signers:
        change, committed = repo.sign_pending(change.change_id, signers)
    data = {"id": change.change_id, "committed": committed}
    if not committed:
        data.update(_status_dict(repo, change))
    _emit(as_json, data, _commit_message(change, committed, data))


@click.command()
@REPO_OPTION
@click.argument("change_id", required=False)
@click.option("--withdraw", is_flag=True, help="Delete the pending change CHANGE_ID unpublished.")
@JSON_OPTION
def pending(repo_dir: Path, change_id: str | None, withdraw: bool, as_json: bool) -> None:
    """List pending root/targets/shard changes and how many signatures each still needs."""
    repo = _repo(repo_dir)
    if withdraw:
        if not change_id:
            raise click.UsageError("--withdraw needs a CHANGE_ID")
        repo.withdraw_pending(change_id)
        _emit(as_json, {"withdrawn": change_id}, f"withdrew {change_id}")
        return
    changes = [repo.pending_change(change_id)] if change_id else repo.pending_changes()
    data = [_status_dict(repo, change) for change in changes]
    text = "\n".join(_status_text(d) for d in data) or "no pending changes"
    _emit(as_json, data, text)


@click.command()
@REPO_OPTION
@click.argument("change_id")
@click.option("--key", "keys", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Maintainer private key to sign with (repeatable).")
@passphrase_options
@ONLINE_OPTION
@JSON_OPTION
def sign(
    repo_dir: Path, change_id: str, keys: tuple[Path, ...], passphrase_env: str | None,
    passphrase_file: Path | None, insecure_plaintext: bool, online_passphrase: str | None,
    as_json: bool,
) -> None:
    """Sign pending change CHANGE_ID; it is published once t maintainers signed (t-1: nothing)."""
    repo = _repo(repo_dir, online_passphrase)
    signers = _signers(keys, passphrase_source(passphrase_env, passphrase_file,
                                               insecure_plaintext))
    change, committed = repo.sign_pending(change_id, signers)
    data: dict[str, Any] = {"id": change.change_id, "committed": committed}
    if not committed:
        data.update(_status_dict(repo, change))
    _emit(as_json, data, _commit_message(change, committed, data))


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
    change = _repo(repo_dir).propose_maintainers(
        "change maintainers", [load_public_key(path) for path in keys], threshold
    )
    _emit(as_json, {"id": change.change_id}, f"pending change {change.change_id}: sign it with "
          f"`repo-tool sign {change.change_id} --key ...`")


@click.group()
def package() -> None:
    """Delegate packages to their authors and list them."""


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

    Takes effect when t maintainers signed the pending change it prints.
    """
    change = _repo(repo_dir).propose_package(
        name, [load_public_key(path) for path in authors], threshold
    )
    _emit(as_json, {"id": change.change_id, "role": layout.package_role(name),
                    "shard": layout.shard_role(name)},
          f"pending change {change.change_id}: delegate {layout.package_role(name)} in "
          f"{layout.shard_role(name)}; sign it with `repo-tool sign {change.change_id} --key ...`")


@package.command("list")
@REPO_OPTION
@JSON_OPTION
def package_list(repo_dir: Path, as_json: bool) -> None:
    """List delegated packages."""
    names = sorted(_repo(repo_dir).packages())
    _emit(as_json, names, "\n".join(names) or "no packages")


class ReleaseGroup(click.Group):
    """`release NAME VERSION ...` stages (the `stage` subcommand); `release withdraw ...`
    and `release stage ...` name theirs. A package called like a subcommand is staged
    with `release stage NAME ...`."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ctx.help_option_names:
            args = ["stage", *args]
        return super().parse_args(ctx, args)


@click.group(cls=ReleaseGroup)
def release() -> None:
    """Author: sign release VERSION of package NAME and put it in staging (not published).

    `repo-tool release NAME VERSION --manifest ... --source ... --image ... --key ...`
    stages a release (the same as `release stage`); `repo-tool release withdraw NAME
    VERSION --key ...` removes a staged or rejected one so VERSION can be released again.
    """


@release.command("stage")
@REPO_OPTION
@click.argument("name")
@click.argument("version")
@click.option("--manifest", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The release's package manifest (published as manifest.json).")
@click.option("--source", "source_archive", required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Deterministic source archive (published as NAME-VERSION.tar.gz).")
@click.option("--image", "images", multiple=True, required=True, metavar="TARGET=FILE",
              help="The author's own build for a Solo5 target, e.g. hvt=build/hello.hvt "
              "(repeatable); its length and sha256 are signed.")
@click.option("--key", "keys", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Author private key (repeatable, up to the package threshold).")
@passphrase_options
@JSON_OPTION
def release_stage(
    repo_dir: Path, name: str, version: str, manifest: Path, source_archive: Path,
    images: tuple[str, ...], keys: tuple[Path, ...], passphrase_env: str | None,
    passphrase_file: Path | None, insecure_plaintext: bool, as_json: bool,
) -> None:
    """Author: sign release VERSION of package NAME and put it in staging (not published).

    The builder publishes it after reproducing the image hashes; tests and the
    demo use `repo-tool publish --no-build`.
    """
    image_paths: dict[str, Path] = {}
    for spec in images:
        target, sep, file = spec.partition("=")
        if not sep or not target or not file:
            raise click.UsageError(f"--image {spec!r}: expected TARGET=FILE")
        image_paths[target] = Path(file)
    # The builder's own requirements, checked before anything is signed or staged.
    check_release(manifest.read_bytes(), source_archive.read_bytes(), name, version,
                  sorted(image_paths))
    signers = _signers(keys, passphrase_source(passphrase_env, passphrase_file,
                                               insecure_plaintext))
    staged = _repo(repo_dir).stage_release(
        name, version, manifest, source_archive, image_paths, signers
    )
    data = {
        "package": staged.package, "version": staged.version,
        "images": {path: tf.hashes["sha256"] for path, tf in staged.image_targets.items()},
    }
    _emit(as_json, data, f"staged {name} {version} ({len(staged.image_targets)} images)")


@release.command("withdraw")
@REPO_OPTION
@click.argument("name")
@click.argument("version")
@click.option("--key", "keys", multiple=True, required=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Author private key (repeatable, up to the package threshold).")
@passphrase_options
@JSON_OPTION
def release_withdraw(
    repo_dir: Path, name: str, version: str, keys: tuple[Path, ...], passphrase_env: str | None,
    passphrase_file: Path | None, insecure_plaintext: bool, as_json: bool,
) -> None:
    """Author: remove staged or rejected release VERSION of NAME (signed by a threshold of
    the package's authors) so the same version can be released again."""
    signers = _signers(keys, passphrase_source(passphrase_env, passphrase_file,
                                               insecure_plaintext))
    _repo(repo_dir).withdraw_release(name, version, signers)
    _emit(as_json, {"package": name, "version": version, "withdrawn": True},
          f"withdrew {name} {version} from staging; it can be released again")


@click.command()
@REPO_OPTION
@JSON_OPTION
def staging(repo_dir: Path, as_json: bool) -> None:
    """List staged releases, with the reason for any rejected one."""
    repo = _repo(repo_dir)
    rows = []
    for staged in repo.staged_releases(include_rejected=True):
        rejection = repo.rejection(staged)
        rows.append({
            "package": staged.package, "version": staged.version,
            "state": "rejected" if rejection else "staged",
            "reason": rejection.get("reason") if rejection else None,
        })
    text = "\n".join(
        f"{r['package']} {r['version']}  {r['state']}" + (f": {r['reason']}" if r["reason"] else "")
        for r in rows
    )
    _emit(as_json, rows, text or "staging is empty")


@click.command()
@REPO_OPTION
@click.argument("name", required=False)
@click.argument("version", required=False)
@click.option("--no-build", is_flag=True, required=True,
              help="Publish the author's own images without the builder (tests and demo).")
@ONLINE_OPTION
@JSON_OPTION
def publish(
    repo_dir: Path, name: str | None, version: str | None, no_build: bool,
    online_passphrase: str | None, as_json: bool,
) -> None:
    """Publish staged releases (all, or NAME [VERSION]) with the author's images, unbuilt.

    The normal path is the builder, which publishes only after reproducing
    the author-signed image hashes; --no-build is required here to say so.
    """
    if not no_build:
        raise click.UsageError("publishing without the builder needs --no-build")
    repo = _repo(repo_dir, online_passphrase)
    done = []
    for staged in repo.staged_releases():
        if (name and staged.package != name) or (version and staged.version != version):
            continue
        repo.publish_release(staged, repo.author_images(staged))
        done.append({"package": staged.package, "version": staged.version})
    if (name or version) and not done:
        raise TufError(f"{layout.package_role(name or '')}: no matching release in staging")
    _emit(as_json, done, "\n".join(f"published {d['package']} {d['version']}" for d in done)
          or "nothing to publish")


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
    replaced and lists it in a new snapshot. See docs/tap8-profile.md.
    """
    if revoke == bool(new_keys):
        raise click.UsageError("give either --pubkey ... (the new public keys) or --revoke")
    package_name = layout.package_of_role(role) or role
    source = passphrase_source(passphrase_env, passphrase_file, insecure_plaintext)
    number = _repo(repo_dir, online_passphrase).rotate(
        package_name,
        [load_public_key(path) for path in new_keys],
        threshold,
        _signers(old_keys, source),
        _signers(new_signers, source),
        revoke=revoke,
        replace_last=replace_last,
    )
    rotate_name = layout.rotate_file_name(layout.package_role(package_name), number)
    _emit(as_json, {"role": layout.package_role(package_name), "rotate": number,
                    "file": rotate_name, "revoked": revoke},
          f"wrote {rotate_name}" + (" (role revoked)" if revoke else ""))


@click.command()
@REPO_OPTION
@ONLINE_OPTION
@JSON_OPTION
def snapshot(repo_dir: Path, online_passphrase: str | None, as_json: bool) -> None:
    """Sign a new snapshot (including verified role files not yet listed) and timestamp."""
    version = _repo(repo_dir, online_passphrase).resign_snapshot()
    _emit(as_json, {"snapshot": version}, f"signed snapshot version {version}")


@click.command()
@REPO_OPTION
@ONLINE_OPTION
@JSON_OPTION
def timestamp(repo_dir: Path, online_passphrase: str | None, as_json: bool) -> None:
    """Re-sign timestamp for the newest snapshot."""
    version = _repo(repo_dir, online_passphrase).resign_timestamp()
    _emit(as_json, {"timestamp": version}, f"signed timestamp version {version}")


@click.command()
@REPO_OPTION
@click.option("--no-expiry", is_flag=True, help="Skip the expiry checks.")
@JSON_OPTION
def verify(repo_dir: Path, no_expiry: bool, as_json: bool) -> None:
    """Verify the published repository: root chain, every role's signatures, every target file."""
    _published(repo_dir)
    summary = verify_repository(repo_dir, None if no_expiry else now_utc())
    data = {
        "root": summary.root_version, "snapshot": summary.snapshot_version,
        "timestamp": summary.timestamp_version, "roles": summary.roles,
        "targets": summary.targets, "revoked": list(summary.revoked),
    }
    _emit(as_json, data, f"ok: root v{summary.root_version}, snapshot v{summary.snapshot_version}"
          f", {summary.roles} roles, {summary.targets} target files verified"
          + (f", revoked: {', '.join(summary.revoked)}" if summary.revoked else ""))


@click.command()
@REPO_OPTION
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, type=int, help="Port (0: any free).")
@schedule_options
@http_options
@click.option("--access-log", metavar="FILE",
              help="Append one Common Log Format line per request to FILE ('-': stderr).")
@ONLINE_OPTION
def serve(
    repo_dir: Path, host: str, port: int, interval: float, resign_fraction: float,
    max_failures: int, max_backoff: float, request_timeout: float, write_timeout: float,
    max_connections: int, access_log: str | None, online_passphrase: str | None,
) -> None:
    """Run the snapshot/timestamp service and serve the repository over HTTP.

    Serves metadata/ and targets/ (metadata gzip-compressed to clients that
    ask), the build dashboard and reports (dashboard/, builds/) read-only,
    health at /healthz and Prometheus metrics at /metrics; never online/,
    pending/, staging/ or repo.json. Makes a new snapshot when any targets
    metadata changed, re-signs timestamp (and snapshot) before expiry, logs
    each signing, and stops cleanly on SIGTERM or Ctrl-C. Exits 1 after
    --max-failures failed signing rounds in a row. For production, run
    `sign-service` and a static web server instead (docs/operations.md).
    """
    policy = schedule_policy(interval, resign_fraction, max_failures, max_backoff)
    limits = HttpLimits(request_timeout, write_timeout, max_connections)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    repo = _repo(repo_dir, online_passphrase)
    repo.online_signer("snapshot")
    repo.online_signer("timestamp")
    with open_access_log(access_log) as log_stream:
        service = RepositoryService(repo, host, port, limits=limits, policy=policy,
                                    access_log=log_stream)
        stop_on_signals(service.request_stop)
        service.start()
        host_bound, port_bound = service.address
        click.echo(f"listening on http://{host_bound}:{port_bound}/", err=True)
        service.wait()
        service.stop()
    if service.failure is not None:
        raise service.failure
