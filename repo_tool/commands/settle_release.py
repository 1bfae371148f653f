"""Publish or reject one staged release as the gate decided: the I/O edge of
builder.publication.settle, shared by `repo-tool build` in-process and on the farm."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from builder.gate import AuthorImage, AuthorRelease, Decision
from builder.publication import publish_failed, settle, target_of

if TYPE_CHECKING:
    from tuf_metadata.repository import Repository, StagedRelease


def author_release(release: StagedRelease) -> AuthorRelease:
    """What the release's authors signed: target -> image sha256 and length."""
    return AuthorRelease(
        release.package,
        release.version,
        {
            target_of(path): AuthorImage(tf["hashes"].get("sha256", ""), tf["length"])
            for path, tf in release.image_targets.items()
        },
    )


def settle_release(
    repo: Repository,
    release: StagedRelease,
    decision: Decision,
    built: Mapping[str, Path],
    report_dir: Path,
) -> Decision:
    """Publish the built images (target -> file) or reject; the decision that was carried out.

    A rejected release stays staged with the reason, and with its report
    directory when the builds left one (none when nothing was built).
    """
    from tuf_metadata.errors import TufError

    settlement = settle(decision, release.image_targets, built)
    decision = settlement.decision
    if decision.publish:
        try:
            repo.publish_release(release, settlement.images)
        except TufError as error:
            decision = publish_failed(str(error))
    if not decision.publish:
        repo.reject_release(release, decision.reason, report_dir if report_dir.is_dir() else None)
    return decision
