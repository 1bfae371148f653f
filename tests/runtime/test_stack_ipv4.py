"""IPv4 (RFC 791): header checks, options, reassembly with its limits and
fragmentation on send, with loss, reordering and duplication."""

from __future__ import annotations

import random
from pathlib import Path

from tests.runtime.frames import (
    BROADCAST_MAC,
    ETH_IPV4,
    IP_PEER,
    IP_US,
    MAC_PEER,
    MAC_US,
    PROTO_ICMP,
    arp_frame,
    echo,
    eth,
    fragments,
    icmp,
    ip_frame,
    ipv4,
    parse_ipv4,
)
from tests.runtime.stack_harness import StepOutput, run_script

SEC = 1_000_000_000
ARP_EXPIRY = str(60 * SEC)  # the peer's cache entry: the only other deadline
# The peer announces itself first, so replies need no ARP round trip.
SETUP = ["create 020000000002 1500 1", "ipv4 10.0.0.2/24 10.0.0.1",
         "in " + arp_frame(1, BROADCAST_MAC, MAC_PEER, IP_PEER, b"\0" * 6, IP_US).hex()]


def run(harness: Path, commands: list[str]) -> list[StepOutput]:
    return run_script(harness, SETUP + commands)[len(SETUP):]


def frame_in(packet: bytes) -> str:
    return "in " + ip_frame(MAC_US, MAC_PEER, packet).hex()


def ping_packet(data: bytes, ident: int = 7, good_checksum: bool = True,
                options: bytes = b"") -> bytes:
    return ipv4(IP_PEER, IP_US, PROTO_ICMP, echo(8, 0x1234, 1, data), ident=ident,
                good_checksum=good_checksum, options=options)


def reply_payload(frames: list[bytes]) -> bytes:
    """The reassembled ICMP payload of the (possibly fragmented) reply."""
    parts = sorted((parse_ipv4(f)[0].offset, parse_ipv4(f)[1]) for f in frames)
    return b"".join(p for _, p in parts)


def test_valid_packet_is_answered_with_ttl_64(stack_harness: Path) -> None:
    (reply,) = run(stack_harness, [frame_in(ping_packet(b"abc"))])[0].frames()
    fields, payload = parse_ipv4(reply)
    assert fields.ttl == 64 and fields.checksum_ok and fields.flags_frag == 0
    assert (fields.src, fields.dst) == (IP_US, IP_PEER)
    assert payload == echo(0, 0x1234, 1, b"abc")


def test_bad_header_checksum_is_dropped(stack_harness: Path) -> None:
    steps = run(stack_harness, [frame_in(ping_packet(b"abc", good_checksum=False)), "stats"])
    assert steps[0].frames() == []
    assert "rx_dropped=1" in steps[1].lines[0]


def test_options_are_skipped(stack_harness: Path) -> None:
    # NOP, NOP, then a record-route option (RFC 791 3.1) with room for one address.
    options = bytes([1, 1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0])
    (reply,) = run(stack_harness, [frame_in(ping_packet(b"opt", options=options))])[0].frames()
    assert parse_ipv4(reply)[1] == echo(0, 0x1234, 1, b"opt")


def test_malformed_headers_are_dropped(stack_harness: Path) -> None:
    good = ping_packet(b"x" * 40)
    truncated = good[:-1]  # Total Length promises one byte more than present
    bad_version = bytes([0x65]) + good[1:]
    short_ihl = bytes([0x44]) + good[1:]
    commands = ["in " + eth(MAC_US, MAC_PEER, ETH_IPV4, p).hex()
                for p in (truncated, bad_version, short_ihl, good[:19])]
    steps = run(stack_harness, [*commands, "stats"])
    assert all(s.frames() == [] for s in steps[:4])
    assert "rx_dropped=4" in steps[4].lines[0]


def test_ethernet_padding_is_ignored(stack_harness: Path) -> None:
    packet = ping_packet(b"")  # 28 bytes: the frame carries 18 bytes of padding
    frame = ip_frame(MAC_US, MAC_PEER, packet)
    assert len(frame) == 60
    (reply,) = run(stack_harness, [f"in {frame.hex()}"])[0].frames()
    assert parse_ipv4(reply)[1] == echo(0, 0x1234, 1, b"")


