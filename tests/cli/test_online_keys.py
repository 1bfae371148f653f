"""Replacing stolen online keys: `online-keys rotate` is a root change t maintainers sign.

After it, clients (ours and python-tuf's ngclient) follow root N+1 and refuse metadata
signed by the replaced key: a thief of the old online keys can no longer sign a timestamp
anyone accepts.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from tuf.api.exceptions import UnsignedMetadataError
from tuf.api.metadata import Metadata, Root, Timestamp
from tuf.ngclient.updater import Updater

from signing.keys import INSECURE, generate_key, load_signer
from tests.repository.helpers import Fixture, init_repo, release, run
from tests.support.http_thread import serving_folder
from tests.support.published import metadata_dir, published_dir
from tuf_metadata.online_keys import incoming_roles
from tuf_metadata.repo_types import QuorumError, metadata_bytes, utc_now
from tuf_metadata.repo_verify import now_utc, verify_repository
from tuf_metadata.repository import Repository
from tuf_metadata.store import set_crash_hook


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Fixture, str]]:
    """A repository with hello 1.0.0 published, its metadata/ and targets/ on loopback."""
    fx = init_repo(tmp_path, authors=["hello"])
    assert release(fx, "hello", "1.0.0", ["hello"], ("hvt",)).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fx.repo_dir)]).exit_code == 0
    with serving_folder(published_dir(fx.repo_dir)) as url:  # metadata/, targets/, no secret
        yield fx, url


def fetch(fx: Fixture, url: str, client: str) -> tuple[int, str]:
    work = fx.work.parent
    result = run(["fetch", "hello", "--url", url, "--root",
                  str(metadata_dir(fx.repo_dir) / "1.root.json"), "-o", str(work / f"{client}-out"),
                  "--metadata-dir", str(work / f"{client}-md")])
    return result.exit_code, result.output


def ngclient(fx: Fixture, url: str, directory: Path) -> Updater:
    """python-tuf's client; the first one in DIRECTORY trusts root 1, later ones what the
    earlier ones stored."""
    (directory / "metadata").mkdir(parents=True, exist_ok=True)
    (directory / "targets").mkdir(exist_ok=True)
    first = not (directory / "metadata" / "root.json").exists()
    return Updater(str(directory / "metadata"), f"{url}/metadata/", str(directory / "targets"),
                   f"{url}/targets/",
                   bootstrap=(metadata_dir(fx.repo_dir) / "1.root.json").read_bytes() if first
                   else None)


def rotate_online_keys(fx: Fixture) -> str:
    proposed = run(["online-keys", "rotate", "--repo", str(fx.repo_dir), "--json"])
    assert proposed.exit_code == 0, proposed.output
    change = json.loads(proposed.output)
    assert change["root"] == 2
    signed = run(["sign", change["id"], "--repo", str(fx.repo_dir), "--insecure-plaintext",
                  "--key", str(fx.keys["m0"]), "--key", str(fx.keys["m1"]), "--json"])
    assert signed.exit_code == 0, signed.output
    assert json.loads(signed.output)["committed"] is True
    return str(change["id"])


def test_clients_follow_online_key_rotation_and_refuse_the_old_key(
        served: tuple[Fixture, str], tmp_path: Path) -> None:
    fx, url = served
    repo = fx.repo_dir
    assert fetch(fx, url, "early")[0] == 0  # a client that trusts root 1 and its timestamp
    ngclient(fx, url, tmp_path / "ng-early").refresh()
    stolen = tmp_path / "stolen-timestamp.key"
    shutil.copyfile(repo / "online" / "timestamp.key", stolen)
    old_keyid = load_signer(stolen, INSECURE).public_key.keyid

    rotate_online_keys(fx)

    root2 = json.loads((metadata_dir(repo) / "2.root.json").read_bytes())["signed"]
    new_keyid = root2["roles"]["timestamp"]["keyids"][0]
    assert new_keyid != old_keyid
    assert json.loads((repo / "repo.json").read_bytes())["online_keys"] == {
        "snapshot": "online/snapshot.2.key", "timestamp": "online/timestamp.2.key"}
    assert not (repo / "online" / "timestamp.key").exists()  # the replaced key is gone
    timestamp = json.loads((metadata_dir(repo) / "timestamp.json").read_bytes())
    assert [s["keyid"] for s in timestamp["signatures"]] == [new_keyid]
    assert verify_repository(repo, now_utc()).root_version == 2
    # Signing goes on with the new keys.
    assert run(["timestamp", "--repo", str(repo)]).exit_code == 0

    # Clients holding root 1 (and a newer timestamp) update to root 2 and keep fetching.
    code, output = fetch(fx, url, "early")
    assert code == 0 and "root chain: new versions [2]" in output, output
    ngclient(fx, url, tmp_path / "ng-early").refresh()
    ng_root = json.loads((tmp_path / "ng-early" / "metadata" / "root.json").read_bytes())
    assert ng_root["signed"]["version"] == 2

    # The thief signs a newer timestamp with the old key: every client refuses it.
    forged = Metadata[Timestamp].from_bytes((metadata_dir(repo) / "timestamp.json").read_bytes())
    forged.signed.version += 10
    forged.signed.expires = utc_now() + timedelta(days=1)
    forged.signatures.clear()
    forged.sign(load_signer(stolen, INSECURE))
    (metadata_dir(repo) / "timestamp.json").write_bytes(metadata_bytes(forged))
    for client in ("early", "fresh"):
        code, output = fetch(fx, url, client)
        assert code == 1, output
        assert "timestamp" in output and "signature" in output, output
    with pytest.raises(UnsignedMetadataError):
        ngclient(fx, url, tmp_path / "ng-fresh").refresh()
    with pytest.raises(UnsignedMetadataError):
        ngclient(fx, url, tmp_path / "ng-early").refresh()


def test_a_root_change_naming_online_keys_the_repository_lacks_is_refused(
        served: tuple[Fixture, str], tmp_path: Path) -> None:
    fx, _ = served
    change_id = json.loads(run(["online-keys", "rotate", "--repo", str(fx.repo_dir),
                                "--json"]).output)["id"]
    (fx.repo_dir / "online" / "timestamp.2.key").unlink()
    before = sorted(p.name for p in metadata_dir(fx.repo_dir).iterdir())
    result = run(["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext",
                  "--key", str(fx.keys["m0"]), "--key", str(fx.keys["m1"])])
    assert result.exit_code == 1
    assert "does not hold" in result.output and "online-keys rotate" in result.output
    assert sorted(p.name for p in metadata_dir(fx.repo_dir).iterdir()) == before


def test_a_second_root_change_while_one_is_pending_is_refused(
        served: tuple[Fixture, str]) -> None:
    fx, _ = served
    assert run(["online-keys", "rotate", "--repo", str(fx.repo_dir)]).exit_code == 0
    again = run(["online-keys", "rotate", "--repo", str(fx.repo_dir)])
    assert again.exit_code == 1 and "already proposes a new root" in again.output


def test_versions_pushed_up_with_a_stolen_key_do_not_block_clients_after_rotation(
        served: tuple[Fixture, str], tmp_path: Path) -> None:
    fx, url = served
    timestamp_file = metadata_dir(fx.repo_dir) / "timestamp.json"
    genuine = timestamp_file.read_bytes()
    # The thief, still holding the valid key, shows a client timestamp version +1000.
    forged = Metadata[Timestamp].from_bytes(genuine)
    forged.signed.version += 1000
    forged.signatures.clear()
    forged.sign(load_signer(fx.repo_dir / "online" / "timestamp.key", INSECURE))
    timestamp_file.write_bytes(metadata_bytes(forged))
    assert fetch(fx, url, "victim")[0] == 0
    ngclient(fx, url, tmp_path / "ng-victim").refresh()
    timestamp_file.write_bytes(genuine)

    rotate_online_keys(fx)
    new_version = json.loads(timestamp_file.read_bytes())["signed"]["version"]
    assert new_version < forged.signed.version
    # Root 2 rotated the timestamp key: clients drop the thief's timestamp (TUF 5.3.11).
    code, output = fetch(fx, url, "victim")
    assert code == 0, output
    ngclient(fx, url, tmp_path / "ng-victim").refresh()
    stored = json.loads((tmp_path / "ng-victim" / "metadata" / "timestamp.json").read_bytes())
    assert stored["signed"]["version"] == new_version


class Cut(Exception):
    """The simulated crash."""


@pytest.mark.slow  # a crash loop: a new repository for every step cut
def test_an_online_key_change_cut_at_any_step_is_finished_by_signing_again(
        tmp_path: Path) -> None:
    cut_at = 1
    while True:
        fx = init_repo(tmp_path / f"cut-{cut_at}")
        repo = fx.repo_dir
        change_id = json.loads(run(["online-keys", "rotate", "--repo", str(repo),
                                    "--json"]).output)["id"]
        assert run(["sign", change_id, "--repo", str(repo), "--insecure-plaintext",
                    "--key", str(fx.keys["m0"])]).exit_code == 0
        steps: list[str] = []

        def crash(label: str, steps: list[str] = steps, at: int = cut_at) -> None:
            steps.append(label)
            if len(steps) == at:
                raise Cut(label)

        set_crash_hook(crash)
        try:
            run(["sign", change_id, "--repo", str(repo), "--insecure-plaintext",
                 "--key", str(fx.keys["m1"])])
            finished = True
        except Cut:
            finished = False
        finally:
            set_crash_hook(None)
        # Every moment is a repository `verify` accepts (root 1, or root 2 and its keys).
        verify_repository(repo, now_utc())
        if not finished:
            again = run(["sign", change_id, "--repo", str(repo), "--insecure-plaintext",
                         "--key", str(fx.keys["m1"]), "--json"])
            assert again.exit_code == 0, (steps, again.output)
        config = json.loads((repo / "repo.json").read_bytes())
        assert config["online_keys"] == {"snapshot": "online/snapshot.2.key",
                                         "timestamp": "online/timestamp.2.key"}, steps
        assert "retired_online_keys" not in config, steps
        assert sorted(p.name for p in (repo / "online").glob("*.key")) == [
            "snapshot.2.key", "timestamp.2.key"], steps
        root2 = json.loads((metadata_dir(repo) / "2.root.json").read_bytes())["signed"]
        timestamp = json.loads((metadata_dir(repo) / "timestamp.json").read_bytes())
        assert [s["keyid"] for s in timestamp["signatures"]] == root2["roles"]["timestamp"][
            "keyids"], steps
        assert verify_repository(repo, now_utc()).root_version == 2
        assert not list((repo / "pending").iterdir())
        if finished:
            break
        cut_at += 1
    assert cut_at >= 5  # the commit has at least this many steps, each one cut once


def test_incoming_roles_names_the_online_roles_whose_key_changes() -> None:
    held = {role: generate_key() for role in ("snapshot", "timestamp")}
    root = Root()
    for role, signer in held.items():
        root.add_key(signer.public_key, role)
    keyids = {role: signer.public_key.keyid for role, signer in held.items()}
    assert incoming_roles(keyids, root) == []
    root.revoke_key(keyids["timestamp"], "timestamp")
    root.add_key(generate_key().public_key, "timestamp")
    assert incoming_roles(keyids, root) == ["timestamp"]
    root.add_key(generate_key().public_key, "snapshot")  # two snapshot keys: refused
    with pytest.raises(QuorumError, match="gives snapshot 2 keys with threshold 1"):
        incoming_roles(keyids, root)


def test_a_running_signer_switches_to_the_new_keys_at_its_next_signing(
        served: tuple[Fixture, str]) -> None:
    fx, _ = served
    service_view = Repository(fx.repo_dir)  # what a running sign-service holds
    old = service_view.online_signer("timestamp").keyid
    rotate_online_keys(fx)
    service_view.resign_timestamp()
    timestamp = json.loads((metadata_dir(fx.repo_dir) / "timestamp.json").read_bytes())
    root2 = json.loads((metadata_dir(fx.repo_dir) / "2.root.json").read_bytes())["signed"]
    assert [s["keyid"] for s in timestamp["signatures"]] == root2["roles"]["timestamp"]["keyids"]
    assert old not in root2["roles"]["timestamp"]["keyids"]
    assert verify_repository(fx.repo_dir, now_utc()).timestamp_version == (
        timestamp["signed"]["version"])
