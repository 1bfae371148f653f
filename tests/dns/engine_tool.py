"""Runs queries through the host tool's query engine."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.dns.zones import ZONES


def write_zones(directory: Path, zones: dict[str, str] | None = None) -> list[Path]:
    paths = []
    for name, text in (zones or ZONES).items():
        path = directory / name
        path.write_text(text)
        paths.append(path)
    return paths


def answer(tool: Path, zone_files: list[Path], queries: list[tuple[str, bytes]],
           axfr: bool = False) -> list[list[bytes]]:
    """Each query's response messages ([] when none is sent)."""
    stdin = "".join(f"{transport} {data.hex()}\n" for transport, data in queries)
    argv = [str(tool), "query", *(["--axfr"] if axfr else []), *map(str, zone_files)]
    result = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=120,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(queries)
    return [[] if line == "-" else [bytes.fromhex(part) for part in line.split()]
            for line in lines]
