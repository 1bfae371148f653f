"""The repository side: key ceremony, quorum changes, staging, publish, TAP 8, snapshot/timestamp.

Directory of a repository (``root_dir``; paths from tuf_metadata.repo_paths)::

    repo.json              expiry policy, online key files, their passphrase source,
                           the published folder's name ("published_dir")
    online/                online snapshot and timestamp private keys
    staging/NAME/VER/      author-signed releases waiting for the builder
    pending/ID.json        proposed root/targets/shard changes collecting signatures
    .lock                  writer lock (flock)
    public/                the published folder, the only one served or synced:
      metadata/            N.root.json, V.ROLE.json, timestamp.json,
                           rotate/V.ROLE.rotate.N.json, served as-is
      targets/XX/NAME/VER/ target files, named SHA256.FILENAME
      dashboard/, builds/  build reports (`repo-tool build`)

A repository created before the published folder existed keeps metadata/ and
targets/ in root_dir itself until `repo-tool migrate` (tuf_metadata.migrate).

Every write is atomic and made under the lock, in an order that keeps the
published repository verifiable at every instant: target files, then the
role files (new names nobody references yet), then snapshot, then
timestamp.json, whose rename is the commit point, and last a new root
(N+1.root.json) if the change has one: the targets it points to is signed
by a threshold of both the old and the new root's targets keys, so clients
holding either root verify every moment. A crash leaves only unreferenced
files; the next snapshot picks up complete role files that verify against
their delegator ("orphans") and ignores the rest.

`Repository` is a thin facade with the public API the CLI, the services, the
builder and the tests use; the work is done by one module per job, each imported
when first used (a cold `repo-tool publish` loads the reader, the online services
and releases, not the quorum, TAP 8 or rebuilder code, nor in-toto):

    metadata_reader.MetadataReader  reading and verifying metadata, with caches
    online.OnlineServices           snapshot and timestamp signing (the commit point)
    quorum.QuorumChanges            key ceremony and maintainer-quorum changes
    releases.Releases               staging and publishing releases
    key_rotation.KeyRotation        TAP 8 rotation of package and rebuilder roles
    rebuilders.Rebuilders           rebuilder roles (quorum changes) and their attestations
    repo_policy                     the rules, as pure functions
    repo_types                      values and errors
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuf_metadata import layout
from tuf_metadata.metadata_reader import MetadataReader
from tuf_metadata.online import OnlineServices
from tuf_metadata.repo_paths import RepositoryPaths, repository_paths
from tuf_metadata.repo_types import (
    CONFIG_NAME,
    DEFAULT_EXPIRY,
    MANIFEST_FILE,
    RELEASE_NAME,
    STATUS_NAME,
    CorruptMetadataError,
    DocumentStatus,
    ExpiryPolicy,
    ImageMismatchError,
    NotInitialisedError,
    PackageContext,
    PendingChange,
    QuorumError,
    RepositoryError,
    StagedRelease,
    StagingError,
)

if TYPE_CHECKING:
    from securesystemslib.signer import Key, Signer
    from tuf.api.metadata import Metadata, Root, Snapshot, Targets, Timestamp

    from signing.key_files import KeySigner
    from signing.keys import PassphraseSource
    from signing.threshold import KeyDict
    from tuf_metadata.key_rotation import KeyRotation
    from tuf_metadata.migrate import MigrationReport
    from tuf_metadata.quorum import QuorumChanges
    from tuf_metadata.rebuilders import RebuilderInfo, Rebuilders
    from tuf_metadata.releases import Releases


def __getattr__(name: str) -> Any:
    """RebuilderInfo, re-exported without importing the rebuilder code up front."""
    if name == "RebuilderInfo":
        from tuf_metadata.rebuilders import RebuilderInfo

        return RebuilderInfo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "CONFIG_NAME",
    "MANIFEST_FILE",
    "RELEASE_NAME",
    "STATUS_NAME",
    "CorruptMetadataError",
    "DocumentStatus",
    "ExpiryPolicy",
    "ImageMismatchError",
    "NotInitialisedError",
    "PackageContext",
    "PendingChange",
    "QuorumError",
    "RebuilderInfo",
    "Repository",
    "RepositoryError",
    "StagedRelease",
    "StagingError",
]


class Repository:
    """A TUF repository on local disk; every method that writes holds the repository lock."""

    def __init__(self, root_dir: Path, online_passphrase: PassphraseSource | str | None = None):
        self.files = MetadataReader(root_dir)
        self.online = OnlineServices(self.files, online_passphrase)
        self.root_dir = self.files.root_dir

    @property
    def paths(self) -> RepositoryPaths:
        """Where this repository's files are (tuf_metadata.repo_paths)."""
        return self.files.paths

    @property
    def published_dir(self) -> Path:
        """The folder clients may see: metadata/, targets/ and the build reports."""
        return self.files.paths.published

    @property
    def metadata_dir(self) -> Path:
        return self.files.metadata_dir

    @property
    def targets_dir(self) -> Path:
        return self.files.targets_dir

    @property
    def staging_dir(self) -> Path:
        return self.files.staging_dir

    @property
    def pending_dir(self) -> Path:
        return self.files.pending_dir

    # The parts beside reading and the online services are made (and their modules
    # imported) on first use; each is made once and shares FILES and ONLINE.

    @cached_property
    def quorum(self) -> QuorumChanges:
        from tuf_metadata.quorum import QuorumChanges

        return QuorumChanges(self.files, self.online)

    @cached_property
    def releases(self) -> Releases:
        from tuf_metadata.releases import Releases

        return Releases(self.files, self.online)

    @cached_property
    def rotation(self) -> KeyRotation:
        from tuf_metadata.key_rotation import KeyRotation

        return KeyRotation(self.files, self.online)

    @cached_property
    def rebuilders(self) -> Rebuilders:
        from tuf_metadata.rebuilders import Rebuilders

        return Rebuilders(self.files, self.online, self.quorum, self.rotation)

    @property
    def log(self) -> Callable[[str], None]:
        """Called with one line per signing or skipped file (the service logs them)."""
        return self.online.log

    @log.setter
    def log(self, log: Callable[[str], None]) -> None:
        self.online.log = log

    # -- configuration and reading (metadata_reader) -----------------------------------

    @property
    def config_path(self) -> Path:
        return self.files.config_path

    def config(self) -> dict[str, Any]:
        return self.files.config()

    def expiry(self) -> ExpiryPolicy:
        return self.files.expiry()

    def root_version(self) -> int:
        return self.files.root_version()

    def load_root(self) -> Metadata[Root]:
        """The newest root, checked to be signed by a threshold of its own root keys."""
        return self.files.load_root()

    def load_timestamp(self, root: Root) -> Metadata[Timestamp]:
        return self.files.load_timestamp(root)

    def load_snapshot(self, root: Root, verify: bool = True) -> Metadata[Snapshot]:
        """The newest snapshot on disk (a crash may have left one newer than timestamp's)."""
        return self.files.load_snapshot(root, verify)

    def role_version(self, snapshot: Snapshot, role: str) -> int:
        """Version of a targets-type role that snapshot lists (0 if none)."""
        return self.files.role_version(snapshot, role)

    def package_version_on_disk(self, snapshot: Snapshot, package: str) -> int:
        return self.files.package_version_on_disk(snapshot, package)

    def load_targets(self, root: Root, snapshot: Snapshot) -> Metadata[Targets]:
        return self.files.load_targets(root, snapshot)

    def load_shard(self, targets: Targets, snapshot: Snapshot, shard: str) -> Metadata[Targets]:
        return self.files.load_shard(targets, snapshot, shard)

    def rotate_chain(self, snapshot: Snapshot, role: str) -> list[bytes]:
        """The bytes of ROLE's rotate files 1..N as snapshot lists them (hash-checked)."""
        return self.files.rotate_chain(snapshot, role)

    def package_keys(
        self, shard_md: Metadata[Targets], snapshot: Snapshot, package: str
    ) -> tuple[dict[str, KeyDict], int]:
        """Keys and threshold that must sign the package role now (delegation + TAP 8 chain)."""
        return self.files.package_keys(shard_md.signed.to_dict(), snapshot, package)

    def package_context(self, package: str) -> PackageContext:
        """Snapshot, delegation and effective (post-rotation) keys of a delegated package."""
        return self.files.package_context(package)

    def current_package(self, package: str) -> Metadata[Targets] | None:
        """The published package role, or None if no release was published yet."""
        return self.files.current_package(package)

    def packages(self) -> Iterable[str]:
        """Names of delegated packages (reads all shards)."""
        return self.files.packages()

    # Used by the crash tests.
    def _package_context(self, package: str) -> PackageContext:
        return self.files.package_context(package)

    def _write_pending(
        self, description: str, documents: list[tuple[str, Metadata[Any]]]
    ) -> PendingChange:
        return self.quorum.write_pending(description, documents)

    # -- quorum changes (quorum) ----------------------------------------------------------

    def check_ceremony(self, maintainers: Sequence[Key], threshold: int) -> None:
        """Refuse a key ceremony that init would refuse, before anything is written."""
        self.quorum.check_ceremony(maintainers, threshold)

    def init(
        self,
        maintainers: Sequence[Key],
        threshold: int,
        snapshot_key: Key,
        timestamp_key: Key,
        online_keys: Mapping[str, Path],
        online_passphrase: str,
        expiry: ExpiryPolicy = DEFAULT_EXPIRY,
        shards: layout.ShardLayout = layout.DEFAULT_SHARDS,
    ) -> PendingChange:
        """Start the key ceremony: write the config and propose root, targets and the
        16**digits shards v1 (SHARDS, fixed from then on).

        Nothing is published until `threshold` maintainers signed the pending change.
        """
        return self.quorum.init(
            maintainers, threshold, snapshot_key, timestamp_key, online_keys,
            online_passphrase, expiry, shards,
        )

    def pending_changes(self) -> list[PendingChange]:
        return self.quorum.pending_changes()

    def pending_change(self, change_id: str) -> PendingChange:
        return self.quorum.pending_change(change_id)

    def pending_status(self, change: PendingChange) -> list[DocumentStatus]:
        return self.quorum.pending_status(change)

    def sign_pending(self, change_id: str, signers: Sequence[Signer]) -> tuple[PendingChange, bool]:
        """Add each signer's signature to every document it may sign; commit at threshold."""
        return self.quorum.sign_pending(change_id, signers)

    def propose_maintainers(
        self, description: str, keys: Sequence[Key], threshold: int
    ) -> PendingChange:
        """Propose root N+1 whose root/targets keys are exactly `keys` with `threshold`."""
        return self.quorum.propose_maintainers(description, keys, threshold)

    def propose_package(
        self, package: str, authors: Sequence[Key], threshold: int
    ) -> PendingChange:
        """Propose delegating (terminating) the package's paths to its authors in its shard."""
        return self.quorum.propose_package(package, authors, threshold)

    def withdraw_pending(self, change_id: str) -> None:
        self.quorum.withdraw_pending(change_id)

    # -- releases (releases) --------------------------------------------------------------

    def stage_release(
        self,
        package: str,
        version: str,
        manifest: Path,
        source_archive: Path,
        images: Mapping[str, Path],
        signers: Sequence[Signer],
        buildinfo: Mapping[str, Path] | None = None,
    ) -> StagedRelease:
        """Author side: sign the next package role version listing the release; stage it."""
        return self.releases.stage_release(
            package, version, manifest, source_archive, images, signers, buildinfo
        )

    def published_file(self, package: str, version: str, name: str) -> bytes:
        """File NAME of a published release, checked against the published package role."""
        return self.releases.published_file(package, version, name)

    def staged_releases(self, include_rejected: bool = False, package: str | None = None,
                        version: str | None = None) -> list[StagedRelease]:
        """Releases in staging (of PACKAGE, of VERSION if given); rejected ones only if asked."""
        return self.releases.staged_releases(include_rejected, package, version)

    def rejection(self, release: StagedRelease) -> dict[str, Any] | None:
        """The recorded rejection of a staged release, or None."""
        return self.releases.rejection(release)

    def reject_release(self, release: StagedRelease, reason: str, report_dir: Path | None) -> None:
        """Keep the release staged and record why it was not published."""
        self.releases.reject_release(release, reason, report_dir)

    def withdraw_release(self, package: str, version: str, signers: Sequence[Signer]) -> None:
        """Authors: remove a staged or rejected release so the version can be released again."""
        self.releases.withdraw_release(package, version, signers)

    def author_images(self, release: StagedRelease) -> dict[str, Path]:
        """The author's own image files kept in staging (used by `publish --no-build`)."""
        return self.releases.author_images(release)

    def publish_release(self, release: StagedRelease, built_images: Mapping[str, Path]) -> None:
        """Publish only if every built image's length+sha256 equals the author-signed one."""
        self.releases.publish_release(release, built_images)

    # -- TAP 8 (key_rotation) -------------------------------------------------------------

    def rotate(
        self,
        package: str,
        new_keys: Sequence[Key],
        threshold: int,
        signers: Sequence[Signer],
        new_signers: Sequence[Signer] = (),
        revoke: bool = False,
        replace_last: bool = False,
    ) -> int:
        """Write the package role's next rotate file, signed by the keys being replaced."""
        return self.rotation.rotate(
            package, new_keys, threshold, signers, new_signers, revoke, replace_last
        )

    # -- rebuilders (rebuilders) ----------------------------------------------------------

    def propose_rebuilder(self, name: str, keys: Sequence[Key], threshold: int) -> PendingChange:
        """Propose delegating rebuilder NAME's role (top-level targets: a quorum change)."""
        return self.rebuilders.propose_add(name, keys, threshold)

    def propose_rebuilder_removal(self, name: str) -> PendingChange:
        """Propose ending rebuilder NAME's delegation (a quorum change)."""
        return self.rebuilders.propose_remove(name)

    def rebuilder_list(self) -> list[RebuilderInfo]:
        """Every delegated rebuilder: keys in force, threshold, attestations listed."""
        return self.rebuilders.list()

    def rotate_rebuilder(
        self, name: str, new_keys: Sequence[Key], threshold: int, signers: Sequence[Signer],
        new_signers: Sequence[Signer] = (), revoke: bool = False, replace_last: bool = False,
    ) -> int:
        """TAP 8 rotation (or TAP 20 revocation) of rebuilder NAME's role."""
        return self.rebuilders.rotate(
            name, new_keys, threshold, signers, new_signers, revoke, replace_last
        )

    def submit_attestations(
        self, rebuilder: str, attestations: Mapping[str, bytes], signers: Sequence[Signer]
    ) -> None:
        """Rebuilder: publish attestations (target path -> DSSE envelope bytes) in the next
        version of its role, signed by SIGNERS; nothing written unless every check passes."""
        self.rebuilders.submit_attestations(rebuilder, attestations, signers)

    # -- online services (online) ---------------------------------------------------------

    def online_signer(self, role: str) -> KeySigner:
        """The online signer of snapshot or timestamp (loaded once)."""
        return self.online.online_signer(role)

    def refresh_snapshot(self) -> int | None:
        """Make a new snapshot if any targets-type role has a newer verified file on disk."""
        return self.online.refresh_snapshot()

    def snapshot_expiring(self, fraction: float = 0.5) -> bool:
        return self.online.snapshot_expiring(fraction)

    def timestamp_expiring(self, fraction: float = 0.5) -> bool:
        return self.online.timestamp_expiring(fraction)

    def resign_snapshot(self) -> int:
        """Re-sign snapshot (picking up verified newer role files) and timestamp."""
        return self.online.resign_snapshot()

    def resign_timestamp(self) -> int:
        """Re-sign timestamp for the newest snapshot on disk."""
        return self.online.resign_timestamp()

    # -- layout (migrate) -----------------------------------------------------------------

    def migrate_layout(self) -> MigrationReport:
        """Move a root-layout repository's published tree into a folder of its own
        (tuf_metadata.migrate); this object then reads and writes there."""
        from tuf_metadata.migrate import migrate_layout

        report = migrate_layout(self.root_dir)
        self.files.use_paths(repository_paths(self.root_dir))
        return report
