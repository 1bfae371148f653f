"""A TUF repository simulator for the client tests, built on python-tuf's Metadata API.

The simulator holds Metadata objects and signers, and publishes signed bytes
into `metadata_files` (paths under the metadata URL) and `target_files`
(paths under the targets URL). Tests then tamper with those dicts or with the
objects to stage attacks. `SimFetcher` serves them in memory through the
client's Fetcher interface; `serve_http` serves them on loopback HTTP.
"""

from __future__ import annotations

import hashlib
import http.server
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote, urlsplit

from securesystemslib.signer import CryptoSigner
from tuf.api.metadata import (
    DelegatedRole,
    Delegations,
    Metadata,
    MetaFile,
    Root,
    Snapshot,
    TargetFile,
    Targets,
    Timestamp,
)
from tuf.api.serialization.json import JSONSerializer

from tests.support.http_thread import running
from tuf_metadata import layout
from tuf_metadata.client.errors import EndlessDataError, NotFoundError
from tuf_metadata.rotate import RotateFile, sign_rotate

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

TOP_LEVEL = ("root", "timestamp", "snapshot", "targets")
METADATA_URL = "http://sim.invalid/metadata/"
TARGETS_URL = "http://sim.invalid/targets/"


def new_signer() -> CryptoSigner:
    return CryptoSigner.generate_ed25519()


