"""What the repository says about each delegated package, for maintainers (`package list`).

Everything is read through the same checks as publishing: the shard's delegation, the
TAP 8 chain walked from it (a rotation to the null key means revoked), and the published
package role verified against the keys the chain ends with. A revoked package offers
nothing, so it shows no versions.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

from securesystemslib.signer import Key
from tuf.api.metadata import DelegatedRole, Targets

from tuf_metadata import layout
from tuf_metadata.client.packages import version_key
from tuf_metadata.metadata_reader import MetadataReader
from tuf_metadata.rotate import RoleRevokedError, superseded_rotations, verify_rotation_chain
from tuf_metadata.trust import delegated_keys, key_dicts


@dataclass(frozen=True)
class PackageSummary:
    """One delegated package: its delegation, its keys now, and what it publishes."""

    name: str
    role: str
    delegated_keyids: tuple[str, ...]
    delegated_threshold: int
    rotations: int
    revoked: bool
    keyids: tuple[str, ...]  # that sign the package role now (after rotations); () if revoked
    threshold: int
    role_version: int  # 0: nothing published yet
    versions: tuple[str, ...]  # lowest first
    targets: Mapping[str, tuple[str, ...]]  # version -> Solo5 targets with an image

    @property
    def latest(self) -> str | None:
        return self.versions[-1] if self.versions else None

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name, "role": self.role,
            "delegation": {"keyids": list(self.delegated_keyids),
                           "threshold": self.delegated_threshold},
            "rotations": self.rotations, "revoked": self.revoked,
            "keyids": list(self.keyids), "threshold": self.threshold,
            "role_version": self.role_version, "latest": self.latest,
            "versions": list(self.versions),
            "targets": {version: list(names) for version, names in self.targets.items()},
        }


def release_targets(shards: layout.ShardLayout, package: str, role: Targets
                    ) -> dict[str, tuple[str, ...]]:
    """Version -> the Solo5 targets it has an image for (`NAME.TARGET` files), from ROLE."""
    prefix = f"{shards.shard_of(package)}/{package}/"
    found: dict[str, set[str]] = {}
    for path in role.targets:
        version, _, filename = path.removeprefix(prefix).partition("/")
        if not path.startswith(prefix) or "/" in filename:
            continue
        images = found.setdefault(version, set())
        if filename.startswith(f"{package}.") and filename.count(".") == 1:
            images.add(filename.split(".", 1)[1])
    return {version: tuple(sorted(found[version]))
            for version in sorted(found, key=version_key)}


def summarize(
    package: str, delegation: DelegatedRole, delegation_keys: Mapping[str, Key],
    rotate_files: list[bytes], role_version: int,
) -> PackageSummary:
    """PACKAGE's summary from its delegation and rotate files, without releases (pure)."""
    role = layout.package_role(package)
    try:
        keys, threshold = verify_rotation_chain(
            role, key_dicts(delegation_keys), delegation.threshold, rotate_files,
            superseded=superseded_rotations(role, delegation.unrecognized_fields))
        revoked = False
    except RoleRevokedError:
        keys, threshold, revoked = {}, 0, True
    return PackageSummary(
        name=package, role=role, delegated_keyids=tuple(sorted(delegation.keyids)),
        delegated_threshold=delegation.threshold, rotations=len(rotate_files),
        revoked=revoked, keyids=tuple(sorted(keys)), threshold=threshold,
        role_version=role_version, versions=(), targets={},
    )


def with_releases(shards: layout.ShardLayout, summary: PackageSummary, published: Targets
                  ) -> PackageSummary:
    """SUMMARY with the versions and targets of its verified package role PUBLISHED."""
    targets = release_targets(shards, summary.name, published)
    return replace(summary, versions=tuple(targets), targets=targets)


def package_summaries(files: MetadataReader) -> Iterator[PackageSummary]:
    """Every delegated package of the repository FILES reads, by name."""
    root = files.load_root().signed
    snapshot = files.load_snapshot(root, verify=False).signed
    targets = files.load_targets(root, snapshot).signed
    shards = layout.shard_layout_of(targets)
    for prefix in shards.all_shard_prefixes():
        shard = files.load_shard(targets, snapshot, shards.shard_role_for_prefix(prefix)).signed
        if shard.delegations is None or not shard.delegations.roles:
            continue
        for role_name, delegation in sorted(shard.delegations.roles.items()):
            package = layout.package_of_role(role_name)
            if package is None:
                continue
            keys = delegated_keys(shard.delegations.keys, delegation.keyids)
            summary = summarize(package, delegation, keys,
                                files.rotate_chain(snapshot, role_name),
                                files.role_version(snapshot, role_name))
            if summary.role_version and not summary.revoked:
                # current_package verifies the role against the keys the chain ends with.
                published = files.current_package(package)
                if published is not None:
                    summary = with_releases(shards, summary, published.signed)
            yield summary
