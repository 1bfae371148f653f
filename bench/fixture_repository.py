"""What the benchmarks' repository fixtures (bench/scale.py, bench/repo_publish.py) share:
the key ceremony and the shard roles delegating to the packages' authors.

Three maintainers, threshold 2; the online snapshot and timestamp keys are written
unencrypted to ROOT/online and the repository is opened with INSECURE: these are
throw-away benchmark fixtures, never a repository anyone trusts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from securesystemslib.signer import Key
from tuf.api.metadata import DelegatedRole, Delegations, Metadata, Targets
from tuf.api.serialization.json import JSONSerializer

from signing.keys import INSECURE, KeyFileSigner, generate_key, write_key_pair
from tuf_metadata import layout
from tuf_metadata.repository import Repository


def initialized_repository(
    root: Path, shards: layout.ShardLayout = layout.DEFAULT_SHARDS
) -> tuple[Repository, list[KeyFileSigner]]:
    """A repository in `root` after the key ceremony on `shards`, and its three maintainers'
    keys; the first two signed the ceremony (as they must sign the shards)."""
    maintainers = [generate_key() for _ in range(3)]
    online = root / "online"
    online.mkdir(parents=True)
    snapshot_key, timestamp_key = generate_key(), generate_key()
    write_key_pair(snapshot_key, online / "snapshot.key", None)
    write_key_pair(timestamp_key, online / "timestamp.key", None)
    repo = Repository(root, INSECURE)
    change = repo.init(
        [m.public_key for m in maintainers], 2, snapshot_key.public_key, timestamp_key.public_key,
        {"snapshot": Path("online/snapshot.key"), "timestamp": Path("online/timestamp.key")},
        "insecure", shards=shards,
    )
    repo.sign_pending(change.change_id, maintainers[:2])
    return repo, maintainers


def write_shard_delegations(
    repo: Repository,
    shards: layout.ShardLayout,
    members: Mapping[str, Sequence[tuple[str, Key]]],
    signers: Sequence[KeyFileSigner],
    expires: datetime,
) -> list[str]:
    """Version 2 of the shard role of each prefix in `members` (prefix -> its packages and
    their author keys): a terminating delegation per package to its author's key, signed
    by `signers`, written to the metadata folder; returns the shard role names."""
    serializer = JSONSerializer(compact=True)
    written = []
    for prefix, packages in members.items():
        shard = Targets(version=2, expires=expires)
        shard.delegations = Delegations(keys={}, roles={})
        assert shard.delegations.roles is not None
        for name, key in packages:
            shard.delegations.keys[key.keyid] = key
            role = layout.package_role(name)
            shard.delegations.roles[role] = DelegatedRole(
                role, [key.keyid], 1, True, shards.package_paths(name)
            )
        signed = Metadata(shard)
        for signer in signers:
            signed.sign(signer, append=True)
        shard_name = shards.shard_role_for_prefix(prefix)
        (repo.metadata_dir / f"2.{shard_name}.json").write_bytes(signed.to_bytes(serializer))
        written.append(shard_name)
    return written
