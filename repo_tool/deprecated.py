"""Old option spellings kept for one release: hidden, merged into the new option, and warned.

`renamed_option("--maintainer", new="--pubkey", dest="keys")` adds a hidden option
`--maintainer` to a command; when it is given, its values join those of `--pubkey` (a
repeatable option) or stand for it (a single-valued one, refused if both are given), and
one line on stderr says what to type instead. A new option that is required must be
declared without `required=True` and named here with `required=True`, so that a command
line using only the old spelling is accepted.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import click
from click.core import ParameterSource

F = TypeVar("F", bound=Callable[..., Any])


def warn_renamed(old: str, new: str) -> None:
    """The one deprecation line, on stderr."""
    click.echo(f"warning: {old} is deprecated and will be removed in the next release; "
               f"use {new}", err=True)


def renamed_option(*old: str, new: str, dest: str, multiple: bool = False,
                   required: bool = False, **option: Any) -> Callable[[F], F]:
    """Keep the spellings OLD of option NEW (parameter DEST) working, with a warning.

    option: the type and other settings of NEW, so the old spelling is parsed the same way.
    """
    hidden_dest = f"deprecated_{dest}"
    old_names = "/".join(old)

    def decorate(function: F) -> F:
        @functools.wraps(function)
        def merged(*args: Any, **kwargs: Any) -> Any:
            old_value = kwargs.pop(hidden_dest)
            given_old = bool(old_value) if multiple else old_value is not None
            if given_old:
                warn_renamed(old_names, new)
                if multiple:
                    kwargs[dest] = (*kwargs[dest], *old_value)
                elif click.get_current_context().get_parameter_source(dest) in (
                        ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT):
                    raise click.UsageError(f"give {new} or {old_names}, not both")
                else:
                    kwargs[dest] = old_value
            if required and not kwargs[dest]:
                raise click.UsageError(f"Missing option '{new}'.")
            return function(*args, **kwargs)

        return click.option(*old, hidden_dest, hidden=True, multiple=multiple,
                            default=None, **option)(merged)  # type: ignore[return-value]

    return decorate
