"""Start a Solo5 image on the tender its ABI note names.

The launcher only wires devices and returns the guest's exit status: it
reads the image's notes, refuses an image whose declared devices are not
all given (or given devices it does not declare), and runs the tender with
upstream's option syntax. The console streams to our stdout unless the
caller captures it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import IO

from solo5.errors import Solo5Error
from solo5.image import ImageInfo, inspect_file
from solo5.recipe import TARGETS
from solo5.tenders import tender_path

SUPPORTED_ABI_VERSION = 2
# The tenders need no environment variable; none is passed to them.
TENDER_ENVIRONMENT: dict[str, str] = {}


class LaunchError(Solo5Error):
    """The image cannot be started as asked."""


def check_devices(info: ImageInfo, nets: Mapping[str, str],
                  blocks: Mapping[str, str]) -> None:
    """Every declared device given with the right kind, and nothing else."""
    declared = {device.name: device.kind for device in info.devices}
    given = {**{name: "NET_BASIC" for name in nets}, **{name: "BLOCK_BASIC" for name in blocks}}
    for name in set(nets) & set(blocks):
        raise LaunchError(f"device {name!r} is given both as --net and as --block")
    for name, kind in sorted(given.items()):
        if name not in declared:
            raise LaunchError(f"device {name!r} is not declared in the image's manifest")
        if declared[name] != kind:
            raise LaunchError(f"device {name!r} is declared as {declared[name]}, not {kind}")
    missing = sorted(name for name in declared if name not in given)
    if missing:
        raise LaunchError("declared device(s) not attached: " + ", ".join(
            f"{name} ({declared[name]})" for name in missing))


def check_settings(nets: Mapping[str, str], blocks: Mapping[str, str],
                   net_macs: Mapping[str, str], block_sector_sizes: Mapping[str, int]) -> None:
    """A MAC or a sector size only for a device attached in the same run, with its kind.

    The values themselves are checked once, by the tender (upstream's rules).
    """
    for name in sorted(set(net_macs) - set(nets)):
        raise LaunchError(f"--net-mac {name}: no --net {name}=TAP given; a MAC is set on an "
                          "attached NET_BASIC device")
    for name in sorted(set(block_sector_sizes) - set(blocks)):
        raise LaunchError(f"--block-sector-size {name}: no --block {name}=FILE given; a sector "
                          "size is set on an attached BLOCK_BASIC device")


def tender_command(image: str | Path, *, mem_mb: int | None = None,
                   nets: Mapping[str, str] | None = None,
                   blocks: Mapping[str, str] | None = None,
                   args: Sequence[str] = (),
                   net_macs: Mapping[str, str] | None = None,
                   block_sector_sizes: Mapping[str, int] | None = None) -> list[str]:
    """The tender argv for this image (builds the tender if needed)."""
    nets = dict(nets or {})
    blocks = dict(blocks or {})
    net_macs = dict(net_macs or {})
    block_sector_sizes = dict(block_sector_sizes or {})
    info = inspect_file(image)
    if info.target == "virtio":
        raise LaunchError(f"{image}: virtio images run under QEMU (solo5.qemu), not a tender")
    if info.target == "xen":
        raise LaunchError(f"{image}: xen images are build-only here (booting needs a Xen "
                          "hypervisor)")
    if info.target not in TARGETS:
        raise LaunchError(f"{image}: target {info.target!r} has no tender here")
    if info.abi_version != SUPPORTED_ABI_VERSION:
        raise LaunchError(f"{image}: ABI version {info.abi_version} is not supported "
                          f"(expected {SUPPORTED_ABI_VERSION})")
    check_devices(info, nets, blocks)
    check_settings(nets, blocks, net_macs, block_sector_sizes)
    if mem_mb is not None and mem_mb < 1:
        raise LaunchError(f"--mem must be at least 1 MiB, got {mem_mb}")
    argv = [str(tender_path(info.target))]
    if mem_mb is not None:
        argv.append(f"--mem={mem_mb}")
    argv += [f"--net:{name}={tap}" for name, tap in sorted(nets.items())]
    argv += [f"--net-mac:{name}={mac}" for name, mac in sorted(net_macs.items())]
    argv += [f"--block:{name}={path}" for name, path in sorted(blocks.items())]
    argv += [f"--block-sector-size:{name}={size}"
             for name, size in sorted(block_sector_sizes.items())]
    # An absolute path cannot be mistaken for an option.
    argv += [str(Path(image).resolve()), *args]
    return argv


def run_image(image: str | Path, *, mem_mb: int | None = None,
              nets: Mapping[str, str] | None = None,
              blocks: Mapping[str, str] | None = None, args: Sequence[str] = (),
              stdout: IO[bytes] | None = None, timeout: float | None = None,
              accel: str | None = None, net_macs: Mapping[str, str] | None = None,
              block_sector_sizes: Mapping[str, int] | None = None) -> int:
    """Run the image to completion; return the guest's exit status.

    virtio images boot under QEMU (accel: "kvm" or "tcg"; default KVM when
    /dev/kvm is usable); hvt and spt images on their tender, which also take
    a device's MAC (net_macs) and block size (block_sector_sizes).
    """
    if inspect_file(image).target == "virtio":
        if net_macs or block_sector_sizes:
            raise LaunchError(f"{image}: --net-mac and --block-sector-size are tender options "
                              "(hvt, spt images); a virtio image's devices take neither here")
        from solo5.qemu import run_virtio  # solo5.qemu imports this module
        return run_virtio(image, accel=accel, mem_mb=mem_mb, nets=nets, blocks=blocks,
                          args=args, stdout=stdout, timeout=timeout)
    if accel is not None:
        raise LaunchError(f"{image}: --accel applies to virtio images only")
    argv = tender_command(image, mem_mb=mem_mb, nets=nets, blocks=blocks, args=args,
                          net_macs=net_macs, block_sector_sizes=block_sector_sizes)
    try:
        # An empty environment: on spt the guest shares the tender's address
        # space, so nothing of the operator's environment may be in it.
        completed = subprocess.run(argv, stdout=stdout, timeout=timeout, check=False,
                                   env=TENDER_ENVIRONMENT)
    except subprocess.TimeoutExpired:
        raise LaunchError(f"{image}: still running after {timeout} s; stopped") from None
    if completed.returncode < 0:
        raise LaunchError(f"{image}: tender killed by signal {-completed.returncode}")
    return completed.returncode
