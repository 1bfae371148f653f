"""DNS messages for the tests (RFC 1035 4.1): queries built byte by byte
(also malformed ones) and responses parsed into comparable values."""

from __future__ import annotations

import struct
from dataclasses import dataclass

TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "PTR": 12, "HINFO": 13, "MX": 15, "TXT": 16,
         "AAAA": 28, "SRV": 33, "OPT": 41, "DS": 43, "IXFR": 251, "AXFR": 252, "MAILB": 253,
         "ANY": 255, "CAA": 257}
NAME_TYPES = {2, 5, 12}            # RDATA is one name
FLAG_NAMES = [("qr", 0x8000), ("aa", 0x0400), ("tc", 0x0200), ("rd", 0x0100), ("ra", 0x0080),
              ("ad", 0x0020), ("cd", 0x0010)]


def encode_name(name: str) -> bytes:
    """Dotted text (no escapes) to wire form; "." is the root."""
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def opt_record(udp_size: int = 1232, version: int = 0, do: bool = False,
               options: bytes = b"") -> bytes:
    ttl = (version << 16) | (0x8000 if do else 0)
    return b"\0" + struct.pack(">HHIH", 41, udp_size, ttl, len(options)) + options


def query(name: str, qtype: str | int, *, qid: int = 0x1234, flags: int = 0,
          edns: bytes | None = None, qclass: int = 1) -> bytes:
    """A query; edns is an OPT record (opt_record()) for the additional section."""
    t = TYPES[qtype] if isinstance(qtype, str) else qtype
    header = struct.pack(">HHHHHH", qid, flags, 1, 0, 0, 1 if edns else 0)
    return header + encode_name(name) + struct.pack(">HH", t, qclass) + (edns or b"")


def read_name(msg: bytes, off: int) -> tuple[str, int]:
    labels: list[str] = []
    end = -1
    hops = 0
    while True:
        length = msg[off]
        if length >= 0xC0:
            if end < 0:
                end = off + 2
            off = ((length & 0x3F) << 8) | msg[off + 1]
            hops += 1
            assert hops < 128, "compression loop"
            continue
        if length == 0:
            off += 1
            break
        labels.append(msg[off + 1:off + 1 + length].decode("latin-1").lower())
        off += 1 + length
    return (".".join(labels) + "." if labels else "."), (end if end >= 0 else off)


@dataclass(frozen=True)
class Record:
    owner: str
    rtype: int
    rclass: int
    ttl: int
    rdata: str  # names decompressed and lower-cased, other RDATA in hex


def _rdata(msg: bytes, rtype: int, off: int, length: int) -> str:
    if rtype in NAME_TYPES:
        return read_name(msg, off)[0]
    if rtype == 15:
        return f"{struct.unpack('>H', msg[off:off + 2])[0]} {read_name(msg, off + 2)[0]}"
    if rtype == 6:
        mname, at = read_name(msg, off)
        rname, at = read_name(msg, at)
        return f"{mname} {rname} {msg[at:off + length].hex()}"
    return msg[off:off + length].hex()


@dataclass(frozen=True)
class Response:
    qid: int
    flags: frozenset[str]
    opcode: int
    rcode: int  # with the extended bits of the OPT record
    question: tuple[str, int, int] | None
    answer: frozenset[Record]
    authority: frozenset[Record]
    additional: frozenset[Record]  # without the OPT record
    opt: tuple[int, int, int] | None  # (udp size, version, flags)
    counts: tuple[int, int, int, int]
    size: int


def parse(msg: bytes) -> Response:
    qid, flags, qd, an, ns, ar = struct.unpack(">HHHHHH", msg[:12])
    off = 12
    question = None
    for _ in range(qd):
        name, off = read_name(msg, off)
        qtype, qclass = struct.unpack(">HH", msg[off:off + 4])
        off += 4
        question = (name, qtype, qclass)
    sections: list[list[Record]] = [[], [], []]
    opt = None
    rcode = flags & 0xF
    for index, count in enumerate((an, ns, ar)):
        for _ in range(count):
            owner, off = read_name(msg, off)
            rtype, rclass, ttl, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
            off += 10
            if rtype == 41:
                opt = (rclass, (ttl >> 16) & 0xFF, ttl & 0xFFFF)
                rcode |= (ttl >> 24) << 4
            else:
                sections[index].append(Record(owner, rtype, rclass, ttl,
                                              _rdata(msg, rtype, off, rdlen)))
            off += rdlen
    assert off == len(msg), f"{len(msg) - off} bytes after the last record"
    return Response(qid, frozenset(n for n, bit in FLAG_NAMES if flags & bit),
                    (flags >> 11) & 0xF, rcode, question, frozenset(sections[0]),
                    frozenset(sections[1]), frozenset(sections[2]), opt, (qd, an, ns, ar),
                    len(msg))
