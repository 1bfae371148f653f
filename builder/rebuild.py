"""An independent rebuild of one published release, from its signed inputs only.

The caller (repo-tool rebuild) hands over what the repository published, each
byte already verified through TUF: the release's manifest and source archive,
the published image of every target (sha256, length; `Reference`), the
author's toolchain when the release ships it, and a way to get the published
manifest and archive of each library dependency. Nothing is read from a local
tree or package index. Every target is double-built in the sandbox (A under
the rebuilder's own build path and user, B varied), compared with the published
image, and its signed verdict becomes the attestation
`attestations/PACKAGE/VERSION/TARGET/REBUILDER.intoto.jsonl` (tuf_metadata.layout).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from builder.double import run_diffoscope
from builder.errors import BuildError
from builder.pipeline import RESULT_NAME, BuildOptions, TargetResult, verify_target, write_json
from builder.plan import (
    Package,
    PublishedSource,
    published_dependencies,
    solo5_requests,
    staged_package,
)
from builder.reference import Reference
from builder.status import BuildStatus
from builder.variations import Conditions, Variation
from builder.verdict import SignedResult

REBUILDER_USER = "rebuilder"
REBUILDER_UID = 3000  # not the builder's 1000, nor variation B's 2222


def rebuilder_conditions(name: str) -> Conditions:
    """Build A of a rebuilder: its own build path (/rebuild/NAME/...) and user, so a result
    that depends on the builder's path or user would show as a mismatch."""
    return Conditions(
        build_root=f"/rebuild/{name}", uid=REBUILDER_UID, gid=REBUILDER_UID,
        user=REBUILDER_USER, group=REBUILDER_USER, home=f"/home/{REBUILDER_USER}",
    )


@dataclass(frozen=True)
class PublishedInputs:
    """What the repository published for one release (verified bytes and hashes)."""

    package: str
    version: str
    manifest: bytes
    archive: bytes
    images: Mapping[str, Reference]  # target -> the published image (and toolchain)


# target -> the published image downloaded (verified) for diffoscope, or None.
PublishedImage = Callable[[str], Path | None]


def attestation_bytes(signed: SignedResult) -> bytes:
    """The attestation file: the verdict's DSSE envelope as one JSON line."""
    line = json.dumps(dict(signed.envelope), sort_keys=True, separators=(",", ":"))
    return (line + "\n").encode()


def rebuildable_package(inputs: PublishedInputs, options: BuildOptions) -> Package:
    """The release's package, if it can be rebuilt: a signer for the verdicts, at least one
    published image, each for a target the manifest declares, and an archive holding exactly
    the manifest's sources. BuildError (one line) otherwise; used in-process and on the farm."""
    if options.signer is None:
        raise BuildError("a rebuild signs its verdicts: the rebuilder key is required")
    if not inputs.images:
        raise BuildError(f"{inputs.package} {inputs.version}: the release publishes no image")
    package = staged_package(inputs.manifest, inputs.archive, inputs.package, inputs.version)
    for target in inputs.images:
        if target not in package.manifest.targets:
            raise BuildError(f"{package.manifest.ident} does not declare target {target}")
    return package


def rebuild_release(
    inputs: PublishedInputs,
    dependencies: PublishedSource,
    variations: Sequence[Variation],
    out_dir: Path,
    options: BuildOptions,
    published_image: PublishedImage,
) -> list[TargetResult]:
    """Double-build every published image of the release and compare it with the published one.

    BuildError (one line) if the release cannot be rebuilt at all: its archive or
    manifest is refused, or a dependency's published archive cannot be had. On a
    mismatch with the published image, diffoscope compares the two next to the reports.
    """
    package = rebuildable_package(inputs, options)
    deps = published_dependencies(package.manifest, dependencies)
    requests = solo5_requests(package, deps, sorted(inputs.images))
    results = []
    for request in requests:
        reference = inputs.images[request.target]
        result = verify_target(
            request, package, deps, variations, out_dir, replace(options, reference=reference)
        )
        if (
            result.status == BuildStatus.REPRODUCIBLE and result.image is not None
            and result.sha256 != reference.sha256
        ):
            theirs = published_image(request.target)
            if theirs is not None:
                reports = run_diffoscope(
                    Path(result.image), theirs, Path(result.out_dir),
                    f"{package.manifest.ident}.{request.target}.published",
                )
                result = replace(result, diffoscope={**result.diffoscope, **reports})
                write_json(Path(result.out_dir) / RESULT_NAME, result.to_json())
        results.append(result)
    return results
