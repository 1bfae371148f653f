"""Build attestations: in-toto links and SLSA provenance v1 statements in DSSE.

A builder (or an independent rebuilder) signs, for every image it built:
- an in-toto link (in-toto 1.0 link in the spec's signature wrapper, the
  in-toto library's Metablock, which in-toto-verify 3.x reads) for its step of
  the layout (signing.intoto_layout), written as STEP.KEYID8.link: materials
  are the source and library archives and the toolchain, products the image;
- an in-toto Statement v1 whose predicate is SLSA provenance v1, wrapped in
  a DSSE envelope (payload type application/vnd.in-toto+json).
Both are signed with a securesystemslib Signer and verified with its Key.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import UnverifiedSignatureError, VerificationError
from securesystemslib.signer import Key, Signature, Signer

from signing.errors import SigningError

# in-toto (with attrs and dateutil under it) loads only where a link is made or read:
# checking a DSSE verdict, as `fetch --require-rebuilders` does, never needs it
# (bench/results/fetch-rebuilders.md).
if TYPE_CHECKING:
    from in_toto.models.link import Link

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
SLSA_PROVENANCE_V1 = "https://slsa.dev/provenance/v1"
DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json"
# Our TypeURIs (SLSA builder.id, buildType). They are identifiers compared as
# strings, under the TLD that RFC 6761 reserves as never resolving: no one can
# register it and nothing pretends to be served there. docs/intoto.md defines them.
URI_NAMESPACE = "https://unirepo.invalid/"
BUILDER_URI_PREFIX = URI_NAMESPACE + "builders/"


class AttestationError(SigningError):
    """An attestation is malformed or its signature does not verify."""


def _digests(hashes: Mapping[str, str]) -> dict[str, dict[str, str]]:
    return {path: {"sha256": digest} for path, digest in sorted(hashes.items())}


def builder_uri(builder_id: str) -> str:
    """The SLSA builder.id of a builder named `builder_id` (a URI is kept as it is)."""
    if builder_id.startswith("https://"):
        return builder_id
    return BUILDER_URI_PREFIX + urllib.parse.quote(builder_id, safe="")


def builder_name(uri: str) -> str:
    """The builder name a builder.id URI stands for (the inverse of builder_uri)."""
    if uri.startswith(BUILDER_URI_PREFIX):
        return urllib.parse.unquote(uri[len(BUILDER_URI_PREFIX):])
    return uri


def link_file_name(step: str, keyid: str) -> str:
    """STEP.KEYID8.link: the name in-toto-verify loads a functionary's link of a step from."""
    from in_toto.models.link import FILENAME_FORMAT

    return str(FILENAME_FORMAT.format(step_name=step, keyid=keyid))


def make_link(
    step: str,
    command: Sequence[str],
    materials: Mapping[str, str],
    products: Mapping[str, str],
    byproducts: Mapping[str, Any] | None = None,
    environment: Mapping[str, Any] | None = None,
) -> Link:
    """An unsigned in-toto link; materials/products map path -> sha256."""
    from in_toto.models.link import Link

    return Link(
        name=step,
        command=list(command),
        materials=_digests(materials),
        products=_digests(products),
        byproducts=dict(byproducts or {}),
        environment=dict(environment or {}),
    )


def sign_link(link: Link, signer: Signer) -> dict[str, Any]:
    """The signed link as its JSON document (in-toto Metablock)."""
    from in_toto.models.metadata import Metablock

    metablock = Metablock(signed=link)
    metablock.create_signature(signer)
    return dict(metablock.to_dict())


def verify_link(document: Mapping[str, Any], key: Key) -> Link:
    """The link of a signed link document, if `key` signed it; AttestationError otherwise."""
    from in_toto.models.link import Link
    from in_toto.models.metadata import Metablock

    try:
        metablock = Metablock.from_dict(copy.deepcopy(dict(document)))
    except Exception as error:  # in-toto raises several types for malformed input
        raise AttestationError(f"malformed in-toto link: {error}") from None
    link = metablock.signed
    if not isinstance(link, Link):
        raise AttestationError("in-toto metadata is not a link")
    for raw in metablock.signatures:
        signature = Signature.from_dict(dict(raw))
        if signature.keyid != key.keyid:
            continue
        try:
            key.verify_signature(signature, link.signable_bytes)
        except (UnverifiedSignatureError, VerificationError):
            raise AttestationError(f"link {link.name}: bad signature by {key.keyid[:16]}") from None
        return link
    raise AttestationError(f"link {link.name}: not signed by key {key.keyid[:16]}")


