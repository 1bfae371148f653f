"""DNS stub resolver (RFC 1035): queries, answer matching, CNAME chains,
errors, retransmission, and malformed answers (compression loops, lying
counts) refused."""

from __future__ import annotations

import struct
from pathlib import Path

from tests.runtime.frames import (
    BROADCAST_MAC,
    IP_US,
    MAC_GW,
    MAC_US,
    PROTO_UDP,
    arp_frame,
    ip_frame,
    ipv4,
    parse_ipv4,
    udp,
)
from tests.runtime.stack_harness import StepOutput, run_script

SEC = 1_000_000_000
SERVER = "10.0.0.53"
SETUP = ["create 020000000002 1500 3", "ipv4 10.0.0.2/24 10.0.0.1",
         "in " + arp_frame(1, BROADCAST_MAC, MAC_GW, SERVER, b"\0" * 6, IP_US).hex(),
         f"dns_server {SERVER}"]


def run(harness: Path, commands: list[str]) -> list[StepOutput]:
    return run_script(harness, SETUP + commands)[len(SETUP):]


def name(text: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in text.split(".")) + b"\0"


def query_of(frame: bytes) -> tuple[int, int, bytes]:
    """(source port, id, message) of a query the stack sent."""
    header, datagram = parse_ipv4(frame)
    assert header.dst == SERVER
    sport, dport = struct.unpack("!HH", datagram[:4])
    assert dport == 53
    msg = datagram[8:]
    return sport, struct.unpack("!H", msg[:2])[0], msg


def answer(port: int, ident: int, qname: str, records: bytes, ancount: int, *,
           rcode: int = 0, sport: int = 53, src: str = SERVER) -> str:
    msg = struct.pack("!HHHHHH", ident, 0x8180 | rcode, 1, ancount, 0, 0)
    msg += name(qname) + struct.pack("!HH", 1, 1) + records
    packet = ipv4(src, IP_US, PROTO_UDP, udp(src, IP_US, sport, port, msg))
    return "in " + ip_frame(MAC_US, MAC_GW, packet).hex()


def a_record(owner: bytes, addr: bytes, rtype: int = 1) -> bytes:
    return owner + struct.pack("!HHIH", rtype, 1, 300, len(addr)) + addr


QNAME_PTR = b"\xc0\x0c"  # the question name, at offset 12


def start(harness: Path, qname: str = "example.org") -> tuple[int, int, list[str]]:
    steps = run(harness, [f"dns_query {qname}"])
    assert steps[0].ret() == 0
    port, ident, _msg = query_of(steps[0].frames()[0])
    return port, ident, [f"dns_query {qname}"]


def test_query_format(stack_harness: Path) -> None:
    steps = run(stack_harness, ["dns_query Example.ORG."])
    port, ident, msg = query_of(steps[0].frames()[0])
    assert 49152 <= port <= 65535
    assert msg == struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + name("Example.ORG") + \
        struct.pack("!HH", 1, 1)


def test_answer_with_compressed_names(stack_harness: Path) -> None:
    port, ident, cmds = start(stack_harness)
    records = (a_record(QNAME_PTR, bytes([93, 184, 216, 34]))
               + a_record(QNAME_PTR, bytes([1, 2, 3, 4])))
    steps = run(stack_harness, [*cmds, answer(port, ident, "example.org", records, 2), "deadline"])
    assert steps[1].values("dns") == [["example.org", "0", "93.184.216.34", "1.2.3.4"]]


def test_cname_chain_is_followed(stack_harness: Path) -> None:
    port, ident, cmds = start(stack_harness, "www.example.org")
    cname = QNAME_PTR + struct.pack("!HHIH", 5, 1, 300, 6) + b"\x03cdn" + b"\xc0\x10"
    # cdn.example.org is at offset 12+len(question)+12 (the CNAME's rdata).
    cdn_ptr = struct.pack("!H", 0xC000 | (12 + len(name("www.example.org")) + 4 + 12))
    decoy = a_record(name("evil.example"), bytes([6, 6, 6, 6]))
    records = cname + decoy + a_record(cdn_ptr, bytes([10, 9, 8, 7]))
    steps = run(stack_harness, [*cmds, answer(port, ident, "www.example.org", records, 3)])
    assert steps[1].values("dns") == [["www.example.org", "0", "10.9.8.7"]]


