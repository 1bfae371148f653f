"""The tcp-echo unikernel on spt and hvt, on a tap in a namespace made by
the test, with Linux as the peer: 100 MB through one connection with an
integrity check, 100 parallel connections, connection churn, transfers
over a lossy link (iptables drops 3% of the TCP segments each way), a
jumbo-frame tap whose MTU sets the MSS — and
every connection freed inside the unikernel afterwards (its console reports
the engine's live-connection count)."""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

import pytest

from solo5.launcher import tender_command
from tests.runtime.unikernel import Guest, booted, build_unikernel
from tests.support.netns import TapNamespace, tap_namespace

GUEST_IP = "10.77.0.2"
CLIENT = Path(__file__).with_name("tcp_echo_client.py")
TARGETS = [pytest.param("spt", marks=pytest.mark.netadmin),
           pytest.param("hvt", marks=[pytest.mark.netadmin, pytest.mark.kvm])]


@pytest.fixture(scope="module")
def echo_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tcp-echo-images")
    return {target: build_unikernel("tcp-echo", target, root / target, with_tcp=True)
            for target in ("spt", "hvt")}


def client(ns: TapNamespace, *args: str, timeout: float = 280) -> dict[str, object]:
    result = ns.run([sys.executable, str(CLIENT), args[0], GUEST_IP, *args[1:]], check=False,
                    timeout=timeout)
    assert result.returncode == 0, result.stdout + result.stderr
    data: dict[str, object] = json.loads(result.stdout)
    return data


def assert_all_freed(guest: Guest, accepted: int) -> None:
    line = f"tcp-echo: live 0 accepted {accepted} "
    assert guest.wait_for(line, timeout=10), guest.text()[-2000:]


@pytest.mark.parametrize("target", TARGETS)
def test_100_megabytes_echoed_intact(target: str, echo_images: dict[str, Path]) -> None:
    with tap_namespace() as ns, booted(echo_images[target], ns, [f"--ipv4={GUEST_IP}/24"],
                                       f"tcp-echo: ready {GUEST_IP}/24 port 7") as guest:
        result = client(ns, "bulk", "7", str(100_000_000))
        assert result["intact"] is True and result["bytes"] == 100_000_000
        assert_all_freed(guest, 1)


@pytest.mark.parametrize("target", TARGETS)
def test_parallel_connections_and_churn(target: str, echo_images: dict[str, Path]) -> None:
    with tap_namespace() as ns, booted(echo_images[target], ns,
                                       [f"--ipv4={GUEST_IP}/24", "--port=9000"],
                                       "port 9000") as guest:
        result = client(ns, "parallel", "9000", "100", "100000")
        assert result["intact"] is True and result["connections"] == 100
        assert_all_freed(guest, 100)
        result = client(ns, "churn", "9000", "300", "1000")
        assert result["intact"] is True and result["connections"] == 300
        assert_all_freed(guest, 400)
        # a closed port is refused with RST by the stack
        refused = ns.run([sys.executable, "-c",
                          "import socket\ntry:\n"
                          f"    socket.create_connection(('{GUEST_IP}', 9001), timeout=5)\n"
                          "except ConnectionRefusedError:\n    print('refused')"],
                         check=False, timeout=30)
        assert refused.stdout.strip() == "refused"


@pytest.mark.parametrize("target", TARGETS)
def test_discard_and_source_services(target: str, echo_images: dict[str, Path]) -> None:
    args = [f"--ipv4={GUEST_IP}/24", "--discard-port=9", "--source-port=19"]
    with tap_namespace() as ns, booted(echo_images[target], ns, args, "port 7") as guest:
        sunk = client(ns, "discard", "9", str(20_000_000))
        assert sunk["intact"] is True and sunk["bytes"] == 20_000_000
        got = client(ns, "source", "19", str(20_000_000))
        assert got["intact"] is True and got["bytes"] == 20_000_000
        # the client closed with data in flight: the source connection is
        # reset and freed too
        assert_all_freed(guest, 2)


@pytest.mark.parametrize("target", TARGETS)
def test_jumbo_frame_tap_gives_the_mtu_s_mss(target: str, echo_images: dict[str, Path]) -> None:
    # The MSS comes from the tap's MTU (9000 - 40), so a bulk transfer moves
    # 8,960 bytes per frame; Linux's TCP_MAXSEG shows what the SYN-ACK offered.
    probe = ("import socket\n"
             f"s = socket.create_connection(('{GUEST_IP}', 7), timeout=10)\n"
             "print(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG))\n")
    with tap_namespace(mtu=9000) as ns, booted(echo_images[target], ns,
                                               [f"--ipv4={GUEST_IP}/24"], "port 7") as guest:
        mss = ns.run([sys.executable, "-c", probe], timeout=30)
        assert mss.stdout.strip() == "8960"
        result = client(ns, "bulk", "7", str(10_000_000))
        assert result["intact"] is True and result["bytes"] == 10_000_000
        assert_all_freed(guest, 2)


@pytest.mark.parametrize("target", TARGETS)
def test_lossy_link_recovers(target: str, echo_images: dict[str, Path]) -> None:
    iptables = shutil.which("iptables-legacy")
    assert iptables, "iptables (Makefile DEB_PACKAGES) provides iptables-legacy"
    with tap_namespace() as ns, booted(echo_images[target], ns, [f"--ipv4={GUEST_IP}/24"],
                                       "port 7") as guest:
        for chain in ("INPUT", "OUTPUT"):   # unikernel -> Linux, Linux -> unikernel
            ns.run([iptables, "-A", chain, "-p", "tcp", "-m", "statistic", "--mode", "random",
                    "--probability", "0.03", "-j", "DROP"])
        result = client(ns, "bulk", "7", str(2_000_000), timeout=120)
        assert result["intact"] is True
        result = client(ns, "parallel", "7", "20", "50000", timeout=120)
        assert result["intact"] is True and result["connections"] == 20
        assert_all_freed(guest, 21)
        dropped = ns.run([iptables, "-L", "-v", "-n", "-x"]).stdout
        counts = re.findall(r"^\s+(\d+)\s+\d+\s+DROP", dropped, re.M)
        assert len(counts) == 2 and all(int(n) > 0 for n in counts), dropped
        retransmits = re.findall(r"retransmits (\d+)", guest.text())
        assert retransmits and int(retransmits[-1]) > 0   # the stack did recover losses


@pytest.mark.parametrize("target", [pytest.param("spt", marks=pytest.mark.netadmin)])
def test_bad_port_argument(target: str, echo_images: dict[str, Path]) -> None:
    with tap_namespace() as ns:
        argv = tender_command(echo_images[target], nets={"service": ns.tap},
                              args=[f"--ipv4={GUEST_IP}/24", "--port=70000"])
        result = ns.run(argv, check=False, timeout=30)
    assert result.returncode == 1
    assert "tcp-echo: --port must be a number from 1 to 65535" in result.stdout
