"""The query engine (query bytes in, response bytes out) through the host
tool under ASan/UBSan: exact responses for the basic cases, parsed ones for
the rest of RFC 1034/1035, 2181, 2308, 3596, 4592, 6891, 7766 and 8482."""

from __future__ import annotations

import struct
import subprocess
from pathlib import Path

import pytest

from tests.dns.engine_tool import answer, write_zones
from tests.dns.wire import TYPES, Record, Response, encode_name, opt_record, parse, query

SOA_TTL_NEGATIVE = 300  # min(SOA TTL 3600, SOA MINIMUM 300), RFC 2308 5


@pytest.fixture(scope="module")
def zone_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return write_zones(tmp_path_factory.mktemp("zones"))


def ask(dns_host: Path, zone_files: list[Path], data: bytes, transport: str = "udp",
        axfr: bool = False) -> list[bytes]:
    return answer(dns_host, zone_files, [(transport, data)], axfr=axfr)[0]


def one(dns_host: Path, zone_files: list[Path], data: bytes, transport: str = "udp") -> Response:
    (message,) = ask(dns_host, zone_files, data, transport)
    return parse(message)


def a_record(owner: str, address: str, ttl: int = 3600) -> Record:
    return Record(owner, 1, 1, ttl, bytes(map(int, address.split("."))).hex())


EXACT = [
    # A answer: the owner compressed to the question (0xc00c)
    (query("ns1.example.org", "A"),
     "123484000001000100000000036e7331076578616d706c65036f72670000010001"
     "c00c0001000100000e100004c0000235"),
    # NXDOMAIN: AA, the SOA in authority with TTL min(3600, 300) = 0x12c,
    # its names compressed into the question's "example.org"
    (query("nope.example.org", "A"),
     "123484030001000000010000046e6f7065076578616d706c65036f72670000010001"
     "c011000600010000012c0027036e7331c0110a686f73746d6173746572c01178c4240900001c20"
     "00000e10001275000000012c"),
    # referral: AA clear, the child's NS in authority, glue (A, AAAA of
    # ns.sub) and the in-zone address of ns1 in additional
    (query("x.sub.example.org", "A"),
     "123480000001000000020003017803737562076578616d706c65036f72670000010001"
     "c00e0002000100000e100005026e73c00ec00e0002000100000e100006036e7331c012"
     "c02f0001000100000e100004c000024dc02f001c000100000e10001020010db8000000000000000000000077"
     "c0400001000100000e100004c0000235"),
    # opcode STATUS: NOTIMP, header only, opcode echoed
    (query("example.org", "A", flags=0x1000), "123490040000000000000000"),
    # two questions: FORMERR
    (bytes.fromhex("1234000000020000000000000000010001"), "123480010000000000000000"),
    # EDNS version 1: BADVERS (16) = header rcode 0 + OPT extended rcode 1,
    # our version 0 and payload size 1232
    (query("example.org", "A", edns=opt_record(1232, version=1)),
     "123480000001000000000001076578616d706c65036f7267000001000100002904d0010000000000"),
    # 40 A records do not fit in 512 bytes: TC, empty sections (RFC 2181 9)
    (query("many.example.org", "A"),
     "123486000001000000000000046d616e79076578616d706c65036f72670000010001"),
]


@pytest.mark.parametrize(("data", "expected"), EXACT,
                         ids=["answer", "nxdomain", "referral", "notimp", "formerr", "badvers",
                              "truncated"])
def test_exact_responses(dns_host: Path, zone_files: list[Path], data: bytes,
                         expected: str) -> None:
    assert ask(dns_host, zone_files, data) == [bytes.fromhex(expected)]


def test_cname_chain_inside_the_zone(dns_host: Path, zone_files: list[Path]) -> None:
    r = one(dns_host, zone_files, query("alias.example.org", "A"))
    assert r.rcode == 0 and "aa" in r.flags
    assert r.answer == {Record("alias.example.org.", 5, 1, 3600, "www.example.org."),
                        Record("www.example.org.", 5, 1, 3600, "web.example.org."),
                        Record("web.example.org.", 5, 1, 3600, "example.org."),
                        a_record("example.org.", "192.0.2.1")}
    # out of the zone: the CNAME alone; to a missing name: NXDOMAIN (RFC 6604)
    r = one(dns_host, zone_files, query("out.example.org", "A"))
    assert r.rcode == 0 and len(r.answer) == 1 and not r.authority
    r = one(dns_host, zone_files, query("dangling.example.org", "A"))
    assert r.rcode == 3 and len(r.answer) == 1 and len(r.authority) == 1
    # the CNAME itself when asked for
    r = one(dns_host, zone_files, query("www.example.org", "CNAME"))
    assert r.answer == {Record("www.example.org.", 5, 1, 3600, "web.example.org.")}


