"""ICMP (RFC 792) echo and rate-limited port unreachable; UDP (RFC 768)."""

from __future__ import annotations

from pathlib import Path

from tests.runtime.frames import (
    BROADCAST_MAC,
    IP_PEER,
    IP_US,
    MAC_PEER,
    MAC_US,
    PROTO_ICMP,
    PROTO_UDP,
    arp_frame,
    echo,
    fragments,
    icmp,
    ip_frame,
    ipv4,
    parse_ipv4,
    udp,
)
from tests.runtime.stack_harness import StepOutput, run_script

MS = 1_000_000
SETUP = ["create 020000000002 1500 1", "ipv4 10.0.0.2/24 10.0.0.1",
         "in " + arp_frame(1, BROADCAST_MAC, MAC_PEER, IP_PEER, b"\0" * 6, IP_US).hex()]


def run(harness: Path, commands: list[str]) -> list[StepOutput]:
    return run_script(harness, SETUP + commands)[len(SETUP):]


def frame_in(packet: bytes, dst_mac: bytes = MAC_US) -> str:
    return "in " + ip_frame(dst_mac, MAC_PEER, packet).hex()


def udp_in(dport: int, payload: bytes, dst: str = IP_US, **kw: bool) -> str:
    return frame_in(ipv4(IP_PEER, dst, PROTO_UDP, udp(IP_PEER, dst, 4000, dport, payload, **kw)))


def test_echo_reply_exact_frame(stack_harness: Path) -> None:
    request = ipv4(IP_PEER, IP_US, PROTO_ICMP, echo(8, 0xBEEF, 3, b"hello"), ident=1)
    (reply,) = run(stack_harness, [frame_in(request)])[0].frames()
    header, _payload = parse_ipv4(reply)
    expected = ipv4(IP_US, IP_PEER, PROTO_ICMP, echo(0, 0xBEEF, 3, b"hello"), ident=header.ident)
    assert reply == ip_frame(MAC_PEER, MAC_US, expected)


def test_echo_with_bad_checksum_or_to_broadcast_is_ignored(stack_harness: Path) -> None:
    bad = ipv4(IP_PEER, IP_US, PROTO_ICMP, icmp(8, 0, b"\0\1\0\1", b"x", good_checksum=False))
    to_bcast = ipv4(IP_PEER, "10.0.0.255", PROTO_ICMP, echo(8, 1, 1, b"x"))
    other_types = [ipv4(IP_PEER, IP_US, PROTO_ICMP, icmp(t, 0, b"\0" * 4, b"x"))
                   for t in (0, 13, 3)]
    truncated = ipv4(IP_PEER, IP_US, PROTO_ICMP, b"\x08\x00\xf7")
    steps = run(stack_harness, [frame_in(bad), frame_in(to_bcast, BROADCAST_MAC),
                                *[frame_in(p) for p in other_types], frame_in(truncated)])
    assert all(s.frames() == [] for s in steps)


def test_udp_delivery_to_a_bound_port(stack_harness: Path) -> None:
    steps = run(stack_harness, ["udp_bind 7000", udp_in(7000, b"data"),
                                udp_in(7000, b"nosum", with_checksum=False),
                                udp_in(7000, b"bad", corrupt=True),
                                udp_in(7000, b"bcast", dst="255.255.255.255"), "stats"])
    assert steps[0].values("bound") == [["7000"]]
    assert steps[1].values("udp") == [["7000", IP_PEER, "4000", b"data".hex()]]
    assert steps[2].values("udp") == [["7000", IP_PEER, "4000", b"nosum".hex()]]
    assert steps[3].values("udp") == [] and steps[3].frames() == []
    assert steps[4].values("udp") == [["7000", IP_PEER, "4000", b"bcast".hex()]]
    assert "rx_dropped=1" in steps[5].lines[0]


def test_udp_length_field_is_checked(stack_harness: Path) -> None:
    datagram = udp(IP_PEER, IP_US, 4000, 7000, b"abcdef")
    too_long = datagram[:4] + (len(datagram) + 1).to_bytes(2, "big") + datagram[6:]
    too_short = datagram[:4] + (7).to_bytes(2, "big") + datagram[6:]
    steps = run(stack_harness, ["udp_bind 7000",
                                frame_in(ipv4(IP_PEER, IP_US, PROTO_UDP, too_long)),
                                frame_in(ipv4(IP_PEER, IP_US, PROTO_UDP, too_short))])
    assert steps[1].lines == [] and steps[2].lines == []


