"""Pinned repository layout: role names, target paths and name rules.

Every part of the toolkit (repository, client, builder) derives names from
these functions, so they must never change meaning once data is published.

Top-level targets delegates (terminating) to 16**d shard roles ``shard-P``
(P = first d hex digits of sha256(package name), d in SHARD_DIGITS chosen at
the key ceremony, 2 by default), paths ``P/*/*/*``. Each shard delegates
(terminating) one package role ``pkg-NAME`` per package, paths ``P/NAME/*/*``.
A client therefore downloads top-level targets (16**d delegations), one shard
(~n/16**d packages) and one package role per package it wants. d is read from
top-level targets (`shard_layout_of`), never configured elsewhere.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tuf_metadata.errors import TufError

if TYPE_CHECKING:  # commands import this module for names only: no TUF library at start-up
    from tuf.api.metadata import Targets

MAX_ROTATIONS = 32
"""Longest TAP 8 rotate chain a role may have (TAP 8 "Security notes": a cap is the DoS
defence; see docs/tap8-profile.md). Repository, verify and client all enforce it."""

SHARD_PREFIX = "shard-"
PACKAGE_PREFIX = "pkg-"
SHARD_DIGITS: tuple[int, ...] = (2, 3)
"""Supported shard prefix lengths in hex digits: 256 or 4,096 shards. Not 4: top-level
targets would delegate 65,536 shards, 11-19 MB, over the 5 MB a TUF client (python-tuf's
ngclient, ours) accepts for a targets role whose length snapshot does not give."""
DEFAULT_SHARD_DIGITS = 2
_HEX = re.compile(r"[0-9a-f]+")

IMAGE_TARGETS: tuple[str, ...] = ("hvt", "spt", "virtio", "xen")
"""Solo5 targets the client fetches images for: release files NAME.TARGET."""

_PACKAGE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
_VERSION = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._+-]{0,63}$")


class InvalidNameError(TufError):
    """A package name or version does not follow the repository's naming rules."""


def validate_package_name(name: str) -> None:
    """Raise InvalidNameError unless name is 1-64 chars of [a-z0-9_-], starting alphanumeric."""
    if not _PACKAGE_NAME.fullmatch(name):
        raise InvalidNameError(
            f"invalid package name {name!r}: must match {_PACKAGE_NAME.pattern}"
        )


def validate_version(version: str) -> None:
    """Raise InvalidNameError unless version is 1-64 chars of [0-9A-Za-z._+-], starting alnum."""
    if not _VERSION.fullmatch(version) or version in (".", ".."):
        raise InvalidNameError(f"invalid version {version!r}: must match {_VERSION.pattern}")


def package_role(package: str) -> str:
    """Name of the package's delegated role, signed by its authors."""
    return PACKAGE_PREFIX + package


def package_of_role(role: str) -> str | None:
    """The package name of a package role, or None if role is not a package role."""
    if not role.startswith(PACKAGE_PREFIX):
        return None
    name = role[len(PACKAGE_PREFIX) :]
    return name if _PACKAGE_NAME.fullmatch(name) else None


class ShardLayoutError(TufError):
    """A shard prefix length is not one of SHARD_DIGITS, or a targets role's shard
    delegations do not form one complete set of shards of one length."""


def validate_shard_digits(digits: int) -> None:
    """Raise ShardLayoutError unless DIGITS is a supported shard prefix length."""
    if digits not in SHARD_DIGITS:
        raise ShardLayoutError(
            f"shard digits must be {' or '.join(map(str, SHARD_DIGITS))} "
            f"({' or '.join(f'{16 ** d:,}' for d in SHARD_DIGITS)} shards), got {digits}"
        )


def name_hash(package: str) -> str:
    """sha256(package name) in lowercase hex: shards (and snapshot-tree bundles) are its
    prefixes, so packages spread evenly whatever their names."""
    return hashlib.sha256(package.encode()).hexdigest()


