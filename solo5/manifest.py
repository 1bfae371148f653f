"""Solo5 application manifests: JSON source -> device list -> MFT1 note.

The JSON format and binary layout follow upstream Solo5 (reference:
solo5.md §2.1-2.4, §2.9). Rules are checked here, at build time, so a bad
manifest never reaches a compiler; we are stricter than upstream's
`solo5-elftool gen-manifest` in two places, both documented in
docs/solo5.md: the device type is checked (upstream leaves that to the C
compiler) and duplicate names are refused (upstream silently picks the first).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from solo5.errors import Solo5Error


class ManifestError(Solo5Error):
    """A manifest (JSON source or binary note) breaks a rule."""


MANIFEST_TYPE = "solo5.manifest"
MANIFEST_VERSION = 1
NAME_MAX = 67  # characters; 68 bytes with the NUL
NAME_SIZE = 68
MAX_ENTRIES = 64  # including the reserved entry 0
MAX_DEVICES = MAX_ENTRIES - 1
ENTRY_SIZE = 104
HEADER_SIZE = 8
NOTE_PADDING = 4  # keeps struct mft 8-aligned inside the note (§2.4)

DEVICE_TYPES: dict[str, int] = {"BLOCK_BASIC": 1, "NET_BASIC": 2}
RESERVED_FIRST = 1 << 30
TYPE_NAMES: dict[int, str] = {value: name for name, value in DEVICE_TYPES.items()}

NOTE_NAME = b"Solo5\0\0\0"
NT_MANIFEST = 0x3154464D  # "MFT1"


@dataclass(frozen=True)
class Device:
    """One device of an image's manifest."""

    name: str
    kind: str  # "NET_BASIC" or "BLOCK_BASIC"


def _check_name(name: object, where: str) -> str:
    if not isinstance(name, str):
        raise ManifestError(f"{where}: name must be a string")
    if not 1 <= len(name) <= NAME_MAX:
        raise ManifestError(f"{where}: name must be 1-{NAME_MAX} characters, got {len(name)}")
    if not (name.isascii() and name.isalnum()):
        raise ManifestError(f"{where}: name {name!r} must be ASCII letters and digits only")
    return name


def validate_devices(devices: Sequence[Device]) -> list[Device]:
    """Check a device list against the manifest rules; return it as a list."""
    if len(devices) > MAX_DEVICES:
        raise ManifestError(f"too many devices: {len(devices)} (at most {MAX_DEVICES})")
    seen: set[str] = set()
    for index, device in enumerate(devices):
        where = f"device {index}"
        _check_name(device.name, where)
        if device.kind not in DEVICE_TYPES:
            raise ManifestError(
                f"{where}: type {device.kind!r} must be NET_BASIC or BLOCK_BASIC")
        if device.name in seen:
            raise ManifestError(f"{where}: duplicate device name {device.name!r}")
        seen.add(device.name)
    return list(devices)


def load_devices(manifest_json: bytes) -> list[Device]:
    """Parse and validate a solo5.manifest JSON document."""
    try:
        doc: Any = json.loads(manifest_json)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ManifestError(f"manifest is not valid JSON: {error}") from None
    if not isinstance(doc, dict):
        raise ManifestError("manifest must be a JSON object")
    keys = set(doc)
    if keys != {"type", "version", "devices"}:
        missing = sorted({"type", "version", "devices"} - keys)
        unknown = sorted(keys - {"type", "version", "devices"})
        detail = "; ".join(
            part for part in (
                f"missing key(s) {', '.join(missing)}" if missing else "",
                f"unknown key(s) {', '.join(unknown)}" if unknown else "",
            ) if part)
        raise ManifestError(f"manifest: {detail}")
    if doc["type"] != MANIFEST_TYPE:
        raise ManifestError(f"manifest type must be {MANIFEST_TYPE!r}, got {doc['type']!r}")
    version = doc["version"]
    if isinstance(version, bool) or version != MANIFEST_VERSION:
        raise ManifestError(f"manifest version must be {MANIFEST_VERSION}, got {version!r}")
    entries = doc["devices"]
    if not isinstance(entries, list):
        raise ManifestError("manifest devices must be a list")
    devices = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) != {"name", "type"}:
            raise ManifestError(f"device {index}: must be an object with exactly name and type")
        kind = entry["type"]
        if not isinstance(kind, str):
            raise ManifestError(f"device {index}: type must be a string")
        devices.append(Device(name=_check_name(entry["name"], f"device {index}"), kind=kind))
    return validate_devices(devices)


