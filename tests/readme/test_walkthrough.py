"""The README walkthrough runs as written (issue 13 item 12).

Every ```sh block preceded by a ``<!-- walkthrough`` comment is one role's shell session, run in
order in one temporary directory. A block starts with a fresh environment: a variable counts only
if the block exports it, so each role says which passphrases it needs where it first needs them.
The test replaces only what a reader supplies: the passphrases behind ``export VAR=...``, the
change IDs the previous commands printed (``ID``, ``ID2``, ...), the checkout's path (``--tree .``
and ``packages/...``), and the port of ``repo-tool serve``, which it starts in the background on a
free loopback port and stops. Every command must exit 0, except a command whose comment says
``fails (exit N): "MESSAGE"``, which must exit N and print MESSAGE.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.published import (
    dashboard_dir,
    metadata_dir,
    private_files_under,
    published_dir,
)

SERVE_START_SECONDS = 60

CHECKOUT = Path(__file__).resolve().parents[2]
README = CHECKOUT / "README.md"
VENV_BIN = CHECKOUT / ".venv" / "bin"
MARKER = "<!-- walkthrough"
COMMAND_TIMEOUT = 600.0
EXPECTED_FAILURE = re.compile(r'#.*\bfails \(exit (\d+)\)(?::\s*"([^"]+)")?')
PLACEHOLDER_ID = re.compile(r"\bID(\d*)\b")
CHANGE_ID = re.compile(r"(?:^|pending change )([0-9a-f]{12})\b", re.MULTILINE)
PASSPHRASE_REFERENCE = re.compile(r"--(?:online-)?passphrase-env\s+(\w+)")
EXPORT = re.compile(r"^export\s+(.*?)\s*(?:#.*)?$")


@dataclass(frozen=True)
class Block:
    line: int  # README line of the opening fence
    commands: tuple[str, ...]


def walkthrough_blocks(text: str) -> list[Block]:
    """The marked ```sh blocks, each split into shell commands (continuations and loops joined)."""
    lines = text.splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        if not lines[index].startswith(MARKER):
            index += 1
            continue
        fence = index + 1
        while fence < len(lines) and not lines[fence].strip():
            fence += 1
        assert lines[fence] == "```sh", f"README.md:{fence + 1}: a marker without a sh block"
        end = lines.index("```", fence + 1)
        blocks.append(Block(fence + 1, tuple(split_commands(lines[fence + 1 : end]))))
        index = end + 1
    return blocks


def split_commands(lines: list[str]) -> Iterator[str]:
    current: list[str] = []
    loop_depth = 0
    for line in lines:
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        current.append(line)
        if re.match(r"(for|while)\b", stripped):
            loop_depth += 1
        if stripped == "done" or stripped.startswith("done "):
            loop_depth -= 1
        if loop_depth == 0 and not line.rstrip().endswith("\\"):
            yield "\n".join(current)
            current = []
    assert not current, f"unterminated command: {current}"


def split_comment(line: str) -> tuple[str, str]:
    """A line's code and its trailing comment (the walkthrough quotes no '#')."""
    code, hash_sign, comment = line.partition("#")
    return code, hash_sign + comment