def test_nodata_and_empty_non_terminal(dns_host: Path, zone_files: list[Path]) -> None:
    for name, qtype in (("ns1.example.org", "AAAA"), ("b.c.example.org", "A"),
                        ("c.example.org", "TXT")):
        r = one(dns_host, zone_files, query(name, qtype))
        assert (r.rcode, r.answer) == (0, frozenset()) and "aa" in r.flags
        (soa,) = r.authority
        assert (soa.owner, soa.rtype, soa.ttl) == ("example.org.", 6, SOA_TTL_NEGATIVE)


def test_wildcards(dns_host: Path, zone_files: list[Path]) -> None:
    r = one(dns_host, zone_files, query("x.y.wild.example.org", "A"))
    assert r.answer == {a_record("x.y.wild.example.org.", "192.0.2.99")}
    # an existing name is not synthesised; a wildcard without the type is NODATA
    r = one(dns_host, zone_files, query("exists.wild.example.org", "TXT"))
    assert r.rcode == 0 and not r.answer and len(r.authority) == 1
    r = one(dns_host, zone_files, query("q.wild.example.org", "MX"))
    assert r.rcode == 0 and not r.answer and len(r.authority) == 1
    # a wildcard CNAME is followed
    r = one(dns_host, zone_files, query("z.cnwild.example.org", "A"))
    assert Record("z.cnwild.example.org.", 5, 1, 3600, "www.example.org.") in r.answer
    assert a_record("example.org.", "192.0.2.1") in r.answer
    # RFC 4592 2.2.2: b.c exists (empty non-terminal), so x.b.c is NXDOMAIN
    r = one(dns_host, zone_files, query("x.b.c.example.org", "A"))
    assert r.rcode == 3


def test_referral_without_glue_and_ds_at_the_cut(dns_host: Path, zone_files: list[Path]) -> None:
    r = one(dns_host, zone_files, query("deleg.example.org", "A"))
    assert "aa" not in r.flags and r.rcode == 0 and not r.answer and not r.additional
    assert r.authority == {Record("deleg.example.org.", 2, 1, 3600, "ns.other.net.")}
    # glue under a cut is not answered authoritatively
    r = one(dns_host, zone_files, query("ns.sub.example.org", "A"))
    assert "aa" not in r.flags and not r.answer
    # DS belongs to the parent side (RFC 4035 3.1.4.1): NODATA with the SOA
    r = one(dns_host, zone_files, query("sub.example.org", "DS"))
    assert "aa" in r.flags and not r.answer and {x.rtype for x in r.authority} == {6}


def test_refused_outside_our_zones_and_other_classes(dns_host: Path,
                                                     zone_files: list[Path]) -> None:
    for data in (query("example.com", "A"), query("org", "NS"),
                 query("example.org", "A", qclass=3)):
        r = one(dns_host, zone_files, data)
        assert r.rcode == 5 and "aa" not in r.flags and r.counts == (1, 0, 0, 0)
    r = one(dns_host, zone_files, query("53.2.0.192.in-addr.arpa", "PTR"))
    assert r.answer == {Record("53.2.0.192.in-addr.arpa.", 12, 1, 600, "ns1.example.org.")}


def test_minimal_any(dns_host: Path, zone_files: list[Path]) -> None:
    # RFC 8482 4.1: one RRset of the name, TC clear, over UDP and TCP
    for transport in ("udp", "tcp"):
        r = one(dns_host, zone_files, query("example.org", "ANY"), transport)
        assert "tc" not in r.flags and r.rcode == 0
        assert len({rec.rtype for rec in r.answer}) == 1
        assert r.answer == {a_record("example.org.", "192.0.2.1")}


def test_edns_sizes_and_truncation(dns_host: Path, zone_files: list[Path]) -> None:
    # 40 A records (673 bytes) fit with EDNS; 6 x 250-byte TXT (1.5 kB) do
    # not fit in our 1232-byte UDP limit even if the client offers 4096
    r = one(dns_host, zone_files, query("many.example.org", "A", edns=opt_record(4096)))
    assert len(r.answer) == 40 and r.opt == (1232, 0, 0)
    r = one(dns_host, zone_files, query("big.example.org", "TXT", edns=opt_record(4096)))
    assert "tc" in r.flags and not r.answer and r.opt is not None and r.size <= 1232
    # a size below 512 counts as 512 (RFC 6891 6.2.5)
    r = one(dns_host, zone_files, query("many.example.org", "A", edns=opt_record(100)))
    assert "tc" in r.flags and r.size <= 512
    # over TCP everything fits
    r = one(dns_host, zone_files, query("big.example.org", "TXT"), "tcp")
    assert "tc" not in r.flags and len(r.answer) == 6
    # DO is copied (RFC 3225 3); no OPT in, no OPT out
    r = one(dns_host, zone_files, query("example.org", "A", edns=opt_record(1232, do=True)))
    assert r.opt == (1232, 0, 0x8000)
    r = one(dns_host, zone_files, query("example.org", "A"))
    assert r.opt is None and r.counts[3] == 0


