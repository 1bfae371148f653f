"""Runs the host tool's zone commands on zone texts written to files."""

from __future__ import annotations

import subprocess
from pathlib import Path


def check(tool: Path, directory: Path, zones: dict[str, str]) -> subprocess.CompletedProcess[str]:
    paths = []
    for name, text in zones.items():
        path = directory / name
        path.write_text(text)
        paths.append(str(path))
    return subprocess.run([str(tool), "check", *paths], capture_output=True, text=True,
                          timeout=60, check=False)


def dump(tool: Path, directory: Path, name: str, text: str) -> list[str]:
    path = directory / name
    path.write_text(text)
    result = subprocess.run([str(tool), "dump", str(path)], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.splitlines()
