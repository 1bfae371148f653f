"""The virtio-net header offload on a real tap (docs/net-offload.md), on
spt and hvt: an image without the request (test_net, upstream-style raw
frames) gets a tap with no offloads, even right after an offload image left
TSO on; tcp-echo, whose runtime asks for it, gets TSO/checksum offload and
moves bulk TCP both ways through the kernel's segmentation and merging with
a Linux peer; `solo5-hvt --no-extensions` (upstream's behaviour) grants
none. (A malformed header cannot come from a Linux peer: the
stack's check is tested in test_stack_vnet.py and fuzzed by fuzz_vnet.)"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from solo5.launcher import tender_command
from solo5.tenders import tender_path
from tests.runtime.unikernel import Guest, booted, build_unikernel
from tests.solo5.support import build_unikernel as build_test_unikernel
from tests.support.netns import TapNamespace, tap_namespace

GUEST_IP = "10.77.0.2"
CLIENT = Path(__file__).with_name("tcp_echo_client.py")
SIZE = 20_000_000
ECHO_ARGS = [f"--ipv4={GUEST_IP}/24", "--discard-port=9", "--source-port=19"]
READY = "tcp-echo: ready"
# ETHTOOL_GTSO through SIOCETHTOOL (include/uapi/linux/ethtool.h, sockios.h),
# run inside the namespace: 1 if the tap takes TCP segmentation offload.
TSO_PROBE = """
import array, fcntl, socket, struct, sys
value = array.array("B", struct.pack("II", 0x1e, 0))
ifr = struct.pack("16sP16x", sys.argv[1].encode(), value.buffer_info()[0])  # struct ifreq
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
fcntl.ioctl(sock.fileno(), 0x8946, ifr)
print(struct.unpack("II", value.tobytes())[1])
"""


@pytest.fixture(scope="module")
def offload_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("offload-images")
    images = {}
    for target in ("spt", "hvt"):
        images[f"echo-{target}"] = build_unikernel("tcp-echo", target, root / f"echo-{target}",
                                                   with_tcp=True)
        images[f"raw-{target}"] = build_test_unikernel("test_net", target, root / f"raw-{target}")
    return images


def tap_tso(ns: TapNamespace) -> int:
    return int(ns.run([sys.executable, "-c", TSO_PROBE, ns.tap]).stdout)


def tap_packets(ns: TapNamespace, direction: str) -> int:
    """Packets the host side of the tap counted (rx: from the guest)."""
    path = f"/sys/class/net/{ns.tap}/statistics/{direction}_packets"
    return int(ns.run(["cat", path]).stdout)


def client(ns: TapNamespace, mode: str, port: int, size: int) -> dict[str, object]:
    result = ns.run([sys.executable, str(CLIENT), mode, GUEST_IP, str(port), str(size)],
                    check=False, timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    assert data["intact"] is True and data["bytes"] == size, data
    return data


def raw_guest_answers_pings(ns: TapNamespace, image: Path) -> None:
    argv = tender_command(image, nets={"service": ns.tap}, args=[GUEST_IP, "3"])
    guest = subprocess.Popen(ns.command(argv), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    try:
        probe = tap_tso(ns)
        ping = ns.run(["ping", "-c", "3", "-i", "0.2", "-W", "2", GUEST_IP], check=False,
                      timeout=30)
        out, _ = guest.communicate(timeout=30)
    finally:
        if guest.poll() is None:
            guest.kill()
            guest.wait()
    assert probe == 0, "an image without the request must get a tap without offloads"
    assert "3 packets transmitted, 3 received" in ping.stdout, ping.stdout
    assert guest.returncode == 0 and "SUCCESS" in out, out


TARGETS = [pytest.param("spt", marks=pytest.mark.netadmin),
           pytest.param("hvt", marks=[pytest.mark.netadmin, pytest.mark.kvm])]


@pytest.mark.parametrize("target", TARGETS)
def test_upstream_style_image_gets_a_plain_tap_even_after_an_offload_guest(
        target: str, offload_images: dict[str, Path]) -> None:
    with tap_namespace() as ns:
        raw_guest_answers_pings(ns, offload_images[f"raw-{target}"])
        with booted(offload_images[f"echo-{target}"], ns, ECHO_ARGS, READY):
            assert tap_tso(ns) == 1
        assert tap_tso(ns) == 1      # the kernel keeps the tap's features after close
        raw_guest_answers_pings(ns, offload_images[f"raw-{target}"])


@pytest.mark.parametrize("target", TARGETS)
def test_bulk_both_ways_crosses_the_tap_in_large_segments(
        target: str, offload_images: dict[str, Path]) -> None:
    with tap_namespace() as ns, booted(offload_images[f"echo-{target}"], ns, ECHO_ARGS, READY):
        assert tap_tso(ns) == 1
        one_mss_frames = SIZE // 1460
        before = tap_packets(ns, "tx")
        client(ns, "discard", 9, SIZE)                    # Linux -> guest
        to_guest = tap_packets(ns, "tx") - before
        before = tap_packets(ns, "rx")
        client(ns, "source", 19, SIZE)                    # guest -> Linux
        from_guest = tap_packets(ns, "rx") - before
        client(ns, "bulk", 7, SIZE)                       # both at once, echoed intact
    # Frames of one MSS would be >= 13,698 per direction; super-segments
    # carry several MSSs per tap read or write.
    assert to_guest < one_mss_frames // 4, to_guest
    assert from_guest < one_mss_frames // 4, from_guest


@pytest.mark.netadmin
@pytest.mark.kvm
def test_hvt_no_extensions_grants_no_offload(offload_images: dict[str, Path]) -> None:
    # The tender configures the tap before the guest runs, so the tap's state
    # tells its decision even where this host's KVM cannot run the image in
    # upstream mode (SSE in ring 0: see tests/solo5/test_hvt_portable.py).
    with tap_namespace() as ns:
        with booted(offload_images["echo-hvt"], ns, ECHO_ARGS, READY):
            assert tap_tso(ns) == 1
        argv = [str(tender_path("hvt")), "--mem=64", "--no-extensions",
                f"--net:service={ns.tap}", str(offload_images["echo-hvt"]), *ECHO_ARGS]
        guest = Guest(subprocess.Popen(ns.command(argv), stdout=subprocess.PIPE,
                                       stderr=subprocess.STDOUT))
        try:
            guest.wait_for(READY, timeout=5)
        finally:
            guest.proc.kill()
            guest.proc.wait(timeout=10)
            if guest.proc.stdout is not None:
                guest.proc.stdout.close()
        assert "Solo5: unirepo bindings" in guest.text()
        assert tap_tso(ns) == 0