def test_not_for_us_or_from_martian_sources_is_dropped(stack_harness: Path) -> None:
    other = ipv4(IP_PEER, "10.0.0.77", PROTO_ICMP, echo(8, 1, 1, b""))
    from_bcast = ipv4("10.0.0.255", IP_US, PROTO_ICMP, echo(8, 1, 1, b""))
    from_mcast = ipv4("224.0.0.1", IP_US, PROTO_ICMP, echo(8, 1, 1, b""))
    from_loopback = ipv4("127.0.0.1", IP_US, PROTO_ICMP, echo(8, 1, 1, b""))
    other_mac = eth(bytes.fromhex("02aabbccddee"), MAC_PEER, ETH_IPV4, ping_packet(b""))
    steps = run(stack_harness, [frame_in(other), frame_in(from_bcast), frame_in(from_mcast),
                                frame_in(from_loopback), f"in {other_mac.hex()}"])
    assert all(s.frames() == [] for s in steps)


def fragmented_ping(data: bytes, ident: int) -> tuple[bytes, list[bytes]]:
    message = echo(8, 0x1234, 1, data)
    return message, fragments(IP_PEER, IP_US, PROTO_ICMP, message, 1480, ident)


def test_reassembly_in_order_reversed_shuffled_and_duplicated(stack_harness: Path) -> None:
    data = bytes(range(256)) * 16  # 4096 bytes: three fragments, as `ping -s 4096`
    for order in ([0, 1, 2], [2, 1, 0], [1, 2, 0], [0, 0, 2, 1, 1, 2]):
        _, frags = fragmented_ping(data, ident=order[0] + 100)
        steps = run(stack_harness, [frame_in(frags[i]) for i in order])
        replies = [f for s in steps for f in s.frames()]
        assert replies, order
        # Only the step completing the datagram answers, and only once.
        answering = [i for i, s in enumerate(steps) if s.frames()]
        assert len(answering) == 1, order
        assert reply_payload(replies) == echo(0, 0x1234, 1, data), order


def test_reply_is_fragmented_to_the_mtu(stack_harness: Path) -> None:
    data = b"\xa5" * 4000
    _, frags = fragmented_ping(data, ident=5)
    replies = run(stack_harness, [frame_in(f) for f in frags])[-1].frames()
    fields = [parse_ipv4(f)[0] for f in replies]
    assert [f.flags_frag for f in fields] == [0x2000, 0x2000 | 185, 370]
    assert [f.total for f in fields] == [1500, 1500, 20 + 4008 - 2960]
    assert len({f.ident for f in fields}) == 1
    assert all(len(f) <= 1514 for f in replies)
    assert reply_payload(replies) == echo(0, 0x1234, 1, data)


def test_lost_fragment_times_out_after_ten_seconds(stack_harness: Path) -> None:
    _, frags = fragmented_ping(b"z" * 3000, ident=9)
    steps = run(stack_harness, [frame_in(frags[0]), frame_in(frags[1]), "deadline",
                                f"time {10 * SEC - 1}", "poll", f"time {10 * SEC}", "poll",
                                "deadline", frame_in(frags[2]), "stats"])
    assert steps[2].values("deadline") == [[str(10 * SEC)]]
    assert steps[4].frames() == []
    # RFC 792 time exceeded, code 1 (reassembly), quoting the first fragment.
    (frame,) = steps[6].frames()
    header, payload = parse_ipv4(frame)
    assert (header.proto, header.dst) == (PROTO_ICMP, IP_PEER)
    assert payload == icmp(11, 1, b"\0" * 4, frags[0][:28])
    assert steps[7].values("deadline") == [[ARP_EXPIRY]]
    assert steps[8].frames() == []  # the datagram was discarded; a lone tail cannot complete it
    assert "reasm_dropped=1" in steps[9].lines[0]


def test_no_time_exceeded_without_the_first_fragment(stack_harness: Path) -> None:
    _, frags = fragmented_ping(b"z" * 3000, ident=10)
    steps = run(stack_harness, [frame_in(frags[1]), f"time {10 * SEC}", "poll", "stats"])
    assert steps[2].frames() == []
    assert "reasm_dropped=1" in steps[3].lines[0]


def test_overlapping_fragments_drop_the_datagram(stack_harness: Path) -> None:
    message, frags = fragmented_ping(b"o" * 3000, ident=11)
    overlap = ipv4(IP_PEER, IP_US, PROTO_ICMP, message[8:1488], ident=11,
                   flags_frag=0x2000 | 1)  # bytes 8..1488 overlap fragment 0
    steps = run(stack_harness, [frame_in(frags[0]), frame_in(overlap), frame_in(frags[1]),
                                frame_in(frags[2]), "stats"])
    assert all(s.frames() == [] for s in steps[:4])
    assert "reasm_dropped=1" in steps[4].lines[0]


