"""The lazy command table of repo-tool: complete, not stale, and really lazy.

`repo-tool --help`, completion and `run`/`fetch` read the table in
repo_tool.commands instead of importing every area; these tests fail when a
module registers a command the table does not list, when the table lists a
command (or help) no module defines, and when start-up imports what it must not.
"""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

import repo_tool.commands
from repo_tool.cli import cli, load_area
from repo_tool.commands import AREA_PACKAGE, COMMANDS

# Prints the modules imported while repo-tool ran ARGS, as JSON on stderr's last line.
PROBE = """
import json, sys
from repo_tool.cli import cli
try:
    cli(sys.argv[1:], prog_name="repo-tool")
except SystemExit:
    pass
sys.stderr.write("\\n" + json.dumps(sorted(sys.modules)))
"""

# What start-up of `run` and `fetch` must not load: the TUF stack, crypto, rich, the builder.
HEAVY = ("tuf", "securesystemslib", "cryptography", "rich", "in_toto", "builder.pipeline",
         "tuf_metadata.repository", "tuf_metadata.client")


def area_modules() -> list[str]:
    """Every module under repo_tool/commands that defines a `register(group)`."""
    modules = []
    for info in pkgutil.iter_modules(repo_tool.commands.__path__):
        name = f"{AREA_PACKAGE}.{info.name}"
        source = Path(repo_tool.commands.__path__[0]) / f"{info.name}.py"
        if "\ndef register(group" in source.read_text():
            modules.append(name)
    return modules


def registered() -> dict[str, tuple[str, click.Command]]:
    """Every top-level command the area modules register: name -> (module, command)."""
    found: dict[str, tuple[str, click.Command]] = {}
    for module in area_modules():
        for name, command in load_area(module).items():
            assert name not in found, f"{name!r} is registered by {found[name][0]} and {module}"
            found[name] = (module, command)
    return found


def probe(*args: str) -> tuple[str, set[str]]:
    result = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True,
                            text=True, timeout=120, check=False)
    return result.stdout, set(json.loads(result.stderr.splitlines()[-1]))


def areas_in(modules: set[str]) -> list[str]:
    """The command areas among MODULES (helpers such as client_options are not areas)."""
    return sorted(modules & {entry.module for entry in COMMANDS.values()})


def heavy_in(modules: set[str]) -> list[str]:
    return sorted(m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY))


def test_every_registered_command_is_in_the_table_with_its_module() -> None:
    found = registered()
    assert {name: module for name, (module, _) in found.items()} == {
        name: entry.module for name, entry in COMMANDS.items()
    }


def test_table_help_is_each_commands_own_short_help() -> None:
    for name, (_, command) in registered().items():
        assert COMMANDS[name].short_help == command.get_short_help_str(limit=1000), name


def test_every_table_entry_resolves_through_the_group() -> None:
    ctx = click.Context(cli)
    for name in COMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None and command.name == name


def test_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["no-such-command"])
    assert result.exit_code == 2
    assert "No such command 'no-such-command'" in result.output


@pytest.mark.slow  # starts repo-tool cold in a new interpreter
def test_help_lists_every_command_without_importing_any_area() -> None:
    output, modules = probe("--help")
    # Help rows wrap, also after a hyphen ("in-" / "toto"): compare without white space.
    listed = "".join(output.partition("Commands:")[2].split())
    for name, entry in COMMANDS.items():
        assert "".join(f"{name} {entry.short_help}".split()) in listed, name
    assert sorted(m for m in modules if m.startswith(AREA_PACKAGE + ".")) == []
    assert heavy_in(modules) == []


@pytest.mark.slow  # starts repo-tool cold in a new interpreter
@pytest.mark.parametrize(("command", "area"), [("run", "image"), ("fetch", "fetch")])
def test_run_and_fetch_start_with_only_their_own_area(command: str, area: str) -> None:
    output, modules = probe(command, "--help")
    assert f"Usage: repo-tool {command} " in output
    assert areas_in(modules) == [f"{AREA_PACKAGE}.{area}"]
    assert heavy_in(modules) == []


@pytest.mark.slow  # starts repo-tool cold in a new interpreter
def test_completion_of_command_names_imports_no_area() -> None:
    env = {**os.environ, "_REPO_TOOL_COMPLETE": "bash_complete",
           "COMP_WORDS": "repo-tool si", "COMP_CWORD": "1"}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            timeout=120, check=False, env=env)
    assert result.stdout.split() == ["plain,sign", "plain,sign-service"]
    modules = set(json.loads(result.stderr.splitlines()[-1]))
    assert sorted(m for m in modules if m.startswith(AREA_PACKAGE + ".")) == []


def test_toolkit_error_of_a_lazily_loaded_command_is_one_line(tmp_path: Path) -> None:
    not_an_image = tmp_path / "noise.hvt"
    not_an_image.write_bytes(b"\x00" * 64)
    result = CliRunner().invoke(cli, ["image", "inspect", str(not_an_image)])
    assert result.exit_code == 1
    assert result.output == f"error: {not_an_image}: not an ELF file\n"