@dataclass(frozen=True)
class ShardLayout:
    """The shards of one repository: 16**digits roles ``shard-`` + DIGITS hex digits, the
    prefix of sha256(package name). DIGITS is chosen at the key ceremony and never changes;
    every reader derives it from the top-level targets role (`shard_layout_of`)."""

    digits: int

    def __post_init__(self) -> None:
        validate_shard_digits(self.digits)

    @property
    def count(self) -> int:
        return int(16**self.digits)

    def shard_of(self, package: str) -> str:
        """The shard prefix of a package: the first DIGITS hex digits of sha256(name)."""
        return name_hash(package)[: self.digits]

    def shard_role(self, package: str) -> str:
        """Name of the shard role that delegates the package's role."""
        return SHARD_PREFIX + self.shard_of(package)

    def shard_role_for_prefix(self, prefix: str) -> str:
        """Name of the shard role for a DIGITS-hex-digit prefix."""
        return SHARD_PREFIX + prefix

    def all_shard_prefixes(self) -> list[str]:
        """Every shard prefix in order, 0..0 to f..f."""
        return [f"{i:0{self.digits}x}" for i in range(self.count)]

    def shard_paths(self, prefix: str) -> list[str]:
        """Path patterns top-level targets delegates to shard ``prefix``."""
        return [f"{prefix}/*/*/*"]

    def package_paths(self, package: str) -> list[str]:
        """Path patterns a shard delegates to the package's role."""
        return [f"{self.shard_of(package)}/{package}/*/*"]

    def target_path(self, package: str, version: str, filename: str) -> str:
        """TUF target path of one release file."""
        return f"{self.shard_of(package)}/{package}/{version}/{filename}"


DEFAULT_SHARDS = ShardLayout(DEFAULT_SHARD_DIGITS)
"""The ceremony's default (and every repository made before the choice existed)."""


def shard_digits(delegated_roles: Iterable[str]) -> int:
    """The shard prefix length of a top-level targets role delegating DELEGATED_ROLES.

    Its shard roles must all have the same supported length: the maintainers' signature
    over targets is what fixes the layout, so nothing else (repo.json, a client setting) is
    trusted for it. (The ceremony delegates every shard of that length; a reader needs only
    the length: a package of a shard targets does not delegate is simply not found.)"""
    prefixes = [role[len(SHARD_PREFIX):] for role in delegated_roles
                if role.startswith(SHARD_PREFIX)]
    if not prefixes:
        raise ShardLayoutError("targets delegates no shard roles")
    for prefix in prefixes:
        if not _HEX.fullmatch(prefix):
            raise ShardLayoutError(f"targets delegates {SHARD_PREFIX}{prefix}: not a shard name")
    lengths = sorted({len(prefix) for prefix in prefixes})
    if len(lengths) > 1:
        raise ShardLayoutError(
            f"targets mixes shard roles of {' and '.join(map(str, lengths))} hex digits"
        )
    digits = lengths[0]
    validate_shard_digits(digits)
    return digits


def shard_layout_of(targets: Targets | Mapping[str, Any]) -> ShardLayout:
    """The shard layout top-level TARGETS delegates (see shard_digits): a python-tuf object
    or the signed part of the file as plain data (the publish path)."""
    if isinstance(targets, Mapping):
        delegations = targets.get("delegations")
        entries = delegations.get("roles") if isinstance(delegations, Mapping) else None
        names = [entry.get("name", "") for entry in entries or () if isinstance(entry, Mapping)]
        return ShardLayout(shard_digits(names))
    roles = targets.delegations.roles if targets.delegations is not None else None
    return ShardLayout(shard_digits(roles or ()))


def buildinfo_file_name(target: str) -> str:
    """Release file with the author's build info for TARGET (its toolchain is what a
    rebuilder compares). Not `NAME.*`: those names are the release's images."""
    return f"buildinfo.{target}.json"


ROTATE_DIR = "rotate/"
"""Where TAP 8 rotate files live under metadata/ (and their snapshot meta keys' prefix)."""


