"""Command areas of repo-tool; each module owns its commands.

To add an area: write a module with `register(group: click.Group) -> None`
and list it here.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from repo_tool.commands import build, demo, fetch, hosting, image, keys, repository

ALL_AREAS: list[Callable[[click.Group], None]] = [
    build.register,
    demo.register,
    fetch.register,
    hosting.register,
    image.register,
    keys.register,
    repository.register,
]
