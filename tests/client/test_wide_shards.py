"""A repository made with 4,096 shards (`init --shard-digits 3`) end to end, through the CLI:
ceremony, delegation, release, publish, our client (snapshot.json and tree mode),
python-tuf's ngclient and `repo-tool verify`; and the refusals that keep the layout
coherent: a ceremony with an unsupported prefix length, a targets role mixing shard
lengths, a package role delegated under the wrong shard or beyond its own paths, and a
repo.json that disagrees with targets.

Served from the repository's own published folder on loopback HTTP.
"""

from __future__ import annotations

import hashlib
import json
import resource
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest
from tuf.api.metadata import DelegatedRole, Metadata, Targets
from tuf.ngclient.updater import Updater as NgUpdater

from tests.repository.helpers import Fixture, init_repo, make_keys, pub, release, run
from tests.support.http_thread import serving_folder_logged
from tests.support.published import metadata_dir, published_dir
from tuf_metadata import layout
from tuf_metadata.client.catalog import package_details, search_packages
from tuf_metadata.client.errors import DelegationError, TargetNotFoundError
from tuf_metadata.client.fetcher import HttpFetcher
from tuf_metadata.client.packages import fetch_image
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.updater import ClientConfig, Updater
from tuf_metadata.repo_types import SHARD_DIGITS_KEY, metadata_bytes
from tuf_metadata.repo_verify import VerificationFailure, now_utc, verify_repository
from tuf_metadata.snapshot_tree import (
    TIMESTAMP_FIELD,
    bundle_file_name,
    node_file_name,
    parse_bundle,
    parse_node,
)
from tuf_metadata.store import repository_lock

HELLO = "hello"
SHARDS = layout.ShardLayout(3)
HELLO_PREFIX = hashlib.sha256(HELLO.encode()).hexdigest()


@contextmanager
def serving(fx: Fixture) -> Iterator[tuple[str, list[str]]]:
    """The repository's published folder on loopback HTTP: (base URL, request log)."""
    requests: list[str] = []
    with serving_folder_logged(published_dir(fx.repo_dir), requests) as url:
        yield url, requests


def our_client(fx: Fixture, url: str, directory: Path, tree: bool = True) -> Updater:
    store = MetadataStore(directory)
    directory.mkdir(parents=True)
    store.save("root", (metadata_dir(fx.repo_dir) / "1.root.json").read_bytes())
    return Updater(store, HttpFetcher(), url + "/metadata/", url + "/targets/",
                   config=ClientConfig(snapshot_tree=tree))


@pytest.fixture
def wide(tmp_path: Path) -> Fixture:
    """A 4,096-shard repository with the snapshot tree on and hello 1.0.0 published."""
    fx = init_repo(tmp_path, authors=[HELLO], shard_digits=3)
    result = run(["snapshot", "--tree", "--repo", str(fx.repo_dir)])
    assert result.exit_code == 0, result.output
    assert release(fx, HELLO, "1.0.0", [HELLO]).exit_code == 0
    result = run(["publish", "--no-build", "--repo", str(fx.repo_dir)])
    assert result.exit_code == 0, result.output
    return fx


