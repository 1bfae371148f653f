"""The snapshot tree (docs/tap16-profile.md) end to end: `repo-tool snapshot --tree`, a
loopback HTTP server that logs every request, our client in tree mode, python-tuf's
ngclient on the same files, and each attack the profile must stop.

The served folder is a copy of the repository's metadata/ and targets/, so an attack
edits what clients receive without touching the repository.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from securesystemslib.signer import SSlibKey
from tuf.api.metadata import Metadata, MetaFile, Timestamp
from tuf.ngclient.updater import Updater as NgUpdater

from signing.keys import KeyFileSigner
from tests.client.conftest import files_in
from tests.repository.helpers import Fixture, init_repo, release, run
from tests.support.http_thread import serving_folder_logged
from tests.support.published import metadata_dir, published_dir
from tuf_metadata import layout
from tuf_metadata.canonical import canonical_json
from tuf_metadata.client.errors import (
    BadSignatureError,
    ClientError,
    EndlessDataError,
    MismatchError,
    RollbackError,
)
from tuf_metadata.client.fetcher import HttpFetcher
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.updater import ClientConfig, Updater
from tuf_metadata.repo_verify import now_utc, verify_repository
from tuf_metadata.snapshot_tree import (
    TIMESTAMP_FIELD,
    FileRef,
    bundle_file_name,
    encode_bundle,
    group_of,
    node_file_name,
    parse_bundle,
    parse_node,
)

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

HELLO = "hello"
SHARD = SHARDS.shard_of(HELLO)


@dataclass
class Served:
    fx: Fixture
    public: Path
    url: str
    requests: list[str] = field(default_factory=list)

    def publish(self, version: str) -> None:
        """Release and publish hello VERSION, then copy the repository to the served folder."""
        assert release(self.fx, HELLO, version, [HELLO]).exit_code == 0
        result = run(["publish", "--no-build", "--repo", str(self.fx.repo_dir)])
        assert result.exit_code == 0, result.output
        self.sync()

    def sync(self) -> None:
        for folder in ("metadata", "targets"):
            shutil.copytree(published_dir(self.fx.repo_dir) / folder, self.public / folder,
                            dirs_exist_ok=True)

    def metadata(self, name: str) -> Path:
        return self.public / "metadata" / name

    def node(self) -> tuple[str, dict[str, object]]:
        """The served node's file name and its parsed signed part."""
        timestamp = json.loads(self.metadata("timestamp.json").read_bytes())["signed"]
        name = node_file_name(int(timestamp[TIMESTAMP_FIELD]["version"]))
        return name, json.loads(self.metadata(name).read_bytes())["signed"]

    def bundle_name(self, group: str = SHARD) -> str:
        node = parse_node(self.node()[1])
        return bundle_file_name(node.bundles[group].version, group)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    fx = init_repo(tmp_path, authors=[HELLO])
    result = run(["snapshot", "--tree", "--repo", str(fx.repo_dir)])
    assert result.exit_code == 0, result.output
    public = tmp_path / "public"
    public.mkdir()
    state = Served(fx, public, "")
    with serving_folder_logged(public, state.requests) as state.url:
        state.publish("1.0.0")
        yield state


class Client:
    def __init__(self, served: Served, directory: Path, config: ClientConfig | None = None):
        self.served = served
        self.store = MetadataStore(directory)
        directory.mkdir(parents=True)
        self.store.save("root", (metadata_dir(served.fx.repo_dir) / "1.root.json").read_bytes())
        self.config = config
        self.directory = directory

    def resolve(self, version: str) -> Updater:
        updater = Updater(self.store, HttpFetcher(), self.served.url + "/metadata/",
                          self.served.url + "/targets/", config=self.config)
        report = updater.refresh()
        assert report.snapshot_tree
        updater.resolve(SHARDS.target_path(HELLO, version, f"{HELLO}.hvt"))
        return updater

    def state(self) -> dict[str, bytes]:
        return files_in(self.directory)


def test_fresh_client_fetches_hello_without_snapshot_json(served: Served, tmp_path: Path
                                                         ) -> None:
    client = Client(served, tmp_path / "client")
    served.requests.clear()
    updater = client.resolve("1.0.0")
    info = updater.resolve(SHARDS.target_path(HELLO, "1.0.0", f"{HELLO}.hvt")).info
    image = updater.download_target(info, tmp_path / "hello.hvt")
    assert image == (served.fx.work / "hello-1.0.0.hvt").read_bytes()
    names = [path.rsplit("/", 1)[-1] for path in served.requests]
    assert not any(name.endswith("snapshot.json") for name in names), served.requests
    node_name, _ = served.node()
    assert f"/metadata/{node_name}" in served.requests
    bundles = [path for path in served.requests if ".bundle-" in path]
    assert bundles == [f"/metadata/{served.bundle_name()}"]
    assert any(name.endswith(f"pkg-{HELLO}.json") for name in names)
    # An up-to-date client reads timestamp.json (after the root probe) and nothing else.
    served.requests.clear()
    client.resolve("1.0.0")
    assert served.requests == ["/metadata/2.root.json", "/metadata/timestamp.json"]


