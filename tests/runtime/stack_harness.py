"""Builds runtime/'s host harness and runs scripts through it.

The harness (runtime/harness/stack_harness.c) prints every output line
prefixed with the number of the script command that produced it;
run_script() groups them per command.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

RUNTIME = Path(__file__).resolve().parents[2] / "runtime"


def build(target: str, build_dir: Path) -> Path:
    subprocess.run(["make", "-s", "-C", str(RUNTIME), f"BUILD={build_dir}", target],
                   check=True, capture_output=True, text=True, timeout=600)
    return build_dir


@dataclass
class StepOutput:
    lines: list[str]

    def frames(self) -> list[bytes]:
        return [bytes.fromhex(line.split()[1]) for line in self.lines if line.startswith("tx ")]

    def values(self, kind: str) -> list[list[str]]:
        return [line.split()[1:] for line in self.lines if line.split()[0] == kind]

    def ret(self) -> int:
        (value,) = self.values("ret")
        return int(value[0])


def run_script(harness: Path, commands: list[str]) -> list[StepOutput]:
    proc = subprocess.run([str(harness)], input="\n".join(commands) + "\n", capture_output=True,
                          text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"harness failed ({proc.returncode}): {proc.stderr[-2000:]}")
    steps = [StepOutput([]) for _ in commands]
    for line in proc.stdout.splitlines():
        index, rest = line.split(" ", 1)
        steps[int(index)].lines.append(rest)
    return steps
