"""Pinned repository layout: role names, target paths and name rules.

Every part of the toolkit (repository, client, builder) derives names from
these functions, so they must never change meaning once data is published.

Top-level targets delegates (terminating) to 256 shard roles ``shard-XX``
(XX = first two hex digits of sha256(package name)), paths ``XX/*/*/*``.
Each shard delegates (terminating) one package role ``pkg-NAME`` per
package, paths ``XX/NAME/*/*``. A client therefore downloads top-level
targets (<= 256 delegations), one shard (~n/256 packages) and one package
role per package it wants.
"""

from __future__ import annotations

import hashlib
import re

from tuf_metadata.errors import TufError

MAX_ROTATIONS = 32
"""Longest TAP 8 rotate chain a role may have (TAP 8 "Security notes": a cap is the DoS
defence; see docs/tap8-profile.md). Repository, verify and client all enforce it."""

SHARD_PREFIX = "shard-"
PACKAGE_PREFIX = "pkg-"

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


def shard_of(package: str) -> str:
    """The shard of a package: first two hex chars of sha256(package name)."""
    return hashlib.sha256(package.encode()).hexdigest()[:2]


def shard_role(package: str) -> str:
    """Name of the shard role that delegates the package's role."""
    return SHARD_PREFIX + shard_of(package)


def shard_role_for_prefix(prefix: str) -> str:
    """Name of the shard role for a two-hex-digit prefix."""
    return SHARD_PREFIX + prefix


def all_shard_prefixes() -> list[str]:
    """The 256 shard prefixes in order, 00..ff."""
    return [f"{i:02x}" for i in range(256)]


def package_role(package: str) -> str:
    """Name of the package's delegated role, signed by its authors."""
    return PACKAGE_PREFIX + package


def package_of_role(role: str) -> str | None:
    """The package name of a package role, or None if role is not a package role."""
    if not role.startswith(PACKAGE_PREFIX):
        return None
    name = role[len(PACKAGE_PREFIX) :]
    return name if _PACKAGE_NAME.fullmatch(name) else None


def shard_paths(prefix: str) -> list[str]:
    """Path patterns top-level targets delegates to shard ``prefix``."""
    return [f"{prefix}/*/*/*"]


def package_paths(package: str) -> list[str]:
    """Path patterns a shard delegates to the package's role."""
    return [f"{shard_of(package)}/{package}/*/*"]


def target_path(package: str, version: str, filename: str) -> str:
    """TUF target path of one release file."""
    return f"{shard_of(package)}/{package}/{version}/{filename}"


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
