"""Writes the fuzzers' seed corpus, runtime/fuzz/corpus/<parser>/*.bin.

    .venv/bin/python -m tests.runtime.fuzz_corpus

Seeds are valid messages of each format, built with the test frame
builders, so the fuzzers start from inputs that reach deep code.
"""

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
    arp,
    arp_frame,
    echo,
    fragments,
    icmp,
    ip,
    ip_frame,
    ipv4,
    udp,
)
from tests.runtime.stack_harness import RUNTIME


def records(*items: bytes) -> bytes:
    """The [2-byte length][bytes] framing of fuzz_ipv4 and fuzz_stack."""
    return b"".join(struct.pack("!H", len(item)) + item for item in items)


def dns_name(text: str) -> bytes:
    return b"".join(bytes([len(label)]) + label.encode() for label in text.split(".")) + b"\0"


def dhcp_reply(msg_type: int) -> bytes:
    msg = bytearray(240)
    msg[0:4] = bytes([2, 1, 6, 0])
    msg[4:8] = b"\x12\x34\x56\x78"
    msg[16:20] = ip("10.0.0.50")
    msg[28:34] = MAC_US
    msg[236:240] = bytes([99, 130, 83, 99])
    opts = bytes([53, 1, msg_type, 54, 4]) + ip("10.0.0.1") + bytes([51, 4, 0, 0, 14, 16])
    opts += bytes([1, 4, 255, 255, 255, 0, 3, 4]) + ip("10.0.0.1") + bytes([6, 8]) + ip(
        "10.0.0.1") + ip("10.0.0.2") + bytes([0, 0, 58, 4, 0, 0, 7, 8, 255])
    return bytes(msg) + opts


def dns_answer(qname: str, records_: bytes, count: int) -> bytes:
    return (struct.pack("!HHHHHH", 0x1234, 0x8180, 1, count, 0, 0) + dns_name(qname)
            + struct.pack("!HH", 1, 1) + records_)


def seeds() -> dict[str, dict[str, bytes]]:
    ping = ipv4(IP_PEER, IP_US, PROTO_ICMP, echo(8, 1, 1, b"seed" * 4), ident=1)
    dgram = udp(IP_PEER, IP_US, 4000, 7, b"hello")
    udp_packet = ipv4(IP_PEER, IP_US, PROTO_UDP, dgram, ident=2)
    frags = fragments(IP_PEER, IP_US, PROTO_ICMP, echo(8, 1, 2, b"f" * 3000), 1480, 3)
    arp_request = arp_frame(1, BROADCAST_MAC, MAC_PEER, IP_PEER, b"\0" * 6, IP_US)
    a_rec = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + ip("93.184.216.34")
    cname = b"\xc0\x0c" + struct.pack("!HHIH", 5, 1, 60, 6) + b"\x03cdn\xc0\x10"
    # virtio-net headers (virtio 1.2 5.1.6): none, DATA_VALID, a merged TCPv4 segment.
    tcp_segment = struct.pack("!HHIIBBHHH", 5000, 80, 1, 0, 5 << 4, 0x10, 65535, 0, 0) + b"d" * 3000
    merged = struct.pack("<BBHHHH", 1, 1, 54, 1448, 34, 16)
    return {
        "ethernet": {"arp": arp_request, "ping": ip_frame(MAC_US, MAC_PEER, ping)},
        "arp": {"request": arp(1, MAC_PEER, IP_PEER, b"\0" * 6, IP_US),
                "reply": arp(2, MAC_PEER, IP_PEER, MAC_US, IP_US)},
        "ipv4": {"ping": records(ping),
                 "options": records(ipv4(IP_PEER, IP_US, PROTO_ICMP, echo(8, 1, 1, b""),
                                         options=bytes([1, 1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0]))),
                 "fragments": records(frags[2], frags[0], frags[1], frags[1])},
        "icmp": {"echo": echo(8, 1, 1, b"abc"),
                 "unreachable": icmp(3, 3, b"\0" * 4, udp_packet[:28])},
        "udp": {"checksum": dgram, "nochecksum": udp(IP_PEER, IP_US, 4000, 7, b"x",
                                                     with_checksum=False)},
        "dhcp": {"offer": dhcp_reply(2), "ack": dhcp_reply(5), "nak": dhcp_reply(6)},
        "dns": {"a": dns_answer("example.org", a_rec + a_rec, 2),
                "cname": dns_answer("www.example.org", cname + a_rec, 2),
                "loop": dns_answer("example.org", b"\xc0\x1d" + a_rec[2:], 1)},
        "bootargs": {"static": b"--ipv4=10.77.0.2/24 --ipv4-gateway=10.77.0.1 app",
                     "dhcp": b"--dhcp"},
        "vnet": {"plain": records(bytes(10) + ip_frame(MAC_US, MAC_PEER, ping)),
                 "valid": records(b"\x02" + bytes(9) + ip_frame(MAC_US, MAC_PEER, udp_packet)),
                 "merged": records(merged + ip_frame(MAC_US, MAC_PEER, ipv4(
                     IP_PEER, IP_US, PROTO_TCP, tcp_segment, ident=3)))},
        "stack": {"session": records(arp_request, ip_frame(MAC_US, MAC_PEER, ping),
                                     ip_frame(MAC_US, MAC_PEER, udp_packet),
                                     *(ip_frame(MAC_US, MAC_PEER, f) for f in frags))},
    }


def main() -> None:
    for parser, files in seeds().items():
        folder = RUNTIME / "fuzz" / "corpus" / parser
        folder.mkdir(parents=True, exist_ok=True)
        for stem, data in files.items():
            Path(folder / f"{stem}.bin").write_bytes(data)


if __name__ == "__main__":
    main()
