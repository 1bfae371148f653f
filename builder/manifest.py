"""Package manifests: parse and validate one release's declaration (pure).

A manifest is JSON and purely declarative: it names files and facts, never
commands. Every path is relative to the repository tree (= the source archive
root) and is checked so it cannot leave it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from builder.errors import BuildError
from solo5.recipe import TARGETS

SCHEMA_VERSION = 1
KINDS = ("unikernel", "library")
DEVICE_KINDS = ("NET_BASIC", "BLOCK_BASIC")
# Every pattern is applied with fullmatch: `$` alone would accept a trailing newline.
NAME_RE = re.compile(r"[a-z][a-z0-9_-]{0,63}")
VERSION_RE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+(?:[-+][0-9A-Za-z.-]{1,32})?")
# Solo5 device names: at most 67 bytes of [A-Za-z0-9] (manifest version 1, NAME_MAX 68 with NUL).
DEVICE_NAME_RE = re.compile(r"[A-Za-z0-9]{1,67}")
PATH_PART_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}")
COMPILED_SUFFIXES = (".c", ".S")
MAX_SOURCES = 4096
# SOURCE_DATE_EPOCH spec 1.1: a non-negative decimal integer; bound it to 9999-12-31.
MAX_SOURCE_DATE_EPOCH = 253402300799
ALLOWED_KEYS = frozenset(
    {
        "schema",
        "name",
        "version",
        "license",
        "authors",
        "kind",
        "sources",
        "include_dirs",
        "dependencies",
        "targets",
        "devices",
        "source_date_epoch",
        "description",
    }
)


class ManifestError(BuildError):
    """A package manifest is malformed or unsafe."""


@dataclass(frozen=True)
class DeviceSpec:
    name: str
    kind: str


@dataclass(frozen=True)
class Manifest:
    name: str
    version: str
    license: str
    authors: tuple[str, ...]
    kind: str
    sources: tuple[str, ...]
    include_dirs: tuple[str, ...]
    dependencies: tuple[tuple[str, str], ...]
    targets: tuple[str, ...]
    devices: tuple[DeviceSpec, ...]
    source_date_epoch: int
    description: str = ""

    @property
    def compiled_sources(self) -> tuple[str, ...]:
        return tuple(s for s in self.sources if s.endswith(COMPILED_SUFFIXES))

    @property
    def ident(self) -> str:
        return f"{self.name}-{self.version}"

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA_VERSION,
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "license": self.license,
            "authors": list(self.authors),
            "kind": self.kind,
            "sources": list(self.sources),
            "include_dirs": list(self.include_dirs),
            "dependencies": dict(self.dependencies),
            "targets": list(self.targets),
            "devices": [{"name": d.name, "kind": d.kind} for d in self.devices],
            "source_date_epoch": self.source_date_epoch,
        }


def check_relative_path(path: object, what: str) -> str:
    """A normalised relative path inside the tree, or ManifestError."""
    if not isinstance(path, str) or not path:
        raise ManifestError(f"{what}: expected a non-empty path string")
    if path.startswith("/"):
        raise ManifestError(f"{what}: absolute path {path!r} is not allowed")
    parts = path.split("/")
    for part in parts:
        if part in ("", ".", ".."):
            raise ManifestError(f"{what}: path {path!r} has an empty, '.' or '..' component")
        if not PATH_PART_RE.fullmatch(part):
            raise ManifestError(f"{what}: path {path!r} has a disallowed character")
    return path


def _string(doc: dict[str, Any], key: str, pattern: re.Pattern[str] | None = None) -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ManifestError(f"field {key!r}: expected a non-empty string")
    if pattern is not None and not pattern.fullmatch(value):
        raise ManifestError(f"field {key!r}: {value!r} does not match {pattern.pattern}")
    return value


def _list(doc: dict[str, Any], key: str, required: bool = True) -> list[Any]:
    if key not in doc and not required:
        return []
    value = doc.get(key)
    if not isinstance(value, list):
        raise ManifestError(f"field {key!r}: expected a list")
    return value


def validate_manifest(doc: object) -> Manifest:
    """Check a decoded manifest document; return the Manifest or raise ManifestError."""
    if not isinstance(doc, dict):
        raise ManifestError("manifest: expected a JSON object")
    unknown = sorted(set(doc) - ALLOWED_KEYS)
    if unknown:
        names = ", ".join(u if u.isidentifier() else repr(u) for u in unknown)
        raise ManifestError(f"manifest: unknown field(s) {names} (no scripts allowed)")
    if doc.get("schema", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise ManifestError(f"field 'schema': only version {SCHEMA_VERSION} is supported")
    name = _string(doc, "name", NAME_RE)
    version = _string(doc, "version", VERSION_RE)
    license_ = _string(doc, "license")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise ManifestError("field 'description': expected a string")
    authors = _list(doc, "authors")
    if not authors or not all(isinstance(a, str) and a.strip() for a in authors):
        raise ManifestError("field 'authors': expected a non-empty list of names")
    kind = _string(doc, "kind")
    if kind not in KINDS:
        raise ManifestError(f"field 'kind': {kind!r} is not one of {', '.join(KINDS)}")
    sources = [check_relative_path(s, "sources") for s in _list(doc, "sources")]
    if not sources or len(sources) > MAX_SOURCES:
        raise ManifestError(f"field 'sources': expected 1..{MAX_SOURCES} paths")
    if len(set(sources)) != len(sources):
        raise ManifestError("field 'sources': duplicate path")
    include_dirs = [
        check_relative_path(d, "include_dirs") for d in _list(doc, "include_dirs", False)
    ]
    deps_doc = doc.get("dependencies", {})
    if not isinstance(deps_doc, dict):
        raise ManifestError("field 'dependencies': expected an object of name -> version")
    dependencies: list[tuple[str, str]] = []
    for dep_name, dep_version in sorted(deps_doc.items()):
        if not isinstance(dep_name, str) or not NAME_RE.fullmatch(dep_name):
            raise ManifestError(f"field 'dependencies': bad package name {dep_name!r}")
        if not isinstance(dep_version, str) or not VERSION_RE.fullmatch(dep_version):
            raise ManifestError(f"field 'dependencies': bad version {dep_version!r} of {dep_name}")
        if dep_name == name:
            raise ManifestError("field 'dependencies': a package cannot depend on itself")
        dependencies.append((dep_name, dep_version))
    targets = _list(doc, "targets", required=kind == "unikernel")
    for target in targets:
        if target not in TARGETS:
            raise ManifestError(f"field 'targets': unknown Solo5 target {target!r}")
    if len(set(targets)) != len(targets):
        raise ManifestError("field 'targets': duplicate target")
    if kind == "unikernel" and not targets:
        raise ManifestError("field 'targets': a unikernel needs at least one Solo5 target")
    devices: list[DeviceSpec] = []
    for device in _list(doc, "devices", False):
        if not isinstance(device, dict) or set(device) != {"name", "kind"}:
            raise ManifestError("field 'devices': each device is {name, kind}")
        dev_name, dev_kind = device["name"], device["kind"]
        if not isinstance(dev_name, str) or not DEVICE_NAME_RE.fullmatch(dev_name):
            raise ManifestError(f"field 'devices': bad device name {dev_name!r}")
        if dev_kind not in DEVICE_KINDS:
            raise ManifestError(f"field 'devices': bad device kind {dev_kind!r}")
        devices.append(DeviceSpec(dev_name, dev_kind))
    if len({d.name for d in devices}) != len(devices):
        raise ManifestError("field 'devices': duplicate device name")
    if kind == "library" and devices:
        raise ManifestError("field 'devices': a library declares no devices")
    sde = doc.get("source_date_epoch")
    if not isinstance(sde, int) or isinstance(sde, bool) or not 0 <= sde <= MAX_SOURCE_DATE_EPOCH:
        raise ManifestError("field 'source_date_epoch': expected an integer of seconds since 1970")
    if kind == "unikernel" and not any(s.endswith(COMPILED_SUFFIXES) for s in sources):
        raise ManifestError("field 'sources': a unikernel needs at least one .c or .S file")
    return Manifest(
        name=name,
        version=version,
        license=license_,
        authors=tuple(authors),
        kind=kind,
        sources=tuple(sources),
        include_dirs=tuple(include_dirs),
        dependencies=tuple(dependencies),
        targets=tuple(targets),
        devices=tuple(devices),
        source_date_epoch=sde,
        description=description,
    )


def parse_manifest(data: bytes) -> Manifest:
    """Decode and validate manifest bytes."""
    if len(data) > 1 << 20:
        raise ManifestError("manifest: larger than 1 MiB")
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"manifest: not valid UTF-8 JSON ({error})") from None
    except RecursionError:
        raise ManifestError("manifest: JSON nested too deeply") from None
    return validate_manifest(doc)