def test_ngclient_reads_the_same_repository_through_snapshot_json(
    served: Served, tmp_path: Path
) -> None:
    timestamp = json.loads(served.metadata("timestamp.json").read_bytes())["signed"]
    assert TIMESTAMP_FIELD in timestamp
    (tmp_path / "ng" / "targets").mkdir(parents=True)
    ng = NgUpdater(str(tmp_path / "ng"), served.url + "/metadata/",
                   str(tmp_path / "ng" / "targets"), served.url + "/targets/",
                   bootstrap=served.metadata("1.root.json").read_bytes())
    served.requests.clear()
    ng.refresh()
    info = ng.get_targetinfo(SHARDS.target_path(HELLO, "1.0.0", f"{HELLO}.hvt"))
    assert info is not None
    assert Path(ng.download_target(info)).read_bytes() == (
        served.fx.work / "hello-1.0.0.hvt").read_bytes()
    assert any(path.endswith(".snapshot.json") for path in served.requests)


def test_tree_lists_exactly_the_snapshot_entries_and_a_publish_rewrites_one_bundle(
    served: Served,
) -> None:
    metadata = metadata_dir(served.fx.repo_dir)
    before = {path.name for path in (metadata / "snapshot-tree").iterdir()}
    served.publish("1.0.1")
    after = {path.name for path in (metadata / "snapshot-tree").iterdir()}
    node_name, signed = served.node()
    node = parse_node(signed)
    assert after - before == {node_name.split("/")[1],
                              served.bundle_name().split("/")[1]}
    snapshot_file = metadata / f"{node.version}.snapshot.json"
    snapshot_meta = json.loads(snapshot_file.read_bytes())["signed"]["meta"]
    listed = dict(node.top)
    for group, ref in node.bundles.items():
        data = (metadata / bundle_file_name(ref.version, group)).read_bytes()
        assert FileRef.of(ref.version, data) == ref
        listed.update(parse_bundle(json.loads(data)).meta)
    assert listed == snapshot_meta
    verify_repository(served.fx.repo_dir, now_utc())
    # Turned off, timestamp stops pinning a node; our client goes back to snapshot.json.
    assert run(["snapshot", "--no-tree", "--repo", str(served.fx.repo_dir)]).exit_code == 0
    timestamp = json.loads((metadata / "timestamp.json").read_bytes())["signed"]
    assert TIMESTAMP_FIELD not in timestamp


# -- attacks: each refused, the client's trusted state as it was --------------------------


def _online_signer(served: Served, role: str):  # type: ignore[no-untyped-def]
    """The repository's online key of ROLE as a securesystemslib signer (for python-tuf)."""
    private = served.fx.repo.online.online_signer(role).private_key
    return KeyFileSigner(private, SSlibKey.from_crypto(private.public_key()))


def forge_tree(served: Served, mutate: Callable[[dict[str, dict[str, object]]], None], *,
               metadata: Path | None = None, bump: bool = True) -> None:
    """What a holder of both online keys could serve: hello's bundle with MUTATE applied,
    a node pinning it (one snapshot version up if BUMP) and a timestamp pinning that node,
    written into METADATA (default: the served folder)."""
    folder = metadata or served.public / "metadata"
    timestamp = Metadata[Timestamp].from_bytes((folder / "timestamp.json").read_bytes())
    current = int(timestamp.signed.unrecognized_fields[TIMESTAMP_FIELD]["version"])
    signed = json.loads((folder / node_file_name(current)).read_bytes())["signed"]
    ref = parse_node(signed).bundles[SHARD]
    bundle = parse_bundle(json.loads((folder / bundle_file_name(ref.version, SHARD))
                                     .read_bytes()))
    meta = dict(bundle.meta)
    mutate(meta)
    version = current + 1 if bump else current
    data = encode_bundle(SHARD, version, meta)
    (folder / bundle_file_name(version, SHARD)).write_bytes(data)
    bundles = dict(signed["bundles"])
    bundles[SHARD] = FileRef.of(version, data).to_dict()
    new_signed = {**signed, "version": version, "bundles": bundles}
    signature = _online_signer(served, "snapshot").sign(canonical_json(new_signed))
    node_data = canonical_json({"signatures": [signature.to_dict()], "signed": new_signed})
    (folder / node_file_name(version)).write_bytes(node_data)
    timestamp.signed.version += 1
    if bump:
        timestamp.signed.snapshot_meta = MetaFile(version=version)
    timestamp.signed.unrecognized_fields[TIMESTAMP_FIELD] = FileRef.of(version, node_data
                                                                       ).to_dict()
    timestamp.signatures.clear()
    timestamp.sign(_online_signer(served, "timestamp"))
    (folder / "timestamp.json").write_bytes(timestamp.to_bytes())


