"""The client workflow at the edge: where bytes come from and where they go.

`Updater` drives a `TrustedSet` (pure verification) with bytes from a local
`MetadataStore` and a `Fetcher`. It writes to the store only bytes the
trusted set has just accepted, so what is on disk is always verified data,
byte-for-byte as served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from tuf.api.exceptions import LengthOrHashMismatchError
from tuf.api.metadata import Root, Snapshot, TargetFile, Targets, Timestamp

from tuf_metadata import layout
from tuf_metadata.client.errors import (
    DownloadError,
    EndlessDataError,
    EqualVersionError,
    MismatchError,
    NotFoundError,
    TargetNotFoundError,
)
from tuf_metadata.client.fetcher import Fetcher
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.trusted import (
    TOP_LEVEL_DELEGATOR,
    Delegation,
    TrustedSet,
    VerifiedRole,
    check_length_and_hashes,
    delegations_for_path,
)
from tuf_metadata.errors import TufError
from tuf_metadata.snapshot_tree import bundle_file_name, node_file_name
from tuf_metadata.store import atomic_write


@dataclass(frozen=True)
class ClientConfig:
    """Limits of the workflow (spec 5: W, X, Y, Z and the delegation bound)."""

    max_root_rotations: int = 256
    max_delegations: int = 32
    root_max_length: int = 512_000
    timestamp_max_length: int = 16_384
    snapshot_max_length: int = 16_000_000
    targets_max_length: int = 5_000_000
    rotate_max_length: int = 64_000
    snapshot_tree: bool = True  # use the snapshot tree when timestamp pins one
    tree_node_max_length: int = 1_000_000
    tree_bundle_max_length: int = 16_000_000


@dataclass
class RefreshReport:
    """What one refresh verified."""

    root_versions: list[int] = field(default_factory=list)
    timestamp_version: int = 0
    snapshot_version: int = 0
    targets_version: int = 0
    timestamp_unchanged: bool = False
    snapshot_tree: bool = False  # snapshot tree mode: no snapshot.json was read


@dataclass(frozen=True)
class SearchResult:
    """Outcome of a delegation search: the target (or None) and the roles verified on the way."""

    info: TargetFile | None
    chain: tuple[VerifiedRole, ...]


@dataclass(frozen=True)
class ResolvedTarget:
    """A target found through the delegations, and the chain of roles that vouched for it."""

    info: TargetFile
    chain: tuple[VerifiedRole, ...]


def _now() -> datetime:
    # datetime.now reads the system clock, which libfaketime intercepts.
    return datetime.now(UTC)


class Updater:
    """One update cycle against one repository and one metadata directory."""

    def __init__(
        self,
        store: MetadataStore,
        fetcher: Fetcher,
        metadata_url: str,
        targets_url: str | None = None,
        config: ClientConfig | None = None,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self.fetcher = fetcher
        self.metadata_url = metadata_url if metadata_url.endswith("/") else metadata_url + "/"
        if targets_url is not None and not targets_url.endswith("/"):
            targets_url += "/"
        self.targets_url = targets_url
        self.config = config or ClientConfig()
        self.clock = clock
        self._trusted: TrustedSet | None = None

    @property
    def trusted(self) -> TrustedSet:
        if self._trusted is None:
            raise RuntimeError("refresh() has not run")
        return self._trusted

    # -- top-level refresh ----------------------------------------------

    def refresh(self) -> RefreshReport:
        """Spec 5.1-5.6.6: root chain, timestamp, snapshot, top-level targets."""
        start = self.clock()  # 5.1: one fixed start time for every expiry check
        root_data = self.store.load(Root.type)
        if root_data is None:
            raise TargetNotFoundError(f"no trusted root in {self.store.directory}")
        trusted = TrustedSet(root_data, start)
        self._trusted = trusted
        report = RefreshReport()
        self._update_root(trusted, report)
        self._update_timestamp(trusted, report)
        if self.config.snapshot_tree and trusted.tree_ref() is not None:
            self._update_tree(trusted, report)
        else:
            self._update_snapshot(trusted, report)
        self._update_targets(trusted, report)
        return report

    def _update_root(self, trusted: TrustedSet, report: RefreshReport) -> None:
        for _ in range(self.config.max_root_rotations):
            version = trusted.root.version + 1
            try:
                data = self.fetcher.fetch(
                    f"{self.metadata_url}{version}.root.json", self.config.root_max_length
                )
            except NotFoundError:
                break
            trusted.update_root(data)
            self.store.save_root_version(version, data)
            self.store.save(Root.type, data)
            report.root_versions.append(version)
        trusted.check_final_root()
        # 5.3.11 fast-forward recovery: metadata signed by rotated-out keys goes.
        rotated = trusted.rotated_online_roles()
        if Timestamp.type in rotated:
            self.store.delete(Timestamp.type)
        if rotated:
            self.store.delete(Snapshot.type)
            self.store.delete_tree()

    def _update_timestamp(self, trusted: TrustedSet, report: RefreshReport) -> None:
        local = self.store.load(Timestamp.type)
        if local is not None:
            try:
                trusted.update_timestamp(local)
            except TufError:
                pass  # an unusable or expired local copy is only a weaker baseline
        data = self.fetcher.fetch(
            f"{self.metadata_url}timestamp.json", self.config.timestamp_max_length
        )
        try:
            trusted.update_timestamp(data)
        except EqualVersionError:
            trusted.check_final_timestamp()
            report.timestamp_unchanged = True
        else:
            self.store.save(Timestamp.type, data)
        timestamp = trusted.timestamp
        assert timestamp is not None
        report.timestamp_version = timestamp.version

    def _update_snapshot(self, trusted: TrustedSet, report: RefreshReport) -> None:
        local = self.store.load(Snapshot.type)
        if local is not None:
            try:
                trusted.update_snapshot(local, from_local_store=True)
            except TufError:
                pass
            else:
                report.snapshot_version = trusted.snapshot.version if trusted.snapshot else 0
                return
        timestamp = trusted.timestamp
        assert timestamp is not None
        meta = timestamp.snapshot_meta
        prefix = f"{meta.version}." if trusted.root.consistent_snapshot else ""
        name = f"{prefix}snapshot.json"
        data = self.fetcher.fetch(
            f"{self.metadata_url}{name}", meta.length or self.config.snapshot_max_length
        )
        trusted.update_snapshot(data)
        self.store.save(Snapshot.type, data)
        report.snapshot_version = meta.version

    # -- snapshot tree (docs/tap16-profile.md): node and bundles, never snapshot.json --

    def _tree_fetch(self, name: str, length: int, cap: int) -> bytes:
        if length > cap:
            raise EndlessDataError(f"{self.metadata_url}{name}: listed as {length} bytes, "
                                   f"more than the cap of {cap} for this file; refused")
        return self.fetcher.fetch(f"{self.metadata_url}{name}", length)

    def _update_tree(self, trusted: TrustedSet, report: RefreshReport) -> None:
        report.snapshot_tree = True
        local = self.store.load_tree("node")
        if local is not None:
            try:
                trusted.update_tree_node(local, from_local_store=True)
            except TufError:
                pass  # older, expired or unusable: at most a baseline for rollback
            else:
                report.snapshot_version = trusted.tree.node.version if trusted.tree else 0
                return
        ref = trusted.tree_ref()
        assert ref is not None
        data = self._tree_fetch(node_file_name(ref.version), ref.length,
                                self.config.tree_node_max_length)
        trusted.update_tree_node(data)
        self.store.save_tree("node", data)
        report.snapshot_version = ref.version

    def _load_bundle_of(self, trusted: TrustedSet, role: str) -> None:
        """In tree mode, verify the bundle holding ROLE's entries unless it is loaded."""
        group = trusted.tree_bundle_needed(role)
        if group is None or trusted.tree is None:
            return
        name = f"bundle-{group}"
        kept = self.store.load_tree(name)
        if kept is not None:
            try:
                trusted.update_tree_bundle(group, kept, None)
            except TufError:
                pass  # not the current bundle: fetch it (KEPT is the rollback baseline)
            else:
                return
        ref = trusted.tree.node.bundles[group]
        data = self._tree_fetch(bundle_file_name(ref.version, group), ref.length,
                                self.config.tree_bundle_max_length)
        trusted.update_tree_bundle(group, data, kept)
        self.store.save_tree(name, data)

    def whole_snapshot(self) -> Snapshot:
        """Every role's entry (a listing such as `rebuild --since` needs them all): the
        trusted snapshot, or in tree mode snapshot.json of the trusted version, checked
        against timestamp (length, sha256), the snapshot keys and that version."""
        trusted = self.trusted
        if trusted.snapshot is not None:
            return trusted.snapshot
        timestamp = trusted.timestamp
        if timestamp is None or trusted.tree is None:
            raise RuntimeError("refresh() has not completed")
        meta = timestamp.snapshot_meta
        data = self.fetcher.fetch(f"{self.metadata_url}{meta.version}.snapshot.json",
                                  meta.length or self.config.snapshot_max_length)
        check_length_and_hashes(meta, data, "snapshot")
        return trusted.older_snapshot(data, meta.version)

    def _update_targets(self, trusted: TrustedSet, report: RefreshReport) -> None:
        local = self.store.load(Targets.type)
        if local is not None:
            try:
                trusted.update_targets(local)
            except TufError:
                pass
            else:
                report.targets_version = trusted.targets.version if trusted.targets else 0
                return
        data = self._fetch_role(trusted, Targets.type)
        trusted.update_targets(data)
        self.store.save(Targets.type, data)
        report.targets_version = trusted.targets.version if trusted.targets else 0

    def _fetch_role(self, trusted: TrustedSet, role: str) -> bytes:
        self._load_bundle_of(trusted, role)
        meta = trusted.role_meta(role)
        if meta is None:
            raise TargetNotFoundError(f"role {role!r} is not listed in snapshot")
        encoded = quote(role, safe="")
        prefix = f"{meta.version}." if trusted.root.consistent_snapshot else ""
        name = f"{prefix}{encoded}.json"
        return self.fetcher.fetch(
            f"{self.metadata_url}{name}", meta.length or self.config.targets_max_length
        )

    # -- delegations (5.6.7) ---------------------------------------------

    def _load_delegated(self, trusted: TrustedSet, delegation: Delegation) -> Targets:
        role, delegator = delegation.role, delegation.delegator
        if trusted.is_verified(delegator, role):
            return trusted.delegated(role)
        self._load_bundle_of(trusted, role)
        rotate_files, previous = self._rotate_files(trusted, role)
        known = trusted.delegated_bytes(role)
        if known is not None:
            # Already accepted through another delegator: verify the same bytes for this edge.
            return trusted.update_delegated_targets(known, role, delegator, rotate_files, previous)
        local = self.store.load(role)
        if local is not None:
            try:
                targets = trusted.update_delegated_targets(
                    local, role, delegator, rotate_files, previous
                )
            except TufError:
                pass
            else:
                self._save_rotate_files(role, rotate_files, previous)
                return targets
        data = self._fetch_role(trusted, role)
        targets = trusted.update_delegated_targets(data, role, delegator, rotate_files, previous)
        self.store.save(role, data)
        self._save_rotate_files(role, rotate_files, previous)
        return targets

    def _rotate_files(
        self, trusted: TrustedSet, role: str
    ) -> tuple[list[bytes], list[bytes | None]]:
        """TAP 8: every rotate file snapshot lists for ROLE, and the copies kept before."""
        files: list[bytes] = []
        previous: list[bytes | None] = []
        for number, meta in trusted.rotate_entries(role):
            kept = self.store.load_rotate(role, number)
            previous.append(kept)
            if kept is not None and meta.hashes:
                try:
                    meta.verify_length_and_hashes(kept)
                except LengthOrHashMismatchError:
                    pass
                else:
                    files.append(kept)  # snapshot's hash pins the content: no download
                    continue
            path = layout.rotate_file_path(quote(role, safe=""), number, meta.version)
            try:
                files.append(
                    self.fetcher.fetch(
                        f"{self.metadata_url}{path}", meta.length or self.config.rotate_max_length
                    )
                )
            except NotFoundError:
                break  # the trusted set refuses the shortened chain with its reason
        return files, previous

    def _save_rotate_files(
        self, role: str, files: list[bytes], previous: list[bytes | None]
    ) -> None:
        for number, (data, kept) in enumerate(zip(files, previous, strict=False), start=1):
            if data != kept:
                self.store.save_rotate(role, number, data)

    def resolve(self, target_path: str) -> ResolvedTarget:
        """The trusted description of TARGET_PATH; TargetNotFoundError if there is none."""
        result = self.search(target_path)
        if result.info is None:
            raise TargetNotFoundError(f"target {target_path!r}: no trusted metadata lists it")
        return ResolvedTarget(result.info, result.chain)

    def search(self, target_path: str) -> SearchResult:
        """Pre-order depth-first search of the delegations for TARGET_PATH (spec 5.6.7).

        Every role on the way is verified against the delegator it was
        reached through. The result's chain ends at the role that lists the
        target, or when nothing does, at the last role visited.
        """
        trusted = self.trusted
        top = trusted.targets
        if top is None:
            raise RuntimeError("refresh() has not completed")
        # Stack of (role, delegation that reached it, chain of records so far).
        start: tuple[str, Delegation | None, tuple[VerifiedRole, ...]] = (
            Targets.type,
            None,
            tuple(r for r in trusted.verified() if r.role == Targets.type),
        )
        stack = [start]
        visited: set[tuple[str, str]] = set()
        visits = 0
        last_chain = start[2]
        while stack and visits < self.config.max_delegations:
            role, delegation, chain = stack.pop()
            edge = (delegation.delegator if delegation else TOP_LEVEL_DELEGATOR, role)
            if edge in visited:
                continue
            visited.add(edge)
            visits += 1
            if delegation is None:
                targets = top
            else:
                targets = self._load_delegated(trusted, delegation)
                chain = (*chain, trusted.verification(delegation.delegator, role))
            last_chain = chain
            info = targets.targets.get(target_path)
            if info is not None:
                return SearchResult(info, chain)
            children = []
            for child in delegations_for_path(role, targets, target_path):
                children.append((child.role, child, chain))
                if child.terminating:
                    stack.clear()  # nothing after a terminating delegation is searched
                    break
            stack.extend(reversed(children))
        return SearchResult(None, last_chain)

    # -- targets (5.7) ---------------------------------------------------

    def target_url(self, info: TargetFile) -> str:
        if self.targets_url is None:
            raise DownloadError("no targets URL configured")
        path = info.path
        if self.trusted.root.consistent_snapshot and info.hashes:
            directory, _, filename = path.rpartition("/")
            digest = next(iter(info.hashes.values()))
            path = f"{directory}/{digest}.{filename}" if directory else f"{digest}.{filename}"
        # Encode only what cannot appear raw in a URL path (RFC 3986 pchar), so that
        # servers that do not decode paths still see the target path as written.
        return self.targets_url + quote(path, safe="/!$&'()*+,;=:@~")

    def cached_target(self, info: TargetFile, destination: Path) -> bytes | None:
        """The bytes at DESTINATION if they match INFO's length and hashes."""
        try:
            data = destination.read_bytes()
        except OSError:
            return None
        try:
            info.verify_length_and_hashes(data)
        except LengthOrHashMismatchError:
            return None
        return data

    def download_target(self, info: TargetFile, destination: Path) -> bytes:
        """Fetch at most LENGTH bytes, check length and every hash, write atomically."""
        cached = self.cached_target(info, destination)
        if cached is not None:
            return cached
        data = self.fetch_target(info)
        atomic_write(destination, data)
        return data

    def fetch_target(self, info: TargetFile) -> bytes:
        """Fetch at most LENGTH bytes and check length and every hash; write nothing."""
        data = self.fetcher.fetch(self.target_url(info), info.length)
        try:
            info.verify_length_and_hashes(data)
        except LengthOrHashMismatchError as error:
            raise MismatchError(f"target {info.path!r}: {error}") from None
        return data


def target_file_name(target_path: str) -> str:
    """A stable, flat, safe local name for a target path."""
    return quote(target_path, safe="")
