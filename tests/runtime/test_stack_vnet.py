"""The virtio-net header extension in the stack (docs/net-offload.md): the
checked header on receive, checksums the device vouches for, TSO frames on
send. Frames are built in Python from virtio 1.2 section 5.1.6 and the
RFCs and compared byte for byte with what the C stack does."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.runtime.frames import (
    BROADCAST_MAC,
    IP_PEER,
    IP_US,
    MAC_PEER,
    MAC_US,
    PROTO_ICMP,
    PROTO_TCP,
    PROTO_UDP,
    arp_frame,
    checksum,
    echo,
    ip,
    ip_frame,
    ipv4,
    parse_ipv4,
    udp,
)
from tests.runtime.stack_harness import StepOutput, run_script

NEEDS_CSUM, DATA_VALID = 1, 2
GSO_NONE, GSO_TCPV4, GSO_TCPV6 = 0, 1, 4
ARP_IN = "in " + arp_frame(1, BROADCAST_MAC, MAC_PEER, IP_PEER, b"\0" * 6, IP_US).hex()


def setup(create: str = "create") -> list[str]:
    return [f"{create} 020000000002 1500 1", "ipv4 10.0.0.2/24 10.0.0.1", ARP_IN]


def run(harness: Path, commands: list[str], create: str = "create") -> list[StepOutput]:
    prefix = setup(create)
    return run_script(harness, prefix + commands)[len(prefix):]


def vnet(flags: int = 0, gso_type: int = GSO_NONE, hdr_len: int = 0, gso_size: int = 0,
         csum_start: int = 0, csum_offset: int = 0) -> bytes:
    """struct virtio_net_hdr, little-endian as a tap carries it."""
    return struct.pack("<BBHHHH", flags, gso_type, hdr_len, gso_size, csum_start, csum_offset)


def stats(step: StepOutput) -> dict[str, int]:
    (line,) = step.lines
    return {k: int(v) for k, v in (field.split("=") for field in line.split()[1:])}


def test_plain_header_frame_is_answered_like_a_bare_frame(stack_harness: Path) -> None:
    frame = ip_frame(MAC_US, MAC_PEER, ipv4(IP_PEER, IP_US, PROTO_ICMP, echo(8, 7, 1, b"vnet")))
    bare, with_header = run(stack_harness, ["in " + frame.hex(),
                                            "vnet_in " + (vnet() + frame).hex()])
    assert with_header.values("ret") == [["0"]]
    (reply,) = bare.frames()
    (reply_vnet,) = with_header.frames()
    assert parse_ipv4(reply)[1] == parse_ipv4(reply_vnet)[1] == echo(0, 7, 1, b"vnet")
    assert reply_vnet[:14] == reply[:14]


def test_malformed_headers_are_refused_and_counted(stack_harness: Path) -> None:
    frame = ip_frame(MAC_US, MAC_PEER, ipv4(IP_PEER, IP_US, PROTO_ICMP, echo(8, 7, 1, b"x")))
    bad = [
        vnet()[:9],                                          # shorter than the header
        vnet(flags=4) + frame,                               # RSC_INFO: not negotiated
        vnet(flags=NEEDS_CSUM | DATA_VALID) + frame,         # both: contradictory
        vnet(flags=NEEDS_CSUM, csum_start=len(frame) - 2, csum_offset=1) + frame,  # past end
        vnet(flags=NEEDS_CSUM, gso_type=GSO_TCPV6, gso_size=1460, csum_start=34,
             csum_offset=16) + frame,                        # TSO6: not negotiated
        vnet(gso_type=GSO_TCPV4, gso_size=1460) + frame,     # merged, checksum unknowable
        vnet(flags=DATA_VALID, gso_type=GSO_TCPV4, gso_size=0) + frame,  # no segment size
    ]
    steps = run(stack_harness, [f"vnet_in {b.hex()}" for b in bad] + ["stats"])
    for step in steps[:-1]:
        assert step.values("ret") == [["-1"]]
        assert step.frames() == []
    counters = stats(steps[-1])
    assert counters["rx_vnet_bad"] == len(bad)
    assert counters["rx_dropped"] == len(bad)


def test_checksum_field_edge_is_accepted(stack_harness: Path) -> None:
    # The checksum field may end exactly at the frame's end.
    frame = ip_frame(MAC_US, MAC_PEER, ipv4(IP_PEER, IP_US, PROTO_ICMP, echo(8, 7, 2, b"y")))
    header = vnet(flags=NEEDS_CSUM, csum_start=len(frame) - 2, csum_offset=0)
    (step,) = run(stack_harness, [f"vnet_in {(header + frame).hex()}"])
    assert step.values("ret") == [["0"]]
    assert len(step.frames()) == 1


def test_udp_checksum_is_skipped_only_when_the_device_vouches(stack_harness: Path) -> None:
    dgram = udp(IP_PEER, IP_US, 4000, 7, b"trusted", corrupt=True)
    frame = ip_frame(MAC_US, MAC_PEER, ipv4(IP_PEER, IP_US, PROTO_UDP, dgram))
    steps = run(stack_harness, [
        "udp_bind 7",
        "in " + frame.hex(),                                             # verified: dropped
        "vnet_in " + (vnet() + frame).hex(),                             # no flag: dropped
        "vnet_in " + (vnet(flags=DATA_VALID) + frame).hex(),             # checked by device
        "vnet_in " + (vnet(flags=NEEDS_CSUM, csum_start=34, csum_offset=6) + frame).hex(),
    ])
    assert steps[1].values("udp") == []
    assert steps[2].values("udp") == []
    want = [["7", IP_PEER, "4000", b"trusted".hex()]]
    assert steps[3].values("udp") == want
    assert steps[4].values("udp") == want


def test_merged_tcp_segment_larger_than_the_mtu_reaches_l4(stack_harness: Path) -> None:
    data = bytes(range(256)) * 40                                        # 10,240 bytes
    segment = struct.pack("!HHIIBBHHH", 5000, 80, 1, 0, 5 << 4, 0x10, 65535, 0, 0) + data
    frame = ip_frame(MAC_US, MAC_PEER, ipv4(IP_PEER, IP_US, PROTO_TCP, segment))
    header = vnet(flags=NEEDS_CSUM, gso_type=GSO_TCPV4, hdr_len=54, gso_size=1448,
                  csum_start=34, csum_offset=16)
    steps = run(stack_harness, ["l4 6", f"vnet_in {(header + frame).hex()}"])
    assert steps[1].values("ret") == [["0"]]
    assert steps[1].values("l4") == [["6", IP_PEER, IP_US, segment.hex()]]


def tso_frame(payload: bytes, ident: int) -> bytes:
    """The TSO frame the stack must build: our MAC to the peer's, IPv4
    without DF (the device numbers each piece's ID from this one)."""
    packet = ipv4(IP_US, IP_PEER, PROTO_TCP, payload, ident=ident)
    return MAC_PEER + MAC_US + b"\x08\x00" + packet


def test_tso_frame_is_one_frame_with_its_split_parameters(stack_harness: Path) -> None:
    pseudo = sum(struct.unpack("!4H", ip(IP_US) + ip(IP_PEER))) + PROTO_TCP + 20 + 4000
    while pseudo >> 16:
        pseudo = (pseudo & 0xFFFF) + (pseudo >> 16)
    header = struct.pack("!HHIIBBHHH", 80, 5000, 1, 1, 5 << 4, 0x18, 512, pseudo, 0)
    segment = header + bytes(k % 251 for k in range(4000))
    steps = run(stack_harness, [f"tso_out {IP_PEER} 20 1460 {segment.hex()}",
                                f"tso_out {IP_PEER} 20 1460 {segment.hex()}"],
                create="create_tso")
    first, second = (step.values("tso") for step in steps)
    assert steps[0].values("ret") == [["0"]] and steps[0].frames() == []
    ((mss, l4_off, hdr_len, hex1),) = first
    assert (mss, l4_off, hdr_len) == ("1460", "34", "54")
    frame1 = bytes.fromhex(hex1)
    ident = parse_ipv4(frame1)[0].ident
    assert frame1 == tso_frame(segment, ident)
    # 4,000 bytes at 1,460 are 3 pieces: the next datagram's ID is 3 on.
    assert parse_ipv4(bytes.fromhex(second[0][3]))[0].ident == (ident + 3) & 0xFFFF
    assert checksum(frame1[14:34]) == 0


def test_tso_in_place_writes_the_headers_before_the_segment(stack_harness: Path) -> None:
    """The path TCP's super-segments take: the same frame as the copying
    call, built in the NET_TSO_PREFIX bytes before the segment (the harness
    allocates exactly those, and the device writes its header room: ASan
    would report a byte before them)."""
    segment = bytes(20) + bytes(k % 241 for k in range(9000))
    steps = run(stack_harness, [f"tso_out {IP_PEER} 20 1460 {segment.hex()}",
                                f"tso_out_in_place {IP_PEER} 20 1460 {segment.hex()}"],
                create="create_tso")
    copied, in_place = (step.values("tso") for step in steps)
    assert [s.values("ret") for s in steps] == [[["0"]], [["0"]]]
    ((_, _, _, hex1),), ((mss, l4_off, hdr_len, hex2),) = copied, in_place
    assert (mss, l4_off, hdr_len) == ("1460", "34", "54")
    first, second = bytes.fromhex(hex1), bytes.fromhex(hex2)
    ident = parse_ipv4(first)[0].ident
    assert first == tso_frame(segment, ident)
    # 9,000 bytes at 1,460 are 7 pieces: the second frame's ID is 7 on.
    assert second == tso_frame(segment, (ident + 7) & 0xFFFF)


def test_tso_needs_the_device_and_a_resolved_neighbour(stack_harness: Path) -> None:
    segment = bytes(20) + b"z" * 3000
    (plain,) = run(stack_harness, [f"tso_out {IP_PEER} 20 1460 {segment.hex()}"])
    assert plain.values("ret") == [["-1"]]
    assert plain.frames() == []
    (unresolved,) = run(stack_harness, [f"tso_out 10.0.0.20 20 1460 {segment.hex()}"],
                        create="create_tso")
    assert unresolved.values("ret") == [["-5"]]
    assert unresolved.values("tso") == []
    (request,) = unresolved.frames()                                     # ARP starts
    assert request[:42] == arp_frame(1, BROADCAST_MAC, MAC_US, IP_US, b"\0" * 6,
                                     "10.0.0.20")[:42]
