"""The stack against dnsmasq as a real peer: DHCP lease, then A lookups
(plain, several addresses, through a CNAME, NXDOMAIN) with the DNS server
the lease named, renewal at T1 (dnsmasq's shortest lease, 2 minutes, so
about a minute in), then DHCPRELEASE. The stack runs in runtime/harness/
tap_peer.c on the namespace's tap, the same code the unikernels link."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.runtime.stack_harness import build
from tests.support.netns import tap_namespace


@pytest.fixture(scope="module")
def tap_peer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("tap-peer", tmp_path_factory.mktemp("tap-peer")) / "tap_peer"


@pytest.mark.netadmin
@pytest.mark.slow
def test_lease_lookups_renewal_release(tap_peer: Path, tmp_path: Path) -> None:
    with tap_namespace() as ns:
        server = subprocess.Popen(ns.command([
            "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--no-hosts", "--no-resolv",
            f"--interface={ns.tap}", "--bind-interfaces", "--log-dhcp", "--log-queries",
            "--local=/test/", "--address=/example.test/10.77.0.99",
            "--host-record=multi.test,10.77.0.97", "--host-record=multi.test,10.77.0.98",
            "--cname=alias.test,multi.test",
            "--dhcp-range=10.77.0.50,10.77.0.60,255.255.255.0,2m",
            f"--dhcp-option=option:dns-server,{ns.host_address}",
            f"--dhcp-leasefile={tmp_path / 'leases'}", f"--pid-file={tmp_path / 'pid'}",
            "--user=root", "--group=root"]), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            result = ns.run([str(tap_peer), ns.tap, "--dhcp", "--resolve", "example.test",
                             "--resolve", "multi.test", "--resolve", "alias.test",
                             "--resolve", "missing.test", "--wait-renewal", "1",
                             "--seconds", "90"], check=False, timeout=120)
        finally:
            server.terminate()
            log = server.communicate(timeout=10)[0].decode()
    assert result.returncode == 0, result.stdout + result.stderr + log
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ready 10.77.0.5") and lines[0].endswith(
        f"/24 dns {ns.host_address}"), lines
    # name -> (result code, addresses); dnsmasq may rotate the order of addresses.
    address = lines[0].split()[1].split("/")[0]
    assert lines[-1] == f"renewed {address}"
    answers = {words[1]: (int(words[2]), sorted(words[3:]))
               for words in (line.split() for line in lines[1:-1])}
    assert answers == {
        "example.test": (0, ["10.77.0.99"]),
        "multi.test": (0, ["10.77.0.97", "10.77.0.98"]),
        "alias.test": (0, ["10.77.0.97", "10.77.0.98"]),  # through the CNAME
        "missing.test": (-20, []),  # NET_DNS_ENXDOMAIN
    }
    for step in ("DHCPDISCOVER", "DHCPOFFER", "DHCPREQUEST", "DHCPACK", "DHCPRELEASE"):
        assert step in log, log
    # The renewal was a second REQUEST/ACK exchange, unicast to the server.
    assert log.count("DHCPREQUEST") == 2 and log.count("DHCPACK") == 2, log
