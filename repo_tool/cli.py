"""Entry point of `repo-tool`.

Each area of the tool lives in its own module under repo_tool.commands and
exposes `register(group)`, so areas never edit each other's code. The table in
repo_tool.commands names the module of every top-level command; a module is
imported only when one of its commands runs, so `repo-tool run` starts without
loading the builder, the repository or the TUF client.

Every error of the toolkit's exception hierarchies becomes one line on stderr
and exit status 1; click's usage errors exit with 2.

Exit statuses: 0 success; 1 the operation failed or was refused (the line
says why); 2 bad usage; 130 interrupted (Ctrl-C: the one line `interrupted`);
`repo-tool run` returns the guest's own exit status.
"""

from __future__ import annotations

import importlib
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

from repo_tool.commands import COMMANDS
from repo_tool.errors import TOOLKIT_ERRORS

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


def load_area(module: str) -> dict[str, click.Command]:
    """Import one area module and return the commands its `register` adds."""
    area = importlib.import_module(module)
    scratch = click.Group()
    area.register(scratch)
    return dict(scratch.commands)


class LazyCommandGroup(click.Group):
    """The top-level group: commands come from the COMMANDS table, imported on use.

    Listing (help, shell completion) reads names and short help from the table;
    only resolving a command imports the module that defines it. Toolkit errors
    become one line and exit 1.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if cmd_name not in self.commands and entry is not None:
            for name, command in load_area(entry.module).items():
                if name in COMMANDS and COMMANDS[name].module == entry.module:
                    self.commands.setdefault(name, command)
        return self.commands.get(cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name].short_help if name in COMMANDS
                 else self.commands[name].get_short_help_str(formatter.width))
                for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        from click.shell_completion import CompletionItem

        names = [name for name in self.list_commands(ctx) if name.startswith(incomplete)]
        items = [CompletionItem(name, help=COMMANDS[name].short_help if name in COMMANDS
                                else None) for name in names]
        # Options of the group itself; click.Group's version would import every area.
        items.extend(click.Command.shell_complete(self, ctx, incomplete))
        return items

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:
            interrupted()
        except click.Abort as abort:
            # click's prompts turn Ctrl-C into Abort ("Aborted!", exit 1); Ctrl-D stays that.
            if isinstance(abort.__context__, KeyboardInterrupt):
                interrupted()
            raise
        except TOOLKIT_ERRORS as error:
            message = str(error).splitlines()[0] if str(error) else type(error).__name__
            click.echo(f"error: {message}", err=True)
            sys.exit(1)
        except OSError as error:
            click.echo(f"error: {error}", err=True)
            sys.exit(1)


@click.group(cls=LazyCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="unirepo")
def cli() -> None:
    """Reproducible, TUF-signed unikernel repository toolkit.

    Maintainers create the repository and delegate packages; authors sign
    releases and rotate their keys (TAP 8); the builder builds every release
    twice and publishes only bit-identical images; operators fetch verified
    images and run them on Solo5 targets.
    """


def interrupted() -> NoReturn:
    """Ctrl-C: one line and exit 130 (128 + SIGINT), never a traceback.

    Every repository write is atomic and ordered so that a stop at any point
    leaves a repository `verify` accepts; running the command again finishes it.
    """
    click.echo("interrupted", err=True)
    sys.exit(130)


def main() -> None:
    try:
        cli(prog_name="repo-tool")
    except KeyboardInterrupt:  # before or after click's own handling
        interrupted()
