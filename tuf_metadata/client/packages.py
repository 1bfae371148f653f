"""Package-level fetching on the pinned layout: find a release's image, verify, write it.

Paths are `P/NAME/VERSION/FILE` (tuf_metadata.layout; P the package's shard prefix, as
many hex digits as the trusted top-level targets role's shard roles have); the package
role `pkg-NAME` is reached through `targets -> shard-P`, each verified against the
delegator it was reached through.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tuf_metadata import layout
from tuf_metadata.client.errors import DelegationError, TargetNotFoundError
from tuf_metadata.client.trusted import VerifiedRole
from tuf_metadata.client.updater import RefreshReport, Updater
from tuf_metadata.store import atomic_write

IMAGE_TARGETS = layout.IMAGE_TARGETS
ImageCheck = Callable[[str, str, str, str], None]
"""Called with (package, version, target, sha256) of a verified image; raises to refuse it."""
# Any version string passes the delegation's `*` pattern; this one only locates pkg-NAME.
_PROBE_VERSION = "0"


@dataclass(frozen=True)
class FetchedImage:
    """What was verified and written."""

    package: str
    version: str
    target_path: str
    written_to: Path
    length: int
    sha256: str
    chain: tuple[VerifiedRole, ...]
    refresh: RefreshReport


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: numeric runs compare as numbers, and sort before text."""
    parts = re.findall(r"\d+|[^\d.+_-]+", version)
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in parts)


def trusted_shards(updater: Updater) -> layout.ShardLayout:
    """The shard layout of the trusted top-level targets role (call after refresh()): the
    maintainers' signature over targets fixes it, nothing else is consulted."""
    top = updater.trusted.targets
    if top is None:
        raise DelegationError("no trusted top-level targets role: refresh first")
    try:
        return layout.shard_layout_of(top)
    except layout.ShardLayoutError as error:
        raise DelegationError(f"targets: {error}") from None


def listed_versions(updater: Updater, package: str) -> list[str]:
    """Versions with any file listed by the package's role, lowest first."""
    layout.validate_package_name(package)
    shards = trusted_shards(updater)
    probe = shards.target_path(package, _PROBE_VERSION, "manifest.json")
    result = updater.search(probe)
    role = layout.package_role(package)
    if not result.chain or result.chain[-1].role != role:
        raise TargetNotFoundError(f"package {package!r}: no trusted role {role!r}")
    prefix = f"{shards.shard_of(package)}/{package}/"
    versions = {
        path[len(prefix) :].split("/", 1)[0]
        for path in updater.trusted.delegated(role).targets
        if path.startswith(prefix) and path.count("/") == 3
    }
    return sorted(versions, key=version_key)


def fetch_image(
    updater: Updater,
    package: str,
    output_dir: Path,
    *,
    version: str | None = None,
    target: str = "hvt",
    accept: ImageCheck | None = None,
) -> FetchedImage:
    """Refresh, resolve NAME's image for TARGET, download it verified into OUTPUT_DIR.

    ACCEPT, if given, is called with (package, version, target, sha256) of the verified
    image before anything is written; it refuses the image by raising, and then nothing
    is written (e.g. the operator's rebuilder policy, `fetch --require-rebuilders`)."""
    if target not in IMAGE_TARGETS:
        raise TargetNotFoundError(f"unknown image target {target!r}; one of {IMAGE_TARGETS}")
    layout.validate_package_name(package)
    report = updater.refresh()
    if version is None:
        versions = listed_versions(updater, package)
        if not versions:
            raise TargetNotFoundError(f"package {package!r}: no release is listed")
        version = versions[-1]
    layout.validate_version(version)
    file_name = f"{package}.{target}"
    target_path = trusted_shards(updater).target_path(package, version, file_name)
    resolved = updater.resolve(target_path)
    destination = output_dir / file_name
    if accept is None:
        data = updater.download_target(resolved.info, destination)
    else:
        data = updater.cached_target(resolved.info, destination) or (
            updater.fetch_target(resolved.info)
        )
        accept(package, version, target, hashlib.sha256(data).hexdigest())
        atomic_write(destination, data)
    return FetchedImage(
        package=package,
        version=version,
        target_path=target_path,
        written_to=destination,
        length=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        chain=resolved.chain,
        refresh=report,
    )