def test_a_4096_shard_repository_serves_our_client_and_ngclient(wide: Fixture,
                                                                 tmp_path: Path) -> None:
    fx = wide
    image = (fx.work / "hello-1.0.0.hvt").read_bytes()
    path = SHARDS.target_path(HELLO, "1.0.0", "hello.hvt")
    assert path == f"{HELLO_PREFIX[:3]}/hello/1.0.0/hello.hvt"
    summary = verify_repository(fx.repo_dir, now_utc())
    assert summary.roles == 1 + 4096 + 1  # targets, every shard, pkg-hello
    assert [(i.package, i.version, i.target) for i in summary.images] == [
        (HELLO, "1.0.0", "hvt")]
    assert json.loads((fx.repo_dir / "repo.json").read_text())[SHARD_DIGITS_KEY] == 3
    result = run(["verify", "--repo", str(fx.repo_dir)])
    assert result.exit_code == 0, result.output
    listed = run(["package", "list", "--repo", str(fx.repo_dir), "--json"])
    assert [(p["name"], p["latest"]) for p in json.loads(listed.output)] == [(HELLO, "1.0.0")]

    # The tree keeps 256 bundles, keyed by two hex digits: hello's holds its 3-digit shard.
    metadata = metadata_dir(fx.repo_dir)
    timestamp = json.loads((metadata / "timestamp.json").read_bytes())["signed"]
    node_name = node_file_name(int(timestamp[TIMESTAMP_FIELD]["version"]))
    node = parse_node(json.loads((metadata / node_name).read_bytes())["signed"])
    assert len(node.bundles) == 256
    group = HELLO_PREFIX[:2]
    bundle_name = bundle_file_name(node.bundles[group].version, group)
    bundle = parse_bundle(json.loads((metadata / bundle_name).read_bytes()))
    assert {f"{SHARDS.shard_role(HELLO)}.json", "pkg-hello.json"} <= set(bundle.meta)
    assert len([name for name in bundle.meta if name.startswith("shard-")]) == 16

    with serving(fx) as (url, requests):
        for tree in (False, True):
            updater = our_client(fx, url, tmp_path / f"ours-{tree}", tree=tree)
            requests.clear()
            fetched = fetch_image(updater, HELLO, tmp_path / f"out-{tree}")
            assert (fetched.target_path, fetched.written_to.read_bytes()) == (path, image)
            assert [role.role for role in fetched.chain] == [
                "targets", SHARDS.shard_role(HELLO), "pkg-hello"]
            assert fetched.refresh.snapshot_tree is tree
            read_snapshot = any(r.endswith("snapshot.json") for r in requests)
            assert read_snapshot is not tree, requests
            if tree:
                assert [r for r in requests if ".bundle-" in r] == [f"/metadata/{bundle_name}"]
                assert search_packages(updater, "ell") == [HELLO]  # reads all 4,096 shards
                details = package_details(updater, HELLO)
                assert [f.target_path for f in details.files["1.0.0"] if f.name == "hello.hvt"
                        ] == [path]
        (tmp_path / "ng" / "targets").mkdir(parents=True)
        ng = NgUpdater(str(tmp_path / "ng"), url + "/metadata/", str(tmp_path / "ng" / "targets"),
                       url + "/targets/",
                       bootstrap=(metadata / "1.root.json").read_bytes())
        ng.refresh()
        info = ng.get_targetinfo(path)
        assert info is not None
        assert Path(ng.download_target(info)).read_bytes() == image


@pytest.mark.parametrize("digits", ["1", "4", "5"])
def test_the_ceremony_refuses_an_unsupported_shard_prefix_length(tmp_path: Path,
                                                                 digits: str) -> None:
    keys = make_keys(tmp_path / "keys", ["m0", "m1", "m2"])
    repo_dir = tmp_path / "new"
    args = ["init", "--repo", str(repo_dir), "-t", "2", "--insecure-plaintext",
            "--insecure-online-keys", "--shard-digits", digits]
    for i in range(3):
        args += ["--pubkey", str(pub(keys[f"m{i}"]))]
    result = run(args)
    assert result.exit_code != 0
    assert result.output.strip().splitlines() == [
        f"error: shard digits must be 2 or 3 (256 or 4,096 shards), got {digits}"]
    assert not repo_dir.exists()


def _current(fx: Fixture, role: str) -> Targets:
    files = fx.repo.files
    root = files.load_root().signed
    snapshot = files.load_snapshot(root).signed
    targets = files.load_targets(root, snapshot)
    md = targets if role == "targets" else files.load_shard(targets.signed, snapshot, role)
    return Targets.from_dict(md.signed.to_dict())


