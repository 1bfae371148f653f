"""Entry point of `repo-tool`.

Each area of the tool lives in its own module under repo_tool.commands and
exposes `register(group)`, so areas never edit each other's code. Every
error of the toolkit's exception hierarchies becomes one line on stderr and
exit status 1; click's usage errors exit with 2.

Exit statuses: 0 success; 1 the operation failed or was refused (the line
says why); 2 bad usage; `repo-tool run` returns the guest's own exit status.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from builder.errors import BuildError
from repo_tool.commands import ALL_AREAS
from reports.errors import ReportError
from signing.errors import SigningError
from solo5.errors import Solo5Error
from tuf_metadata.errors import TufError

TOOLKIT_ERRORS: tuple[type[Exception], ...] = (
    SigningError,
    TufError,
    BuildError,
    ReportError,
    Solo5Error,
)


class ToolkitGroup(click.Group):
    """A click group that turns toolkit errors into one line and exit 1."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except TOOLKIT_ERRORS as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            click.echo(f"error: {message}", err=True)
            sys.exit(1)
        except OSError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)


@click.group(cls=ToolkitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="unirepo")
def cli() -> None:
    """Reproducible, TUF-signed unikernel repository toolkit.

    Maintainers create the repository and delegate packages; authors sign
    releases and rotate their keys (TAP 8); the builder builds every release
    twice and publishes only bit-identical images; operators fetch verified
    images and run them on Solo5 targets.
    """


for _register in ALL_AREAS:
    _register(cli)


def main() -> None:
    cli(prog_name="repo-tool")