def test_bad_fragment_sizes_are_refused(stack_harness: Path) -> None:
    message = echo(8, 1, 1, b"q" * 100)
    odd = ipv4(IP_PEER, IP_US, PROTO_ICMP, message[:13], ident=3, flags_frag=0x2000)
    beyond = ipv4(IP_PEER, IP_US, PROTO_ICMP, b"w" * 16, ident=4, flags_frag=0x1FFF)
    steps = run(stack_harness, [frame_in(odd), frame_in(beyond), "stats", "deadline"])
    assert "reasm_dropped=2" in steps[2].lines[0]
    assert steps[3].values("deadline") == [[ARP_EXPIRY]]


def test_datagrams_in_progress_are_limited_oldest_evicted(stack_harness: Path) -> None:
    first_frags = []
    commands = []
    for ident in range(9):  # REASM_MAX_DATAGRAMS is 8
        _, frags = fragmented_ping(b"e" * 2000, ident=200 + ident)
        first_frags.append(frags)
        commands += [f"time {ident + 1}", frame_in(frags[0])]
    # Completing the oldest fails (evicted); completing the newest works.
    commands += [frame_in(first_frags[0][1]), frame_in(first_frags[8][1]), "stats"]
    steps = run(stack_harness, commands)
    assert steps[-3].frames() == []
    assert len(steps[-2].frames()) == 2
    assert "reasm_dropped=2" in steps[-1].lines[0]  # the evicted one and its lone tail


def test_fragments_per_datagram_are_limited(stack_harness: Path) -> None:
    message = echo(8, 1, 1, b"t" * (65 * 8 - 8))  # 65 fragments of 8 bytes
    frags = fragments(IP_PEER, IP_US, PROTO_ICMP, message, 8, ident=400)
    assert len(frags) == 65
    steps = run(stack_harness, [*(frame_in(f) for f in frags), "stats"])
    assert all(s.frames() == [] for s in steps[:-1])
    assert "reasm_dropped=1" in steps[-1].lines[0]


def test_reassembly_memory_is_bounded(stack_harness: Path) -> None:
    # Eight 60 KiB datagrams each missing their first fragment: 480 KiB would be
    # needed; the 256 KiB limit drops datagrams instead.
    commands = []
    for ident in range(8):
        message = echo(8, 1, ident, b"m" * 60000)
        frags = fragments(IP_PEER, IP_US, PROTO_ICMP, message, 1480, 300 + ident)
        commands += [frame_in(f) for f in frags[1:]]
    commands.append("stats")
    steps = run(stack_harness, commands)
    dropped = int(steps[-1].lines[0].split("reasm_dropped=")[1].split()[0])
    assert dropped >= 4


def test_send_fragments_at_the_mtu(stack_harness: Path) -> None:
    payload = bytes(i % 251 for i in range(4000))
    steps = run(stack_harness, [f"ip_out {IP_PEER} 253 {payload.hex()}"])
    frames = steps[0].frames()
    fields = [parse_ipv4(f)[0] for f in frames]
    assert [f.flags_frag for f in fields] == [0x2000, 0x2000 | 185, 370]
    assert all(f.checksum_ok and f.proto == 253 for f in fields)
    assert b"".join(parse_ipv4(f)[1] for f in frames) == payload


def test_smaller_mtu_and_oversized_datagram(stack_harness: Path) -> None:
    steps = run_script(stack_harness, [
        "create 020000000002 576 1", "ipv4 10.0.0.2/24 10.0.0.1",
        "in " + arp_frame(1, BROADCAST_MAC, MAC_PEER, IP_PEER, b"\0" * 6, IP_US).hex(),
        f"ip_out {IP_PEER} 253 {'00' * 1000}", f"ip_out {IP_PEER} 253 {'00' * 65516}"])
    frames = steps[3].frames()
    assert [len(f) for f in frames] == [14 + 20 + 552, 14 + 20 + 448]
    assert steps[4].ret() == -4  # NET_EMSGSIZE


def test_registered_l4_protocol_receives_datagrams(stack_harness: Path) -> None:
    segment = b"\x00\x50\x01\xbb" + b"payload"
    steps = run(stack_harness, ["l4 6", "l4 6", "l4 17",
                                frame_in(ipv4(IP_PEER, IP_US, 6, segment)),
                                frame_in(ipv4(IP_PEER, "10.0.0.255", 6, segment))])
    assert [s.ret() for s in steps[:3]] == [0, -6, -6]
    assert steps[3].values("l4") == [["6", IP_PEER, IP_US, segment.hex()]]
    assert steps[4].values("l4") == []  # no broadcast for L4 protocols


