"""TAP 8 rotate files and TAP 20 revocation: the pure format both sides share.

A delegated targets role changes its own keys by publishing rotate files
`ROLE.rotate.1`, `ROLE.rotate.2`, ... each signed by a threshold of the keys
it replaces (the delegation's keys for N=1, rotate N-1's keys afterwards).

Profile (our POUF, pinned with the repository side):
- envelope `{"signed": {"_type": "rotate", "version": N, "role": ROLE,
  "keys": {KEYID: KEY}, "threshold": K}, "signatures": [{"keyid", "sig"}]}`,
  signatures over the canonical JSON of `signed`;
- the null key (revocation) is `"keys": {}` with `"threshold": 1`;
- snapshot lists each file under `rotate/ROLE.rotate.N.json` (version, length,
  sha256); it is served at `rotate/VERSION.ROLE.rotate.N.json`, VERSION being
  the version snapshot lists for it;
- at most layout.MAX_ROTATIONS rotate files per role; only delegated targets
  roles rotate. The file names are layout.rotate_file_name / rotate_file_path;
- a delegation may supersede the first S rotate files of its role (the delegated
  role's extra field SUPERSEDED_FIELD = S): the maintainers folded that chain into
  the delegation's keys, or re-delegated a revoked role to new keys. The chain
  then starts at rotate file S+1, from the delegation's keys; files 1..S stay
  listed (snapshot never drops an entry) but no longer decide anything.

Everything here takes bytes or values and returns values: no I/O.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from signing.threshold import KeyDict, check_threshold, signature_map, usable_key
from tuf_metadata import layout
from tuf_metadata.canonical import canonical_json
from tuf_metadata.errors import TufError

if TYPE_CHECKING:
    from securesystemslib.signer import Signer

ROTATE_TYPE = "rotate"

SUPERSEDED_FIELD = "x-unirepo-superseded-rotations"
"""Extra field of a delegated role: how many of its first rotate files the delegation's keys
supersede (absent: 0). python-tuf keeps it in `unrecognized_fields`; ngclient ignores it."""


class RotationError(TufError):
    """A rotate file or chain is malformed, out of order or wrongly signed."""


class RoleRevokedError(RotationError):
    """The role rotated to the null key (TAP 20): it is revoked."""


def compute_keyid(key: KeyDict) -> str:
    """Hex SHA-256 of the canonical JSON of the public key object (spec 4.2)."""
    return hashlib.sha256(canonical_json(dict(key))).hexdigest()


def superseded_rotations(role: str, fields: Mapping[str, Any]) -> int:
    """How many rotate files of ROLE its delegation supersedes, from the delegated role's
    extra FIELDS (python-tuf's `unrecognized_fields`); RotationError if malformed."""
    value = fields.get(SUPERSEDED_FIELD, 0)
    if not isinstance(value, int) or isinstance(value, bool) or not (
        0 <= value <= layout.MAX_ROTATIONS
    ):
        raise RotationError(
            f"delegation of role {role!r}: {SUPERSEDED_FIELD} {value!r} is not a number "
            f"of rotate files from 0 to {layout.MAX_ROTATIONS}"
        )
    return value


@dataclass(frozen=True)
class RotateFile:
    """The signed payload of one rotate file."""

    version: int
    role: str
    keys: Mapping[str, KeyDict] = field(default_factory=dict)
    """TUF key objects by keyid."""
    threshold: int = 1

    @property
    def is_revocation(self) -> bool:
        """True for a rotation to the null key (TAP 20)."""
        return not self.keys

    @classmethod
    def revocation(cls, role: str, version: int) -> RotateFile:
        return cls(version=version, role=role, keys={}, threshold=1)

    @classmethod
    def from_dict(cls, signed: Mapping[str, Any]) -> RotateFile:
        if not isinstance(signed, Mapping):
            raise RotationError("rotate file: 'signed' is not an object")
        if signed.get("_type") != ROTATE_TYPE:
            raise RotationError(f"rotate file: _type is {signed.get('_type')!r}, not 'rotate'")
        version = signed.get("version")
        role = signed.get("role")
        threshold = signed.get("threshold")
        raw_keys = signed.get("keys")
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise RotationError(f"rotate file: bad version {version!r}")
        if not isinstance(role, str) or not role:
            raise RotationError(f"rotate file: bad role {role!r}")
        if not isinstance(threshold, int) or isinstance(threshold, bool) or threshold < 1:
            raise RotationError(f"rotate file: bad threshold {threshold!r}")
        if not isinstance(raw_keys, Mapping):
            raise RotationError("rotate file: keys is not an object")
        keys: dict[str, KeyDict] = {}
        for keyid, key_dict in raw_keys.items():
            if not isinstance(key_dict, Mapping):
                raise RotationError(f"rotate file: key {keyid} is not an object")
            key = json.loads(json.dumps(key_dict))  # a copy nobody else holds
            if not usable_key(keyid, key):
                raise RotationError(f"rotate file: unusable key {keyid} (unknown keytype or "
                                    "scheme, or a public value that does not load)")
            if compute_keyid(key) != keyid:
                raise RotationError(f"rotate file: keyid {keyid} does not match its key")
            keys[keyid] = key
        if not keys and threshold != 1:
            raise RotationError("rotate file: null-key rotation must have threshold 1")
        if keys and threshold > len(keys):
            raise RotationError(
                f"rotate file: threshold {threshold} exceeds the {len(keys)} keys listed"
            )
        return cls(version=version, role=role, keys=keys, threshold=threshold)

    def to_dict(self) -> dict[str, Any]:
        return {
            "_type": ROTATE_TYPE,
            "version": self.version,
            "role": self.role,
            "keys": {keyid: dict(key) for keyid, key in self.keys.items()},
            "threshold": self.threshold,
        }

    def canonical_bytes(self) -> bytes:
        """The bytes signatures cover: canonical JSON of the signed payload."""
        return canonical_json(self.to_dict())


@dataclass(frozen=True)
class SignedRotateFile:
    """A parsed rotate envelope: payload, its canonical bytes, signatures by keyid."""

    payload: RotateFile
    signed_bytes: bytes
    signatures: Mapping[str, str]
    """Hex signatures by keyid."""


def sign_rotate(payload: RotateFile, signers: Sequence[Signer]) -> bytes:
    """The envelope bytes of PAYLOAD signed by each of SIGNERS."""
    data = payload.canonical_bytes()
    signatures = [signer.sign(data).to_dict() for signer in signers]
    envelope = {"signed": payload.to_dict(), "signatures": signatures}
    return json.dumps(envelope, indent=1, sort_keys=True).encode("utf-8")


def parse_rotate_file(data: bytes) -> SignedRotateFile:
    """Parse envelope bytes; checks format only, not signatures."""
    try:
        envelope = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        raise RotationError("rotate file is not valid JSON") from None
    if not isinstance(envelope, dict) or set(envelope) != {"signed", "signatures"}:
        raise RotationError("rotate file is not a {signed, signatures} envelope")
    payload = RotateFile.from_dict(envelope["signed"])
    raw_signatures = envelope["signatures"]
    if not isinstance(raw_signatures, list):
        raise RotationError("rotate file: signatures is not a list")
    try:
        signatures = signature_map(raw_signatures)
    except ValueError as error:
        raise RotationError(f"rotate file: {error}") from None
    return SignedRotateFile(payload, payload.canonical_bytes(), signatures)


def verify_rotate_step(
    role: str,
    number: int,
    keys: Mapping[str, KeyDict],
    threshold: int,
    data: bytes,
) -> RotateFile:
    """Verify rotate file NUMBER of ROLE with the keys trusted before it."""
    parsed = parse_rotate_file(data)
    payload = parsed.payload
    if payload.role != role:
        raise RotationError(f"rotate file {number} of role {role!r} names role {payload.role!r}")
    if payload.version != number:
        kind = "replay" if payload.version < number else "gap"
        raise RotationError(
            f"rotate file {number} of role {role!r} carries version {payload.version} ({kind})"
        )
    result = check_threshold(parsed.signed_bytes, parsed.signatures, keys, threshold)
    if not result.satisfied:
        raise RotationError(
            f"rotate file {number} of role {role!r} has {result.describe()} "
            "from the keys it replaces"
        )
    return payload


def verify_rotation_chain(
    role: str,
    delegation_keys: Mapping[str, KeyDict],
    delegation_threshold: int,
    files: Sequence[bytes],
    previously_trusted: Sequence[bytes | None] = (),
    superseded: int = 0,
) -> tuple[dict[str, KeyDict], int]:
    """Walk ROLE's rotate files SUPERSEDED+1..N from the delegation's keys.

    FILES[i] must be rotate file i+1. Returns the keys and threshold that must
    sign the role's metadata. Raises RotationError on a wrong role, a gap or
    replay (version not equal to its position), a signature threshold not met
    by the keys being replaced (wrong signer, or a fork signed by old keys), or
    too many files; RoleRevokedError on a rotation to the null key.

    PREVIOUSLY_TRUSTED[i], when given and not None, is the copy of rotate file
    i+1 the client verified before. Rotate files are immutable except for
    replacement by a revocation (TAP 20), so a file that differs from it is a
    fork unless it is a valid rotation to the null key.

    SUPERSEDED (`superseded_rotations` of the delegation) files at the start are
    the history the delegation replaced: skipped, but they must be listed (a
    delegation naming more than the chain holds is refused).
    """
    if len(files) > layout.MAX_ROTATIONS:
        raise RotationError(
            f"role {role!r} has {len(files)} rotate files, more than the cap of "
            f"{layout.MAX_ROTATIONS}"
        )
    if superseded > len(files):
        raise RotationError(
            f"the delegation of role {role!r} supersedes {superseded} rotate files, but "
            f"{len(files)} are listed"
        )
    keys: dict[str, KeyDict] = dict(delegation_keys)
    threshold = delegation_threshold
    for index in range(superseded, len(files)):
        data = files[index]
        number = index + 1
        payload = verify_rotate_step(role, number, keys, threshold, data)
        earlier = previously_trusted[index] if index < len(previously_trusted) else None
        if earlier is not None and earlier != data and not payload.is_revocation:
            raise RotationError(
                f"rotate file {number} of role {role!r} differs from the copy trusted before (fork)"
            )
        if payload.is_revocation:
            raise RoleRevokedError(
                f"role {role!r} is revoked: rotate file {number} rotates to the null key"
            )
        keys = dict(payload.keys)
        threshold = payload.threshold
    return keys, threshold
