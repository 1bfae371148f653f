"""Replacing the online snapshot and timestamp keys by a maintainer quorum (a root change).

`propose_online_keys` writes a new key pair per online role to online/ROLE.N.key (N: the
proposed root version; encrypted with the online keys' passphrase) and proposes root N,
a copy of the current root with those keys as the snapshot and timestamp keys. t
maintainers sign it like any root change (`repo-tool sign`).

At commit (`quorum.QuorumChanges.commit`), `prepare_online_keys` unlocks the incoming keys
and they sign snapshot and timestamp beside the current ones until root N is written;
then `finish_online_keys` points repo.json at the new key files, signs snapshot and
timestamp again with the new keys alone, and deletes the old key files. Clients update
root before timestamp (TUF 5.3), so a client holding either root verifies every moment,
and once it has root N, metadata signed by the old keys is refused. A stop anywhere is
finished by running the `sign` of the change again (it is listed until it completed).
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import TYPE_CHECKING

from tuf.api.metadata import Metadata, Root

from signing.key_files import load_key_signer
from signing.keys import PassphraseSource, generate_key, write_key_pair
from tuf_metadata.metadata_reader import MetadataReader
from tuf_metadata.online import OnlineServices
from tuf_metadata.repo_paths import ONLINE
from tuf_metadata.repo_types import PendingChange, QuorumError, utc_now
from tuf_metadata.store import atomic_write, repository_lock

if TYPE_CHECKING:
    from tuf_metadata.quorum import QuorumChanges

ONLINE_ROLES = ("snapshot", "timestamp")
RETIRED = "retired_online_keys"  # repo.json: replaced key files not deleted yet
DESCRIPTION = "replace the online snapshot and timestamp keys"


def key_file(role: str, root_version: int) -> Path:
    """The online key file of ROLE introduced by root ROOT_VERSION, relative to the repo."""
    return Path(ONLINE) / f"{role}.{root_version}.key"


def incoming_roles(held: dict[str, str], new_root: Root) -> list[str]:
    """Online roles whose key the repository holds (HELD: role -> keyid) but NEW_ROOT no
    longer lists: they need the key NEW_ROOT names (pure).

    Raises QuorumError if NEW_ROOT gives an online role other than exactly one key with
    threshold 1: the repository signs each online role with one key.
    """
    changed = []
    for role in ONLINE_ROLES:
        spec = new_root.roles[role]
        if len(spec.keyids) != 1 or spec.threshold != 1:
            raise QuorumError(f"root: version {new_root.version} gives {role} "
                              f"{len(spec.keyids)} keys with threshold {spec.threshold}; the "
                              "repository signs it with exactly one online key")
        if held[role] not in spec.keyids:
            changed.append(role)
    return changed


def propose_online_keys(files: MetadataReader, online: OnlineServices,
                        quorum: QuorumChanges) -> PendingChange:
    """Write new online key pairs and propose root N+1 naming them (a quorum change)."""
    with repository_lock(files.root_dir):
        for change in quorum.pending_changes():
            if any(role == "root" for role, _ in change.documents):
                raise QuorumError(f"pending change {change.change_id} already proposes a new "
                                  "root; sign or withdraw it first")
        current = files.load_root().signed
        root = Root.from_dict(copy.deepcopy(current.to_dict()))
        root.version += 1
        root.expires = utc_now() + files.expiry().for_role("root")
        passphrase = _source(online.key_passphrase()).read("online keys", confirm=False)
        for role in ONLINE_ROLES:
            for keyid in list(root.roles[role].keyids):
                root.revoke_key(keyid, role)
            signer = generate_key()
            # Overwrites only the files of a proposal of the same root version that was
            # withdrawn (a pending one is refused above).
            write_key_pair(signer, files.root_dir / key_file(role, root.version), passphrase)
            root.add_key(signer.public_key, role)
        return quorum.write_pending(DESCRIPTION, [("root", Metadata(root))])


def prepare_online_keys(files: MetadataReader, online: OnlineServices, new_root: Root) -> bool:
    """Before a commit publishing NEW_ROOT: unlock the incoming online keys it names, so
    they sign beside the current ones. Returns whether the online keys change (or a cut
    run of the change left replaced key files to delete): then finish_online_keys follows.

    Raises QuorumError when NEW_ROOT names online keys the repository does not hold
    (a root change may replace them only through `propose_online_keys`).
    """
    held = {role: online.online_signer(role).keyid for role in ONLINE_ROLES}
    changed = incoming_roles(held, new_root)
    for role in changed:
        path = files.root_dir / key_file(role, new_root.version)
        expected = new_root.roles[role].keyids[0]
        signer = load_key_signer(path, online.key_passphrase()) if path.is_file() else None
        if signer is None or signer.keyid != expected:
            raise QuorumError(
                f"root: version {new_root.version} changes the {role} keys to {expected[:16]}, "
                f"which this repository does not hold in {key_file(role, new_root.version)}; "
                "the online keys are replaced with `repo-tool online-keys rotate`"
            )
        online.incoming_signers[role] = signer
    return bool(changed) or bool(files.config().get(RETIRED))


def finish_online_keys(files: MetadataReader, online: OnlineServices, new_root: Root) -> None:
    """After NEW_ROOT is written: repo.json names the new key files, snapshot and timestamp
    are signed by them alone, and the replaced key files are deleted. Under the lock.

    The replaced files are recorded in repo.json ("retired_online_keys") before anything
    else, so a run cut at any point is finished by the next (see prepare_online_keys).
    """
    config = files.config()
    retired = set(config.get(RETIRED, []))
    for role in online.incoming_signers:
        retired.add(config["online_keys"][role])
        config["online_keys"][role] = str(key_file(role, new_root.version))
    config[RETIRED] = sorted(retired)
    _write_config(files, config)
    online.forget_signers()
    online.new_snapshot_and_timestamp({})
    for name in retired:
        private = files.root_dir / name
        private.unlink(missing_ok=True)
        private.with_name(private.name.removesuffix(".key") + ".pub.json").unlink(missing_ok=True)
    del config[RETIRED]
    _write_config(files, config)


def _write_config(files: MetadataReader, config: dict[str, object]) -> None:
    atomic_write(files.config_path, (json.dumps(config, indent=2) + "\n").encode())


def _source(spec: PassphraseSource | str) -> PassphraseSource:
    return spec if isinstance(spec, PassphraseSource) else PassphraseSource.parse(spec)
