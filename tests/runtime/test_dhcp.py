"""DHCP client (RFC 2131): the exchange, retransmission, renewal, rebinding,
expiry and NAK, at a virtual clock."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from tests.runtime.frames import (
    BROADCAST_MAC,
    MAC_GW,
    MAC_US,
    PROTO_UDP,
    arp_frame,
    ip,
    ip_frame,
    ipv4,
    parse_ipv4,
    udp,
)
from tests.runtime.stack_harness import StepOutput, run_script

SEC = 1_000_000_000
SERVER = "10.0.0.1"
OFFERED = "10.0.0.50"
MAGIC = bytes([99, 130, 83, 99])


@dataclass
class Dhcp:
    op: int
    xid: int
    flags: int
    ciaddr: str
    chaddr: bytes
    options: dict[int, bytes]
    ip_src: str
    ip_dst: str
    eth_dst: bytes
    length: int


def parse_dhcp(frame: bytes) -> Dhcp:
    header, datagram = parse_ipv4(frame)
    assert header.proto == PROTO_UDP
    sport, dport = struct.unpack("!HH", datagram[:4])
    assert (sport, dport) == (68, 67)
    msg = datagram[8:]
    assert msg[236:240] == MAGIC
    options: dict[int, bytes] = {}
    i = 240
    while msg[i] != 255:
        options[msg[i]] = msg[i + 2:i + 2 + msg[i + 1]]
        i += 2 + msg[i + 1]
    return Dhcp(op=msg[0], xid=struct.unpack("!I", msg[4:8])[0],
                flags=struct.unpack("!H", msg[10:12])[0], ciaddr=".".join(map(str, msg[12:16])),
                chaddr=msg[28:34], options=options, ip_src=header.src, ip_dst=header.dst,
                eth_dst=frame[:6], length=len(msg))


def reply(msg_type: int, xid: int, yiaddr: str = OFFERED, lease: int = 3600,
          extra: bytes = b"", server: str = SERVER) -> str:
    msg = bytearray(240)
    msg[0:4] = bytes([2, 1, 6, 0])
    msg[4:8] = struct.pack("!I", xid)
    msg[16:20] = ip(yiaddr)
    msg[28:34] = MAC_US
    msg[236:240] = MAGIC
    opts = bytes([53, 1, msg_type, 54, 4]) + ip(server)
    if msg_type != 6:
        opts += bytes([51, 4]) + struct.pack("!I", lease)
        opts += bytes([1, 4, 255, 255, 255, 0, 3, 4]) + ip(SERVER) + bytes([6, 4]) + ip("10.0.0.53")
    payload = bytes(msg) + opts + extra + bytes([255])
    packet = ipv4(server, "255.255.255.255", PROTO_UDP,
                  udp(server, "255.255.255.255", 67, 68, payload))
    return "in " + ip_frame(BROADCAST_MAC, MAC_GW, packet).hex()


def run(harness: Path, commands: list[str]) -> list[StepOutput]:
    return run_script(harness, ["create 020000000002 1500 7", *commands])[1:]


def deadline(step: StepOutput) -> int:
    (value,) = step.values("deadline")
    return int(value[0])


def test_discover_offer_request_ack(stack_harness: Path) -> None:
    steps = run(stack_harness, ["dhcp_start"])
    (frame,) = steps[0].frames()
    discover = parse_dhcp(frame)
    assert (discover.eth_dst, discover.ip_src, discover.ip_dst) == (
        BROADCAST_MAC, "0.0.0.0", "255.255.255.255")
    assert discover.op == 1 and discover.flags == 0x8000 and discover.chaddr == MAC_US
    assert discover.options[53] == b"\x01"
    assert discover.options[61] == b"\x01" + MAC_US
    assert set(discover.options[55]) >= {1, 3, 6, 51}
    assert discover.length == 300  # BOOTP minimum (RFC 1542 2.1)

    xid = discover.xid
    steps = run(stack_harness, ["dhcp_start", reply(2, xid), "time 5", reply(5, xid), "deadline",
                                "stats"])
    (frame,) = steps[1].frames()
    request = parse_dhcp(frame)
    assert request.xid == xid and request.options[53] == b"\x03"
    assert request.options[50] == ip(OFFERED) and request.options[54] == ip(SERVER)
    assert request.ciaddr == "0.0.0.0" and request.ip_dst == "255.255.255.255"
    assert steps[3].values("dhcp") == [
        ["bound", f"{OFFERED}/24", "gw", SERVER, "dns", "10.0.0.53", "lease", "3600"]]
    # Configuring the address announces it (gratuitous ARP).
    assert steps[3].frames() == [arp_frame(1, BROADCAST_MAC, MAC_US, OFFERED, b"\0" * 6, OFFERED)]
    assert deadline(steps[4]) == 1800 * SEC  # T1 = lease/2 from the request (sent at 0)


def xid_of(harness: Path) -> int:
    return parse_dhcp(run(harness, ["dhcp_start"])[0].frames()[0]).xid


def test_retransmission_backs_off_with_jitter(stack_harness: Path) -> None:
    commands = ["dhcp_start", "deadline"]
    steps = run(stack_harness, commands)
    first = deadline(steps[1])
    assert 3 * SEC <= first <= 5 * SEC  # 4 s +- 1 s (RFC 2131 4.1)
    steps = run(stack_harness, [*commands, f"time {first}", "poll", "deadline"])
    (again,) = steps[3].frames()
    assert parse_dhcp(again).options[53] == b"\x01"
    second = deadline(steps[4]) - first
    assert 7 * SEC <= second <= 9 * SEC  # doubled


def test_foreign_replies_are_ignored(stack_harness: Path) -> None:
    xid = xid_of(stack_harness)
    steps = run(stack_harness, ["dhcp_start", reply(2, xid ^ 1), reply(5, xid),
                                reply(2, xid, yiaddr="255.255.255.255")])
    assert all(s.frames() == [] and s.values("dhcp") == [] for s in steps[1:])
    # An ACK for another address, or from another server, than the offer.
    steps = run(stack_harness, ["dhcp_start", reply(2, xid), reply(5, xid, yiaddr="10.0.0.51"),
                                reply(5, xid, server="10.0.0.9"), reply(5, xid)])
    assert steps[2].values("dhcp") == [] and steps[3].values("dhcp") == []
    assert steps[4].values("dhcp")[0][0] == "bound"  # the real ACK still counts


def bound(harness: Path) -> tuple[int, list[str]]:
    xid = xid_of(harness)
    return xid, ["dhcp_start", reply(2, xid), reply(5, xid)]


def test_renewal_at_t1_is_unicast_and_extends_the_lease(stack_harness: Path) -> None:
    _, commands = bound(stack_harness)
    server_arp = arp_frame(2, MAC_US, MAC_GW, SERVER, MAC_US, OFFERED)
    steps = run(stack_harness, [*commands, f"time {1800 * SEC}", "poll", f"in {server_arp.hex()}"])
    assert steps[4].frames() == [arp_frame(1, BROADCAST_MAC, MAC_US, OFFERED, b"\0" * 6, SERVER)]
    (frame,) = steps[5].frames()
    renew = parse_dhcp(frame)
    assert frame[:6] == MAC_GW and renew.ip_dst == SERVER and renew.ip_src == OFFERED
    assert renew.ciaddr == OFFERED and renew.flags == 0
    assert 50 not in renew.options and 54 not in renew.options  # RFC 2131 4.3.2 RENEWING
    steps = run(stack_harness, [*commands, f"time {1800 * SEC}", "poll", f"in {server_arp.hex()}",
                                reply(5, renew.xid), f"time {1860 * SEC}", "poll", "deadline"])
    assert steps[6].values("dhcp") == [
        ["renewed", f"{OFFERED}/24", "gw", SERVER, "dns", "10.0.0.53", "lease", "3600"]]
    # After the server's ARP entry expires, the next timer is the new T1,
    # counted from the renewing request.
    assert deadline(steps[9]) == (1800 + 1800) * SEC


def test_rebinding_at_t2_then_expiry_restarts_discovery(stack_harness: Path) -> None:
    _, commands = bound(stack_harness)
    server_arp = arp_frame(2, MAC_US, MAC_GW, SERVER, MAC_US, OFFERED)
    steps = run(stack_harness, [*commands, f"time {1800 * SEC}", "poll", f"in {server_arp.hex()}",
                                "deadline", f"time {1860 * SEC}", "poll", "deadline",
                                f"time {3150 * SEC}", "poll", "deadline",
                                f"time {3600 * SEC}", "poll"])
    assert deadline(steps[6]) == 1860 * SEC  # the server's ARP entry expires first
    # RENEWING retries after half the time left until T2 (RFC 2131 4.4.5).
    assert deadline(steps[9]) == (1800 + 675) * SEC
    (frame,) = steps[11].frames()  # the server's silence: rebinding, broadcast
    rebind = parse_dhcp(frame)
    assert rebind.ip_dst == "255.255.255.255" and rebind.ciaddr == OFFERED
    assert deadline(steps[12]) == (3150 + 225) * SEC
    assert steps[14].values("dhcp") == [["lost"]]
    (discover,) = (parse_dhcp(f) for f in steps[14].frames())
    assert discover.options[53] == b"\x01" and discover.ip_src == "0.0.0.0"


def test_nak_restarts_discovery(stack_harness: Path) -> None:
    xid = xid_of(stack_harness)
    steps = run(stack_harness, ["dhcp_start", reply(2, xid), reply(6, xid)])
    (frame,) = steps[2].frames()
    discover = parse_dhcp(frame)
    assert discover.options[53] == b"\x01" and discover.xid != xid
    assert steps[2].values("dhcp") == []


def test_stop_releases_the_lease(stack_harness: Path) -> None:
    _, commands = bound(stack_harness)
    server_arp = arp_frame(1, BROADCAST_MAC, MAC_GW, SERVER, b"\0" * 6, OFFERED)
    steps = run(stack_harness, [*commands, f"in {server_arp.hex()}", "dhcp_stop", "deadline"])
    (frame,) = steps[4].frames()
    release = parse_dhcp(frame)
    assert release.options[53] == b"\x07" and release.ciaddr == OFFERED
    assert release.ip_dst == SERVER
    assert steps[5].values("deadline") == [["never"]]
