"""Builds the dns unikernel's host tool, fuzzers and images, and makes
zone archives (ustar, as the operator makes them with tar)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path

from solo5.recipe import Device, image_plan, load_devices, run_plan

ROOT = Path(__file__).resolve().parents[2]
DNS_DIR = ROOT / "unikernels" / "dns"
RUNTIME = ROOT / "runtime"
RUNTIME_DIRS = ("include", "libc", "loop", "net", "blk")
INCLUDE_DIRS = ["runtime/include", "runtime/libc/include", "runtime/net"]


def make(target: str, build_dir: Path) -> Path:
    """unikernels/dns/Makefile's target (host tool, fuzzers) in build_dir."""
    subprocess.run(["make", "-s", "-C", str(DNS_DIR), f"BUILD={build_dir}", target],
                   check=True, capture_output=True, text=True, timeout=900)
    return build_dir


def build_image(target: str, build_dir: Path) -> Path:
    """The dns image for target, built with the shared Solo5 recipe."""
    build_dir.mkdir(parents=True, exist_ok=True)
    sources: list[str] = []
    for folder in RUNTIME_DIRS:
        shutil.copytree(RUNTIME / folder, build_dir / "runtime" / folder, dirs_exist_ok=True)
        if folder != "include":
            sources += sorted(p.relative_to(build_dir).as_posix()
                              for p in (build_dir / "runtime" / folder).glob("*.c"))
    for path in sorted(DNS_DIR.glob("*.[ch]")):
        shutil.copy(path, build_dir / path.name)
        if path.suffix == ".c":
            sources.append(path.name)
    devices: list[Device] = load_devices((DNS_DIR / "manifest.json").read_bytes())
    return run_plan(image_plan(target, "dns", sources, INCLUDE_DIRS, devices), build_dir)


def zone_archive(zones: dict[str, str], path: Path) -> Path:
    """A ustar archive of zone files (name -> text), as `tar --format=ustar`."""
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, text in sorted(zones.items()):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            info.mtime = 1764028800
            tar.addfile(info, io.BytesIO(data))
    return path
