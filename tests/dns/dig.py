"""dig (Debian dnsutils) as the test's client, its text output parsed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from tests.support.netns import TapNamespace


@dataclass(frozen=True)
class DigAnswer:
    status: str
    flags: frozenset[str]
    answer: frozenset[str]
    authority: frozenset[str]
    additional: frozenset[str]  # without the OPT pseudo-record
    edns: str | None  # dig's "; EDNS: ..." line
    text: str


def _record(line: str) -> str:
    return " ".join(line.split()).lower()


def parse_dig(text: str) -> DigAnswer:
    status = ""
    flags: frozenset[str] = frozenset()
    edns = None
    sections: dict[str, set[str]] = {"ANSWER": set(), "AUTHORITY": set(), "ADDITIONAL": set()}
    current: set[str] | None = None
    for line in text.splitlines():
        header = re.search(r"status: ([A-Z]+)", line)
        if header:
            status = header.group(1)
        flag_line = re.match(r";; flags: ([a-z ]*);", line)
        if flag_line:
            flags = frozenset(flag_line.group(1).split())
        if line.startswith("; EDNS:"):
            edns = line
        section = re.match(r";; ([A-Z]+) SECTION:", line)
        if section:
            current = sections.get(section.group(1))
            continue
        if not line.strip():
            current = None
        elif current is not None and not line.startswith(";"):
            current.add(_record(line))
    return DigAnswer(status, flags, frozenset(sections["ANSWER"]),
                     frozenset(sections["AUTHORITY"]), frozenset(sections["ADDITIONAL"]), edns,
                     text)


def dig(ns: TapNamespace, server: str, *args: str, port: int = 53,
        options: Sequence[str] = ("+norec", "+tries=1", "+time=3")) -> DigAnswer:
    """dig run inside the namespace against server."""
    result = ns.run(["dig", f"@{server}", "-p", str(port), *options, *args], check=False,
                    timeout=60)
    return parse_dig(result.stdout)


def dig_lines(ns: TapNamespace, server: str, *args: str) -> list[str]:
    """The record lines of dig's output (for AXFR), normalised."""
    result = ns.run(["dig", f"@{server}", "+tries=1", "+time=5", *args], check=False, timeout=60)
    return [_record(line) for line in result.stdout.splitlines()
            if line.strip() and not line.startswith(";")]
