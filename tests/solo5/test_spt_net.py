"""spt guests on a real TAP device in a network namespace made by the test."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from solo5.launcher import tender_command
from tests.support.netns import tap_namespace

Images = dict[tuple[str, str], Path]
GUEST_IP = "10.77.0.2"
PINGS = 5


@pytest.mark.netadmin
def test_guest_answers_arp_and_ping(images: Images) -> None:
    with tap_namespace() as ns:
        argv = tender_command(images[("test_net", "spt")], nets={"service": ns.tap},
                              args=[GUEST_IP, str(PINGS)])
        guest = subprocess.Popen(ns.command(argv), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
        try:
            ping = ns.run(["ping", "-c", str(PINGS), "-i", "0.2", "-W", "2", GUEST_IP],
                          check=False, timeout=30)
            out, err = guest.communicate(timeout=30)
        finally:
            if guest.poll() is None:
                guest.kill()
                guest.wait()
        assert f"{PINGS} packets transmitted, {PINGS} received" in ping.stdout, ping.stdout
        assert len(re.findall(rf"bytes from {GUEST_IP}: icmp_seq=\d+ ttl=64", ping.stdout)) \
            == PINGS
        # Linux could only send the echo requests after the guest answered its ARP.
        assert guest.returncode == 0, out + err
        mac = re.search(r"mac: ((?:[0-9a-f]{2}:){5}[0-9a-f]{2})", out)
        assert mac is not None, out
        assert int(mac.group(1)[:2], 16) & 0x03 == 0x02  # locally administered unicast
        assert f"answered: {PINGS}\nSUCCESS" in out
        assert "mtu: 1500" in out


@pytest.mark.netadmin
def test_bad_arguments_are_refused_on_every_call(images: Images, tmp_path: Path) -> None:
    disk = tmp_path / "disk.img"
    disk.write_bytes(bytes(8192))
    with tap_namespace() as ns:
        argv = tender_command(images[("test_badargs", "spt")], nets={"service": ns.tap},
                              blocks={"storage": str(disk)})
        result = ns.run(argv, check=False, timeout=30)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "UNEXPECTED" not in result.stdout
    assert result.stdout.count(": refused") >= 80
    for pointer in ("NULL", "low", "boot area", "straddling end", "far"):
        assert f"{pointer} pointer:\n  net_acquire name: refused" in result.stdout
    assert "block_read still works: ok\nSUCCESS" in result.stdout
    assert disk.read_bytes() == bytes(8192)  # no bad write reached the file