@dataclass
class RepositorySimulator:
    """An in-memory repository with consistent snapshots and 30-day expiries.

    `metadata_files` and `target_files` are keyed by unencoded paths
    (`2.../escape.json` for role `../escape`); fetchers decode request URLs.
    """

    hashes_in_meta: bool = True
    signers: dict[str, list[CryptoSigner]] = field(default_factory=dict)
    metadata_files: dict[str, bytes] = field(default_factory=dict)
    target_files: dict[str, bytes] = field(default_factory=dict)
    delegated: dict[str, Metadata[Targets]] = field(default_factory=dict)
    rotate_files: dict[str, tuple[int, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.expiry = datetime.now(UTC).replace(microsecond=0) + timedelta(days=30)
        for role in TOP_LEVEL:
            self.signers[role] = [new_signer()]
        # Root outlives the online roles, so that their expiry is what a test sees.
        root = Root(expires=self.expiry + timedelta(days=335), consistent_snapshot=True)
        for role in TOP_LEVEL:
            root.add_key(self.signers[role][0].public_key, role)
        self.root: Metadata[Root] = Metadata(root)
        self.targets: Metadata[Targets] = Metadata(Targets(expires=self.expiry))
        self.snapshot: Metadata[Snapshot] = Metadata(Snapshot(expires=self.expiry))
        self.timestamp: Metadata[Timestamp] = Metadata(Timestamp(expires=self.expiry))
        self.extra_root_signers: list[CryptoSigner] = []
        self.publish_root(bump=False)
        self.publish_targets("targets", bump=False)
        self.publish_snapshot(bump=False)
        self.publish_timestamp(bump=False)

    # -- signing and publishing -----------------------------------------

    @staticmethod
    def sign(
        metadata: Metadata[Root] | Metadata[Targets] | Metadata[Snapshot] | Metadata[Timestamp],
        signers: Sequence[CryptoSigner],
    ) -> bytes:
        metadata.signatures.clear()
        for signer in signers:
            metadata.sign(signer, append=True)
        return metadata.to_bytes(JSONSerializer(compact=False))

    @property
    def root_bytes(self) -> bytes:
        return self.metadata_files["1.root.json"]

    def publish_root(self, bump: bool = True) -> bytes:
        if bump:
            self.root.signed.version += 1
        data = self.sign(self.root, [*self.signers["root"], *self.extra_root_signers])
        self.metadata_files[f"{self.root.signed.version}.root.json"] = data
        self.extra_root_signers = []
        return data

    def role_metadata(self, role: str) -> Metadata[Targets]:
        return self.targets if role == "targets" else self.delegated[role]

    def publish_targets(self, role: str, bump: bool = True) -> bytes:
        metadata = self.role_metadata(role)
        if bump:
            metadata.signed.version += 1
        data = self.sign(metadata, self.signers[role])
        self.metadata_files[f"{metadata.signed.version}.{role}.json"] = data
        return data

    def _meta_for(self, data: bytes, version: int) -> MetaFile:
        if not self.hashes_in_meta:
            return MetaFile(version=version)
        return MetaFile(version, len(data), {"sha256": hashlib.sha256(data).hexdigest()})

    def publish_snapshot(self, bump: bool = True) -> bytes:
        meta: dict[str, MetaFile] = {}
        for role in ["targets", *self.delegated]:
            version = self.role_metadata(role).signed.version
            data = self.metadata_files[f"{version}.{role}.json"]
            meta[f"{role}.json"] = self._meta_for(data, version)
        for name, (version, data) in self.rotate_files.items():
            meta[name] = self._meta_for(data, version)
        self.snapshot.signed.meta = meta
        if bump:
            self.snapshot.signed.version += 1
        data = self.sign(self.snapshot, self.signers["snapshot"])
        self.metadata_files[f"{self.snapshot.signed.version}.snapshot.json"] = data
        return data

    def publish_timestamp(self, bump: bool = True) -> bytes:
        version = self.snapshot.signed.version
        snapshot_data = self.metadata_files[f"{version}.snapshot.json"]
        self.timestamp.signed.snapshot_meta = self._meta_for(snapshot_data, version)
        if bump:
            self.timestamp.signed.version += 1
        data = self.sign(self.timestamp, self.signers["timestamp"])
        self.metadata_files["timestamp.json"] = data
        return data

    def release(self, *roles: str) -> None:
        """Publish ROLES (bumped), then a new snapshot and timestamp."""
        for role in roles:
            self.publish_targets(role)
        self.publish_snapshot()
        self.publish_timestamp()

    # -- content ----------------------------------------------------------

    def add_target(self, role: str, path: str, data: bytes) -> TargetFile:
        info = TargetFile.from_data(path, data, ["sha256"])
        self.role_metadata(role).signed.targets[path] = info
        directory, _, name = path.rpartition("/")
        digest = info.hashes["sha256"]
        served = f"{directory}/{digest}.{name}" if directory else f"{digest}.{name}"
        self.target_files[served] = data
        return info

    def delegate(
        self,
        delegator: str,
        role: str,
        signers: Sequence[CryptoSigner],
        threshold: int = 1,
        *,
        paths: list[str] | None = None,
        hash_prefixes: list[str] | None = None,
        terminating: bool = False,
    ) -> None:
        """Add a delegation (without publishing) and create the role, version 1."""
        parent = self.role_metadata(delegator).signed
        if parent.delegations is None:
            parent.delegations = Delegations(keys={}, roles={})
        assert parent.delegations.roles is not None
        for signer in signers:
            parent.delegations.keys[signer.public_key.keyid] = signer.public_key
        parent.delegations.roles[role] = DelegatedRole(
            role,
            [signer.public_key.keyid for signer in signers],
            threshold,
            terminating,
            paths=paths if hash_prefixes is None else None,
            path_hash_prefixes=hash_prefixes,
        )
        if role not in self.delegated:
            self.delegated[role] = Metadata(Targets(expires=self.expiry))
            self.signers[role] = list(signers)
            self.publish_targets(role, bump=False)

    def add_package(
        self,
        name: str,
        authors: Sequence[CryptoSigner],
        files: dict[str, bytes],
        *,
        version: str = "1.0",
        threshold: int = 1,
    ) -> str:
        """Delegate NAME the pinned way (targets -> shard-XX -> pkg-NAME) and add a release.

        Returns the package role's name; nothing is published.
        """
        shard = SHARDS.shard_role(name)
        if shard not in self.delegated:
            shard_signers = self.signers.setdefault("shards", [new_signer()])
            self.delegate(
                "targets",
                shard,
                shard_signers,
                paths=SHARDS.shard_paths(SHARDS.shard_of(name)),
                terminating=True,
            )
        role = layout.package_role(name)
        if role not in self.delegated:
            self.delegate(
                shard, role, authors, threshold, paths=SHARDS.package_paths(name), terminating=True
            )
        for file_name, data in files.items():
            self.add_target(role, SHARDS.target_path(name, version, file_name), data)
        return role

    def release_all(self) -> None:
        self.release("targets", *self.delegated)

    def rotate(
        self,
        role: str,
        number: int,
        new_signers: Sequence[CryptoSigner],
        threshold: int,
        signed_by: Sequence[CryptoSigner],
        *,
        meta_version: int = 1,
    ) -> bytes:
        """Publish rotate file NUMBER of ROLE (TAP 8); listed at the next snapshot."""
        payload = RotateFile(
            version=number,
            role=role,
            keys={s.public_key.keyid: s.public_key.to_dict() for s in new_signers},
            threshold=threshold,
        )
        return self.put_rotate_file(role, number, sign_rotate(payload, signed_by), meta_version)

    def put_rotate_file(self, role: str, number: int, data: bytes, meta_version: int = 1) -> bytes:
        self.rotate_files[layout.rotate_file_name(role, number)] = (meta_version, data)
        self.metadata_files[layout.rotate_file_path(role, number, meta_version)] = data
        return data

    def rotate_keys(self, role: str) -> None:
        """Replace a top-level role's key in root (root must then be published)."""
        for signer in self.signers[role]:
            self.root.signed.revoke_key(signer.public_key.keyid, role)
        if role == "root":
            self.extra_root_signers = list(self.signers["root"])
        self.signers[role] = [new_signer()]
        self.root.signed.add_key(self.signers[role][0].public_key, role)


@dataclass
class SimFetcher:
    """The client's Fetcher interface over the simulator's dicts, recording requests."""

    repo: RepositorySimulator
    requests: list[str] = field(default_factory=list)
    endless: set[str] = field(default_factory=set)

    def fetch(self, url: str, max_length: int) -> bytes:
        self.requests.append(url)
        if url.startswith(METADATA_URL):
            files, path = self.repo.metadata_files, url[len(METADATA_URL) :]
        elif url.startswith(TARGETS_URL):
            files, path = self.repo.target_files, url[len(TARGETS_URL) :]
        else:
            raise NotFoundError(f"{url}: HTTP 404")
        path = unquote(path)
        if path in self.endless:
            raise EndlessDataError(f"{url}: more than {max_length} bytes")
        data = files.get(path)
        if data is None:
            raise NotFoundError(f"{url}: HTTP 404")
        if len(data) > max_length:
            raise EndlessDataError(f"{url}: more than {max_length} bytes")
        return data

    def names(self) -> list[str]:
        """Requested paths relative to the metadata/targets URLs."""
        return [
            unquote(url.removeprefix(METADATA_URL).removeprefix(TARGETS_URL))
            for url in self.requests
        ]


@contextmanager
def serve_http(repo: RepositorySimulator) -> Iterator[tuple[str, str, list[str]]]:
    """Serve REPO on 127.0.0.1; yields (metadata URL, targets URL, log of raw request paths).

    Files are stored under their unencoded paths; request paths are decoded.
    """
    log: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            raw_path = urlsplit(self.path).path
            log.append(raw_path)
            path = unquote(raw_path)
            data: bytes | None = None
            if path.startswith("/metadata/"):
                data = repo.metadata_files.get(path[len("/metadata/") :])
            elif path.startswith("/targets/"):
                data = repo.target_files.get(path[len("/targets/") :])
            if data is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with running(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as base:
        yield f"{base}/metadata/", f"{base}/targets/", log
