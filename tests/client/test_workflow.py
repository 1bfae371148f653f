"""The client workflow against the simulator: normal updates and every TUF attack.

Each attack test stages the attack on the simulated repository, asserts the
refusal and its message, and asserts that the trusted metadata on disk did
not change.
"""

from __future__ import annotations

import re

import pytest
from securesystemslib.signer import Signature, SSlibKey
from tuf.api.metadata import Delegations, Metadata, SuccinctRoles, Targets
from tuf.api.serialization.json import JSONSerializer

from tests.client.conftest import NewClient
from tests.client.simulator import RepositorySimulator, new_signer
from tuf_metadata.client.errors import (
    BadSignatureError,
    DelegationError,
    EndlessDataError,
    ExpiredError,
    MalformedMetadataError,
    MismatchError,
    RollbackError,
    TargetNotFoundError,
)
from tuf_metadata.errors import TufError
from tuf_metadata.trust import path_matches_pattern


def test_first_refresh_requests_and_stores_exact_bytes(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    client = new_client(repo)
    client.refresh()
    assert client.fetcher.names() == [
        "2.root.json",
        "timestamp.json",
        "1.snapshot.json",
        "1.targets.json",
    ]
    assert client.state() == {
        "root.json": repo.metadata_files["1.root.json"],
        "timestamp.json": repo.metadata_files["timestamp.json"],
        "snapshot.json": repo.metadata_files["1.snapshot.json"],
        "targets.json": repo.metadata_files["1.targets.json"],
    }


def test_up_to_date_refresh_only_asks_root_and_timestamp(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    client = new_client(repo)
    client.refresh()
    client.fetcher.requests.clear()
    client.refresh()
    assert client.fetcher.names() == ["2.root.json", "timestamp.json"]


def test_download_through_delegation(repo: RepositorySimulator, new_client: NewClient) -> None:
    repo.delegate("targets", "A", [new_signer()], paths=["a/*"])
    repo.add_target("A", "a/file", b"payload")
    repo.release("targets", "A")
    client = new_client(repo)
    assert client.download("a/file") == b"payload"
    assert client.state()["A.json"] == repo.metadata_files["2.A.json"]


def test_root_rotation_chain(repo: RepositorySimulator, new_client: NewClient) -> None:
    client = new_client(repo)
    client.refresh()
    for _ in range(3):
        repo.rotate_keys("root")
        repo.publish_root()
    client.refresh()
    assert client.version("root") == 4
    assert client.state()["root_history/4.root.json"] == repo.metadata_files["4.root.json"]


# -- arbitrary software / wrong software -----------------------------------


def test_arbitrary_software_target_bytes_refused(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    repo.add_target("targets", "app.hvt", b"genuine image")
    repo.release("targets")
    client = new_client(repo)
    client.refresh()
    before = client.state()
    served = next(p for p in repo.target_files if p.endswith(".app.hvt"))
    repo.target_files[served] = b"evil image!!!"  # same length, other bytes
    with pytest.raises(MismatchError, match=r"target 'app\.hvt'.*hash"):
        client.download("app.hvt")
    assert not (client.directory / "targets" / "t").exists()
    assert client.state() == before


def test_arbitrary_targets_metadata_signed_by_attacker_refused(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    client = new_client(repo)
    client.refresh()
    before = client.state()
    repo.signers["targets"] = [new_signer()]  # attacker's key, not in root
    repo.add_target("targets", "app.hvt", b"evil")
    repo.release("targets")
    with pytest.raises(BadSignatureError, match="role 'targets': 0 of 1 required signatures"):
        client.refresh()
    assert client.state()["targets.json"] == before["targets.json"]


def test_root_not_signed_by_previous_root_refused(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    client = new_client(repo)
    client.refresh()
    before = client.state()
    repo.rotate_keys("root")
    repo.extra_root_signers = []  # only the new key signs: not chained to root 1
    repo.publish_root()
    with pytest.raises(BadSignatureError, match=r"root version 2 \(keys of root 1\): 0 of 1"):
        client.refresh()
    assert client.state() == before


def test_root_version_skip_refused(repo: RepositorySimulator, new_client: NewClient) -> None:
    client = new_client(repo)
    client.refresh()
    before = client.state()
    repo.root.signed.version = 2
    repo.publish_root()  # version 3 served as 2.root.json
    repo.metadata_files["2.root.json"] = repo.metadata_files.pop("3.root.json")
    with pytest.raises(RollbackError, match="root: expected version 2, got version 3"):
        client.refresh()
    assert client.state() == before


# -- rollback ----------------------------------------------------------


def test_timestamp_rollback_refused(repo: RepositorySimulator, new_client: NewClient) -> None:
    old_timestamp = repo.metadata_files["timestamp.json"]
    repo.publish_timestamp()
    client = new_client(repo)
    client.refresh()
    before = client.state()
    repo.metadata_files["timestamp.json"] = old_timestamp
    with pytest.raises(RollbackError, match="timestamp: version 1 is lower than trusted 2"):
        client.refresh()
    assert client.state() == before


def test_snapshot_rollback_refused(repo: RepositorySimulator, new_client: NewClient) -> None:
    repo.release("targets")  # targets 2, snapshot 2
    client = new_client(repo)
    client.refresh()
    before = client.state()
    repo.targets.signed.version = 0
    repo.release("targets")  # targets 1 again, listed by snapshot 3
    with pytest.raises(RollbackError, match=r"targets\.json version 1 is lower than trusted 2"):
        client.refresh()
    after = client.state()
    assert after["snapshot.json"] == before["snapshot.json"]
    assert after["targets.json"] == before["targets.json"]


def test_rolled_back_software_not_installed(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    """An attacker replays the whole old repository state: timestamp 1 is refused."""
    repo.add_target("targets", "app.hvt", b"version 1 (vulnerable)")
    repo.release("targets")
    old_files = dict(repo.metadata_files)
    repo.add_target("targets", "app.hvt", b"version 2 (fixed)")
    repo.release("targets")
    client = new_client(repo)
    assert client.download("app.hvt") == b"version 2 (fixed)"
    before = client.state()
    repo.metadata_files.clear()
    repo.metadata_files.update(old_files)
    with pytest.raises(RollbackError, match="timestamp: version 2 is lower than trusted 3"):
        client.download("app.hvt")
    assert client.state() == before


# -- indefinite freeze / expired roles -------------------------------------


def test_freeze_expired_timestamp_refused(repo: RepositorySimulator, new_client: NewClient) -> None:
    client = new_client(repo)
    client.refresh()
    before = client.state()
    client.days_ahead = 31  # the attacker keeps serving the same, now expired, timestamp
    with pytest.raises(ExpiredError, match="timestamp version 1 expired"):
        client.refresh()
    assert client.state() == before


def test_expired_root_refused(repo: RepositorySimulator, new_client: NewClient) -> None:
    client = new_client(repo)
    client.refresh()
    before = client.state()
    client.days_ahead = 400
    with pytest.raises(ExpiredError, match="root version 1 expired"):
        client.refresh()
    assert client.state() == before


def test_expired_snapshot_refused(repo: RepositorySimulator, new_client: NewClient) -> None:
    client = new_client(repo)
    client.refresh()
    before = client.state()
    repo.timestamp.signed.expires = repo.expiry.replace(year=repo.expiry.year + 1)
    repo.publish_timestamp()
    client.days_ahead = 31
    with pytest.raises(ExpiredError, match="snapshot version 1 expired"):
        client.refresh()
    assert client.state()["snapshot.json"] == before["snapshot.json"]


def test_expired_delegated_role_refused(repo: RepositorySimulator, new_client: NewClient) -> None:
    repo.delegate("targets", "A", [new_signer()], paths=["a/*"])
    repo.add_target("A", "a/file", b"payload")
    repo.delegated["A"].signed.expires = repo.expiry.replace(year=repo.expiry.year - 1)
    repo.release("targets", "A")
    client = new_client(repo)
    client.refresh()
    before = client.state()
    with pytest.raises(ExpiredError, match="role 'A' version 2 expired"):
        client.download("a/file")
    assert client.state() == before


# -- endless data -----------------------------------------------------------


def test_endless_timestamp_refused(repo: RepositorySimulator, new_client: NewClient) -> None:
    client = new_client(repo)
    client.refresh()
    before = client.state()
    client.fetcher.endless.add("timestamp.json")
    with pytest.raises(EndlessDataError, match=r"timestamp\.json: more than 16384 bytes"):
        client.refresh()
    assert client.state() == before


def test_target_longer_than_listed_refused(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    repo.add_target("targets", "app.hvt", b"image")
    repo.release("targets")
    client = new_client(repo)
    client.refresh()
    before = client.state()
    served = next(p for p in repo.target_files if p.endswith(".app.hvt"))
    repo.target_files[served] = b"image" + b"\0" * 10_000
    with pytest.raises(EndlessDataError, match="more than 5 bytes"):
        client.download("app.hvt")
    assert client.state() == before


# -- extraneous dependencies / paths ------------------------------------------


def test_target_outside_delegated_paths_not_trusted(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    """A role lists a file outside its paths: the client never asks for or installs it."""
    repo.delegate("targets", "A", [new_signer()], paths=["a/*"])
    repo.add_target("A", "a/file", b"mine")
    repo.add_target("A", "b/dependency", b"not A's to give")
    repo.release("targets", "A")
    client = new_client(repo)
    client.refresh()
    before = client.state()
    with pytest.raises(TargetNotFoundError, match="target 'b/dependency': no trusted metadata"):
        client.download("b/dependency")
    assert not any(name.endswith("dependency") for name in client.fetcher.names())
    assert client.state() == before


def test_path_patterns_are_component_wise() -> None:
    assert path_matches_pattern("ab/x/1.0/f", "ab/*/*/*")
    assert not path_matches_pattern("ab/x/1.0/f/g", "ab/*/*/*")
    assert not path_matches_pattern("ab/x", "*")
    assert path_matches_pattern("foo-version-2.tgz", "foo-version-?.tgz")
    assert not path_matches_pattern("foo-version-alpha.tgz", "foo-version-?.tgz")
    assert not path_matches_pattern("A/file", "a/*")


def test_delegation_search_order_and_terminating(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    a, b, c, d = (new_signer() for _ in range(4))
    repo.delegate("targets", "A", [a], paths=["*"])
    repo.delegate("targets", "B", [b], paths=["*"])
    repo.delegate("A", "C", [c], paths=["*"], terminating=True)
    repo.delegate("A", "D", [d], paths=["*"])
    repo.add_target("B", "file", b"from B")
    repo.release("targets", "A", "B", "C", "D")
    client = new_client(repo)
    updater = client.refresh()
    client.fetcher.requests.clear()
    with pytest.raises(TargetNotFoundError):
        updater.resolve("file")
    # pre-order: A, then terminating C ends the search before D and B
    assert client.fetcher.names() == ["2.A.json", "2.C.json"]


def test_hash_prefix_delegation(repo: RepositorySimulator, new_client: NewClient) -> None:
    import hashlib

    prefix = hashlib.sha256(b"pkg/file").hexdigest()[:1]
    other = "0" if prefix != "0" else "1"
    repo.delegate("targets", "bin-other", [new_signer()], hash_prefixes=[other])
    repo.delegate("targets", "bin-mine", [new_signer()], hash_prefixes=[prefix])
    repo.add_target("bin-mine", "pkg/file", b"binned")
    repo.release("targets", "bin-other", "bin-mine")
    client = new_client(repo)
    assert client.download("pkg/file") == b"binned"
    assert "2.bin-other.json" not in client.fetcher.names()


def test_max_delegations_bounds_the_search(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    parent = "targets"
    for index in range(40):
        repo.delegate(parent, f"r{index}", [new_signer()], paths=["*"])
        parent = f"r{index}"
    repo.add_target(parent, "deep", b"too deep")
    repo.release("targets", *(f"r{i}" for i in range(40)))
    client = new_client(repo)
    with pytest.raises(TargetNotFoundError):
        client.download("deep")
    visited = [n for n in client.fetcher.names() if re.fullmatch(r"2\.r\d+\.json", n)]
    assert len(visited) == 31  # 32 roles including top-level targets


# -- mix-and-match -----------------------------------------------------------


def test_mix_and_match_targets_version_refused(new_client: NewClient) -> None:
    repo = RepositorySimulator(hashes_in_meta=False)
    old_targets = repo.metadata_files["1.targets.json"]
    repo.release("targets")
    client = new_client(repo)
    repo.metadata_files["2.targets.json"] = old_targets  # a targets that never went with it
    with pytest.raises(MismatchError, match="role 'targets': version 1 is not the version 2"):
        client.refresh()
    assert "targets.json" not in client.state()


def test_mix_and_match_snapshot_hash_refused(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    client = new_client(repo)
    client.refresh()
    before = client.state()
    repo.release("targets")
    snapshot = repo.metadata_files["2.snapshot.json"]
    # Same length, other bytes: only the hash in timestamp can tell.
    repo.metadata_files["2.snapshot.json"] = snapshot.replace(b'"1.0.31"', b'"1.0.32"')
    with pytest.raises(MismatchError, match=r"snapshot: .*hash"):
        client.refresh()
    assert client.state()["snapshot.json"] == before["snapshot.json"]


def test_delegated_role_missing_from_snapshot_refused(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    repo.delegate("targets", "A", [new_signer()], paths=["*"])
    repo.add_target("A", "file", b"x")
    repo.publish_targets("targets")
    repo.publish_targets("A")
    del repo.delegated["A"]  # the snapshot will not list A
    repo.publish_snapshot()
    repo.publish_timestamp()
    client = new_client(repo)
    client.refresh()
    before = client.state()
    with pytest.raises(TargetNotFoundError, match="role 'A' is not listed in snapshot"):
        client.download("file")
    assert client.state() == before


# -- malicious mirrors / wrong signatures ---------------------------------------


def test_malicious_mirror_cannot_prevent_update_from_good_one(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    client = new_client(repo)
    client.refresh()
    repo.release("targets")
    good_files = dict(repo.metadata_files)
    before = client.state()
    # The mirror serves a tampered snapshot (its signature no longer verifies).
    repo.metadata_files["2.snapshot.json"] = good_files["2.snapshot.json"].replace(
        b'"targets.json"', b'"targetz.json"'
    )
    repo.snapshot.signed.meta = {}
    with pytest.raises(TufError):
        client.refresh()
    assert client.state()["snapshot.json"] == before["snapshot.json"]
    repo.metadata_files.clear()
    repo.metadata_files.update(good_files)  # the good mirror
    client.refresh()
    assert client.version("targets") == 2


def test_too_few_signatures_refused(repo: RepositorySimulator, new_client: NewClient) -> None:
    client = new_client(repo)
    client.refresh()
    before = client.state()
    second = new_signer()
    repo.root.signed.add_key(second.public_key, "snapshot")
    repo.root.signed.roles["snapshot"].threshold = 2
    repo.publish_root()
    repo.release()  # snapshot still signed by one key
    with pytest.raises(BadSignatureError, match="snapshot: 1 of 2 required signatures"):
        client.refresh()
    assert client.state()["snapshot.json"] == before["snapshot.json"]
    assert client.version("root") == 2  # the valid new root was accepted


def test_same_key_under_several_keyids_counts_once(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    """One key cannot satisfy a threshold by appearing under several keyids."""
    client = new_client(repo)
    client.refresh()
    before = client.state()
    real = repo.signers["snapshot"][0].public_key
    alias = SSlibKey.from_dict("alias-of-the-same-key", real.to_dict())
    repo.root.signed.add_key(alias, "snapshot")
    repo.root.signed.roles["snapshot"].threshold = 2
    repo.publish_root()
    repo.publish_snapshot()
    snapshot = repo.snapshot
    snapshot.signatures[alias.keyid] = Signature(
        alias.keyid, snapshot.signatures[real.keyid].signature
    )
    repo.metadata_files["2.snapshot.json"] = snapshot.to_bytes(JSONSerializer())
    repo.publish_timestamp()
    with pytest.raises(BadSignatureError, match="snapshot: 1 of 2"):
        client.refresh()
    assert client.state()["snapshot.json"] == before["snapshot.json"]


def test_unsigned_garbage_metadata_refused(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    client = new_client(repo)
    client.refresh()
    before = client.state()
    repo.metadata_files["timestamp.json"] = b'{"signed": {}, "signatures": []}'
    with pytest.raises(MalformedMetadataError, match="timestamp: not valid TUF metadata"):
        client.refresh()
    assert client.state() == before


# -- fast-forward -------------------------------------------------------------


def test_fast_forward_refused_then_recovered_by_key_rotation(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    client = new_client(repo)
    client.refresh()
    # An attacker holding the timestamp key pushes the version far ahead.
    repo.timestamp.signed.version = 1000
    repo.publish_timestamp(bump=False)
    client.refresh()
    assert client.version("timestamp") == 1000
    # Legitimate timestamps now look like rollbacks...
    repo.timestamp.signed.version = 1
    repo.publish_timestamp()
    before = client.state()
    with pytest.raises(RollbackError, match="timestamp: version 2 is lower than trusted 1000"):
        client.refresh()
    assert client.state() == before
    # ...until the repository rotates the timestamp key (spec 5.3.11).
    repo.rotate_keys("timestamp")
    repo.publish_root()
    repo.publish_timestamp()
    client.refresh()
    assert client.version("timestamp") == 3


def test_snapshot_fast_forward_recovered_by_key_rotation(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    client = new_client(repo)
    repo.snapshot.signed.version = 500
    repo.release()
    client.refresh()
    assert client.version("snapshot") == 501
    repo.rotate_keys("snapshot")
    repo.rotate_keys("timestamp")
    repo.publish_root()
    repo.snapshot.signed.version = 1
    repo.release()
    client.refresh()
    assert client.version("snapshot") == 2


# -- the diamond -------------------------------------------------------------


def test_diamond_delegation_verified_per_edge(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    """C is delegated by A (key c1) and B (key c2) but signed by c1 only.

    Reached through A, C is trusted; reached through B, it must be checked
    against B's key and refused, even after the same client accepted it via A.
    """
    a, b, c1, c2 = (new_signer() for _ in range(4))
    repo.delegate("targets", "A", [a], paths=["a/*"])
    repo.delegate("targets", "B", [b], paths=["b/*"])
    repo.delegate("A", "C", [c1], paths=["a/*"])
    repo.delegate("B", "C", [c2], paths=["b/*"])
    repo.signers["C"] = [c1]
    repo.add_target("C", "a/file", b"via A")
    repo.add_target("C", "b/file", b"via B")
    repo.release("targets", "A", "B", "C")
    client = new_client(repo)
    updater = client.refresh()
    assert updater.resolve("a/file").chain[-1].delegator == "A"
    before = client.state()
    with pytest.raises(BadSignatureError, match="role 'C': 0 of 1 required signatures"):
        updater.resolve("b/file")  # same updater: C is already trusted via A
    with pytest.raises(BadSignatureError, match="role 'C': 0 of 1"):
        client.refresh().resolve("b/file")  # fresh updater, C cached on disk
    after = client.state()
    assert {name: after[name] for name in before} == before
    assert set(after) - set(before) == {"B.json"}  # B itself is genuine


def test_delegation_error_when_delegator_does_not_delegate(
    repo: RepositorySimulator, new_client: NewClient
) -> None:
    repo.delegate("targets", "A", [new_signer()], paths=["*"])
    repo.release("targets", "A")
    client = new_client(repo)
    updater = client.refresh()
    with pytest.raises(DelegationError, match="role 'Z' is not delegated by 'targets'"):
        updater.trusted.update_delegated_targets(b"{}", "Z", "targets")


def test_succinct_hash_bins(repo: RepositorySimulator, new_client: NewClient) -> None:
    """TAP 15: 2^bit_length bins share keys; a path goes to the bin of its hash prefix."""
    signer = new_signer()
    succinct = SuccinctRoles([signer.public_key.keyid], 1, 2, "bin")
    repo.targets.signed.delegations = Delegations(
        keys={signer.public_key.keyid: signer.public_key}, roles=None, succinct_roles=succinct
    )
    for name in succinct.get_roles():
        repo.delegated[name] = Metadata(Targets(expires=repo.expiry))
        repo.signers[name] = [signer]
        repo.publish_targets(name, bump=False)
    owner = succinct.get_role_for_target("pkg/file")
    repo.add_target(owner, "pkg/file", b"in its bin")
    repo.release("targets", owner)
    client = new_client(repo)
    updater = client.refresh()
    client.fetcher.requests.clear()
    assert updater.resolve("pkg/file").chain[-1].role == owner
    assert client.fetcher.names() == [f"2.{owner}.json"]