def test_question_keeps_its_case_and_may_be_compressed(dns_host: Path,
                                                       zone_files: list[Path]) -> None:
    (message,) = ask(dns_host, zone_files, query("MiXeD.CaSe.Example.ORG", "A"))
    assert b"\x05MiXeD\x04CaSe\x07Example\x03ORG\x00" in message  # 0x20-safe
    assert parse(message).answer == {a_record("mixed.case.example.org.", "192.0.2.33")}
    # a question whose name is a pointer to an earlier name is still a name:
    # here it points back to itself, which is a loop: FORMERR
    looped = struct.pack(">HHHHHH", 7, 0, 1, 0, 0, 0) + b"\xc0\x0c" + struct.pack(">HH", 1, 1)
    assert ask(dns_host, zone_files, looped) == [bytes.fromhex("000780010000000000000000")]


def with_additional(records: bytes, arcount: int) -> bytes:
    """A query for example.org A with records in its additional section."""
    base = query("example.org", "A", qid=9)
    return base[:10] + struct.pack(">H", arcount) + base[12:] + records


MALFORMED = {
    "no question": struct.pack(">HHHHHH", 9, 0, 0, 0, 0, 0),
    "truncated name": struct.pack(">HHHHHH", 9, 0, 1, 0, 0, 0) + b"\x07exam",
    "no type": struct.pack(">HHHHHH", 9, 0, 1, 0, 0, 0) + encode_name("example.org") + b"\x00",
    "answer count": struct.pack(">HHHHHH", 9, 0, 1, 1, 0, 0) + encode_name("example.org")
    + struct.pack(">HH", 1, 1),
    "label type 0x40": struct.pack(">HHHHHH", 9, 0, 1, 0, 0, 0) + b"\x41a\x00\x00\x01\x00\x01",
    "two OPT": with_additional(opt_record() + opt_record(), 2),
    "OPT not at root": with_additional(b"\x01a" + opt_record(), 1),
    "bad option length": with_additional(opt_record(options=b"\x00\x0a\x00\x09"), 1),
    "missing additional": with_additional(b"", 5),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_queries_get_formerr(dns_host: Path, zone_files: list[Path], name: str) -> None:
    data = MALFORMED[name]
    (message,) = ask(dns_host, zone_files, data)
    assert message[:2] == data[:2] and parse(message).rcode == 1 and len(message) == 12


def test_what_is_never_answered(dns_host: Path, zone_files: list[Path]) -> None:
    response = bytearray(query("example.org", "A"))
    response[2] |= 0x80  # QR: a response must not be answered (no reflection loops)
    assert answer(dns_host, zone_files, [("udp", bytes(response)), ("udp", b"\x12\x34\x00"),
                                         ("udp", b"")]) == [[], [], []]


def test_meta_types_are_formerr(dns_host: Path, zone_files: list[Path]) -> None:
    for qtype in (TYPES["OPT"], 250):
        r = one(dns_host, zone_files, query("example.org", qtype))
        assert r.rcode == 1 and r.counts[0] == 1


def test_axfr(dns_host: Path, zone_files: list[Path]) -> None:
    data = query("example.org", "AXFR")
    messages = ask(dns_host, zone_files, data, "tcp", axfr=True)
    records = [rec for m in messages for rec in parse(m).answer]
    parsed = [parse(m) for m in messages]
    first, last = parsed[0], parsed[-1]
    soa = [r for r in first.answer if r.rtype == 6]
    assert soa and [r for r in last.answer if r.rtype == 6] == soa
    # every record of the zone once, plus the SOA twice (RFC 5936 2.2)
    counted = subprocess.run([str(dns_host), "check", str(zone_files[0])], capture_output=True,
                             text=True, check=True, timeout=60)
    zone_size = int(counted.stdout.split()[1])
    assert sum(p.counts[1] for p in parsed) == zone_size + 1
    assert len(set(records)) == zone_size
    assert all(p.rcode == 0 and "aa" in p.flags and p.question == ("example.org.", 252, 1)
               for p in parsed)
    # not allowed, over UDP, or not at the apex: REFUSED
    for transport, allow, q in (("tcp", False, data), ("udp", True, data),
                                ("tcp", True, query("www.example.org", "AXFR")),
                                ("tcp", True, query("example.org", "IXFR"))):
        (message,) = ask(dns_host, zone_files, q, transport, axfr=allow)
        assert parse(message).rcode == 5
