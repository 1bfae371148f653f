"""Author commands: `release` (stage a signed release, withdraw a staged one, yank a
published one) and `staging`.

The builder's own requirements of a release (builder.plan.check_release) are checked
here, before anything is signed or staged; only this module imports the builder.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from builder.errors import BuildError
from builder.plan import check_release
from builder.reference import toolchain_of_buildinfo
from repo_tool.cli_table import echo_table
from repo_tool.commands.keys import passphrase_options, passphrase_source
from repo_tool.commands.repo_options import (
    JSON_OPTION,
    ONLINE_OPTION,
    REPO_OPTION,
    emit,
    load_signers,
    open_repo,
)
from tuf_metadata import layout
from tuf_metadata.removal import yank_release

AUTHOR_KEYS_OPTION = click.option(
    "--key", "keys", multiple=True, required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Author private key (repeatable, up to the package threshold).")

def register(group: click.Group) -> None:
    group.add_command(release)
    group.add_command(staging)


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


def _target_files(option: str, specs: tuple[str, ...]) -> dict[str, Path]:
    """TARGET=FILE options as {target: path}."""
    files: dict[str, Path] = {}
    for spec in specs:
        target, sep, file = spec.partition("=")
        if not sep or not target or not file:
            raise click.UsageError(f"{option} {spec!r}: expected TARGET=FILE")
        files[target] = Path(file)
    return files


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
@click.option("--image", "images", multiple=True, metavar="TARGET=FILE",
              help="The author's own build for a Solo5 target, e.g. hvt=build/hello.hvt "
              "(repeatable; a unikernel needs one, a library has none); its length and "
              "sha256 are signed.")
@click.option("--buildinfo", "buildinfos", multiple=True, metavar="TARGET=FILE",
              help="The author's build info of that image (build-package's buildinfo.json), "
              "published as buildinfo.TARGET.json: rebuilders compare their toolchain with it.")
@AUTHOR_KEYS_OPTION
@passphrase_options
@JSON_OPTION
def release_stage(
    repo_dir: Path, name: str, version: str, manifest: Path, source_archive: Path,
    images: tuple[str, ...], buildinfos: tuple[str, ...], keys: tuple[Path, ...],
    passphrase_env: str | None,
    passphrase_file: Path | None, insecure_plaintext: bool, as_json: bool,
) -> None:
    """Author: sign release VERSION of package NAME and put it in staging (not published).

    The builder publishes it after reproducing the image hashes; tests and the
    demo use `repo-tool publish --no-build`.
    """
    image_paths = _target_files("--image", images)
    buildinfo_paths = _target_files("--buildinfo", buildinfos)
    # The builder's own requirements, checked before anything is signed or staged.
    check_release(manifest.read_bytes(), source_archive.read_bytes(), name, version,
                  sorted(image_paths))
    for target, path in buildinfo_paths.items():
        try:
            toolchain_of_buildinfo(json.loads(path.read_bytes()))
        except (OSError, ValueError, BuildError) as error:
            raise BuildError(f"--buildinfo {target}={path}: {str(error).splitlines()[0]}") from None
    signers = load_signers(keys, passphrase_source(passphrase_env, passphrase_file,
                                               insecure_plaintext))
    staged = open_repo(repo_dir).stage_release(
        name, version, manifest, source_archive, image_paths, signers, buildinfo_paths
    )
    data = {
        "package": staged.package, "version": staged.version,
        "images": {path: tf["hashes"]["sha256"] for path, tf in staged.image_targets.items()},
    }
    emit(as_json, data, f"staged {name} {version} ({len(staged.image_targets)} images)")


@release.command("withdraw")
@REPO_OPTION
@click.argument("name")
@click.argument("version")
@AUTHOR_KEYS_OPTION
@passphrase_options
@JSON_OPTION
def release_withdraw(
    repo_dir: Path, name: str, version: str, keys: tuple[Path, ...], passphrase_env: str | None,
    passphrase_file: Path | None, insecure_plaintext: bool, as_json: bool,
) -> None:
    """Author: remove staged or rejected release VERSION of NAME (signed by a threshold of
    the package's authors) so the same version can be released again."""
    signers = load_signers(keys, passphrase_source(passphrase_env, passphrase_file,
                                               insecure_plaintext))
    open_repo(repo_dir).withdraw_release(name, version, signers)
    emit(as_json, {"package": name, "version": version, "withdrawn": True},
          f"withdrew {name} {version} from staging; it can be released again")


@release.command("yank")
@REPO_OPTION
@click.argument("name")
@click.argument("version")
@AUTHOR_KEYS_OPTION
@passphrase_options
@ONLINE_OPTION
@JSON_OPTION
def release_yank(
    repo_dir: Path, name: str, version: str, keys: tuple[Path, ...], passphrase_env: str | None,
    passphrase_file: Path | None, insecure_plaintext: bool, online_passphrase: str | None,
    as_json: bool,
) -> None:
    """Author: stop offering published release VERSION of NAME (signed by a threshold of
    the package's authors); clients then pick the newest remaining version."""
    signers = load_signers(keys, passphrase_source(passphrase_env, passphrase_file,
                                                   insecure_plaintext))
    repo = open_repo(repo_dir, online_passphrase)
    role_version = yank_release(repo.files, repo.online, name, version, signers)
    emit(as_json, {"package": name, "version": version, "yanked": True,
                   "role_version": role_version},
         f"yanked {name} {version}: {layout.package_role(name)} v{role_version} no longer "
         "lists it")


@click.command()
@REPO_OPTION
@JSON_OPTION
def staging(repo_dir: Path, as_json: bool) -> None:
    """List staged releases, with the reason for any rejected one.

    On a terminal the columns are aligned; piped, the output is tab-separated with a
    header line. Nothing is cut in either.
    """
    repo = open_repo(repo_dir)
    rows = []
    for staged in repo.staged_releases(include_rejected=True):
        rejection = repo.rejection(staged)
        rows.append({
            "package": staged.package, "version": staged.version,
            "state": "rejected" if rejection else "staged",
            "reason": rejection.get("reason") if rejection else None,
        })
    if as_json or not rows:
        emit(as_json, rows, "staging is empty")
        return
    echo_table(["PACKAGE", "VERSION", "STATE", "REASON"],
               [[str(r["package"]), str(r["version"]), str(r["state"]), str(r["reason"] or "-")]
                for r in rows])


