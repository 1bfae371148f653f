"""Mutated images against both tenders: refuse cleanly or run, never crash or hang.

Thousands of mutants of the hello image (bytes flipped or overwritten in
the ELF header, the program headers, the Solo5 notes and the manifest;
files truncated) go to build/solo5/solo5-hvt and solo5-spt. Each run must
end by itself (no timeout), not by a signal, and either start the guest
(whatever the guest then does) or refuse with exactly one line on stderr
and a non-zero status. The mutants come from a
fixed seed, so a failure names a reproducible case.
"""

from __future__ import annotations

import random
import signal
import struct
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from solo5.recipe import Device, image_plan, load_devices, run_plan

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "solo5"
MUTANTS_PER_TENDER = 2000
RUN_TIMEOUT = 5.0
SEED = 20261125
BANNER = b"Solo5: unirepo bindings"
# An spt guest runs inside the tender process, so a guest that faults (a
# mutated entry point or segment) ends the process with the fault signal,
# as upstream spt does (solo5.md §1.4). hvt guests fault inside the VM and
# must never take the tender down: no signal is acceptable there.
GUEST_FAULT_SIGNALS: dict[str, frozenset[int]] = {
    "spt": frozenset({signal.SIGSEGV, signal.SIGBUS, signal.SIGILL, signal.SIGFPE}),
}

# ELF64 (System V gABI, "ELF Header" and "Program Header"): offsets used here.
EHDR_SIZE = 64
PT_LOAD = 1
PT_NOTE = 4
NOTE_ABI = 0x31494241
NOTE_MANIFEST = 0x3154464D


@dataclass(frozen=True)
class Mutant:
    label: str
    data: bytes


def regions(image: bytes) -> dict[str, tuple[int, int]]:
    """Byte ranges of the parts of an image the tenders parse."""
    phoff, = struct.unpack_from("<Q", image, 32)
    phentsize, phnum = struct.unpack_from("<HH", image, 54)
    found = {"ehdr": (0, EHDR_SIZE), "phdrs": (phoff, phoff + phentsize * phnum)}
    for i in range(phnum):
        p_type, _flags, p_offset = struct.unpack_from("<IIQ", image, phoff + i * phentsize)
        p_filesz, = struct.unpack_from("<Q", image, phoff + i * phentsize + 32)
        if p_type != PT_NOTE or p_filesz < 20:
            continue
        n_type, = struct.unpack_from("<I", image, p_offset + 8)
        if n_type == NOTE_ABI:
            found["abi_note"] = (p_offset, p_offset + p_filesz)
        elif n_type == NOTE_MANIFEST:
            found["manifest_note"] = (p_offset, p_offset + 24)
            found["manifest"] = (p_offset + 24, p_offset + p_filesz)
    return found


INTERESTING_U32 = (0, 1, 0x7F, 0x80, 0xFF, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF)
INTERESTING_U64 = (0, 1, 0xFFF, 0x100000, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF,
                   0xFFFFFFFFFFFFF000, 1 << 32, 1 << 40)


