"""The key ceremony of the benchmarks' repositories (bench/scale.py, bench/repo_publish.py).

Three maintainers, threshold 2; the online snapshot and timestamp keys are written
unencrypted to ROOT/online and the repository is opened with INSECURE: these are
throw-away benchmark fixtures, never a repository anyone trusts.
"""

from __future__ import annotations

from pathlib import Path

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
