"""What a repository offers, read through the verifying client: package names, releases.

Every answer comes from metadata the updater verified along the delegation
chain targets -> shard-XX -> pkg-NAME (see tuf_metadata.layout); nothing is
read from unverified listings. Listing every package needs every shard role:
the first `package_names` of a fresh client downloads all 256 of them (each
about n/256 entries); later calls reuse the copies kept in the metadata store
and fetch only the shards whose version changed in snapshot.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from tuf_metadata import layout
from tuf_metadata.client.errors import TargetNotFoundError
from tuf_metadata.client.packages import FetchedImage, listed_versions, trusted_shards
from tuf_metadata.client.trusted import VerifiedRole
from tuf_metadata.client.updater import RefreshReport, Updater

# Not a package name (names start with [a-z0-9]): a probe path reaches a shard role
# through the shard's path pattern and never matches a package's.
_PROBE_NAME = "-"


@dataclass(frozen=True)
class ReleaseFile:
    """One file of a release as the package role lists it."""

    name: str
    target_path: str
    length: int
    sha256: str


@dataclass(frozen=True)
class PackageDetails:
    """A package as its verified role describes it."""

    name: str
    versions: tuple[str, ...]  # lowest first (packages.version_key)
    files: dict[str, tuple[ReleaseFile, ...]]  # version -> files, by name
    chain: tuple[VerifiedRole, ...]  # targets, shard-XX, pkg-NAME

    @property
    def role(self) -> VerifiedRole:
        """The package role's verification: its signing keyids, threshold, TAP 8 rotations."""
        return self.chain[-1]


def package_names(updater: Updater) -> list[str]:
    """Every package the verified shard roles delegate, sorted. Call after refresh()."""
    names: set[str] = set()
    shards = trusted_shards(updater)
    for prefix in shards.all_shard_prefixes():
        shard = shards.shard_role_for_prefix(prefix)
        result = updater.search(f"{prefix}/{_PROBE_NAME}/0/{_PROBE_NAME}")
        if not result.chain or result.chain[-1].role != shard:
            continue  # the shard does not cover its own prefix: nothing trusted to list
        delegations = updater.trusted.delegated(shard).delegations
        for role in (delegations.roles or {}) if delegations else {}:
            name = layout.package_of_role(role)
            if name is not None and shards.shard_of(name) == prefix:
                names.add(name)
    return sorted(names)


def search_packages(updater: Updater, word: str) -> list[str]:
    """Packages whose name contains WORD (case-insensitive), refreshed and verified."""
    updater.refresh()
    needle = word.lower()
    return [name for name in package_names(updater) if needle in name]


def package_details(updater: Updater, package: str) -> PackageDetails:
    """Refresh, then PACKAGE's versions, release files and the keys its role is signed by."""
    updater.refresh()
    versions = listed_versions(updater, package)
    role = layout.package_role(package)
    shards = trusted_shards(updater)
    chain = updater.search(shards.target_path(package, "0", "manifest.json")).chain
    listed = updater.trusted.delegated(role).targets
    files: dict[str, tuple[ReleaseFile, ...]] = {}
    for version in versions:
        prefix = shards.target_path(package, version, "")
        files[version] = tuple(
            ReleaseFile(path[len(prefix):], path, info.length, info.hashes.get("sha256", ""))
            for path, info in sorted(listed.items())
            if path.startswith(prefix) and "/" not in path[len(prefix):]
        )
    return PackageDetails(package, tuple(versions), files, chain)


def source_archive_name(package: str, version: str) -> str:
    """File name of a release's source archive, as `repo-tool release` stages it."""
    return f"{package}-{version}.tar.gz"


def fetch_source(
    updater: Updater, package: str, output_dir: Path, *, version: str | None = None
) -> FetchedImage:
    """Refresh, resolve the release's source archive, download it verified into OUTPUT_DIR.

    The record is the one fetch_image returns for an image (path, length,
    sha256, the chain that vouched for it).
    """
    layout.validate_package_name(package)
    report: RefreshReport = updater.refresh()
    if version is None:
        versions = listed_versions(updater, package)
        if not versions:
            raise TargetNotFoundError(f"package {package!r}: no release is listed")
        version = versions[-1]
    layout.validate_version(version)
    file_name = source_archive_name(package, version)
    target_path = trusted_shards(updater).target_path(package, version, file_name)
    resolved = updater.resolve(target_path)
    destination = output_dir / file_name
    data = updater.download_target(resolved.info, destination)
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
