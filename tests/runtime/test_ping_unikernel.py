"""The ping unikernel on spt and hvt, on a tap in a namespace made by the
test, with Linux as the peer: ARP, echo (also needing fragmentation both
ways), static configuration and DHCP against dnsmasq."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from solo5.launcher import tender_command
from tests.runtime.unikernel import booted, build_unikernel
from tests.support.netns import TapNamespace, tap_namespace

GUEST_IP = "10.77.0.2"
TARGETS = [pytest.param("spt", marks=pytest.mark.netadmin),
           pytest.param("hvt", marks=[pytest.mark.netadmin, pytest.mark.kvm])]


@pytest.fixture(scope="module")
def ping_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("ping-images")
    return {target: build_unikernel("ping", target, root / target) for target in ("spt", "hvt")}


def ping(ns: TapNamespace, address: str, count: int, size: int = 56) -> str:
    result = ns.run(["ping", "-c", str(count), "-i", "0.2", "-W", "3", "-s", str(size), address],
                    check=False, timeout=60)
    return result.stdout


@pytest.mark.parametrize("target", TARGETS)
def test_static_address_answers_arp_and_ping(target: str, ping_images: dict[str, Path]) -> None:
    with tap_namespace() as ns, booted(ping_images[target], ns, [f"--ipv4={GUEST_IP}/24"],
                                       f"ping: ready {GUEST_IP}/24"):
        out = ping(ns, GUEST_IP, 5)
        assert "5 packets transmitted, 5 received" in out, out
        assert len(re.findall(rf"64 bytes from {GUEST_IP}: icmp_seq=\d+ ttl=64", out)) == 5
        neighbour = ns.run(["ip", "neigh", "show", GUEST_IP]).stdout
        assert "lladdr" in neighbour, neighbour
        # 4000 and 8000 bytes: fragmented by Linux, reassembled by the stack,
        # and the reply fragmented by the stack at its MTU.
        for size in (4000, 8000):
            out = ping(ns, GUEST_IP, 2, size)
            assert "2 packets transmitted, 2 received" in out, out
            assert f"{size + 8} bytes from {GUEST_IP}" in out


@pytest.mark.parametrize("target", [pytest.param("spt", marks=pytest.mark.netadmin)])
def test_flood_ping_loses_nothing(target: str, ping_images: dict[str, Path]) -> None:
    with tap_namespace() as ns, booted(ping_images[target], ns, [f"--ipv4={GUEST_IP}/24"],
                                       "ping: ready"):
        result = ns.run(["ping", "-f", "-c", "2000", "-w", "30", GUEST_IP], check=False,
                        timeout=60)
        assert "2000 packets transmitted, 2000 received, 0% packet loss" in result.stdout, \
            result.stdout


CLOSED_PORT_PROBE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(3)
s.connect((sys.argv[1], 9999))
s.send(b"anyone?")
try:
    s.recv(100)
    print("answered")
except ConnectionRefusedError:
    print("refused")
except TimeoutError:
    print("silence")
"""


@pytest.mark.parametrize("target", TARGETS)
def test_closed_udp_port_is_refused(target: str, ping_images: dict[str, Path]) -> None:
    # Linux turns the ICMP port unreachable into ECONNREFUSED on a connected socket.
    with tap_namespace() as ns, booted(ping_images[target], ns, [f"--ipv4={GUEST_IP}/24"],
                                       "ping: ready"):
        result = ns.run(["python3", "-c", CLOSED_PORT_PROBE, GUEST_IP], timeout=30)
        assert result.stdout.strip() == "refused", result.stdout + result.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_other_addresses_are_not_answered(target: str, ping_images: dict[str, Path]) -> None:
    with tap_namespace() as ns, booted(ping_images[target], ns, [f"--ipv4={GUEST_IP}/24"],
                                       "ping: ready"):
        out = ping(ns, "10.77.0.3", 2)
        assert "0 received" in out, out


@pytest.mark.parametrize("target", [pytest.param("spt", marks=pytest.mark.netadmin)])
def test_bad_boot_arguments_exit_with_a_message(target: str, ping_images: dict[str, Path]) -> None:
    with tap_namespace() as ns:
        argv = tender_command(ping_images[target], nets={"service": ns.tap},
                              args=["--ipv4=10.77.0.999/24"])
        result = ns.run(argv, check=False, timeout=30)
    assert result.returncode == 1
    assert "ping: --ipv4 address is not a dotted-quad unicast address" in result.stdout


@contextmanager
def dnsmasq(ns: TapNamespace, workdir: Path) -> Iterator[Path]:
    leases = workdir / "leases"
    leases.touch()
    proc = subprocess.Popen(ns.command([
        "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", "--no-hosts",
        "--no-resolv", f"--interface={ns.tap}", "--bind-interfaces", "--log-dhcp",
        "--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,10m", "--dhcp-authoritative",
        f"--dhcp-leasefile={leases}", f"--pid-file={workdir / 'dnsmasq.pid'}",
        "--user=root", "--group=root"]),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        yield leases
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.mark.parametrize("target", TARGETS)
def test_dhcp_lease_from_dnsmasq(target: str, ping_images: dict[str, Path],
                                 tmp_path: Path) -> None:
    with tap_namespace() as ns, dnsmasq(ns, tmp_path) as leases, \
            booted(ping_images[target], ns, ["--dhcp"], "ping: ready", timeout=40) as guest:
        assert guest.wait_for("/24\n", 5), guest.text()
        match = re.search(r"ping: ready (10\.77\.0\.(\d+))/24", guest.text())
        assert match and 50 <= int(match.group(2)) <= 60, guest.text()
        address = match.group(1)
        out = ping(ns, address, 3)
        assert "3 packets transmitted, 3 received" in out, out
        assert address in leases.read_text()  # dnsmasq recorded the lease it acknowledged
