"""Boot-to-exit wall time of hello on hvt (32 and 512 MiB), spt and virtio (QEMU KVM and
TCG), plus image sizes.

Usage: .venv/bin/python bench/boot.py [--runs N] [--output bench/results/boot.md]

Builds hello for both targets with solo5.recipe, builds the tenders with
`make -C solo5`, then times N runs of each configuration (start of the
tender process to its exit, as seen by the parent) and reports medians
next to upstream Solo5's figures from the reference (upstream is not
installable here, so its numbers are quoted, not re-measured).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from solo5.qemu import qemu_command  # noqa: E402
from solo5.recipe import image_plan, load_devices, run_plan  # noqa: E402

BUILD = REPO / "build" / "solo5"

# Upstream Solo5 figures: the guide for this machine class (hvt
# 512 MiB, spt) and solo5.md §7.3 (hvt 32 MiB, sizes).
UPSTREAM_MS: dict[str, float] = {"hvt 32 MiB": 4.0, "hvt 512 MiB": 21.0, "spt": 2.0}
UPSTREAM_STRIPPED: dict[str, int] = {"hello.hvt": 34_064, "hello.spt": 21_496,
                                     "hello.virtio": 79_120,
                                     "solo5-hvt": 48 * 1024, "solo5-spt": 40 * 1024}


@dataclass(frozen=True)
class Config:
    label: str
    argv: tuple[str, ...]
    exit_status: int = 0  # QEMU ends with (0 << 1) | 1 when a virtio guest exits 0


@dataclass(frozen=True)
class Timing:
    label: str
    median_ms: float
    min_ms: float
    max_ms: float
    runs: int


def build_hello(target: str, directory: Path) -> Path:
    source_dir = REPO / "unikernels" / "hello"
    sources = sorted(p.name for p in source_dir.glob("*.c"))
    for name in sources:
        (directory / name).write_bytes((source_dir / name).read_bytes())
    devices = load_devices((source_dir / "manifest.json").read_bytes())
    return run_plan(image_plan(target, "hello", sources, [], devices), directory)


def time_rounds(configs: Sequence[Config], runs: int) -> list[Timing]:
    """Time every configuration `runs` times, interleaved round by round so
    that load from other processes on the machine hits all of them alike."""
    samples: dict[str, list[float]] = {config.label: [] for config in configs}
    for _ in range(runs):
        for config in configs:
            start = time.perf_counter()
            result = subprocess.run(config.argv, capture_output=True, check=False)
            samples[config.label].append((time.perf_counter() - start) * 1000)
            if result.returncode != config.exit_status:
                raise SystemExit(f"{config.label}: exit {result.returncode}: "
                                 f"{result.stderr.decode(errors='replace').strip()}")
    return [Timing(label, statistics.median(values), min(values), max(values), runs)
            for label, values in samples.items()]


def stripped_size(path: Path, directory: Path) -> int:
    out = directory / f"{path.name}.stripped"
    subprocess.run(["strip", "-o", str(out), str(path)], check=True)
    return out.stat().st_size


def render(command: str, timings: Sequence[Timing], sizes: dict[str, tuple[int, int]],
           host: str, load: tuple[str, str]) -> str:
    lines = [
        "# Boot benchmark: hello, boot to exit",
        "",
        f"Command: `{command}`",
        "",
        f"Host: {host}.",
        "",
        "Each run is a fresh tender process, timed by the parent from spawn to exit",
        "(includes fork/exec); configurations are interleaved round by round;",
        "`--solo5:quiet` keeps the console short. The machine is shared with other",
        f"work (load average {load[0]} before, {load[1]} after on 2 CPUs), so min",
        "shows the undisturbed cost better than the median does.",
        "",
        "| configuration | median (ms) | min | max | runs | upstream (ms) "
        "| median / upstream | min / upstream |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t in timings:
        upstream = UPSTREAM_MS.get(t.label)
        ratios = (f"{t.median_ms / upstream:.2f} | {t.min_ms / upstream:.2f}" if upstream
                  else "n/a | n/a")
        lines.append(f"| {t.label} | {t.median_ms:.2f} | {t.min_ms:.2f} | {t.max_ms:.2f} | "
                     f"{t.runs} | {upstream if upstream else 'n/a'} | {ratios} |")
    lines += [
        "",
        "| binary | unstripped (B) | stripped (B) | upstream stripped (B) | ratio |",
        "|---|---|---|---|---|",
    ]
    for name, (full, stripped) in sizes.items():
        up = UPSTREAM_STRIPPED.get(name)
        ratio = f"{stripped / up:.2f}" if up else "n/a"
        lines.append(f"| {name} | {full} | {stripped} | {up if up else 'n/a'} | {ratio} |")
    lines += [
        "",
        "Upstream figures are quoted, not re-measured (upstream Solo5 is not",
        "installable here): hvt 512 MiB 21 ms and spt 2 ms are the issue's guide for",
        "this machine class; hvt 32 MiB 4.0 ms, hello sizes and tender sizes",
        "(48 KB / 40 KB, dynamically linked) are from solo5.md §7.3.",
        "",
        "This host's /dev/kvm is kvm-pvm, which runs ring-0 guest code through",
        "KVM's instruction emulator (about 1-2 us per instruction) and ring-3 code",
        "natively; our bindings switch to ring 3 early (docs/hvt.md, \"User mode\").",
        "virtio runs are a whole qemu-system-x86_64 process (firmware qboot, -kernel",
        "Multiboot load, PCI probe, 10 ms TSC calibration against the PIT): QEMU's",
        "own start-up dominates; see docs/solo5.md \"The virtio target\". Upstream's",
        "virtio boot time is not published; its stripped hello size is from §7.3.",
        "hvt boot time is VM creation and teardown plus the few emulated ring-0",
        "instructions. The tender's own work does not grow with guest memory (it",
        "writes only the page-table entries it needs into MAP_NORESERVE memory);",
        "what grows is KVM_SET_USER_MEMORY_REGION, where this shadow-paging KVM",
        "allocates per-page metadata for the slot (strace: ~0.06-0.1 ms at 32 MiB,",
        "0.4-3 ms at 512 MiB).",
        "",
    ]
    return "\n".join(lines)


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as out:
        out.write(text)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


def load_now() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def host_description() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    return f"{model}, {os.cpu_count()} CPUs, Linux {os.uname().release}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=60, help="runs per configuration (>= 20)")
    parser.add_argument("--output", type=Path, default=REPO / "bench" / "results" / "boot.md")
    args = parser.parse_args(argv)
    if args.runs < 20:
        parser.error("--runs must be at least 20")

    subprocess.run(["make", "-s", "-C", str(REPO / "solo5")], check=True)
    load_before = load_now()
    with tempfile.TemporaryDirectory() as tmp:
        images = {}
        for target in ("hvt", "spt", "virtio"):
            directory = Path(tmp) / target
            directory.mkdir()
            images[target] = build_hello(target, directory)
        hvt, spt = str(BUILD / "solo5-hvt"), str(BUILD / "solo5-spt")
        configs = [
            Config("hvt 32 MiB", (hvt, "--mem=32", str(images["hvt"]), "--solo5:quiet")),
            Config("hvt 512 MiB", (hvt, "--mem=512", str(images["hvt"]), "--solo5:quiet")),
            Config("spt", (spt, str(images["spt"]), "--solo5:quiet")),
            *(Config(f"virtio QEMU {accel} 128 MiB",
                     tuple(qemu_command(images["virtio"], accel=accel, args=["--solo5:quiet"],
                                        status_path=Path(tmp) / f"status-{accel}")),
                     exit_status=1)
              for accel in ("kvm", "tcg")),
            Config("/bin/true (floor)", ("/bin/true",)),
        ]
        for config in configs:  # warm caches once
            subprocess.run(config.argv, capture_output=True, check=False)
        timings = time_rounds(configs, args.runs)
        sizes = {}
        for target, image in images.items():
            sizes[f"hello.{target}"] = (image.stat().st_size, stripped_size(image, Path(tmp)))
        for tender in ("solo5-hvt", "solo5-spt"):
            path = BUILD / tender
            sizes[tender] = (path.stat().st_size, stripped_size(path, Path(tmp)))

    command = f".venv/bin/python bench/boot.py --runs {args.runs}"
    report = render(command, timings, sizes, host_description(), (load_before, load_now()))
    write_atomic(args.output, report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
