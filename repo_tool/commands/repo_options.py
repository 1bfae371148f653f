"""Options and helpers shared by the repository commands (quorum, packages, releases,
publishing, services, hosting).

Every repository command takes --repo DIR (or $REPO_TOOL_REPO; default: the current
directory). Private keys are passed with --key and unlocked with the --passphrase-env /
--passphrase-file / --insecure-plaintext options; the online keys with
--online-passphrase-env / --online-passphrase-file.

This module imports only what every repository command needs (click, the key loader and
the Repository facade), so a command module pays for its own imports only.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from repo_tool.commands.keys import online_passphrase_options
from repo_tool.commands.options import JSON_OPTION as JSON_OPTION
from repo_tool.commands.options import PUBLIC_KEY_FILE as PUBLIC_KEY_FILE
from repo_tool.commands.options import REPO_OPTION as REPO_OPTION
from repo_tool.errors import RepoToolError
from signing.key_files import PassphraseSource
from tuf_metadata.repository import NotInitialisedError, Repository

if TYPE_CHECKING:
    from securesystemslib.signer import Signer

ONLINE_OPTION = online_passphrase_options


def open_repo(repo_dir: Path, online_passphrase: str | None = None) -> Repository:
    """An existing repository; a folder without repo.json is refused up front."""
    repo = Repository(repo_dir, online_passphrase)
    try:
        repo.config()
    except NotInitialisedError as error:
        raise RepoToolError(f"{error}: pass --repo DIR (or set REPO_TOOL_REPO), or create one "
                            "with `repo-tool init`") from None
    return repo


def load_signers(keys: tuple[Path, ...], source: PassphraseSource) -> list[Signer]:
    from signing.keys import load_signer  # securesystemslib: the commands that sign need it

    return [load_signer(path, source) for path in keys]


def emit(as_json: bool, data: Any, text: str) -> None:
    """Print DATA as JSON with --json, else TEXT."""
    click.echo(json.dumps(data, indent=2) if as_json else text)
