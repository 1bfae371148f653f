"""Planning and checking for `repo-tool demo`: pure functions over values.

The demo's I/O (keys, subprocesses, the server, the guests) lives in
repo_tool.commands.demo; this module decides what to release, who authors
what, whether a working directory may be used, what counts as each step's
expected outcome, and the rows of the summary.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

# A working directory holding this file was made by `repo-tool demo`.
MARKER_NAME = ".repo-tool-demo"
MARKER_TEXT = "made by `repo-tool demo`; every key in keys/ is an INSECURE DEMO KEY\n"

# Bundled packages named so are deliberately unreproducible fixtures: the
# builder must refuse them and blame a variation.
FIXTURE_PREFIX = "unrepro_"

MAINTAINERS = 3
MAINTAINER_THRESHOLD = 2

# The package whose author rotates their key and releases again (step 7),
# and the one the operator fetches and boots (step 6).
ROTATED_PACKAGE = "hello"
FETCHED_PACKAGE = "hello"
GREETING = "Hello, World"
# Booted on a tap in a namespace and pinged (step 6), when the index has it.
PING_PACKAGE = "ping"
# Booted on a tap in a namespace with a site archive and fetched from with
# curl (step 6), when the index has it.
WWW_PACKAGE = "www"
# Booted on a tap in a namespace with a zone archive and queried with dig
# (step 6), when the index has it.
DNS_PACKAGE = "dns"
# Each of those guests has this address on its tap; the host end has HOST_ADDRESS.
GUEST_ADDRESS = "10.77.0.2"
HOST_ADDRESS = "10.77.0.1"
# The operator's zone, one RFC 1035 master file named <zone>.zone (docs/dns.md).
DNS_ZONE_FILE = "demo.test.zone"
DNS_ZONE = ("$TTL 300\n"
            "@ IN SOA ns1 hostmaster 1 7200 3600 1209600 60\n"
            "@ NS ns1\n"
            f"ns1 A {GUEST_ADDRESS}\n"
            "www A 192.0.2.80\n")
DNS_QUESTION = ("www.demo.test", "A")
DNS_ANSWER = "192.0.2.80"


class DemoError(Exception):
    """A demo step failed; the message is one line naming the step."""


@dataclass(frozen=True)
class BundledPackage:
    """One release in the bundled package index the demo publishes."""

    name: str
    version: str
    authors: tuple[str, ...]
    targets: tuple[str, ...]

    @property
    def fixture(self) -> bool:
        return self.name.startswith(FIXTURE_PREFIX)


@dataclass(frozen=True)
class Author:
    """A demo author identity: a key slug and the packages delegated to it."""

    slug: str
    label: str
    packages: tuple[str, ...]


def workdir_action(exists: bool, entries: Sequence[str], fresh: bool) -> str:
    """What to do with the working directory: "create", "wipe" or an error line.

    Returns "create" for a missing or empty directory, "wipe" for a previous
    demo directory when --fresh was given; anything else raises DemoError.
    """
    if not exists or not entries:
        return "create"
    if MARKER_NAME not in entries:
        raise DemoError("the working directory is not empty and was not made by "
                        "`repo-tool demo`; choose another --workdir")
    if not fresh:
        raise DemoError("the working directory holds a previous demo; pass --fresh to wipe it")
    return "wipe"


def author_slug(label: str) -> str:
    """A file-name-safe slug of an author label: 'unirepo solo5 team' -> 'unirepo-solo5-team'."""
    slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return slug or "author"


def select_packages(available: Iterable[BundledPackage], wanted: Sequence[str] | None,
                    ) -> list[BundledPackage]:
    """The unikernels to release: all of them, or the named subset (which must exist).

    The packages steps 6 and 7 use (hello, and ping, www and dns where the
    index has them) are always included.
    """
    by_name = {p.name: p for p in available}
    if ROTATED_PACKAGE not in by_name:
        raise DemoError(f"the bundled index has no {ROTATED_PACKAGE!r} unikernel")
    if not wanted:
        return [by_name[name] for name in sorted(by_name)]
    unknown = sorted(set(wanted) - set(by_name))
    if unknown:
        raise DemoError(f"not a bundled unikernel: {', '.join(unknown)} "
                        f"(known: {', '.join(sorted(by_name))})")
    optional = {PING_PACKAGE, WWW_PACKAGE, DNS_PACKAGE} & set(by_name)
    needed = {ROTATED_PACKAGE, FETCHED_PACKAGE} | optional
    names = sorted({*wanted, *needed})
    return [by_name[name] for name in names]


def assign_authors(packages: Sequence[BundledPackage]) -> list[Author]:
    """One author key per distinct authors list of the manifests, in name order."""
    grouped: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    for package in packages:
        label = ", ".join(package.authors) or "anonymous"
        slug = author_slug(label)
        grouped.setdefault(slug, []).append(package.name)
        labels[slug] = label
    return [Author(slug, labels[slug], tuple(sorted(names)))
            for slug, names in sorted(grouped.items())]


def next_version(version: str) -> str:
    """The next patch release: the last number of the version plus one ('1.0.0' -> '1.0.1')."""
    match = re.fullmatch(r"(.*?)(\d+)([^\d]*)", version)
    if match is None:
        raise DemoError(f"cannot compute a next version of {version!r}")
    head, number, tail = match.groups()
    return f"{head}{int(number) + 1}{tail}"


@dataclass
class PackageOutcome:
    """Everything the demo learnt about one release, for the checks and the summary."""

    name: str
    version: str
    fixture: bool
    author: str
    author_hashes: dict[str, str] = field(default_factory=dict)  # target -> sha256 signed
    built: dict[str, dict[str, Any]] = field(default_factory=dict)  # target -> builder result
    decision: str = "not built"
    reason: str = ""
    published_hashes: dict[str, str] = field(default_factory=dict)  # target -> sha256 in TUF


def check_gate(outcome: PackageOutcome) -> str | None:
    """None if the publish gate did the right thing for this release, else what went wrong."""
    if outcome.fixture:
        if outcome.decision == "published":
            return f"{outcome.name}: the unreproducible fixture was published"
        if outcome.decision != "rejected":
            return f"{outcome.name}: the fixture was not refused ({outcome.decision})"
        culprits = [c for r in outcome.built.values() for c in r.get("culprits", [])]
        if not culprits:
            return f"{outcome.name}: refused but no variation was blamed"
        return None
    if outcome.decision != "published":
        return f"{outcome.name} {outcome.version}: not published: {outcome.reason}"
    for target, signed in sorted(outcome.author_hashes.items()):
        built = outcome.built.get(target, {})
        if built.get("sha256_a") != signed or built.get("sha256_b") != signed:
            return f"{outcome.name}.{target}: builds A/B do not both equal the author's hash"
        if outcome.published_hashes.get(target) != signed:
            return f"{outcome.name}.{target}: the published hash is not the author-signed one"
    return None


def last_line(text: str) -> str:
    """The last non-blank line of a command's output, for a one-line report."""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def short(digest: str | None) -> str:
    return digest[:10] if digest else "-"