def test_udp_send_exact_frame(stack_harness: Path) -> None:
    steps = run(stack_harness, ["udp_bind 5353", f"udp_send 5353 {IP_PEER} 53 {b'query'.hex()}"])
    (frame,) = steps[1].frames()
    header, _ = parse_ipv4(frame)
    expected = ipv4(IP_US, IP_PEER, PROTO_UDP, udp(IP_US, IP_PEER, 5353, 53, b"query"),
                    ident=header.ident)
    assert frame == ip_frame(MAC_PEER, MAC_US, expected)


def test_ephemeral_ports_and_port_reuse(stack_harness: Path) -> None:
    steps = run(stack_harness, ["udp_bind 0", "udp_bind 0", "udp_bind 9", "udp_bind 9",
                                "udp_close 9", "udp_bind 9"])
    ports = [int(s.values("bound")[0][0]) for s in steps[:2]]
    assert all(49152 <= p <= 65535 for p in ports) and ports[0] != ports[1]
    assert steps[3].ret() == -1
    assert steps[5].values("bound") == [["9"]]


def test_closed_port_gets_port_unreachable(stack_harness: Path) -> None:
    datagram = ipv4(IP_PEER, IP_US, PROTO_UDP, udp(IP_PEER, IP_US, 4000, 9999, b"0123456789"),
                    ident=77)
    (frame,) = run(stack_harness, [frame_in(datagram)])[0].frames()
    header, payload = parse_ipv4(frame)
    # RFC 792: the original IP header plus the first 64 bits of its data.
    expected = icmp(3, 3, b"\0" * 4, datagram[:28])
    assert (header.proto, header.dst) == (PROTO_ICMP, IP_PEER)
    assert payload == expected


def test_port_unreachable_for_a_reassembled_datagram_quotes_the_first_fragment(
        stack_harness: Path) -> None:
    message = udp(IP_PEER, IP_US, 4000, 9999, b"r" * 2000)
    frags = fragments(IP_PEER, IP_US, PROTO_UDP, message, 1480, 55)
    steps = run(stack_harness, [frame_in(frags[1]), frame_in(frags[0])])
    (frame,) = steps[1].frames()
    _, payload = parse_ipv4(frame)
    assert payload == icmp(3, 3, b"\0" * 4, frags[0][:28])


def test_no_port_unreachable_for_broadcast(stack_harness: Path) -> None:
    steps = run(stack_harness, [udp_in(9999, b"x", dst="255.255.255.255"),
                                udp_in(9999, b"x", dst="10.0.0.255")])
    assert steps[0].frames() == [] and steps[1].frames() == []


def test_port_unreachable_is_rate_limited(stack_harness: Path) -> None:
    burst = [udp_in(9999, bytes([i])) for i in range(15)]
    steps = run(stack_harness, [*burst, "stats",
                                f"time {100 * MS}", udp_in(9999, b"a"), udp_in(9999, b"b"),
                                f"time {1100 * MS}", *burst, "stats"])
    sent = [len(s.frames()) for s in steps[:15]]
    assert sent == [1] * 10 + [0] * 5  # a burst of 10
    assert "icmp_rate_limited=5" in steps[15].lines[0]
    assert [len(s.frames()) for s in steps[17:19]] == [1, 0]  # one token per 100 ms
    later = [len(s.frames()) for s in steps[20:35]]
    assert later == [1] * 10 + [0] * 5  # refilled to the burst, no more
    assert "icmp_rate_limited=11" in steps[35].lines[0]


def test_teardown_frees_everything_in_flight(stack_harness: Path) -> None:
    """The harness runs under LeakSanitizer: destroying the stack with an ARP
    queue, a half-reassembled datagram, a DNS query, a DHCP client and bound
    sockets still alive must free every byte (run_script fails otherwise)."""
    half = ipv4(IP_PEER, IP_US, PROTO_ICMP, echo(8, 1, 1, b"h" * 2000)[:1480], ident=9,
                flags_frag=0x2000)
    steps = run(stack_harness, ["udp_bind 7000", "udp_bind 0", "ip_out 10.0.0.99 17 00",
                                frame_in(half), "dns_server 10.0.0.53", "dns_query example.org",
                                "dhcp_start", "l4 6", "timer_at 99", "destroy"])
    assert steps[2].frames()  # an ARP request: the datagram waits in the queue
    assert steps[3].frames() == []  # the fragment waits for the rest
