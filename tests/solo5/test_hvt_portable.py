"""Our hvt images on an upstream tender (issue 17.4): `solo5-hvt
--no-extensions` offers exactly upstream's hvt ABI, so the bindings stay in
ring 0 as they would under upstream's solo5-hvt. Each published hvt image
that needs no network is built as the builder builds it and must end the
same way (exit status and last console line) in both modes.

Where the host's KVM emulates ring 0 instead of running it (kvm-pvm, this
machine: docs/hvt.md "User mode"), ring-0 SSE cannot run at all ("KVM
internal error"). There, an image whose code contains SSE instructions is
skipped with that reason, and one whose code has none must still run."""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from builder.plan import compile_inputs, load_index, prefix_map_flags, resolve
from solo5.recipe import Device, image_plan, run_plan
from solo5.tenders import tender_path
from tests.solo5.support import REPO
from tests.support.netns import tap_namespace

pytestmark = pytest.mark.kvm

# Published hvt unikernels without a NET device, and the arguments they need.
IMAGES = {
    "hello": (), "test_abort": (), "test_block": (), "test_hostleak": (),
    "test_hvt_bounds": ("ok",), "test_ssp": (), "test_time": (), "unrepro_date": (),
    "unrepro_path": (),
}
SSE_PROBE = """#include <solo5.h>
int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    __asm__ __volatile__("pxor %%xmm0, %%xmm0" ::: "xmm0");
    return 0;
}
"""


def build_published(name: str, build_dir: Path) -> Path:
    """The package's hvt image with the builder's inputs and flags, outside the sandbox."""
    index = load_index(REPO / "packages")
    (manifest,) = [m for (n, _), m in index.items() if n == name]
    deps = resolve(manifest, index)
    for item in (*deps, manifest):
        for source in item.sources:
            (build_dir / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / source, build_dir / source)
    sources, include_dirs = compile_inputs(manifest, deps)
    devices = [Device(d.name, d.kind) for d in manifest.devices]
    plan = image_plan("hvt", name, sources, include_dirs, devices,
                      extra_cflags=prefix_map_flags(str(build_dir)))
    return run_plan(plan, build_dir)


GUEST_IP = "10.77.0.2"
# Published hvt unikernels with a NET device that end by themselves once
# pinged (test_net) or once done (test_badargs), and ping, which runs until
# stopped: (arguments, console text once it serves, echo requests sent).
NET_IMAGES: dict[str, tuple[tuple[str, ...], str, int]] = {
    "test_net": ((GUEST_IP, "3"), "serving ARP and ICMP echo", 3),
    "test_badargs": ((), "", 0),
    "ping": ((f"--ipv4={GUEST_IP}/24",), f"ping: ready {GUEST_IP}/24", 3),
}


def run(image: Path, *options: str, args: tuple[str, ...] = (),
        disk: Path | None = None) -> subprocess.CompletedProcess[str]:
    block = [f"--block:storage={disk}"] if disk is not None else []
    return subprocess.run([str(tender_path("hvt")), "--mem=32", *options, *block, str(image),
                           "--solo5:info", *args], capture_output=True, text=True,
                          timeout=300, check=False)


def has_sse(image: Path) -> bool:
    text = subprocess.run(["objdump", "-d", str(image)], capture_output=True, text=True,
                          check=True).stdout
    return "%xmm" in text or "%ymm" in text