def test_unregistered_l4_protocol_receives_nothing(stack_harness: Path) -> None:
    segment = b"\x00\x50\x01\xbb" + b"payload"
    steps = run(stack_harness, ["l4 6", "l4_off 6", "l4_off 6",
                                frame_in(ipv4(IP_PEER, IP_US, 6, segment)), "l4 6",
                                frame_in(ipv4(IP_PEER, IP_US, 6, segment))])
    assert [s.ret() for s in (steps[0], steps[1], steps[2], steps[4])] == [0, 0, -1, 0]
    assert steps[3].values("l4") == []
    assert steps[5].values("l4") == [["6", IP_PEER, IP_US, segment.hex()]]


def test_timer_hook_shares_the_deadline(stack_harness: Path) -> None:
    steps = run(stack_harness, ["timer_at 5000", "deadline", "time 4999", "poll", "time 5000",
                                "poll", "deadline"])
    assert steps[0].ret() == 0
    assert steps[1].values("deadline") == [["5000"]]
    assert steps[3].values("timer") == []
    assert steps[5].values("timer") == [["5000"]]
    assert steps[6].values("deadline") == [[ARP_EXPIRY]]


def test_ip_identification_increments(stack_harness: Path) -> None:
    steps = run(stack_harness, [f"ip_out {IP_PEER} 253 00", f"ip_out {IP_PEER} 253 00"])
    ids = [parse_ipv4(s.frames()[0])[0].ident for s in steps]
    assert ids[1] == (ids[0] + 1) & 0xFFFF



def expected_reassembly(schedule: list[int], count: int) -> tuple[int, bool]:
    """(datagrams completed, whether a leftover holding fragment 0 times out).
    A fragment arriving after its datagram completed starts a new one."""
    held: set[int] = set()
    completed = 0
    for index in schedule:
        held.add(index)
        if len(held) == count:
            completed += 1
            held = set()
    return completed, 0 in held


def test_random_fragment_schedules(stack_harness: Path) -> None:
    """Seeded random schedules: datagram and fragment sizes, order, duplicates
    and losses. Each complete set of fragments is answered once; a leftover
    holding the first fragment earns one reassembly time exceeded."""
    rng = random.Random(20261125)
    commands: list[str] = []
    cases: list[tuple[int, int, bytes, int, bool]] = []
    for case in range(40):
        first = len(SETUP) + len(commands)
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 9000)))
        message = echo(8, 0x1234, case, data)
        # At most 64 fragments (REASM_MAX_FRAGMENTS), at most 1480 bytes each.
        smallest = -(-len(message) // (64 * 8))
        frags = fragments(IP_PEER, IP_US, PROTO_ICMP, message,
                          8 * rng.randrange(smallest, 186), ident=1000 + case)
        schedule = list(range(len(frags)))
        schedule += rng.sample(schedule, k=rng.randrange(0, len(frags) + 1))  # duplicates
        rng.shuffle(schedule)
        if len(frags) > 1 and rng.random() < 0.3:  # loss
            victim = rng.randrange(len(frags))
            schedule = [i for i in schedule if i != victim]
        # The peer re-announces itself (ARP entries live 60 s); every case
        # ends with a poll past the reassembly timeout, so none leaks into the next.
        commands += [SETUP[2], *(frame_in(frags[i]) for i in schedule),
                     f"time {(case + 1) * 11 * SEC}", "poll"]
        completed, times_out = expected_reassembly(schedule, len(frags))
        cases.append((first, len(SETUP) + len(commands) - 1, echo(0, 0x1234, case, data),
                      completed, times_out))
    steps = run_script(stack_harness, SETUP + commands)
    for first, last, reply, completed, times_out in cases:
        frames = [f for step in steps[first:last + 1] for f in step.frames()
                  if f[12:14] == b"\x08\x00"]
        exceeded = [f for f in frames if parse_ipv4(f)[0].flags_frag == 0
                    and parse_ipv4(f)[1][:2] == b"\x0b\x01"]
        assert len(exceeded) == int(times_out)
        by_id: dict[int, list[bytes]] = {}
        for f in frames:
            if f not in exceeded:
                by_id.setdefault(parse_ipv4(f)[0].ident, []).append(f)
        assert len(by_id) == completed
        assert all(reply_payload(group) == reply for group in by_id.values())
