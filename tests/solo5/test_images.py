"""Every unikernel builds for hvt and spt; `repo-tool image inspect` reads them."""

from __future__ import annotations

import hashlib
import json
import random
import struct
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from repo_tool.cli import cli
from solo5.errors import Solo5Error
from solo5.image import ImageError, inspect_file, parse_image
from solo5.recipe import TARGETS
from tests.solo5.support import TEST_UNIKERNELS, unikernel_devices

Images = dict[tuple[str, str], Path]


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("name", TEST_UNIKERNELS)
def test_image_notes_and_layout(images: Images, name: str, target: str) -> None:
    image = images[(name, target)]
    info = inspect_file(image)
    assert info.target == target
    assert info.abi_version == (1 if target in ("virtio", "xen") else 2)  # upstream's (§2.5)
    assert list(info.devices) == unikernel_devices(name)
    assert info.sha256 == hashlib.sha256(image.read_bytes()).hexdigest()
    assert info.segments[0].vaddr == 0x100000
    assert all(s.vaddr % 0x1000 == 0 for s in info.segments)
    assert not any("W" in s.flags and "X" in s.flags for s in info.segments)
    text = info.segments[0].flags
    assert text == ("--X" if target == "hvt" else "R-X")


def test_program_headers_follow_the_reference(images: Images) -> None:
    """PT_INTERP first, then one PT_NOTE per note: OpenBSD, ABI1, MFT1 (§2.6-2.7), and NVH1,
    the offload request (docs/net-offload.md), 0 in an image whose code reads raw frames."""
    data = images[("hello", "spt")].read_bytes()
    phoff, = struct.unpack_from("<Q", data, 32)
    phnum, = struct.unpack_from("<H", data, 56)
    headers = [struct.unpack_from("<IIQQQQQQ", data, phoff + i * 56) for i in range(phnum)]
    assert headers[0][0] == 3  # PT_INTERP
    interp = data[headers[0][2]:headers[0][2] + headers[0][5]]
    assert interp == b"/nonexistent/solo5/".ljust(24, b"\0")
    notes = [h for h in headers if h[0] == 4]
    assert len(notes) == 4
    first = [data[h[2]:h[2] + 20] for h in notes]
    assert first[0][12:20] == b"OpenBSD\0" and struct.unpack_from("<III", first[0]) == (8, 4, 1)
    assert struct.unpack_from("<III", first[1]) == (6, 16, 0x31494241)
    abi = data[notes[1][2] + 20:notes[1][2] + 36]
    assert abi == struct.pack("<IIII", 2, 2, 0, 0)
    assert struct.unpack_from("<I", first[2], 8) == (0x3154464D,)
    assert struct.unpack_from("<III", first[3]) == (6, 20, 0x3148564E)
    assert data[notes[3][2] + 24:notes[3][2] + 40] == bytes(16)


def test_inspect_cli_text_and_json(images: Images) -> None:
    image = images[("test_badargs", "hvt")]
    runner = CliRunner()
    text = runner.invoke(cli, ["image", "inspect", str(image)])
    assert text.exit_code == 0, text.output
    assert "target:      hvt" in text.output
    assert "service" in text.output and "BLOCK_BASIC" in text.output
    as_json = runner.invoke(cli, ["image", "inspect", "--json", str(image)])
    doc = json.loads(as_json.output)
    assert doc["target"] == "hvt" and doc["abi_version"] == 2
    assert doc["devices"] == [{"name": "service", "type": "NET_BASIC"},
                              {"name": "storage", "type": "BLOCK_BASIC"}]
    assert doc["sha256"] == hashlib.sha256(image.read_bytes()).hexdigest()
    assert sum(s["memsz"] for s in doc["segments"]) > 0


@pytest.mark.slow  # starts the installed repo-tool
def test_inspect_refuses_non_images(tmp_path: Path) -> None:
    with pytest.raises(ImageError, match="not an ELF file"):
        parse_image(b"\0" * 100)
    with pytest.raises(ImageError, match="static executable"):
        parse_image(Path(sys.executable).read_bytes())
    bad = tmp_path / "bad.spt"
    bad.write_bytes(b"\x7fELF")
    result = subprocess.run([str(Path(sys.executable).parent / "repo-tool"), "image",
                             "inspect", str(bad)], capture_output=True, text=True, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"error: {bad}: file is too short to be an ELF executable"]


def test_inspect_parser_only_raises_image_errors(images: Images) -> None:
    """Mutated images give an ImageError/ManifestError or a result, never a crash."""
    rng = random.Random(2)
    seeds = [images[("test_badargs", "spt")].read_bytes(), images[("hello", "hvt")].read_bytes()]
    outcomes = {"parsed": 0, "refused": 0}
    for round_ in range(3000):
        data = bytearray(seeds[round_ % 2])
        for _ in range(rng.randint(1, 8)):
            # Mostly the headers and notes, where the parser looks.
            spot = rng.randrange(0, 1024) if rng.random() < 0.5 else rng.randrange(0x2000,
                                                                                  0x3400)
            if spot < len(data):
                data[spot] = rng.randrange(256)
        if rng.random() < 0.1:
            data = data[:rng.randrange(len(data))]
        try:
            parse_image(bytes(data))
            outcomes["parsed"] += 1
        except Solo5Error:
            outcomes["refused"] += 1
    assert outcomes["parsed"] > 0 and outcomes["refused"] > 0