def mutate(image: bytes, areas: dict[str, tuple[int, int]], rng: random.Random) -> Mutant:
    """One mutant: a few byte/field changes inside one parsed area, or a truncation."""
    if rng.random() < 0.08:
        # Truncate, mostly just inside one of the parsed areas.
        start, end = areas[rng.choice(sorted(areas))]
        anywhere = rng.random() < 0.5
        cut = rng.randrange(0, end + 1) if anywhere else rng.randrange(start, end + 1)
        return Mutant(f"truncate@{cut}", image[:cut])
    name = rng.choice(sorted(areas))
    start, end = areas[name]
    data = bytearray(image)
    changes = []
    for _ in range(rng.choice((1, 1, 2, 3))):
        how = rng.random()
        if how < 0.4 or end - start < 8:
            at = rng.randrange(start, end)
            data[at] = rng.randrange(256)
            changes.append(f"b{at}")
        elif how < 0.7:
            at = start + rng.randrange(0, (end - start - 4) // 4 + 1) * 4
            struct.pack_into("<I", data, at, rng.choice(INTERESTING_U32))
            changes.append(f"u32@{at}")
        elif how < 0.9:
            at = start + rng.randrange(0, (end - start - 8) // 8 + 1) * 8
            struct.pack_into("<Q", data, at, rng.choice(INTERESTING_U64))
            changes.append(f"u64@{at}")
        else:
            at = rng.randrange(start, end)
            data[at] ^= 1 << rng.randrange(8)
            changes.append(f"bit{at}")
    return Mutant(f"{name}:{','.join(changes)}", bytes(data))


def mutants(image: bytes, count: int, seed: int) -> Iterator[Mutant]:
    rng = random.Random(seed)
    areas = regions(image)
    for _ in range(count):
        yield mutate(image, areas, rng)


def build_hello(target: str, directory: Path, devices: list[Device] | None = None) -> bytes:
    source_dir = REPO / "unikernels" / "hello"
    for source in source_dir.glob("*.c"):
        (directory / source.name).write_bytes(source.read_bytes())
    if devices is None:
        devices = load_devices((source_dir / "manifest.json").read_bytes())
    sources = sorted(p.name for p in source_dir.glob("*.c"))
    plan = image_plan(target, "hello", sources, [], devices)
    return run_plan(plan, directory).read_bytes()


def verdict(target: str, result: subprocess.CompletedProcess[bytes] | None) -> str | None:
    """None if the run was acceptable, else what was wrong.

    The tender reports each of its own errors as one stderr line and exit
    status 1 (unattached devices: a line each, then a summary line). A
    guest that started may end any other way it likes with a silent
    stderr: a mutated program header can drop its strings (even the
    banner) or move its code.
    """
    if result is None:
        return "hung (timeout)"
    if result.returncode < 0 and -result.returncode not in GUEST_FAULT_SIGNALS.get(target, ()):
        return f"killed by signal {-result.returncode}"
    lines = result.stderr.decode(errors="replace").strip().splitlines()
    if len(lines) > 1 and not unattached_report(lines):
        return f"exit {result.returncode} with {len(lines)} stderr lines: {lines[:3]!r}"
    if result.returncode == 0 and lines:
        return f"exit 0 with an error: {lines[0]!r}"
    if result.returncode == 1 and not lines and BANNER not in result.stdout:
        return "exit 1 without saying why"
    return None


def unattached_report(lines: list[str]) -> bool:
    """The one multi-line refusal: one line per unattached device, then a summary."""
    return (lines[-1].endswith("All declared devices must be attached. See '--help' for syntax.")
            and all("declared but not attached." in line for line in lines[:-1]))


def run_one(tender: Path, path: Path) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run([str(tender), "--mem=8", str(path)], capture_output=True,
                              timeout=RUN_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return None


def test_mutation_regions_cover_parsed_parts(hello_images: dict[str, bytes]) -> None:
    for name, entries in (("hvt", 1), ("spt-devices", 3)):
        areas = regions(hello_images[name])
        assert set(areas) == {"ehdr", "phdrs", "abi_note", "manifest_note", "manifest"}
        start, end = areas["manifest"]
        assert end - start == 8 + 104 * entries  # header + entries incl. reserved 0


# A second image with a longer manifest, so mutations reach real entries.
DEVICES = [Device("service", "NET_BASIC"), Device("storage", "BLOCK_BASIC")]


@pytest.fixture(scope="module")
def hello_images(solo5_tenders: dict[str, Path]) -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as tmp:
        images = {}
        for target in solo5_tenders:
            for suffix, devices in (("", None), ("-devices", DEVICES)):
                directory = Path(tmp) / f"{target}{suffix}"
                directory.mkdir()
                images[f"{target}{suffix}"] = build_hello(target, directory, devices)
        return images


@pytest.fixture(scope="module")
def solo5_tenders() -> dict[str, Path]:
    subprocess.run(["make", "-s", "-C", str(REPO / "solo5")], check=True,
                   capture_output=True)
    return {target: BUILD / f"solo5-{target}" for target in ("hvt", "spt")}


@pytest.mark.kvm
@pytest.mark.slow
@pytest.mark.parametrize("target", ["hvt", "spt"])
def test_mutated_images_never_crash_or_hang(target: str, solo5_tenders: dict[str, Path],
                                            hello_images: dict[str, bytes],
                                            tmp_path: Path) -> None:
    tender = solo5_tenders[target]
    cases = [*mutants(hello_images[target], MUTANTS_PER_TENDER // 2, SEED),
             *mutants(hello_images[f"{target}-devices"], MUTANTS_PER_TENDER // 2, SEED + 1)]
    paths = []
    for i, mutant in enumerate(cases):
        path = tmp_path / f"m{i}.{target}"
        path.write_bytes(mutant.data)
        paths.append(path)
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda p: run_one(tender, p), paths))
    failures = [f"{c.label}: {v}" for c, r in zip(cases, results, strict=True)
                if (v := verdict(target, r)) is not None]
    refused = sum(1 for r in results if r is not None and r.returncode not in (0, 255))
    assert not failures, f"{len(failures)} bad runs: {failures[:20]}"
    # The mutants must mostly be refused, or they did not exercise the checks.
    assert refused > len(cases) // 2


@pytest.mark.kvm
@pytest.mark.parametrize(("image_target", "tender_target"), [("hvt", "spt"), ("spt", "hvt")])
def test_wrong_target_refused(image_target: str, tender_target: str,
                              solo5_tenders: dict[str, Path],
                              hello_images: dict[str, bytes], tmp_path: Path) -> None:
    path = tmp_path / f"hello.{image_target}"
    path.write_bytes(hello_images[image_target])
    result = run_one(solo5_tenders[tender_target], path)
    assert result is not None and result.returncode == 1
    lines = result.stderr.decode().strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"solo5-{tender_target}: ")
    assert lines[0].endswith(f"Executable is not for the solo5-{tender_target} target")
