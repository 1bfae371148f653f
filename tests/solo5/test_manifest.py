"""The manifest generator: valid documents, every rule, and the note bytes."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest

from solo5.image import inspect_file
from solo5.manifest import (
    Device,
    ManifestError,
    load_devices,
    manifest_c_source,
    manifest_desc,
    manifest_note,
    parse_manifest_desc,
)
from solo5.recipe import image_plan, run_plan
from tests.solo5.support import manifest_json


def test_valid_manifest_lists_devices_in_order() -> None:
    doc = manifest_json([{"name": "net0", "type": "NET_BASIC"},
                         {"name": "disk0", "type": "BLOCK_BASIC"}])
    assert load_devices(doc) == [Device("net0", "NET_BASIC"), Device("disk0", "BLOCK_BASIC")]


def test_empty_and_largest_manifests_are_valid() -> None:
    assert load_devices(manifest_json([])) == []
    many = [{"name": f"n{i}", "type": "NET_BASIC"} for i in range(63)]
    assert len(load_devices(manifest_json(many))) == 63
    assert load_devices(manifest_json([{"name": "a" * 67, "type": "BLOCK_BASIC"}]))


@pytest.mark.parametrize(("document", "message"), [
    (b"not json", "not valid JSON"),
    (b"[]", "must be a JSON object"),
    (json.dumps({"type": "solo5.manifest", "version": 1}).encode(), "missing key(s) devices"),
    (json.dumps({"type": "solo5.manifest", "version": 1, "devices": [], "x": 1}).encode(),
     "unknown key(s) x"),
    (json.dumps({"type": "other", "version": 1, "devices": []}).encode(), "type must be"),
    (json.dumps({"type": "solo5.manifest", "version": 2, "devices": []}).encode(),
     "version must be 1"),
    (json.dumps({"type": "solo5.manifest", "version": True, "devices": []}).encode(),
     "version must be 1"),
    (json.dumps({"type": "solo5.manifest", "version": 1, "devices": {}}).encode(),
     "devices must be a list"),
    (manifest_json([{"name": "x"}]), "exactly name and type"),
    (manifest_json([{"name": "x", "type": "NET_BASIC", "mac": "1"}]), "exactly name and type"),
    (manifest_json([{"name": "", "type": "NET_BASIC"}]), "1-67 characters"),
    (manifest_json([{"name": "a" * 68, "type": "NET_BASIC"}]), "1-67 characters"),
    (manifest_json([{"name": "net-0", "type": "NET_BASIC"}]), "letters and digits"),
    (manifest_json([{"name": "nét", "type": "NET_BASIC"}]), "letters and digits"),
    (manifest_json([{"name": "x", "type": "VIRTIO_NET"}]), "NET_BASIC or BLOCK_BASIC"),
    (manifest_json([{"name": "x", "type": "NET_BASIC"}, {"name": "x", "type": "BLOCK_BASIC"}]),
     "duplicate device name"),
    (manifest_json([{"name": f"n{i}", "type": "NET_BASIC"} for i in range(64)]),
     "too many devices"),
])
def test_invalid_manifests_are_refused(document: bytes, message: str) -> None:
    with pytest.raises(ManifestError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_devices(document)


def test_non_string_name_is_refused() -> None:
    with pytest.raises(ManifestError, match="name must be a string"):
        load_devices(json.dumps({"type": "solo5.manifest", "version": 1,
                                 "devices": [{"name": 5, "type": "NET_BASIC"}]}).encode())


def test_note_layout_matches_the_reference() -> None:
    # Empty manifest: n_descsz 116, whole note 136 bytes (reference §2.4).
    empty = manifest_note([])
    assert len(empty) == 136
    assert struct.unpack_from("<III", empty) == (6, 116, 0x3154464D)
    assert empty[12:20] == b"Solo5\0\0\0"
    assert struct.unpack_from("<II", empty, 24) == (1, 1)
    assert struct.unpack_from("<I", empty, 32 + 68) == (1 << 30,)
    two = manifest_desc([Device("net0", "NET_BASIC"), Device("disk0", "BLOCK_BASIC")])
    assert len(two) == 8 + 3 * 104
    assert two[8 + 104:8 + 104 + 5] == b"net0\0"
    assert struct.unpack_from("<I", two, 8 + 104 + 68) == (2,)
    assert struct.unpack_from("<I", two, 8 + 208 + 68) == (1,)


@pytest.mark.slow  # runs the compiler
def test_generated_c_compiles_to_the_same_note(tmp_path: Path) -> None:
    devices = [Device("service", "NET_BASIC"), Device("storage", "BLOCK_BASIC")]
    (tmp_path / "main.c").write_text(
        "#include <solo5.h>\nint solo5_app_main(const struct solo5_start_info *si)"
        " { (void)si; return 0; }\n")
    image = run_plan(image_plan("spt", "m", ["main.c"], [], devices), tmp_path)
    data = image.read_bytes()
    note = manifest_note(devices)
    assert data.count(note) == 1
    assert list(inspect_file(image).devices) == devices
    assert b"MFT_DEV_NET_BASIC" in manifest_c_source(devices)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d[:7], "shorter than its 8-byte header"),
    (lambda d: struct.pack("<I", 2) + d[4:], "version 2"),
    (lambda d: d[:4] + struct.pack("<I", 65) + d[8:], "65 entries"),
    (lambda d: d[:4] + struct.pack("<I", 0) + d[8:], "0 entries"),
    (lambda d: d + bytes(104), "does not match"),
    (lambda d: d[:8] + b"x" + d[9:], "not the reserved entry"),
    (lambda d: d[:8 + 104 + 67] + b"y" + d[8 + 104 + 68:], "not NUL-terminated"),
    (lambda d: d[:8 + 104 + 96] + b"\x01" + d[8 + 104 + 97:], "attached is set"),
])
def test_binary_manifest_validation(mutate, message) -> None:  # type: ignore[no-untyped-def]
    desc = manifest_desc([Device("net0", "NET_BASIC")])
    assert parse_manifest_desc(desc) == [Device("net0", "NET_BASIC")]
    with pytest.raises(ManifestError, match=message):
        parse_manifest_desc(mutate(desc))