def test_errors_nxdomain_and_nodata(stack_harness: Path) -> None:
    port, ident, cmds = start(stack_harness)
    steps = run(stack_harness, [*cmds, answer(port, ident, "example.org", b"", 0, rcode=3)])
    assert steps[1].values("dns") == [["example.org", "-20"]]
    steps = run(stack_harness, [*cmds, answer(port, ident, "example.org", b"", 0)])
    assert steps[1].values("dns") == [["example.org", "-23"]]


def test_spoofed_answers_are_ignored(stack_harness: Path) -> None:
    port, ident, cmds = start(stack_harness)
    rec = a_record(QNAME_PTR, bytes([6, 6, 6, 6]))
    steps = run(stack_harness, [
        *cmds,
        answer(port, ident ^ 1, "example.org", rec, 1),             # wrong id
        answer(port, ident, "example.org", rec, 1, sport=5353),     # wrong source port
        answer(port, ident, "example.org", rec, 1, src="10.0.0.9"),  # wrong server
        answer(port, ident, "other.org", rec, 1),                   # wrong question
        answer(port, ident, "example.org", a_record(QNAME_PTR, bytes([7, 7, 7, 7])), 1),
    ])
    assert [s.values("dns") for s in steps[1:5]] == [[], [], [], []]
    assert steps[5].values("dns") == [["example.org", "0", "7.7.7.7"]]


def test_compression_loops_and_lying_lengths_are_refused(stack_harness: Path) -> None:
    port, ident, cmds = start(stack_harness)
    question_end = 12 + len(name("example.org")) + 4
    self_loop = struct.pack("!H", 0xC000 | question_end) + struct.pack("!HHIH", 1, 1, 0, 4) + \
        b"\1\2\3\4"
    # A label, then a pointer back to that label: a two-step loop.
    two_step = b"\x01a" + struct.pack("!H", 0xC000 | question_end) + \
        struct.pack("!HHIH", 1, 1, 0, 4) + b"\1\2\3\4"
    forward = struct.pack("!H", 0xC000 | (question_end + 2)) + name("x") + \
        struct.pack("!HHIH", 1, 1, 0, 4) + b"\1\2\3\4"
    long_rdlength = QNAME_PTR + struct.pack("!HHIH", 1, 1, 0, 400) + b"\1\2\3\4"
    many_records = a_record(QNAME_PTR, b"\1\2\3\4")  # ancount claims 65535
    steps = run(stack_harness, [
        *cmds,
        answer(port, ident, "example.org", self_loop, 1),
        answer(port, ident, "example.org", two_step, 1),
        answer(port, ident, "example.org", forward, 1),
        answer(port, ident, "example.org", long_rdlength, 1),
        answer(port, ident, "example.org", many_records, 65535),
        answer(port, ident, "example.org", a_record(QNAME_PTR, b"\5\5\5\5"), 1),
    ])
    assert [s.values("dns") for s in steps[1:6]] == [[]] * 5  # refused, query still waiting
    assert steps[6].values("dns") == [["example.org", "0", "5.5.5.5"]]


def test_retransmits_then_times_out(stack_harness: Path) -> None:
    _, _, cmds = start(stack_harness)
    steps = run(stack_harness, [*cmds, "deadline", f"time {2 * SEC}", "poll",
                                f"time {4 * SEC}", "poll", f"time {6 * SEC}", "poll"])
    assert steps[1].values("deadline") == [[str(2 * SEC)]]
    first = query_of(steps[0].frames()[0])
    assert query_of(steps[3].frames()[0]) == first  # the same query again
    assert query_of(steps[5].frames()[0]) == first
    assert steps[7].frames() == []
    assert steps[7].values("dns") == [["example.org", "-22"]]


def test_invalid_names_are_refused(stack_harness: Path) -> None:
    steps = run(stack_harness, ["dns_query a..b", f"dns_query {'x' * 64}.org",
                                "dns_query " + ".".join(["abcdefghi"] * 26)])
    assert [s.ret() for s in steps] == [-1, -1, -1]
    assert all(s.frames() == [] for s in steps)