def _publish_signed(fx: Fixture, role: str, signed: Targets, signers: Sequence[str]) -> None:
    """Publish SIGNED as ROLE's next version, signed by SIGNERS (maintainers: a threshold
    of the keys that may sign it), past the repository's own proposal checks."""
    signed.version += 1
    md = Metadata(signed)
    for name in signers:
        md.sign(fx.signer(name), append=True)
    repo = fx.repo
    (repo.metadata_dir / f"{signed.version}.{role}.json").write_bytes(metadata_bytes(md))
    with repository_lock(fx.repo_dir):
        repo.online.new_snapshot_and_timestamp({f"{role}.json": {"version": signed.version}})


def _delegation(fx: Fixture, role: str, paths: list[str]) -> DelegatedRole:
    return DelegatedRole(role, [fx.signer(HELLO).public_key.keyid], 1, True, paths=paths)


def test_targets_mixing_shard_lengths_is_refused_by_verify_and_our_client(
    wide: Fixture, tmp_path: Path
) -> None:
    fx = wide
    targets = _current(fx, "targets")
    assert targets.delegations is not None and targets.delegations.roles is not None
    maintainers = targets.delegations.roles[SHARDS.shard_role(HELLO)].keyids
    targets.delegations.roles["shard-ab"] = DelegatedRole(
        "shard-ab", maintainers, 2, True, paths=["ab/*/*/*"])
    _publish_signed(fx, "targets", targets, ["m0", "m1"])
    with pytest.raises(VerificationFailure, match="mixes shard roles of 2 and 3 hex digits"):
        verify_repository(fx.repo_dir, now_utc())
    with serving(fx) as (url, _):
        with pytest.raises(DelegationError, match="mixes shard roles of 2 and 3 hex digits"):
            fetch_image(our_client(fx, url, tmp_path / "ours"), HELLO, tmp_path / "out")


EVIL = "evil"


def _other_prefix(prefix: str) -> str:
    return next(p for p in SHARDS.all_shard_prefixes() if p != prefix)


def test_a_package_role_delegated_under_the_wrong_shard_is_refused(wide: Fixture,
                                                                    tmp_path: Path) -> None:
    fx = wide
    wrong = _other_prefix(SHARDS.shard_of(EVIL))
    shard_name = SHARDS.shard_role_for_prefix(wrong)
    shard = _current(fx, shard_name)
    assert shard.delegations is not None and shard.delegations.roles is not None
    key = fx.signer(HELLO).public_key
    shard.delegations.keys[key.keyid] = key
    shard.delegations.roles["pkg-evil"] = _delegation(fx, "pkg-evil", [f"{wrong}/evil/*/*"])
    _publish_signed(fx, shard_name, shard, ["m0", "m1"])
    with pytest.raises(VerificationFailure,
                       match=f"pkg-evil: delegated by {shard_name}, but its shard is "
                             f"{SHARDS.shard_role(EVIL)}"):
        verify_repository(fx.repo_dir, now_utc())
    # Our client looks for evil only in evil's own shard, which does not delegate it.
    with serving(fx) as (url, _):
        with pytest.raises(TargetNotFoundError, match="no trusted role 'pkg-evil'"):
            fetch_image(our_client(fx, url, tmp_path / "ours"), EVIL, tmp_path / "out")


@pytest.mark.parametrize(("pattern", "refusal"), [
    # every package of evil's shard, hello's among them
    ("{p}/*/*/*", r"pkg-evil: delegated paths \['{p}/\*/\*/\*'\], not"),
    # another shard's prefix
    ("{o}/evil/*/*", "lie outside shard-{p}'s paths"),
])
def test_a_package_role_delegated_beyond_its_own_paths_is_refused(
    wide: Fixture, pattern: str, refusal: str
) -> None:
    fx = wide
    prefix = SHARDS.shard_of(EVIL)
    other = _other_prefix(prefix)
    shard_name = SHARDS.shard_role(EVIL)
    shard = _current(fx, shard_name)
    assert shard.delegations is not None and shard.delegations.roles is not None
    key = fx.signer(HELLO).public_key
    shard.delegations.keys[key.keyid] = key
    shard.delegations.roles["pkg-evil"] = _delegation(
        fx, "pkg-evil", [pattern.format(p=prefix, o=other)])
    _publish_signed(fx, shard_name, shard, ["m0", "m1"])
    with pytest.raises(VerificationFailure, match=refusal.format(p=prefix)):
        verify_repository(fx.repo_dir, now_utc())


