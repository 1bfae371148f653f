"""Click options that several command areas declare the same way; click only, cheap to import."""

from __future__ import annotations

from pathlib import Path

import click

REPO_OPTION = click.option(
    "--repo", "-r", "repo_dir", envvar="REPO_TOOL_REPO", default=".", show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Repository directory (env REPO_TOOL_REPO).",
)
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
PUBLIC_KEY_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