def passphrase(variable: str) -> str:
    return f"{variable.lower()}-walkthrough-passphrase"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Walkthrough:
    """One reader at one terminal per block, in one working directory."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.home = workdir / "home"
        self.home.mkdir()
        self.change_ids: list[str] = []
        self.port = free_port()
        self.server: subprocess.Popen[bytes] | None = None

    def base_environment(self) -> dict[str, str]:
        return {
            "PATH": f"{VENV_BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "COLUMNS": "120",
        }

    def substitute(self, command: str) -> str:
        def change_id(match: re.Match[str]) -> str:
            number = int(match.group(1) or "1")
            assert number <= len(self.change_ids), (
                f"{command!r} uses ID{match.group(1)} before any command printed that change ID"
            )
            return self.change_ids[number - 1]

        command = "\n".join(
            PLACEHOLDER_ID.sub(change_id, code) + comment
            for code, comment in (split_comment(line) for line in command.splitlines())
        )
        command = command.replace("--tree .", f"--tree {CHECKOUT}")
        command = re.sub(r"(?<![\w/.-])packages/", f"{CHECKOUT}/packages/", command)
        return command.replace("127.0.0.1:8080", f"127.0.0.1:{self.port}")

    def run_block(self, block: Block) -> None:
        environment = self.base_environment()
        for command in block.commands:
            exported = EXPORT.match(command)
            if exported:
                for assignment in exported.group(1).split():
                    variable, _, value = assignment.partition("=")
                    assert value == "...", f"README.md:{block.line}: export {assignment}"
                    environment[variable] = passphrase(variable)
                continue
            for variable in PASSPHRASE_REFERENCE.findall(command):
                assert variable in environment, (
                    f"README.md:{block.line}: {command.splitlines()[0]!r} reads ${variable}, "
                    "which this block does not export"
                )
            if re.match(r"repo-tool serve\b", command):
                self.start_server(command, environment)
                continue
            self.run_command(block, command, environment)

    def run_command(self, block: Block, command: str, environment: dict[str, str]) -> None:
        expected = EXPECTED_FAILURE.search(command)
        expected_status = int(expected.group(1)) if expected else 0
        completed = subprocess.run(
            ["bash", "-c", self.substitute(command)],
            cwd=self.workdir,
            env=environment,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            check=False,
        )
        output = completed.stdout + completed.stderr
        assert completed.returncode == expected_status, (
            f"README.md:{block.line}: {command!r} exited {completed.returncode}, "
            f"expected {expected_status}\n{output[-3000:]}"
        )
        if expected and expected.group(2):
            assert expected.group(2) in output, f"README.md:{block.line}: {command!r}: {output}"
        for change in CHANGE_ID.findall(completed.stdout):
            if change not in self.change_ids:
                self.change_ids.append(change)

    def start_server(self, command: str, environment: dict[str, str]) -> None:
        assert command.rstrip().endswith("&"), "the walkthrough starts serve in the background"
        assert self.server is None, "serve started twice"
        argv = self.substitute(command).rstrip().rstrip("&").split()
        argv[argv.index("--port") + 1] = str(self.port)
        self.server = subprocess.Popen(
            argv,
            cwd=self.workdir,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{self.port}/metadata/timestamp.json"
        # Bounded, but generous: serve decrypts its online keys (scrypt) before it listens,
        # which takes several seconds on a loaded 2-core machine.
        deadline = time.monotonic() + SERVE_START_SECONDS
        while time.monotonic() < deadline:
            assert self.server.poll() is None, f"serve exited {self.server.returncode}"
            try:
                with urllib.request.urlopen(url, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError(f"serve did not answer {url} within {SERVE_START_SECONDS} s")

    def stop_server(self) -> None:
        if self.server is None:
            return
        self.server.terminate()
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()


def test_walkthrough_blocks_cover_every_role() -> None:
    text = README.read_text(encoding="utf-8")
    commands = [c for block in walkthrough_blocks(text) for c in block.commands]
    first_word = [c.split()[1] for c in commands if c.startswith("repo-tool ")]
    for step in ("init", "sign", "package", "maintainers", "build-package", "release", "build",
                 "serve", "remote", "fetch", "run", "rotate"):
        assert step in first_word, f"the walkthrough lost its {step!r} step"


@pytest.mark.slow
@pytest.mark.kvm
def test_readme_walkthrough_runs_top_to_bottom(tmp_path: Path) -> None:
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        pytest.skip("the walkthrough runs images/hello.hvt, which needs /dev/kvm")
    walkthrough = Walkthrough(tmp_path)
    try:
        for block in walkthrough_blocks(README.read_text(encoding="utf-8")):
            walkthrough.run_block(block)
    finally:
        walkthrough.stop_server()
    # What the walkthrough promises, beyond exit statuses:
    assert (metadata_dir(tmp_path / "repo") / "2.root.json").is_file(), "the maintainer change"
    assert (tmp_path / "images" / "hello.spt").is_file()
    assert (dashboard_dir(tmp_path / "repo") / "index.html").is_file()
    # What `serve` served and what an operator points nginx at holds nothing private.
    assert published_dir(tmp_path / "repo") == tmp_path / "repo" / "public"
    assert private_files_under(published_dir(tmp_path / "repo")) == []
    assert len(walkthrough.change_ids) == 3, walkthrough.change_ids