def package_rows(outcomes: Sequence[PackageOutcome]) -> list[dict[str, str]]:
    """Rows of the summary's build table: one per release and target."""
    rows = []
    for o in outcomes:
        for target in sorted(o.author_hashes) or ["-"]:
            built = o.built.get(target, {})
            if o.decision == "published":
                decision = "published: A = B = author-signed"
            elif built and built.get("status") != "reproducible":
                decision = f"REFUSED: {built.get('status')}: {built.get('reason', '')}"
            else:
                decision = f"REFUSED: {o.reason}" if o.decision == "rejected" else o.decision
            rows.append({
                "release": f"{o.name} {o.version}" + (" (fixture)" if o.fixture else ""),
                "target": target,
                "author-signed": short(o.author_hashes.get(target)),
                "build A": short(built.get("sha256_a")),
                "build B": short(built.get("sha256_b")),
                "published": short(o.published_hashes.get(target)),
                "decision": decision,
            })
    return rows


@dataclass(frozen=True)
class Check:
    """One operator-side outcome: what was tried, "ok" / "failed" / "skipped", and details."""

    what: str
    status: str
    detail: str


def problems(outcomes: Sequence[PackageOutcome], checks: Sequence[Check]) -> list[str]:
    """Every failed expectation of the whole run (empty: the demo succeeded)."""
    found = [p for p in (check_gate(o) for o in outcomes) if p]
    found += [f"{c.what}: {c.detail}" for c in checks if c.status == "failed"]
    return found
