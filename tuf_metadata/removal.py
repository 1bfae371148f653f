"""Taking published things back: an author yanks a release, maintainers remove a package.

`yank_release` (the package's authors, a threshold of the keys in force after TAP 8
rotations): the next version of the package role lists every target but those of the
yanked version, and is published at once. Clients stop offering the version (`fetch` picks
the newest remaining one; `--version` of a yanked one is not found); its files stay in
targets/ because older snapshots still reach them.

`propose_package_removal` (t maintainers): the next version of the package's shard no
longer delegates the package role, as a pending change. Once committed, no client
reaches the package any more. `package add` may delegate the name again later: its
published history stays listed in snapshot, so the new delegation supersedes the old
rotate chain and starts at the role's next version (quorum.propose_package).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from securesystemslib.signer import Signer
from tuf.api.metadata import Metadata, TargetFile, Targets

from tuf_metadata import layout
from tuf_metadata.metadata_reader import MetadataReader
from tuf_metadata.online import OnlineServices
from tuf_metadata.repo_policy import check_package_role
from tuf_metadata.repo_types import (
    PendingChange,
    StagingError,
    metadata_bytes,
    utc_now,
)
from tuf_metadata.store import repository_lock, write_once
from tuf_metadata.superseding import next_shard_version
from tuf_metadata.trust import SignedDocument

if TYPE_CHECKING:
    from tuf_metadata.quorum import QuorumChanges


def without_version(shards: layout.ShardLayout, package: str, version: str,
                    targets: Mapping[str, TargetFile]) -> dict[str, TargetFile]:
    """TARGETS less every file of VERSION; StagingError if VERSION has none (pure)."""
    prefix = shards.target_path(package, version, "")
    kept = {path: tf for path, tf in targets.items() if not path.startswith(prefix)}
    if len(kept) == len(targets):
        raise StagingError(f"{layout.package_role(package)}: version {version} is not "
                           "published (see `repo-tool package list`)")
    return kept


def yank_release(files: MetadataReader, online: OnlineServices, package: str, version: str,
                 signers: Sequence[Signer]) -> int:
    """Publish the package role without VERSION's files, signed by the authors SIGNERS.

    Returns the new version of the package role. Nothing is written unless a threshold of
    the keys in force signed it.
    """
    layout.validate_package_name(package)
    layout.validate_version(version)
    role = layout.package_role(package)
    online.require_online()
    with repository_lock(files.root_dir):
        context = files.package_context(package)
        current = files.current_package(package)
        if current is None:
            raise StagingError(f"{role}: nothing is published yet")
        md = Metadata(Targets(
            version=current.signed.version + 1,
            expires=utc_now() + files.expiry().for_role("targets"),
            targets=without_version(files.shard_layout(), package, version,
                                    current.signed.targets),
        ))
        for signer in signers:
            md.sign(signer, append=True)
        check_package_role(SignedDocument.of(md), package, context.keys, context.threshold,
                           context.delegation)
        write_once(files.role_file(role, md.signed.version), metadata_bytes(md))
        online.new_snapshot_and_timestamp({f"{role}.json": {"version": md.signed.version}})
        return md.signed.version


def propose_package_removal(files: MetadataReader, quorum: QuorumChanges,
                            package: str) -> PendingChange:
    """Propose the package's shard without its delegation (t maintainers sign it)."""
    layout.validate_package_name(package)
    role = layout.package_role(package)
    with repository_lock(files.root_dir):
        shard_md = files.package_shard(package)[1]
        shard_name = files.shard_layout().shard_role(package)
        shard = Targets.from_dict(shard_md.signed.to_dict())
        files.package_delegation(shard, package)  # refuses a package that is not delegated
        quorum.check_shard_unchanged(shard_name)
        assert shard.delegations is not None and shard.delegations.roles is not None
        del shard.delegations.roles[role]
        next_shard_version(files, shard)
        return quorum.write_pending(f"remove package {package}", [(shard_name, Metadata(shard))])
