"""`repo-tool image inspect` and `repo-tool run`: Solo5 images for operators."""

from __future__ import annotations

import json
import sys
import time

import click

from solo5.image import inspect_file
from solo5.launcher import run_image


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, target = value.partition("=")
        if not sep or not name or not target:
            raise click.BadParameter(f"{value!r} must be NAME=VALUE", param_hint=option)
        if name in pairs:
            raise click.BadParameter(f"device {name!r} given twice", param_hint=option)
        pairs[name] = target
    return pairs


def _sector_sizes(values: tuple[str, ...]) -> dict[str, int]:
    sizes: dict[str, int] = {}
    for name, size in _pairs(values, "--block-sector-size").items():
        if not size.isdecimal():
            raise click.BadParameter(f"{name}={size}: N must be a number of bytes, e.g. 4096",
                                     param_hint="--block-sector-size")
        sizes[name] = int(size)
    return sizes


class GuestArgsCommand(click.Command):
    """A command whose arguments after the first `--` belong to the guest.

    They are set aside before click parses the rest, so a mistyped option
    of ours (`--memm 64`) is a usage error, never a guest argument.
    """

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            at = args.index("--")
            ctx.meta["guest_args"] = tuple(args[at + 1:])
            args = args[:at]
        else:
            ctx.meta["guest_args"] = ()
        return super().parse_args(ctx, args)

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [*super().collect_usage_pieces(ctx), "[-- ARGS...]"]


def register(group: click.Group) -> None:
    @group.group("image")
    def image() -> None:
        """Look inside Solo5 unikernel images."""

    @image.command("inspect")
    @click.argument("file", type=click.Path(dir_okay=False))
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
    def inspect(file: str, as_json: bool) -> None:
        """Show FILE's target, ABI version, devices, segments and sha256."""
        info = inspect_file(file)
        if as_json:
            click.echo(json.dumps(info.to_json(), indent=2, sort_keys=True))
            return
        click.echo(f"target:      {info.target}")
        click.echo(f"abi version: {info.abi_version}")
        click.echo(f"sha256:      {info.sha256}")
        click.echo(f"size:        {info.size} bytes")
        click.echo(f"entry:       {info.entry:#x}")
        if info.pvh_entry is not None:
            click.echo(f"pvh entry:   {info.pvh_entry:#x} (xen is build-only here: booting "
                       "needs a Xen hypervisor)")
        if info.devices:
            click.echo("devices:")
            for device in info.devices:
                click.echo(f"  {device.name:<20} {device.kind}")
        else:
            click.echo("devices:     none")
        click.echo("segments:")
        for segment in info.segments:
            click.echo(f"  {segment.vaddr:#010x} {segment.flags} memsz {segment.memsz:>9}"
                       f" filesz {segment.filesz:>9}")

    @group.command("run", cls=GuestArgsCommand)
    @click.argument("image_file", metavar="IMAGE", type=click.Path(dir_okay=False,
                                                                   exists=True))
    @click.option("--mem", type=click.IntRange(min=1), default=None, metavar="MB",
                  help="Guest memory in MiB (tender default: 512).")
    @click.option("--net", "nets", multiple=True, metavar="NAME=TAP",
                  help="Attach TAP interface TAP as the image's NET_BASIC device NAME.")
    @click.option("--block", "blocks", multiple=True, metavar="NAME=FILE",
                  help="Attach FILE as the image's BLOCK_BASIC device NAME.")
    @click.option("--net-mac", "net_macs", multiple=True, metavar="NAME=MAC",
                  help="hvt/spt: MAC address of net device NAME, xx:xx:xx:xx:xx:xx "
                       "(default: random, locally administered).")
    @click.option("--block-sector-size", "sector_sizes", multiple=True, metavar="NAME=N",
                  help="hvt/spt: block size of block device NAME, a power of two from 512 "
                       "(default) to 32768; FILE's size must be a multiple.")
    @click.option("--accel", type=click.Choice(["kvm", "tcg"]), default=None,
                  help="virtio images only: QEMU accelerator (default: kvm if /dev/kvm "
                       "is usable, else tcg).")
    @click.option("--json", "as_json", is_flag=True,
                  help="The guest's console goes to stderr; stdout gets one JSON object "
                       "when it exits: image, target, sha256, exit_status, seconds.")
    @click.pass_context
    def run(ctx: click.Context, image_file: str, mem: int | None, nets: tuple[str, ...],
            blocks: tuple[str, ...], net_macs: tuple[str, ...], sector_sizes: tuple[str, ...],
            accel: str | None, as_json: bool) -> None:
        """Boot IMAGE on the Solo5 tender its ABI note names (hvt or spt), or
        under QEMU (virtio).

        Every device the image declares must be given. Only the arguments
        after `--` go to the unikernel. The exit status is the guest's;
        Ctrl-C stops the guest and exits 130.
        """
        sys.stdout.flush()
        info = inspect_file(image_file) if as_json else None
        started = time.monotonic()
        # Ctrl-C reaches the tender and us together; whichever notices first, the top-level
        # group turns the KeyboardInterrupt into the one line `interrupted` and exit 130.
        status = run_image(image_file, mem_mb=mem, nets=_pairs(nets, "--net"),
                           blocks=_pairs(blocks, "--block"), args=ctx.meta["guest_args"],
                           accel=accel, net_macs=_pairs(net_macs, "--net-mac"),
                           block_sector_sizes=_sector_sizes(sector_sizes),
                           stdout=sys.stderr.buffer if as_json else None)
        if info is not None:
            click.echo(json.dumps({
                "image": image_file, "target": info.target, "sha256": info.sha256,
                "exit_status": status, "seconds": round(time.monotonic() - started, 3),
            }, sort_keys=True))
        sys.exit(status)
