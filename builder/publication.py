"""What the publish gate's Decision means for one staged release (pure).

`settle(decision, image_paths, built)` turns the gate's Decision and the
images the builds produced into the one action the caller performs: publish
exactly these files, or reject with this reason. `decision_record` is the
JSON both `repo-tool build` paths (in-process and farm) print for a release.
The caller does the I/O (Repository.publish_release / reject_release); if
publishing itself fails, `publish_failed` is the Decision that replaces it.
Values in, values out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from builder.gate import Decision, Refusal, refused

PUBLISHED = "published"
REJECTED = "rejected"


def target_of(image_path: str) -> str:
    """The Solo5 target of an image's target path (XX/NAME/VERSION/NAME.TARGET)."""
    return image_path.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class Settlement:
    """Publish `images` (target path -> built file) if `decision.publish`, else reject."""

    decision: Decision
    images: Mapping[str, Path] = field(default_factory=dict)

    @property
    def outcome(self) -> str:
        return PUBLISHED if self.decision.publish else REJECTED


def settle(
    decision: Decision, image_paths: Iterable[str], built: Mapping[str, Path]
) -> Settlement:
    """The action for a release whose signed image target paths are `image_paths`.

    `built` maps a target to the image file this builder produced for it. A
    decision to publish with an image missing becomes a refusal: nothing is
    published half.
    """
    if not decision.publish:
        return Settlement(decision)
    paths = sorted(image_paths)
    missing = [p for p in paths if target_of(p) not in built]
    if missing:
        return Settlement(
            refused("release", Refusal.INVALID, f"no built image for {missing[0]}")
        )
    return Settlement(decision, {p: built[target_of(p)] for p in paths})


def publish_failed(reason: str) -> Decision:
    """The decision once the repository refused to publish (e.g. the author's hash changed)."""
    return refused("release", Refusal.INVALID, reason.splitlines()[0] if reason else reason)


def decision_record(package: str, version: str, decision: Decision) -> dict[str, Any]:
    """The JSON of one release's decision, as `repo-tool build --json` prints it."""
    return {
        "package": package,
        "version": version,
        "decision": PUBLISHED if decision.publish else REJECTED,
        "refusal": decision.refusal,
        "reason": decision.reason,
        "targets": [
            {"target": t.target, "accepted": t.accepted, "reason": t.reason}
            for t in decision.targets
        ],
    }