def test_listing_every_package_of_4096_shards_stays_small(wide: Fixture) -> None:
    # package list walks every shard under one targets role; it had kept a copy of targets'
    # 4,096 delegations per shard checked (3.4 GB here).
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    listed = subprocess.run(
        [sys.executable, "-c", "from repo_tool.cli import main; main()", "package", "list",
         "--repo", str(wide.repo_dir), "--json"],
        capture_output=True, text=True, timeout=300, check=False)
    assert listed.returncode == 0, listed.stderr
    assert [p["name"] for p in json.loads(listed.stdout)] == [HELLO]
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kib == before or peak_kib < 400 * 1024, f"peak RSS {peak_kib} KiB"


def test_verify_refuses_a_repo_json_that_disagrees_with_targets(wide: Fixture) -> None:
    fx = wide
    config_path = fx.repo_dir / "repo.json"
    config = json.loads(config_path.read_text())
    config[SHARD_DIGITS_KEY] = 2
    config_path.write_text(json.dumps(config))
    result = run(["verify", "--repo", str(fx.repo_dir)])
    assert result.exit_code != 0
    assert "repo.json: shard_digits is 2 but targets delegates shards of 3 hex digits" in (
        result.output)


def test_a_repository_from_before_the_choice_has_256_shards(tmp_path: Path) -> None:
    """repo.json without shard_digits (made before the option existed): the default layout,
    for the repository's own commands and for verify."""
    fx = init_repo(tmp_path, authors=[HELLO])
    config_path = fx.repo_dir / "repo.json"
    config = json.loads(config_path.read_text())
    assert config.pop(SHARD_DIGITS_KEY) == 2
    config_path.write_text(json.dumps(config))
    assert release(fx, HELLO, "1.0.0", [HELLO]).exit_code == 0
    result = run(["publish", "--no-build", "--repo", str(fx.repo_dir)])
    assert result.exit_code == 0, result.output
    summary = verify_repository(fx.repo_dir, now_utc())
    assert summary.roles == 1 + 256 + 1
    assert [(i.package, i.version) for i in summary.images] == [(HELLO, "1.0.0")]
    assert layout.DEFAULT_SHARDS.target_path(HELLO, "1.0.0", "x").startswith(HELLO_PREFIX[:2] + "/")


def test_a_maintainer_change_re_signs_all_4096_shards(wide: Fixture, tmp_path: Path) -> None:
    fx = wide
    fx.keys.update(make_keys(tmp_path / "keys", ["m3"]))
    key_args = [arg for m in ("m1", "m2", "m3") for arg in ("--pubkey", str(pub(fx.keys[m])))]
    proposed = run(["maintainers", "--repo", str(fx.repo_dir), "-t", "2", "--json", *key_args])
    assert proposed.exit_code == 0, proposed.output
    change_id = json.loads(proposed.output)["id"]
    shards = [doc["role"] for doc in json.loads(run(
        ["pending", change_id, "--repo", str(fx.repo_dir), "--json"]).output)[0]["documents"]
        if doc["role"].startswith("shard-")]
    assert sorted(shards) == [SHARDS.shard_role_for_prefix(p) for p in SHARDS.all_shard_prefixes()]
    done = run(["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext",
                "--key", str(fx.keys["m1"]), "--key", str(fx.keys["m2"]), "--json"])
    assert json.loads(done.output)["committed"] is True, done.output
    summary = verify_repository(fx.repo_dir, now_utc())
    assert summary.root_version == 2 and summary.roles == 1 + 4096 + 1
