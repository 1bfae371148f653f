"""Rebuilder attestations through the verifying client (docs/rebuilder.md).

Top-level targets delegates one role per rebuilder, `rebuilder-NAME`, whose
targets are `attestations/PACKAGE/VERSION/TARGET/NAME.intoto.jsonl`
(tuf_metadata.layout). For one image, `fetch_attestations` asks every
delegated rebuilder role (or the named ones) for its attestation: each role
verified against top-level targets and its TAP 8 chain, the file checked
against the length and sha256 the role lists, and returned with the role's
keys in force, which must have signed the envelope inside. What the
attestations mean is decided by builder.rebuilder_policy; nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from securesystemslib.signer import Key
from tuf.api.metadata import Targets

from tuf_metadata import layout
from tuf_metadata.client.updater import Updater
from tuf_metadata.errors import TufError


@dataclass(frozen=True)
class FetchedAttestation:
    """One rebuilder's attestation file, verified through TUF, and its role's keys."""

    rebuilder: str
    path: str
    keys: dict[str, Key]
    envelope: bytes


@dataclass(frozen=True)
class Attestations:
    """What the rebuilders published about one image."""

    delegated: tuple[str, ...]
    """Every rebuilder top-level targets delegates."""
    found: tuple[FetchedAttestation, ...]
    unverifiable: tuple[tuple[str, str], ...]
    """(rebuilder, why) for roles or files that did not verify: they count for nothing."""


def delegated_rebuilders(updater: Updater) -> tuple[str, ...]:
    """Names of the rebuilders the verified top-level targets delegates, sorted."""
    top = updater.trusted.targets
    if top is None or top.delegations is None or top.delegations.roles is None:
        return ()
    names = (layout.rebuilder_of_role(role) for role in top.delegations.roles)
    return tuple(sorted(name for name in names if name is not None))


def fetch_attestations(
    updater: Updater, package: str, version: str, target: str,
    rebuilders: Sequence[str] | None = None,
) -> Attestations:
    """Every attestation about PACKAGE VERSION's TARGET image from the delegated rebuilders
    (only those in REBUILDERS, if given). Call after updater.refresh()."""
    layout.validate_package_name(package)
    layout.validate_version(version)
    delegated = delegated_rebuilders(updater)
    wanted = delegated if rebuilders is None else tuple(
        name for name in delegated if name in set(rebuilders)
    )
    found: list[FetchedAttestation] = []
    unverifiable: list[tuple[str, str]] = []
    for name in wanted:
        role = layout.rebuilder_role(name)
        if updater.trusted.role_meta(role) is None:
            continue  # delegated, nothing submitted yet
        path = layout.attestation_path(package, version, target, name)
        try:
            result = updater.search(path)
            if result.info is None:
                continue
            if not result.chain or result.chain[-1].role != role:
                raise TufError(f"{path} is listed by {result.chain[-1].role}, not {role}")
            keys = updater.trusted.keys_in_force(Targets.type, role)
            data = updater.fetch_target(result.info)
        except TufError as error:
            unverifiable.append((name, str(error)))
            continue
        found.append(FetchedAttestation(name, path, keys, data))
    return Attestations(delegated, tuple(found), tuple(unverifiable))
