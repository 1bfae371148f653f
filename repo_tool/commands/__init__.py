"""Which module defines each top-level command of repo-tool, and its one-line help.

Command modules are imported only when their command is invoked: `repo-tool run`
imports repo_tool.commands.image and nothing of the builder, the repository or
the TUF client, and `repo-tool --help` lists every command from this table
without importing any of them (see repo_tool.cli.LazyCommandGroup).

To add a command: define it in an area module whose `register(group)` adds it to
the group, and add one line below. tests/cli/test_command_table.py fails when a
module registers a command that is not listed, when a listed command does not
exist, or when the help below differs from the command's own short help.

This module must stay cheap to import: no click, no project packages.
"""

from __future__ import annotations

from typing import NamedTuple

AREA_PACKAGE = "repo_tool.commands"


class CommandEntry(NamedTuple):
    """A top-level command: the area module (under AREA_PACKAGE) and its short help."""

    area: str
    short_help: str

    @property
    def module(self) -> str:
        return f"{AREA_PACKAGE}.{self.area}"


_E = CommandEntry

COMMANDS: dict[str, CommandEntry] = {
    "build": _E("build", "Publish gate: build every staged release twice; publish only exact, "
                "author-matching images."),
    "build-package": _E("build_package", "Build package MANIFEST twice (B varied), compare bit "
                        "for bit, report."),
    "demo": _E("demo", "The whole pipeline on a local repository, every role in turn, nothing "
               "off this machine."),
    "fetch": _E("fetch", "Fetch package NAME's image or source archive through TUF, verified, "
                "into a directory."),
    "image": _E("image", "Look inside Solo5 unikernel images."),
    "init": _E("quorum", "Key ceremony: create a repository with n maintainers and "
               "threshold t."),
    "intoto": _E("intoto", "in-toto layout (author, builder, k rebuilders) for the in-toto "
                 "project's in-toto-verify."),
    "key": _E("keys", "Generate, export and list signing keys (ed25519, ecdsa-p256, rsa-pss)."),
    "maintainers": _E("quorum", "Propose a new maintainer set and threshold (adds/removes "
                      "maintainers, rotates root)."),
    "migrate": _E("hosting", "Move an old repository's metadata/ and targets/ into "
                  "REPO/public/, apart from its keys."),
    "online-keys": _E("quorum", "Replace the online snapshot/timestamp keys (a root change t "
                      "maintainers sign)."),
    "package": _E("packages", "Delegate packages to their authors, list or remove them."),
    "pending": _E("quorum", "List pending root/targets/shard changes and how many "
                  "signatures each still needs."),
    "publish": _E("publishing", "Publish staged releases (all, or NAME [VERSION]) with the "
                  "author's images, unbuilt."),
    "rebuild": _E("rebuild", "Rebuild published releases from their signed inputs and sign an "
                  "attestation for each image."),
    "rebuilder": _E("rebuilder", "Rebuilders: delegate (maintainer quorum), list, remove, "
                    "submit attestations."),
    "release": _E("releases", "Author: sign release VERSION of package NAME and put it in "
                  "staging (not published)."),
    "remote": _E("remote", "Add, list, remove and choose the repositories fetch, search and "
                 "show use."),
    "rotate": _E("packages", "TAP 8: rotate package role ROLE (pkg-NAME or NAME) to new "
                 "keys, or revoke it."),
    "run": _E("image", "Boot IMAGE on the Solo5 tender its ABI note names (hvt or spt), or "
              "under QEMU (virtio)."),
    "search": _E("discover", "List packages whose name contains WORD, with their latest "
                 "verified version."),
    "serve": _E("services", "Run the snapshot/timestamp service and serve the repository "
                "over HTTP."),
    "show": _E("discover", "Show package NAME: versions, files with length and sha256, signing "
               "keys, threshold."),
    "sign": _E("quorum", "Sign pending change CHANGE_ID; it is published once t "
               "maintainers signed (t-1: nothing)."),
    "sign-service": _E("services", "Run the snapshot/timestamp service alone (no HTTP); publish "
                       "with a static server."),
    "snapshot": _E("publishing", "Sign a new snapshot (including verified role files not yet "
                   "listed) and timestamp."),
    "staging": _E("releases", "List staged releases, with the reason for any rejected one."),
    "sync": _E("hosting", "Publish metadata/ and targets/ (never keys, pending or staging) into "
               "--to DEST."),
    "timestamp": _E("publishing", "Re-sign timestamp for the newest snapshot."),
    "verify": _E("publishing", "Verify the published repository: root chain, every role's "
                 "signatures, every target file."),
    "worker": _E("worker", "Run a build-farm worker: one sandboxed build per task, results "
                 "signed with --key."),
}
