"""Shell completion (click's): the script each shell sources is produced, and it completes
command names (README, "Shell completion")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # each test starts the installed repo-tool

REPO_TOOL = str(Path(sys.executable).parent / "repo-tool")


@pytest.mark.parametrize(("shell", "marker"), [
    ("bash", "complete -o nosort -F _repo_tool_completion repo-tool"),
    ("zsh", "compdef _repo_tool_completion repo-tool"),
    ("fish", "complete --no-files --command repo-tool"),
])
def test_completion_script_is_produced_for_each_shell(shell: str, marker: str) -> None:
    result = subprocess.run([REPO_TOOL], env={**os.environ,
                                              "_REPO_TOOL_COMPLETE": f"{shell}_source"},
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert "_REPO_TOOL_COMPLETE" in result.stdout  # the script calls repo-tool back


def test_bash_completion_of_a_subcommand_and_its_options() -> None:
    env = {**os.environ, "_REPO_TOOL_COMPLETE": "bash_complete",
           "COMP_WORDS": "repo-tool online-keys rotate --rep", "COMP_CWORD": "3"}
    result = subprocess.run([REPO_TOOL], env=env, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.stdout.split() == ["plain,--repo"]