def devices_json(devices: Sequence[Device]) -> dict[str, Any]:
    """The solo5.manifest JSON document for a device list."""
    return {
        "type": MANIFEST_TYPE,
        "version": MANIFEST_VERSION,
        "devices": [{"name": d.name, "type": d.kind} for d in devices],
    }


def manifest_c_source(devices: Sequence[Device]) -> bytes:
    """C source declaring the MFT1 note (compiled into the image)."""
    devices = validate_devices(devices)
    lines = [
        "/* Generated by solo5/manifest.py from the unikernel's device list. */",
        f"#define MFT_ENTRIES {len(devices) + 1}",
        '#include "abi/mft_abi.h"',
        "",
        "const struct mft1_note solo5_manifest_note",
        '    __attribute__((section(".note.solo5.manifest"), aligned(8), used)) = {',
        "    .h = { .n_namesz = SOLO5_NOTE_NAMESZ,",
        "           .n_descsz = MFT1_NOTE_PADDING + MFT_SIZE(MFT_ENTRIES),",
        "           .n_type = SOLO5_NOTE_MANIFEST,",
        "           .n_name = SOLO5_NOTE_NAME },",
        "    .m = { .version = MFT_VERSION, .entries = MFT_ENTRIES, .e = {",
        '        { .name = "", .type = MFT_RESERVED_FIRST },',
    ]
    for device in devices:
        # Names are ASCII alphanumeric, so they need no escaping.
        lines.append(f'        {{ .name = "{device.name}", .type = MFT_DEV_{device.kind} }},')
    lines += ["    } },", "};", ""]
    return "\n".join(lines).encode()


def manifest_desc(devices: Sequence[Device]) -> bytes:
    """The struct mft bytes (header + entries) as they appear in the note."""
    devices = validate_devices(devices)
    out = bytearray(struct.pack("<II", MANIFEST_VERSION, len(devices) + 1))
    out += struct.pack("<68sI", b"", RESERVED_FIRST) + bytes(ENTRY_SIZE - 72)
    for device in devices:
        out += struct.pack("<68sI", device.name.encode(), DEVICE_TYPES[device.kind])
        out += bytes(ENTRY_SIZE - 72)
    return bytes(out)


def manifest_note(devices: Sequence[Device]) -> bytes:
    """The whole MFT1 note: header, name, padding and descriptor."""
    desc = manifest_desc(devices)
    header = struct.pack("<III", len(b"Solo5\0"), NOTE_PADDING + len(desc), NT_MANIFEST)
    return header + NOTE_NAME + bytes(NOTE_PADDING) + desc


def parse_manifest_desc(desc: bytes) -> list[Device]:
    """Validate a struct mft as a tender does (§2.9) and list its devices."""
    if len(desc) < HEADER_SIZE:
        raise ManifestError("manifest is shorter than its 8-byte header")
    version, entries = struct.unpack_from("<II", desc)
    if version != MANIFEST_VERSION:
        raise ManifestError(f"manifest version {version} is not {MANIFEST_VERSION}")
    if not 1 <= entries <= MAX_ENTRIES:
        raise ManifestError(f"manifest has {entries} entries (1-{MAX_ENTRIES} allowed)")
    if len(desc) != HEADER_SIZE + entries * ENTRY_SIZE:
        raise ManifestError(
            f"manifest size {len(desc)} does not match its {entries} entries")
    devices = []
    for index in range(entries):
        base = HEADER_SIZE + index * ENTRY_SIZE
        raw_name, kind = struct.unpack_from("<68sI", desc, base)
        attached = desc[base + 96]
        if raw_name[NAME_MAX] != 0:
            raise ManifestError(f"manifest entry {index}: name is not NUL-terminated")
        if attached:
            raise ManifestError(f"manifest entry {index}: attached is set in the image")
        name = raw_name.split(b"\0", 1)[0]
        if index == 0:
            if kind != RESERVED_FIRST or name:
                raise ManifestError("manifest entry 0 is not the reserved entry")
            continue
        if kind not in TYPE_NAMES:
            raise ManifestError(f"manifest entry {index}: unknown device type {kind}")
        try:
            text = name.decode("ascii")
        except UnicodeDecodeError:
            raise ManifestError(f"manifest entry {index}: name is not ASCII") from None
        if not (text.isascii() and text.isalnum()):
            raise ManifestError(f"manifest entry {index}: name is not 1-67 letters and digits")
        devices.append(Device(name=text, kind=TYPE_NAMES[kind]))
    return devices
