"""The query corpus of the differential test: every owner name of the test
zones and their neighbours (missing names, names under wildcards and
delegations, empty non-terminals, other zones, mixed case) crossed with
every served type and a few others, EDNS variants, and malformed messages."""

from __future__ import annotations

import struct

from tests.dns.wire import encode_name, opt_record, query

NAMES = [
    "example.org", "ns1.example.org", "ns2.example.org", "mail.example.org",
    "www.example.org", "web.example.org", "alias.example.org", "out.example.org",
    "dangling.example.org", "missing.example.org", "x.wild.example.org",
    "a.b.wild.example.org", "exists.wild.example.org", "wild.example.org",
    "*.wild.example.org", "q.cnwild.example.org", "a.b.c.example.org", "b.c.example.org",
    "c.example.org", "x.b.c.example.org", "_sip._tcp.example.org", "_tcp.example.org",
    "sip.example.org", "1.2.example.org", "2.example.org", "sub.example.org",
    "www.sub.example.org", "ns.sub.example.org", "deleg.example.org", "a.deleg.example.org",
    "mixed.case.example.org", "MIXED.Case.Example.Org", "short.example.org",
    "many.example.org", "nothing.example.org", "a.nothing.example.org",
    "2.0.192.in-addr.arpa", "1.2.0.192.in-addr.arpa", "53.2.0.192.in-addr.arpa",
    "9.2.0.192.in-addr.arpa", "example.com", "org", "in-addr.arpa",
]
TYPES: list[str | int] = ["A", "AAAA", "NS", "SOA", "MX", "TXT", "CNAME", "PTR", "SRV", "CAA",
                          "ANY", "DS", "HINFO", 99, "MAILB"]


def _header(qid: int, flags: int, qd: int, an: int, ns: int, ar: int) -> bytes:
    return struct.pack(">HHHHHH", qid, flags, qd, an, ns, ar)


def _question(name: str, qtype: int) -> bytes:
    return encode_name(name) + struct.pack(">HH", qtype, 1)


MALFORMED = {
    "no question": _header(1, 0, 0, 0, 0, 0),
    "two questions": _header(2, 0, 2, 0, 0, 0) + _question("example.org", 1) * 2,
    "truncated name": _header(3, 0, 1, 0, 0, 0) + b"\x07exam",
    "no type": _header(4, 0, 1, 0, 0, 0) + encode_name("example.org") + b"\x00",
    "pointer loop": _header(5, 0, 1, 0, 0, 0) + b"\xc0\x0c\x00\x01\x00\x01",
    "forward pointer": _header(6, 0, 1, 0, 0, 0) + b"\xc0\x12\x00\x01\x00\x01\x00\x00",
    "answer count": _header(7, 0, 1, 1, 0, 0) + _question("example.org", 1),
    "two OPT": _header(8, 0, 1, 0, 0, 2) + _question("example.org", 1) + opt_record() * 2,
    "OPT not at root": _header(9, 0, 1, 0, 0, 1) + _question("example.org", 1) + b"\x01a"
    + opt_record()[1:],
    "missing additional": _header(10, 0, 1, 0, 0, 3) + _question("example.org", 1),
    "opcode status": _header(11, 0x1000, 1, 0, 0, 0) + _question("example.org", 1),
    "opcode 6": _header(12, 0x3000, 1, 0, 0, 0) + _question("example.org", 1),
    "chaos class": _header(13, 0, 1, 0, 0, 0) + encode_name("example.org")
    + struct.pack(">HH", 1, 3),
    "rd and cd": _header(14, 0x0110, 1, 0, 0, 0) + _question("example.org", 1),
    "compressed question": _header(15, 0, 1, 0, 0, 0) + b"\x03www\xc0\x12\x07example\x03org\x00"
    + struct.pack(">HH", 1, 1),
}


def corpus() -> dict[str, bytes]:
    """Name -> query message: a few hundred of them."""
    queries: dict[str, bytes] = {}
    qid = 1000
    for name in NAMES:
        for qtype in TYPES:
            qid += 1
            queries[f"{name} {qtype}"] = query(name, qtype, qid=qid, edns=opt_record())
    for name, qtype in (("many.example.org", "A"), ("big.example.org", "TXT"),
                        ("example.org", "A"), ("nothing.example.org", "A"),
                        ("www.sub.example.org", "A")):
        for label, edns in (("no EDNS", None), ("EDNS 512", opt_record(512)),
                            ("EDNS 4096", opt_record(4096)), ("DO", opt_record(do=True)),
                            ("version 1", opt_record(version=1))):
            qid += 1
            queries[f"{name} {qtype} {label}"] = query(name, qtype, qid=qid, edns=edns)
    queries.update({f"malformed: {k}": v for k, v in MALFORMED.items()})
    return queries
