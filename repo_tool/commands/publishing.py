"""Publishing commands: `publish` (staged releases, unbuilt), `snapshot`, `timestamp`, and
`verify` (the whole published repository)."""

from __future__ import annotations

from pathlib import Path

import click

from repo_tool.commands.repo_options import (
    JSON_OPTION,
    ONLINE_OPTION,
    REPO_OPTION,
    emit,
    open_repo,
)
from repo_tool.errors import RepoToolError
from tuf_metadata import layout
from tuf_metadata.errors import TufError
from tuf_metadata.repo_paths import repository_paths


def register(group: click.Group) -> None:
    for command in (publish, snapshot, timestamp, verify):
        group.add_command(command)


def _published(repo_dir: Path) -> None:
    """Refuse a folder with nothing published, saying why, before `verify` looks for roots."""
    paths = repository_paths(repo_dir)
    metadata = paths.metadata
    if metadata.is_dir() and any(metadata.iterdir()):
        return  # a published repository, or a damaged one: verify says what is wrong
    if paths.config.is_file():
        raise RepoToolError(f"{repo_dir}: nothing is published yet (no metadata/1.root.json); "
                            "the key ceremony waits for maintainer signatures: see "
                            f"`repo-tool pending --repo {repo_dir}`")
    raise RepoToolError(f"{repo_dir} is not a repository (no metadata/1.root.json): pass "
                        "--repo DIR, a repository or a published copy of one (or set "
                        "REPO_TOOL_REPO)")


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
    repo = open_repo(repo_dir, online_passphrase)
    done = []
    for staged in repo.staged_releases(package=name, version=version):
        repo.publish_release(staged, repo.author_images(staged))
        done.append({"package": staged.package, "version": staged.version})
    if (name or version) and not done:
        raise TufError(f"{layout.package_role(name or '')}: no matching release in staging")
    emit(as_json, done, "\n".join(f"published {d['package']} {d['version']}" for d in done)
          or "nothing to publish")


@click.command()
@REPO_OPTION
@ONLINE_OPTION
@JSON_OPTION
@click.option("--tree/--no-tree", "tree", default=None,
              help="From this snapshot on, also publish (or stop publishing) the snapshot "
                   "tree clients verify instead of snapshot.json (docs/tap16-profile.md); "
                   "recorded in repo.json.")
def snapshot(repo_dir: Path, online_passphrase: str | None, as_json: bool,
             tree: bool | None) -> None:
    """Sign a new snapshot (including verified role files not yet listed) and timestamp."""
    repo = open_repo(repo_dir, online_passphrase)
    if tree is not None:
        from tuf_metadata.snapshot_tree_files import set_tree_enabled

        repo.online.require_online()  # a wrong passphrase changes nothing
        set_tree_enabled(repo.files, tree)
    version = repo.resign_snapshot()
    emit(as_json, {"snapshot": version}, f"signed snapshot version {version}")


@click.command()
@REPO_OPTION
@ONLINE_OPTION
@JSON_OPTION
def timestamp(repo_dir: Path, online_passphrase: str | None, as_json: bool) -> None:
    """Re-sign timestamp for the newest snapshot."""
    version = open_repo(repo_dir, online_passphrase).resign_timestamp()
    emit(as_json, {"timestamp": version}, f"signed timestamp version {version}")


@click.command()
@REPO_OPTION
@click.option("--no-expiry", is_flag=True, help="Skip the expiry checks.")
@JSON_OPTION
def verify(repo_dir: Path, no_expiry: bool, as_json: bool) -> None:
    """Verify the published repository: root chain, every role's signatures, every target file."""
    from tuf_metadata.hosting import layout_warning
    from tuf_metadata.repo_verify import now_utc, verify_repository

    _published(repo_dir)
    # Private files served next to the metadata are the operator's layout, not a signature
    # problem: one line on stderr, the exit status stays verification's.
    warning = layout_warning(repository_paths(repo_dir))
    if warning:
        click.echo(warning, err=True)
    summary = verify_repository(repo_dir, None if no_expiry else now_utc())
    data: dict[str, object] = {
        "root": summary.root_version, "snapshot": summary.snapshot_version,
        "timestamp": summary.timestamp_version, "roles": summary.roles,
        "targets": summary.targets, "revoked": list(summary.revoked),
        "warnings": [warning] if warning else [],
    }
    from repo_tool.commands.rebuilder import confirmations, confirmations_text

    images = confirmations(summary)  # how many rebuilders confirmed each image
    if images:
        data["images"] = images
    emit(as_json, data, f"ok: root v{summary.root_version}, snapshot v{summary.snapshot_version}"
          f", {summary.roles} roles, {summary.targets} target files verified"
          + (f", revoked: {', '.join(summary.revoked)}" if summary.revoked else "")
          + (f"\n{confirmations_text(images)}" if images else ""))


