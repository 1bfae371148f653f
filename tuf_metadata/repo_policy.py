"""The repository's rules as pure functions: values in, a value or a refusal out.

Who must sign a change (`signing_requirements`), what a package role may hold
(`check_package_role`), "a release adds only its own files"
(`check_release_adds_only_its_files`), built files against the author-signed
ones (`check_built_file`), key sets (`check_key_set`), rotation requests (`plan_rotation`),
who may sign (`first_outsider`), who may withdraw a staged release
(`check_withdrawal`), and rebuilders: unshared keys, what a rebuilder role may
hold and what an attestation must be (`check_rebuilder_role`, `check_attestation`).
The repository's modules read the inputs from disk and write the results; the
rules are tested directly in tests/repository/test_policy.py and tests/rebuilder/.
Signatures are counted by the one threshold rule, `signing.threshold.check_threshold`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from signing.threshold import KeyDict, check_threshold, distinct_keys, key_material
from tuf_metadata import layout
from tuf_metadata.canonical import canonical_json
from tuf_metadata.repo_types import (
    CorruptMetadataError,
    ImageMismatchError,
    QuorumError,
    RepositoryError,
    StagingError,
)
from tuf_metadata.rotate import (
    RoleRevokedError,
    RotateFile,
    RotationError,
    parse_rotate_file,
    verify_rotation_chain,
)
from tuf_metadata.trust import (
    SignedDocument,
    delegated_keys,
    is_delegated_path,
    key_dicts,
    role_keys,
    signatures_of,
    signed_payload,
    sslib_keys,
)

if TYPE_CHECKING:
    from securesystemslib.signer import Key
    from tuf.api.metadata import Metadata, Root, Targets


def check_key_set(role: str, what: str, keys: Sequence[Key], threshold: int) -> None:
    """At least one key, each key once (by keyid and by key material), 1 <= threshold <= n."""
    if not keys:
        raise RepositoryError(f"{role}: at least one {what} key is required")
    if len({key.keyid for key in keys}) != len(keys) or (
        distinct_keys(key.to_dict() for key in keys) != len(keys)
    ):
        raise RepositoryError(f"{role}: a {what} key is listed twice")
    if not 1 <= threshold <= len(keys):
        raise RepositoryError(
            f"{role}: threshold {threshold} must be between 1 and {len(keys)} {what}s"
        )


def check_package_role(
    document: SignedDocument, package: str, keys: Mapping[str, KeyDict], threshold: int,
    delegation: Mapping[str, Any],
) -> None:
    """What a package role must be to be staged or published: signed by a threshold of
    KEYS (the delegation's after any rotation), targets only inside its delegated paths
    (DELEGATION, the delegated role object), no further delegation."""
    role = layout.package_role(package)
    result = check_threshold(document.payload, document.signatures, keys, threshold)
    if not result.satisfied:
        raise StagingError(
            f"{role}: {result.valid} of {threshold} required author signatures valid"
        )
    for path in document.signed.get("targets") or {}:
        if not is_delegated_path(delegation, path):
            raise StagingError(f"{role}: target {path} is outside the package's delegated paths")
    if "delegations" in document.signed:
        raise StagingError(f"{role}: package roles may not delegate further")


def check_release_adds_only_its_files(
    shards: layout.ShardLayout, package: str, version: str,
    before: Mapping[str, Mapping[str, Any]], staged: Mapping[str, Mapping[str, Any]],
) -> None:
    """The staged role lists the previous version's targets (BEFORE, target objects by path)
    unchanged plus only files of this release: nothing published without its file, nothing
    silently changed."""
    role = layout.package_role(package)
    prefix = shards.target_path(package, version, "")
    if any(path.startswith(prefix) for path in before):
        raise StagingError(f"{role}: version {version} is already published")
    kept = {path: tf for path, tf in staged.items() if not path.startswith(prefix)}
    if kept != dict(before):
        raise StagingError(f"{role}: staged release {version} changes targets of other releases")


def check_built_file(role: str, path: str, signed: Mapping[str, Any], data: bytes) -> None:
    """A built (or staged) file must have exactly the author-signed length and sha256 (SIGNED:
    the target object, {"length", "hashes"})."""
    digest = hashlib.sha256(data).hexdigest()
    hashes = signed.get("hashes")
    expected = hashes.get("sha256") if isinstance(hashes, Mapping) else None
    length = signed.get("length")
    if len(data) != length or digest != expected:
        raise ImageMismatchError(
            f"{role}: {path}: built file (length {len(data)}, sha256 {digest[:16]}) "
            f"differs from the author-signed one (length {length}, "
            f"sha256 {str(expected or '')[:16]})"
        )


@dataclass(frozen=True)
class Requirement:
    """One threshold a document of a pending change must reach."""

    label: str
    keys: dict[str, KeyDict]
    threshold: int

    def met_by(self, md: Metadata[Any]) -> int:
        """How many of these keys validly signed MD."""
        return check_threshold(signed_payload(md), signatures_of(md), self.keys,
                               self.threshold).valid


def signing_requirements(
    role: str, current_root: Root | None, new_root: Root, new_targets: Targets | None,
    proposed_shards: Mapping[str, Targets] | None = None,
) -> list[Requirement]:
    """Who must sign ROLE's document in a change from CURRENT_ROOT (None at init) to
    NEW_ROOT / NEW_TARGETS: each requirement must reach its threshold.

    Root N+1 needs root N's root keys and its own (spec 5.3.4). Targets is published
    before the new root, so it needs root N's targets threshold as well as the new
    root's. A shard needs the (new) targets role's delegation to it. A package role (the
    first version under a re-delegation) needs the authors its shard in the same change,
    PROPOSED_SHARDS, delegates it to.
    """
    package = layout.package_of_role(role)
    if package is not None:
        if new_targets is None:
            raise QuorumError(f"{role}: a package role needs the top-level targets role that "
                              "delegates its shard")
        shard_name = layout.shard_layout_of(new_targets).shard_role(package)
        shard = (proposed_shards or {}).get(shard_name)
        assigned = role_keys(shard.to_dict(), role) if shard is not None else None
        if assigned is None:
            raise QuorumError(
                f"{role}: a quorum change publishes a package role only with the {shard_name} "
                "version that delegates it"
            )
        return [Requirement("new author keys", assigned.keys, assigned.threshold)]
    def of_root(label: str, root: Root, name: str) -> Requirement:
        spec = root.roles[name]
        return Requirement(label, delegated_keys(key_dicts(root.keys), spec.keyids),
                           spec.threshold)

    if role == "root":
        needs = [of_root("new root keys", new_root, "root")]
        if current_root is not None:
            needs.insert(0, of_root("current root keys", current_root, "root"))
        return needs
    if role == "targets":
        needs = [of_root("new targets keys", new_root, "targets")]
        if current_root is not None and current_root is not new_root:
            needs.insert(0, of_root("current targets keys", current_root, "targets"))
        return needs
    if new_targets is None or new_targets.delegations is None:
        raise QuorumError(f"{role}: no targets delegation to check it against")
    delegations = new_targets.delegations
    if delegations.roles is None or role not in delegations.roles:
        raise QuorumError(f"{role}: not delegated by targets")
    delegated = delegations.roles[role]
    keys = delegated_keys(key_dicts(delegations.keys), delegated.keyids)
    return [Requirement("maintainers' targets keys", keys, delegated.threshold)]


@dataclass(frozen=True)
class RotationPlan:
    """The rotate file to write and who must sign it."""

    number: int
    meta_version: int
    """Version of its snapshot entry: 1, or one more than the entry it replaces."""
    payload: RotateFile
    signing_keys: dict[str, KeyDict]
    """The keys being replaced: a threshold of them must sign."""
    signing_threshold: int


@dataclass(frozen=True)
class RoleKeyState:
    """A package role's delegation and the rotate files snapshot lists for it."""

    delegation_keys: Mapping[str, KeyDict]
    delegation_threshold: int
    current_keys: Mapping[str, KeyDict]
    current_threshold: int
    chain: Sequence[bytes]
    last_meta_version: int | None
    """Snapshot entry version of the last rotate file (None without rotate files)."""
    superseded: int = 0
    """Rotate files the delegation supersedes (`rotate.superseded_rotations`)."""


def plan_rotation(
    role: str, state: RoleKeyState, new_keys: Sequence[Key], threshold: int,
    revoke: bool, replace_last: bool,
) -> RotationPlan:
    """Validate a rotation request of ROLE and say what to write (TAP 8, TAP 20).

    Normally rotate file N+1 to NEW_KEYS/THRESHOLD, signed by the current keys. REVOKE
    rotates to the null key. REPLACE_LAST (with REVOKE only) replaces file N by a
    revocation signed by the keys that signed N (TAP 20's one exception to immutability).
    """
    number = len(state.chain) + 1
    meta_version = 1
    keys, current_threshold = dict(state.current_keys), state.current_threshold
    if replace_last:
        if not revoke or not state.chain or state.last_meta_version is None:
            raise RepositoryError(
                f"{role}: only the last rotate file can be replaced, by a revocation"
            )
        number = len(state.chain)
        if number <= state.superseded:
            raise RepositoryError(
                f"{role}: rotate file {number} is superseded by the delegation (the "
                "maintainers folded it or delegated the role again); revoke with the keys in "
                "force instead"
            )
        try:
            keys, current_threshold = verify_rotation_chain(
                role, state.delegation_keys, state.delegation_threshold, state.chain[:-1],
                superseded=state.superseded,
            )
        except RotationError as error:
            raise CorruptMetadataError(f"{role}: rotate chain check: {error}") from None
        meta_version = state.last_meta_version + 1
    elif number > layout.MAX_ROTATIONS:
        raise RepositoryError(
            f"{role}: rotate chain is at its cap of {layout.MAX_ROTATIONS}; ask the "
            "maintainers to delegate the package again"
        )
    if revoke:
        payload = RotateFile.revocation(role, number)
    else:
        check_key_set(role, "new", new_keys, threshold)
        payload = RotateFile(number, role, {key.keyid: key.to_dict() for key in new_keys},
                             threshold)
    return RotationPlan(number, meta_version, payload, keys, current_threshold)


@dataclass(frozen=True)
class DelegatedKeys:
    """What a delegation says must sign a role: keys, threshold, and how many of the role's
    rotate files it supersedes (`rotate.superseded_rotations`)."""

    keys: Mapping[str, KeyDict]
    threshold: int
    superseded: int


def chain_key_material(chain: Sequence[bytes]) -> set[bytes]:
    """Every key any rotate file of CHAIN names (format-checked, signatures not needed:
    used to keep keys of an earlier delegation out of a new one)."""
    found: set[bytes] = set()
    for data in chain:
        try:
            found |= {key_material(key) for key in parse_rotate_file(data).payload.keys.values()}
        except RotationError as error:
            raise CorruptMetadataError(f"rotate chain: {error}") from None
    return found


def check_redelegation(role: str, before: DelegatedKeys | None, chain: Sequence[bytes]) -> None:
    """Delegating ROLE anew is refused while BEFORE (its delegation now, None if none)
    delegates it and its rotate chain CHAIN does not end in a revocation."""
    if before is None:
        return
    try:
        verify_rotation_chain(role, before.keys, before.threshold, chain,
                              superseded=before.superseded)
    except RoleRevokedError:
        return
    except RotationError as error:
        raise CorruptMetadataError(f"{role}: rotate chain check: {error}") from None
    raise RepositoryError(
        f"{role}: the package is already delegated and not revoked (see `repo-tool package "
        "list`); its authors rotate their keys themselves (`repo-tool rotate`)"
    )


def check_superseding(
    role: str, before: DelegatedKeys | None, after: DelegatedKeys, chain: Sequence[bytes],
) -> None:
    """A new delegation AFTER of ROLE (replacing BEFORE, None if the delegator does not
    delegate ROLE now) that supersedes more of ROLE's rotate files CHAIN (as snapshot lists
    them) must be one of:

    - a fold: AFTER names exactly the keys and threshold in force after rotate file
      AFTER.superseded, walked from BEFORE (so only the authors' own rotations move keys);
    - a re-delegation of a revoked role (the superseded files end in the null key) or of a
      role no longer delegated: every rotate file superseded, and none of AFTER's keys is a
      key of BEFORE or of any rotate file (nothing the earlier keys sign verifies again).

    Superseded files are never un-superseded; a delegation that supersedes as many as
    BEFORE is not a change of the chain and passes.
    """
    previous = before.superseded if before is not None else 0
    if after.superseded == previous:
        return
    if after.superseded < previous:
        raise RepositoryError(
            f"{role}: the delegation would supersede {after.superseded} rotate files, fewer "
            f"than the {previous} it supersedes now"
        )
    if after.superseded > len(chain):
        raise RepositoryError(
            f"{role}: the delegation supersedes {after.superseded} rotate files, but snapshot "
            f"lists {len(chain)}"
        )
    revoked = before is None
    if before is not None:
        try:
            keys, threshold = verify_rotation_chain(
                role, before.keys, before.threshold, chain[:after.superseded],
                superseded=previous,
            )
        except RoleRevokedError:
            revoked = True
        except RotationError as error:
            raise CorruptMetadataError(f"{role}: rotate chain check: {error}") from None
    if revoked:
        if after.superseded != len(chain):
            raise RepositoryError(
                f"{role}: a new delegation of a revoked or removed role must supersede all "
                f"{len(chain)} of its rotate files"
            )
        earlier = chain_key_material(chain)
        if before is not None:
            earlier |= {key_material(key) for key in before.keys.values()}
        reused = sorted(keyid for keyid, key in after.keys.items()
                        if key_material(key) in earlier)
        if reused:
            raise RepositoryError(
                f"{role}: key {reused[0][:16]} signed for the role's earlier delegation; a new "
                "delegation needs new author keys"
            )
        return
    named = {key_material(key) for key in after.keys.values()}
    if named != {key_material(key) for key in keys.values()} or (
        after.threshold != threshold
    ):
        raise RepositoryError(
            f"{role}: the delegation names keys or a threshold other than those in force after "
            f"rotate file {after.superseded} (threshold {threshold} of keys "
            f"{', '.join(sorted(k[:16] for k in keys))}); a fold takes exactly the chain's keys"
        )


def withdrawal_payload(package: str, version: str, release_sha256: str) -> bytes:
    """What the authors sign to withdraw one staged release: it names the exact staged
    release.json (by sha256), so the signatures withdraw that release and no other."""
    return canonical_json({
        "type": "withdraw-release", "package": package, "version": version,
        "release_sha256": release_sha256,
    })


def check_withdrawal(
    package: str, version: str, payload: bytes, signatures: Mapping[str, str],
    keys: Mapping[str, KeyDict], threshold: int,
) -> None:
    """A withdrawal needs a threshold of the package's author keys in force, the same rule
    as staging the release."""
    role = layout.package_role(package)
    outsider = first_outsider(signatures, keys)
    if outsider is not None:
        raise StagingError(
            f"{role}: key {outsider[:16]} is not an author key of package {package!r}"
        )
    result = check_threshold(payload, signatures, keys, threshold)
    if not result.satisfied:
        raise StagingError(
            f"{role}: withdrawing {version} needs {threshold} author signatures, "
            f"{result.valid} valid"
        )


def first_outsider(signer_keyids: Iterable[str], keys: Mapping[str, object]) -> str | None:
    """The first signer keyid that is not one of KEYS (who may sign), or None."""
    return next((keyid for keyid in signer_keyids if keyid not in keys), None)


# -- rebuilders (docs/rebuilder.md) -------------------------------------------------------


def check_rebuilder_keys_unshared(
    name: str, keys: Sequence[Key], others: Mapping[str, Sequence[Key]]
) -> None:
    """A rebuilder's keys belong to no other rebuilder: operators count distinct rebuilders,
    and one party holding two delegations under one key would count twice."""
    role = layout.rebuilder_role(name)
    mine = {key_material(key.to_dict()) for key in keys}
    for other, other_keys in sorted(others.items()):
        if other != name and mine & {key_material(key.to_dict()) for key in other_keys}:
            raise RepositoryError(
                f"{role}: a key is already the key of rebuilder {other!r}; each rebuilder "
                "signs with its own keys"
            )


def check_rebuilder_role(
    document: SignedDocument, name: str, keys: Mapping[str, KeyDict], threshold: int,
    delegation: Mapping[str, Any],
) -> None:
    """What a rebuilder role must be to be published: signed by a threshold of KEYS (the
    delegation's after any rotation), only its own attestation paths, no delegation."""
    role = layout.rebuilder_role(name)
    result = check_threshold(document.payload, document.signatures, keys, threshold)
    if not result.satisfied:
        raise RepositoryError(
            f"{role}: {result.valid} of {threshold} required rebuilder signatures valid"
        )
    for path in document.signed.get("targets") or {}:
        check_attestation_path(name, path)
        if not is_delegated_path(delegation, path):
            raise RepositoryError(f"{role}: target {path} is outside its delegated paths")
    if "delegations" in document.signed:
        raise RepositoryError(f"{role}: rebuilder roles may not delegate further")


def check_attestation_path(name: str, path: str) -> tuple[str, str, str]:
    """(package, version, target) of PATH if it is rebuilder NAME's own attestation path
    `attestations/PACKAGE/VERSION/TARGET/NAME.intoto.jsonl`; RepositoryError otherwise."""
    role = layout.rebuilder_role(name)
    parsed = layout.parse_attestation_path(path)
    if parsed is None:
        raise RepositoryError(
            f"{role}: {path!r} is not an attestation path "
            f"({layout.attestation_path('PACKAGE', 'VERSION', 'TARGET', name)})"
        )
    package, version, target, rebuilder = parsed
    if rebuilder != name:
        raise RepositoryError(
            f"{role}: {path} is rebuilder {rebuilder!r}'s file name, not {name!r}'s"
        )
    return package, version, target



def check_attestation(
    name: str, path: str, data: bytes, keys: Mapping[str, KeyDict]
) -> tuple[str, str, str]:
    """(package, version, target) of the attestation DATA that rebuilder NAME submits at PATH:
    its own path, a DSSE envelope (one JSON object) that one of KEYS (the rebuilder's keys in
    force) signed in canonical form (`signing.attestations.verify_envelope`), whose statement
    names exactly PATH's package, version and target. RepositoryError otherwise."""
    from signing.attestations import AttestationError, verify_envelope  # in-toto: only here

    role = layout.rebuilder_role(name)
    package, version, target = check_attestation_path(name, path)
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise RepositoryError(f"{role}: {path}: not a JSON DSSE envelope (truncated?)") from None
    if not isinstance(document, dict):
        raise RepositoryError(f"{role}: {path}: not a DSSE envelope")
    try:
        statement, _ = verify_envelope(document, sslib_keys(keys))
    except AttestationError as error:
        raise RepositoryError(f"{role}: {path}: {error}") from None
    predicate = statement.get("predicate")
    definition = predicate.get("buildDefinition") if isinstance(predicate, dict) else None
    about = definition.get("externalParameters") if isinstance(definition, dict) else None
    named = (
        (about.get("package"), about.get("version"), about.get("target"))
        if isinstance(about, dict) else None
    )
    if named != (package, version, target):
        raise RepositoryError(
            f"{role}: {path}: the statement is not about {package} {version} {target}"
        )
    return package, version, target
