"""What a rebuild is compared with: the published image and the release's toolchain (pure).

A rebuilder rebuilds a release from what the repository publishes and compares
its image with the published one. The toolchain identity (every program of the
plan and the compiler's internals, each with its sha256; builder.buildinfo) is
what tells a real mismatch from a different compiler: when the release ships
its author's build info for the target (`buildinfo.TARGET.json`, named by
tuf_metadata.layout.buildinfo_file_name, signed with the release like every
file of it), the rebuilder compares its own toolchain with it and says "same"
or "differs"; an older release without it is "unknown".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from builder.errors import BuildError
from builder.status import BuildStatus

# A tool of the toolchain identity: (path, sha256).
Tool = tuple[str, str]


@dataclass(frozen=True)
class Reference:
    """The published image of one target, and the toolchain its release was built with
    (None: the release does not say)."""

    sha256: str
    length: int
    toolchain: tuple[Tool, ...] | None = None


def toolchain_of_buildinfo(document: Any) -> tuple[Tool, ...]:
    """The (path, sha256) pairs of a build info's toolchain; BuildError if it has none."""
    tools = document.get("toolchain") if isinstance(document, dict) else None
    if not isinstance(tools, list) or not tools:
        raise BuildError("build info has no toolchain list")
    pairs: list[Tool] = []
    for tool in tools:
        path = tool.get("path") if isinstance(tool, dict) else None
        digest = tool.get("sha256") if isinstance(tool, dict) else None
        if not isinstance(path, str) or not isinstance(digest, str) or not path or not digest:
            raise BuildError("build info toolchain entry without path and sha256")
        pairs.append((path, digest))
    return tuple(sorted(pairs))


def compare_toolchain(
    ours: Sequence[Mapping[str, str]], reference: tuple[Tool, ...] | None
) -> str:
    """"same" if every tool has the reference's path and sha256, "differs" if not,
    "unknown" without a reference."""
    if reference is None:
        return "unknown"
    mine = tuple(sorted((tool["path"], tool["sha256"]) for tool in ours))
    return "same" if mine == tuple(sorted(reference)) else "differs"


def rebuild_reason(
    status: BuildStatus, sha256: str | None, size: int | None, reason: str,
    reference: Reference, toolchain: str,
) -> str:
    """The verdict's one-line reason once the rebuild is compared with the published image."""
    if status != BuildStatus.REPRODUCIBLE or sha256 is None:
        return reason
    if sha256 == reference.sha256 and size == reference.length:
        return "both builds are bit-for-bit identical and equal to the published image"
    why = (
        "; the rebuilder's toolchain differs from the release's (not a claim of mismatch)"
        if toolchain == "differs" else ""
    )
    return (
        f"builds agree ({sha256[:16]}) but differ from the published image "
        f"{reference.sha256[:16]}{why}"
    )