def rotate_file_name(role: str, n: int) -> str:
    """Snapshot meta key of the n-th TAP 8 rotate file of role (the file adds a version prefix)."""
    return f"{ROTATE_DIR}{role}.rotate.{n}.json"


def rotate_file_path(role: str, n: int, meta_version: int) -> str:
    """Path of rotate file n of role under the metadata URL: the version snapshot lists for
    it prefixes the name (consistent snapshots)."""
    return f"{ROTATE_DIR}{meta_version}.{role}.rotate.{n}.json"


def parse_rotate_file_name(meta_name: str) -> tuple[str, int] | None:
    """(role, n) of a snapshot meta key `rotate/ROLE.rotate.N.json`, or None."""
    if not meta_name.startswith(ROTATE_DIR) or not meta_name.endswith(".json"):
        return None
    stem = meta_name[len(ROTATE_DIR) : -len(".json")]
    role, sep, number = stem.rpartition(".rotate.")
    if not sep or not role or not number.isdigit() or number.startswith("0"):
        return None
    return role, int(number)


# -- rebuilders (issue #12; docs/rebuilder.md) --------------------------------------------
#
# Top-level targets delegates (terminating) one role per independent rebuilder,
# ``rebuilder-NAME`` (NAME follows the package-name rule), keys = the rebuilder's own,
# paths = ATTESTATIONS_DIR/*/*/*/NAME.intoto.jsonl. Each attestation is a TUF target of
# that role: the DSSE envelope of the rebuilder's signed verdict about one image.

REBUILDER_PREFIX = "rebuilder-"
ATTESTATIONS_DIR = "attestations"
ATTESTATION_SUFFIX = ".intoto.jsonl"


def rebuilder_role(name: str) -> str:
    """Name of the rebuilder's role, delegated by top-level targets."""
    return REBUILDER_PREFIX + name


def rebuilder_of_role(role: str) -> str | None:
    """The rebuilder name of a rebuilder role, or None if role is not a rebuilder role."""
    if not role.startswith(REBUILDER_PREFIX):
        return None
    name = role[len(REBUILDER_PREFIX) :]
    return name if _PACKAGE_NAME.fullmatch(name) else None


def validate_rebuilder_name(name: str) -> None:
    """Raise InvalidNameError unless name follows the package-name rule."""
    if not _PACKAGE_NAME.fullmatch(name):
        raise InvalidNameError(
            f"invalid rebuilder name {name!r}: must match {_PACKAGE_NAME.pattern}"
        )


def rebuilder_paths(name: str) -> list[str]:
    """Path patterns top-level targets delegates to the rebuilder's role: its own file name
    under any package/version/target, nowhere else."""
    return [f"{ATTESTATIONS_DIR}/*/*/*/{name}{ATTESTATION_SUFFIX}"]


def attestation_path(package: str, version: str, target: str, rebuilder: str) -> str:
    """TUF target path of REBUILDER's attestation about PACKAGE VERSION's TARGET image."""
    return f"{ATTESTATIONS_DIR}/{package}/{version}/{target}/{rebuilder}{ATTESTATION_SUFFIX}"


def parse_attestation_path(path: str) -> tuple[str, str, str, str] | None:
    """(package, version, target, rebuilder) of an attestation target path, or None if PATH
    is not exactly `attestations/PACKAGE/VERSION/TARGET/REBUILDER.intoto.jsonl` with valid
    names (TARGET one of IMAGE_TARGETS)."""
    parts = path.split("/")
    if len(parts) != 5 or parts[0] != ATTESTATIONS_DIR:
        return None
    _, package, version, target, filename = parts
    if not filename.endswith(ATTESTATION_SUFFIX):
        return None
    rebuilder = filename[: -len(ATTESTATION_SUFFIX)]
    if not (_PACKAGE_NAME.fullmatch(package) and _PACKAGE_NAME.fullmatch(rebuilder)):
        return None
    if not _VERSION.fullmatch(version) or version in (".", ".."):
        return None
    if target not in IMAGE_TARGETS:
        return None
    return package, version, target, rebuilder