def _refused(client: Client, version: str, error: type[ClientError], names: str) -> None:
    before = client.state()
    with pytest.raises(error, match=names):
        client.resolve(version)
    after = client.state()
    # Nothing the refused file vouches for is kept: the package role and the bundle stay.
    for name in (f"pkg-{HELLO}.json", f"snapshot-tree/bundle-{SHARD}.json"):
        assert after.get(name) == before.get(name), name


@pytest.fixture
def client(served: Served, tmp_path: Path) -> Client:
    client = Client(served, tmp_path / "client")
    client.resolve("1.0.0")
    return client


def test_bundle_not_matching_the_node_is_refused(served: Served, client: Client) -> None:
    served.publish("1.0.1")
    bundle = served.metadata(served.bundle_name())
    doc = json.loads(bundle.read_bytes())
    doc["meta"][f"pkg-{HELLO}.json"]["version"] += 1  # a role version of the attacker's
    bundle.write_bytes(canonical_json(doc))
    _refused(client, "1.0.1", MismatchError, rf"(?i){served.bundle_name()}.*(length|hash)")


def test_node_not_matching_the_timestamp_is_refused(served: Served, client: Client) -> None:
    old_name, _ = served.node()
    served.publish("1.0.1")
    new_name, _ = served.node()
    # Mix and match: the previous (validly signed) node served under the current name.
    shutil.copyfile(served.metadata(old_name), served.metadata(new_name))
    before = client.state()
    _refused(client, "1.0.1", MismatchError, rf"(?i){new_name}.*(length|hash)")
    assert client.state()["snapshot-tree/node.json"] == before["snapshot-tree/node.json"]


def test_stale_bundle_replayed_is_refused(served: Served, client: Client) -> None:
    old_bundle = served.metadata(served.bundle_name()).read_bytes()
    served.publish("1.0.1")
    served.metadata(served.bundle_name()).write_bytes(old_bundle)
    _refused(client, "1.0.1", MismatchError, rf"(?i){served.bundle_name()}.*(length|hash)")


def test_role_version_rolled_back_below_the_trusted_one_is_refused(
    served: Served, client: Client
) -> None:
    served.publish("1.0.1")
    client.resolve("1.0.1")  # the client now trusts pkg-hello at its second version

    def roll_back(meta: dict[str, dict[str, object]]) -> None:
        entry = meta[f"pkg-{HELLO}.json"]
        entry["version"] = int(entry["version"]) - 1  # type: ignore[call-overload]

    forge_tree(served, roll_back)
    _refused(client, "1.0.0", RollbackError, rf"bundle-{SHARD}.*pkg-{HELLO}.json version")


def test_timestamp_with_an_altered_tree_root_is_refused(served: Served, client: Client) -> None:
    served.publish("1.0.1")
    path = served.metadata("timestamp.json")
    doc = json.loads(path.read_bytes())
    doc["signed"][TIMESTAMP_FIELD]["hashes"]["sha256"] = "0" * 64
    path.write_bytes(json.dumps(doc).encode())
    before = client.state()
    _refused(client, "1.0.1", BadSignatureError, "timestamp")
    assert client.state()["timestamp.json"] == before["timestamp.json"]


def test_oversize_tree_files_are_refused(served: Served, client: Client, tmp_path: Path
                                         ) -> None:
    served.publish("1.0.1")
    node_name, _ = served.node()
    node = served.metadata(node_name)
    node.write_bytes(node.read_bytes() + b" " * 100_000)  # an endless answer
    _refused(client, "1.0.1", EndlessDataError, node_name)
    served.sync()
    bundle = served.metadata(served.bundle_name())
    bundle.write_bytes(bundle.read_bytes() + b" " * 100_000)
    _refused(client, "1.0.1", EndlessDataError, served.bundle_name())
    # A cap below the signed length: refused before any byte is requested.
    served.sync()
    small = Client(served, tmp_path / "capped", ClientConfig(tree_node_max_length=1000))
    served.requests.clear()
    with pytest.raises(EndlessDataError, match=rf"{node_name}.*cap of 1000"):
        small.resolve("1.0.1")
    assert served.requests == ["/metadata/2.root.json", "/metadata/timestamp.json"]