def provenance_statement(
    *,
    subjects: Mapping[str, str],
    build_type: str,
    external_parameters: Mapping[str, Any],
    internal_parameters: Mapping[str, Any],
    resolved_dependencies: Sequence[Mapping[str, Any]],
    builder_id: str,
    invocation_id: str,
    started_on: str,
    finished_on: str,
    byproducts: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An in-toto Statement v1 with a SLSA provenance v1 predicate (subjects: name -> sha256)."""
    return {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": name, "digest": {"sha256": d}} for name, d in sorted(subjects.items())
        ],
        "predicateType": SLSA_PROVENANCE_V1,
        "predicate": {
            "buildDefinition": {
                "buildType": build_type,
                "externalParameters": dict(external_parameters),
                "internalParameters": dict(internal_parameters),
                "resolvedDependencies": [dict(d) for d in resolved_dependencies],
            },
            "runDetails": {
                "builder": {"id": builder_uri(builder_id)},
                "metadata": {
                    "invocationId": invocation_id,
                    "startedOn": started_on,
                    "finishedOn": finished_on,
                },
                "byproducts": [dict(b) for b in byproducts],
            },
        },
    }


def canonical_payload(statement: Mapping[str, Any]) -> bytes:
    """The one byte encoding of a statement that we sign: sorted keys, no spaces, ASCII."""
    return json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()


def sign_statement(statement: Mapping[str, Any], signer: Signer) -> dict[str, Any]:
    """The statement in a DSSE envelope signed by signer, as JSON."""
    envelope = Envelope(
        payload=canonical_payload(statement), payload_type=DSSE_PAYLOAD_TYPE, signatures={}
    )
    envelope.sign(signer)
    return dict(envelope.to_dict())


def _strict_b64(text: object, what: str) -> bytes:
    """Standard base64 with padding and nothing else (no whitespace, no junk characters)."""
    if not isinstance(text, str):
        raise AttestationError(f"DSSE envelope: {what} is not a string")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise AttestationError(f"DSSE envelope: {what} is not canonical base64") from None
    if base64.b64encode(data).decode() != text:
        raise AttestationError(f"DSSE envelope: {what} is not canonical base64")
    return data


def verify_envelope(
    document: Mapping[str, Any], keys: Mapping[str, Key]
) -> tuple[dict[str, Any], frozenset[str]]:
    """(statement, keyids of `keys` whose signature verifies) of a DSSE envelope.

    Refused with AttestationError: anything but exactly payload/payloadType/
    signatures, non-canonical base64, a payload type other than in-toto, a
    payload that is not the canonical JSON of an in-toto Statement v1 (so one
    statement has exactly one signed encoding), and an envelope that carries
    no valid signature by any of `keys`.
    """
    if not isinstance(document, Mapping) or set(document) != {
        "payload",
        "payloadType",
        "signatures",
    }:
        raise AttestationError("malformed DSSE envelope: expected payload, payloadType, signatures")
    payload = _strict_b64(document["payload"], "payload")
    signatures = document["signatures"]
    if not isinstance(signatures, list) or not signatures:
        raise AttestationError("DSSE envelope: unsigned")
    for entry in signatures:
        if not isinstance(entry, Mapping):
            raise AttestationError("DSSE envelope: a signature is not an object")
        _strict_b64(entry.get("sig"), "signature")
    try:
        envelope = Envelope.from_dict(copy.deepcopy(dict(document)))
    except Exception as error:  # securesystemslib raises KeyError/ValueError/FormatError
        raise AttestationError(f"malformed DSSE envelope: {error}") from None
    if envelope.payload_type != DSSE_PAYLOAD_TYPE:
        raise AttestationError(f"DSSE payload type {envelope.payload_type!r} is not in-toto")
    pae = envelope.pae()
    verified: set[str] = set()
    for signature in envelope.signatures.values():
        key = keys.get(signature.keyid)
        if key is None:
            continue
        try:
            key.verify_signature(signature, pae)
        except (VerificationError, UnverifiedSignatureError):
            continue
        verified.add(signature.keyid)
    if not verified:
        names = ", ".join(sorted(k[:16] for k in keys)) or "none"
        raise AttestationError(f"DSSE envelope: no valid signature by a trusted key ({names})")
    try:
        statement = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise AttestationError("DSSE payload is not UTF-8 JSON") from None
    if not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE:
        raise AttestationError("DSSE payload is not an in-toto Statement v1")
    if canonical_payload(statement) != payload:
        raise AttestationError("DSSE payload is not in canonical JSON form")
    return statement, frozenset(verified)


def verify_statement(document: Mapping[str, Any], key: Key) -> dict[str, Any]:
    """The statement inside a DSSE envelope if `key` signed it; AttestationError otherwise."""
    statement, _ = verify_envelope(document, {key.keyid: key})
    return statement
