"""Helpers of the serving tests: a ready repository, and repo-tool services run as processes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.repository.helpers import Fixture, init_repo, release, run

REPO_TOOL = str(Path(sys.executable).with_name("repo-tool"))


def published_repo(tmp_path: Path, timestamp_days: float | None = None) -> Fixture:
    """A repository with hello 1.0.0 published; optionally a short timestamp lifetime."""
    fx = init_repo(tmp_path, authors=["hello"])
    if timestamp_days is not None:
        config_path = fx.repo_dir / "repo.json"
        config = json.loads(config_path.read_text())
        config["expiry_days"]["timestamp"] = timestamp_days
        config_path.write_text(json.dumps(config))
    assert release(fx, "hello", "1.0.0", ["hello"], ("hvt", "spt")).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fx.repo_dir)]).exit_code == 0
    return fx


class Service:
    """A repo-tool service process whose stderr is read line by line, with deadlines."""

    def __init__(self, args: Sequence[str], prefix: Sequence[str] = ()):
        self.process = subprocess.Popen(
            [*prefix, REPO_TOOL, *args], stderr=subprocess.PIPE, text=True
        )
        self.log: list[str] = []
        assert self.process.stderr is not None
        os.set_blocking(self.process.stderr.fileno(), False)

    @property
    def pid(self) -> int:
        return self.process.pid

    def _read_lines(self) -> list[str]:
        assert self.process.stderr is not None
        lines: list[str] = []
        while True:
            line = self.process.stderr.readline()
            if not line:
                return lines
            self.log.append(line)
            lines.append(line)

    def wait_for(self, pattern: str, timeout: float, since: int = 0) -> str:
        """The first log line (from index `since`) matching pattern, within timeout seconds."""
        deadline = time.monotonic() + timeout
        seen = since
        while True:
            self._read_lines()
            for line in self.log[seen:]:
                if re.search(pattern, line):
                    return line
            seen = len(self.log)
            if time.monotonic() >= deadline:
                raise AssertionError(f"no log line matching {pattern!r} in {timeout}s:\n"
                                     + "".join(self.log[-40:]))
            if self.process.poll() is not None and not self._read_lines():
                raise AssertionError(f"process exited with {self.process.returncode} before "
                                     f"{pattern!r}:\n" + "".join(self.log[-40:]))
            time.sleep(0.05)

    def url(self) -> str:
        line = self.wait_for(r"listening on http://", 30)
        return line.split("listening on ", 1)[1].strip()

    def exit_code(self, timeout: float) -> int:
        code = self.process.wait(timeout=timeout)
        self._read_lines()
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()


def get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    """Status and body of one GET (HTTP errors are returned, not raised)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status), bytes(response.read())
    except urllib.error.HTTPError as error:
        return int(error.code), bytes(error.read())


def health(url: str) -> tuple[int, dict[str, Any]]:
    status, body = get(url + "healthz")
    return status, json.loads(body)