def test_entries_outside_their_bundle_are_refused() -> None:
    other = "00" if SHARD != "00" else "01"
    data = encode_bundle(other, 3, {f"pkg-{HELLO}.json": {"version": 1}})
    with pytest.raises(ValueError, match=f"does not belong in bundle {other}"):
        parse_bundle(json.loads(data))
    assert group_of(f"rotate/pkg-{HELLO}.rotate.1.json") == SHARD
    assert group_of("targets.json") is None
    ahead = {"_type": "snapshot-tree", "version": 4, "expires": "2030-01-01T00:00:00Z",
             "top": {}, "bundles": {SHARD: FileRef.of(5, data).to_dict()}}
    with pytest.raises(ValueError, match=f"bundle {SHARD} version 5 is above the node's 4"):
        parse_node(ahead)
    misplaced = {**ahead, "bundles": {}, "top": {f"pkg-{HELLO}.json": {"version": 1}}}
    with pytest.raises(ValueError, match=f"belongs in bundle {SHARD}"):
        parse_node(misplaced)


def test_node_lost_in_a_crash_is_rebuilt_whole_and_clients_follow(
    served: Served, client: Client
) -> None:
    served.publish("1.0.1")
    metadata = metadata_dir(served.fx.repo_dir)
    node_name, _ = served.node()
    # A crash after snapshot V and before its node: the next timestamp rebuilds the tree.
    (metadata / node_name).unlink()
    result = run(["timestamp", "--repo", str(served.fx.repo_dir)])
    assert result.exit_code == 0, result.output
    served.sync()
    rebuilt = parse_node(json.loads((metadata / node_name).read_bytes())["signed"])
    assert {ref.version for ref in rebuilt.bundles.values()} == {rebuilt.version}
    client.resolve("1.0.1")
    served.publish("1.0.2")  # and the next publish is incremental again
    after = parse_node(served.node()[1])
    changed = {group for group, ref in after.bundles.items() if ref.version == after.version}
    assert changed == {SHARD}
    client.resolve("1.0.2")


def test_sync_prunes_tree_files_no_timestamp_references(served: Served, tmp_path: Path
                                                        ) -> None:
    from datetime import timedelta

    from tuf_metadata.sync import sync_tree

    destination = tmp_path / "www"
    sync_tree(served.fx.repo_dir, destination)
    first_node, _ = served.node()
    first_bundle = served.bundle_name()
    served.publish("1.0.1")
    later = now_utc() + timedelta(days=30)  # past every expiry and the grace
    report = sync_tree(served.fx.repo_dir, destination, prune=True, now=later)
    node_name, _ = served.node()
    assert f"metadata/{first_node}" in report.deleted
    assert f"metadata/{first_bundle}" in report.deleted  # hello's shard has a new bundle
    assert (destination / "metadata" / node_name).exists()
    assert (destination / "metadata" / served.bundle_name()).exists()
    other = "00" if SHARD != "00" else "01"  # an unchanged bundle is still referenced
    assert (destination / "metadata" / served.bundle_name(other)).exists()


def test_verify_refuses_a_signed_tree_that_differs_from_snapshot(served: Served) -> None:
    """`repo-tool verify` is the auditor: the tree must list exactly snapshot's entries."""
    from tuf_metadata.repo_verify import VerificationFailure

    def bump(meta: dict[str, dict[str, object]]) -> None:
        entry = meta[f"pkg-{HELLO}.json"]
        entry["version"] = int(entry["version"]) + 1  # type: ignore[call-overload]

    forge_tree(served, bump, metadata=metadata_dir(served.fx.repo_dir), bump=False)
    with pytest.raises(VerificationFailure,
                       match=rf"snapshot tree: .*pkg-{HELLO}.json is .* in the tree but"):
        verify_repository(served.fx.repo_dir, now_utc())
    result = run(["verify", "--repo", str(served.fx.repo_dir)])
    assert result.exit_code != 0 and "snapshot tree" in result.output


def test_rebuild_since_lists_changes_in_tree_mode(served: Served, client: Client) -> None:
    """`rebuild --since N` needs every role's entry: in tree mode the client reads the
    current snapshot.json for it, checked against timestamp, and only then."""
    from tuf_metadata.client.published import changed_since

    before = parse_node(served.node()[1]).version
    served.publish("1.0.1")
    updater = client.resolve("1.0.1")
    assert updater.trusted.snapshot is None  # the tree was enough to fetch
    assert changed_since(updater, before) == {HELLO}
    snapshot = served.metadata(f"{before + 1}.snapshot.json")
    data = bytearray(snapshot.read_bytes())
    digit = data.index(b'"sig":"') + 7
    data[digit] = ord("0") if data[digit] != ord("0") else ord("1")  # same length, other bytes
    snapshot.write_bytes(bytes(data))
    with pytest.raises(MismatchError, match="snapshot"):
        changed_since(client.resolve("1.0.1"), before)
