"""Every published release, as a rebuilder sees it through the verifying client.

A rebuilder rebuilds from what the repository signed and nothing else: each
release's files (manifest, source archive, image hashes, the author's build
info) come from the package role verified along targets -> shard-XX ->
pkg-NAME, and every byte downloaded is checked against that role's length
and sha256. `changed_since` answers `repo-tool rebuild --since N` from
snapshot N itself (signed by the trusted root's snapshot keys).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from tuf_metadata import layout
from tuf_metadata.client.catalog import ReleaseFile, package_names
from tuf_metadata.client.errors import TargetNotFoundError
from tuf_metadata.client.packages import listed_versions, trusted_shards
from tuf_metadata.client.updater import Updater

# An old snapshot lists every role once; a few MiB covers a very large repository.
OLD_SNAPSHOT_MAX_LENGTH = 64 << 20


@dataclass(frozen=True)
class PublishedRelease:
    """One version of a package as its verified role lists it (files by name)."""

    package: str
    version: str
    files: dict[str, ReleaseFile]

    @property
    def images(self) -> dict[str, ReleaseFile]:
        """Solo5 target -> the published image `NAME.TARGET`."""
        found = {}
        for target in layout.IMAGE_TARGETS:
            image = self.files.get(f"{self.package}.{target}")
            if image is not None:
                found[target] = image
        return found


def package_releases(updater: Updater, package: str) -> list[PublishedRelease]:
    """PACKAGE's published releases, lowest version first. Call after refresh()."""
    role = layout.package_role(package)
    versions = listed_versions(updater, package)  # walks and verifies the chain to pkg-NAME
    listed = updater.trusted.delegated(role).targets
    shards = trusted_shards(updater)
    releases = []
    for version in versions:
        try:
            layout.validate_version(version)
        except layout.InvalidNameError:
            continue  # e.g. "..": never a release, and never a directory name of ours
        prefix = shards.target_path(package, version, "")
        files = {
            path[len(prefix):]: ReleaseFile(
                path[len(prefix):], path, info.length, info.hashes.get("sha256", "")
            )
            for path, info in sorted(listed.items())
            if path.startswith(prefix) and "/" not in path[len(prefix):]
        }
        releases.append(PublishedRelease(package, version, files))
    return releases


def published_releases(
    updater: Updater, packages: Sequence[str] = (), since: int | None = None
) -> list[PublishedRelease]:
    """Refresh, then the releases of PACKAGES (every delegated package if none), only
    of the packages whose role changed after snapshot SINCE when it is given."""
    updater.refresh()
    names = list(packages) or package_names(updater)
    for name in names:
        layout.validate_package_name(name)
    if since is not None:
        changed = changed_since(updater, since)
        names = [name for name in names if name in changed]
    return [release for name in names for release in package_releases(updater, name)]


def changed_since(updater: Updater, version: int) -> set[str]:
    """Packages whose role the trusted snapshot lists at a higher version than snapshot
    VERSION did (or that it did not list): what was released after VERSION."""
    trusted = updater.trusted
    current = updater.whole_snapshot()
    if version < 1 or version > current.version:
        raise TargetNotFoundError(
            f"--since {version}: the repository's snapshot versions are 1..{current.version}"
        )
    if not trusted.root.consistent_snapshot:
        raise TargetNotFoundError(
            "--since needs a repository with consistent snapshots (old snapshots are not kept)"
        )
    data = updater.fetcher.fetch(
        f"{updater.metadata_url}{version}.snapshot.json", OLD_SNAPSHOT_MAX_LENGTH
    )
    old = trusted.older_snapshot(data, version)
    changed = set()
    for name, meta in current.meta.items():
        package = layout.package_of_role(name.removesuffix(".json"))
        before = old.meta.get(name)
        if package is not None and (before is None or before.version < meta.version):
            changed.add(package)
    return changed


def fetch_release_file(
    updater: Updater, release: PublishedRelease, name: str, output_dir: Path
) -> bytes:
    """Download release file NAME into OUTPUT_DIR, checked against the role's length and
    sha256; TargetNotFoundError if the release does not list it."""
    if name not in release.files:
        raise TargetNotFoundError(
            f"{release.package} {release.version}: the release does not list {name}"
        )
    resolved = updater.resolve(release.files[name].target_path)
    return updater.download_target(resolved.info, output_dir / name)