@pytest.fixture(scope="module")
def ring0_sse_runs(tmp_path_factory: pytest.TempPathFactory) -> bool:
    """Whether this host executes SSE in guest ring 0 (hardware KVM does)."""
    root = tmp_path_factory.mktemp("sse-probe")
    (root / "probe.c").write_text(SSE_PROBE)
    image = run_plan(image_plan("hvt", "probe", ["probe.c"], [], []), root)
    result = run(image, "--no-extensions")
    if result.returncode == 0:
        return True
    assert "KVM internal error" in result.stderr, result.stdout + result.stderr
    return False


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_published_image_behaves_the_same_in_upstream_mode(name: str, ring0_sse_runs: bool,
                                                           tmp_path: Path) -> None:
    image = build_published(name, tmp_path / "build")
    disk = None
    if name == "test_block":
        disk = tmp_path / "disk.img"
        disk.write_bytes(bytes(64 * 1024))
    ours = run(image, args=IMAGES[name], disk=disk)
    upstream = run(image, "--no-extensions", args=IMAGES[name], disk=disk)
    if not ring0_sse_runs and "KVM internal error" in upstream.stderr:
        assert has_sse(image), "an image without SSE must run in ring 0 on any KVM"
        pytest.skip(f"{name} uses SSE, which this host's KVM cannot run in guest ring 0")
    assert upstream.returncode == ours.returncode, upstream.stdout + upstream.stderr
    assert upstream.stdout.splitlines()[-1] == ours.stdout.splitlines()[-1]
    assert "Solo5: unirepo bindings" in upstream.stdout


def run_on_tap(image: Path, *options: str, args: tuple[str, ...], ready: str, pings: int,
               disk: Path | None) -> tuple[str, str, int | None, int]:
    """(console, stderr, exit status or None if still running, echo replies)."""
    block = [f"--block:storage={disk}"] if disk is not None else []
    with tap_namespace() as ns:
        argv = [str(tender_path("hvt")), "--mem=32", *options, f"--net:service={ns.tap}",
                *block, str(image), "--solo5:info", *args]
        guest = subprocess.Popen(ns.command(argv), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE)
        try:
            received = 0
            seen = b""
            deadline = time.monotonic() + 60
            assert guest.stdout is not None
            while ready and ready.encode() not in seen and time.monotonic() < deadline:
                if select.select([guest.stdout], [], [], 0.2)[0]:
                    chunk = os.read(guest.stdout.fileno(), 4096)
                    if not chunk:
                        break
                    seen += chunk
            if pings and ready.encode() in seen:
                ping = ns.run(["ping", "-c", str(pings), "-i", "0.3", "-W", "3", GUEST_IP],
                              check=False, timeout=60)
                received = int(ping.stdout.split(" received")[0].rsplit(" ", 1)[1]) \
                    if " received" in ping.stdout else 0
            try:
                raw_out, raw_err = guest.communicate(timeout=60 if name_ends(image) else 3)
                status: int | None = guest.returncode
            except subprocess.TimeoutExpired:
                guest.kill()
                raw_out, raw_err = guest.communicate()
                status = None
        finally:
            if guest.poll() is None:
                guest.kill()
                guest.wait()
    return (seen + raw_out).decode(errors="replace"), raw_err.decode(errors="replace"), status, \
        received


def name_ends(image: Path) -> bool:
    """Whether the image exits by itself (everything but the ping service)."""
    return image.stem != "ping"


@pytest.mark.netadmin
@pytest.mark.parametrize("name", sorted(NET_IMAGES))
def test_published_net_image_behaves_the_same_in_upstream_mode(name: str, ring0_sse_runs: bool,
                                                               tmp_path: Path) -> None:
    image = build_published(name, tmp_path / "build")
    args, ready, pings = NET_IMAGES[name]
    disk = None
    if name == "test_badargs":
        disk = tmp_path / "disk.img"
        disk.write_bytes(bytes(8192))
    ours = run_on_tap(image, args=args, ready=ready, pings=pings, disk=disk)
    upstream = run_on_tap(image, "--no-extensions", args=args, ready=ready, pings=pings,
                          disk=disk)
    if not ring0_sse_runs and "KVM internal error" in upstream[1]:
        assert has_sse(image), "an image without SSE must run in ring 0 on any KVM"
        pytest.skip(f"{name} uses SSE, which this host's KVM cannot run in guest ring 0")
    assert ours[2:] == upstream[2:], (ours, upstream)  # exit status, echo replies
    assert ours[3] == pings
    assert "Solo5: unirepo bindings" in upstream[0]
