"""virtio-net under QEMU on a TAP in a namespace made by the test, with TCG
and with KVM: the Solo5 test responder, the ping unikernel and tcp-echo on
the runtime's network stack, with Linux as the peer."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from tests.support.netns import TapNamespace, tap_namespace
from tests.virtio.support import ACCELS, GUEST_IP, booted, run_qemu

pytestmark = [pytest.mark.slow, pytest.mark.netadmin]

CLIENT = Path(__file__).parents[1] / "runtime" / "tcp_echo_client.py"


def ping(ns: TapNamespace, address: str, count: int, size: int = 56) -> str:
    result = ns.run(["ping", "-c", str(count), "-i", "0.2", "-W", "3", "-s", str(size), address],
                    check=False, timeout=60)
    return result.stdout


@pytest.mark.parametrize("accel", ACCELS)
def test_responder_answers_arp_and_ping(virtio_images: dict[str, Path], accel: str) -> None:
    with tap_namespace() as ns, booted(virtio_images["test_net"], accel, ns, [GUEST_IP, "5"],
                                       "serving ARP and ICMP echo") as guest:
        # Linux sends the echo requests only after the guest answered its ARP.
        out = ping(ns, GUEST_IP, 5)
        assert "5 packets transmitted, 5 received" in out, out
        assert guest.wait_for("answered: 5\nSUCCESS", 30), guest.text()
        mac = re.search(r"mac: ((?:[0-9a-f]{2}:){5}[0-9a-f]{2})", guest.text())
        assert mac is not None and int(mac.group(1)[:2], 16) & 0x03 == 0x02
        assert "mtu: 1500" in guest.text()


@pytest.mark.parametrize("accel", ACCELS)
def test_bad_arguments_are_refused_with_both_devices(virtio_images: dict[str, Path],
                                                     accel: str, tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(8192))
    with tap_namespace() as ns:
        done = run_qemu(virtio_images["test_badargs"], accel, nets={"service": ns.tap},
                        blocks={"storage": str(disk)}, wrap=ns.command([]))
    assert done.status == 0, done.console + done.stderr
    assert "UNEXPECTED" not in done.console
    assert done.console.count(": refused") >= 80
    assert "block_read still works: ok\nSUCCESS" in done.console
    assert disk.read_bytes() == bytes(8192)


@pytest.mark.parametrize("accel", ACCELS)
def test_ping_unikernel_answers_plain_and_fragmented_echo(virtio_images: dict[str, Path],
                                                          accel: str) -> None:
    with tap_namespace() as ns, booted(virtio_images["ping"], accel, ns,
                                       [f"--ipv4={GUEST_IP}/24"], f"ping: ready {GUEST_IP}/24"):
        out = ping(ns, GUEST_IP, 5)
        assert "5 packets transmitted, 5 received" in out, out
        assert len(re.findall(rf"64 bytes from {GUEST_IP}: icmp_seq=\d+ ttl=64", out)) == 5
        out = ping(ns, GUEST_IP, 2, 4000)  # fragmented both ways
        assert "2 packets transmitted, 2 received" in out, out
        assert f"4008 bytes from {GUEST_IP}" in out


@pytest.mark.parametrize("accel", ACCELS)
def test_tcp_echo_bulk_and_parallel(virtio_images: dict[str, Path], accel: str) -> None:
    with tap_namespace() as ns, booted(virtio_images["tcp-echo"], accel, ns,
                                       [f"--ipv4={GUEST_IP}/24"],
                                       f"tcp-echo: ready {GUEST_IP}/24 port 7") as guest:
        for args in (["bulk", "7", "4000000"], ["parallel", "7", "10", "100000"]):
            result = ns.run([sys.executable, str(CLIENT), args[0], GUEST_IP, *args[1:]],
                            check=False, timeout=280)
            assert result.returncode == 0, result.stdout + result.stderr
            data = json.loads(result.stdout)
            assert data["intact"] is True, data
        assert guest.wait_for("tcp-echo: live 0 accepted 11 ", 10), guest.text()[-2000:]
