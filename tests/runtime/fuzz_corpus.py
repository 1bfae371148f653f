"""Writes the fuzzers' seed corpus, runtime/fuzz/corpus/<parser>/*.bin.

    .venv/bin/python -m tests.runtime.fuzz_corpus

Seeds are valid messages of each format, built with the test frame
builders, so the fuzzers start from inputs that reach deep code. The TCP
sessions of the whole-stack fuzzers (fuzz_stack, fuzz_vnet, see
runtime/fuzz/stack_app.h) acknowledge the stack's SYN-ACKs: the generator
works out its initial sequence numbers from the harness's fixed seed with
the engine's own SipHash (tcp_harness builds the engine library).
"""

from __future__ import annotations

import ctypes
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
from tests.runtime.tcp_harness import ACK, FIN, PSH, SYN, Seg, engine_lib

# runtime/fuzz/stack_app.h and the harnesses' net_stack_config.seed.
STACK_SEED = 1
APP_ADDR, APP_PEER = 0x0A000002, 0x0A00000A
APP_TCP_PORT, APP_LOCAL_PORT, APP_PEER_PORT = 80, 40000, 8080
SEC, MSEC = 1_000_000_000, 1_000_000
VNET_PLAIN, VNET_DATA_VALID = bytes(10), b"\x02" + bytes(9)  # virtio 1.2 5.1.6


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


def stack_random(seed: int, count: int) -> list[int]:
    """The first count numbers of net_stack_random (xorshift64, stack.c)."""
    x, out = seed, []
    for _ in range(count):
        x ^= (x << 13) & (2**64 - 1)
        x ^= x >> 7
        x ^= (x << 17) & (2**64 - 1)
        out.append(x >> 32)
    return out


def app_isn(now: int, lport: int, rip: int, rport: int) -> int:
    """RFC 6528 ISN of the application's engine: the stack's 1st random
    number goes to IP IDs, the next 4 are tcp_stack_attach's secret."""
    secret = b"".join(struct.pack("<I", r) for r in stack_random(STACK_SEED, 5)[1:])
    siphash = engine_lib().tcp_siphash
    siphash.restype = ctypes.c_uint64
    siphash.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_size_t]
    four_tuple = struct.pack("!IHIH", APP_ADDR, lport, rip, rport)
    return (now // 4000 + siphash(secret, four_tuple, len(four_tuple))) & 0xFFFFFFFF


def tcp_frame(seg: Seg) -> bytes:
    """seg from the peer (10.0.0.10) to the application, as a frame."""
    packet = ipv4(IP_PEER, IP_US, PROTO_TCP, seg.build(APP_PEER, APP_ADDR))
    return ip_frame(MAC_US, MAC_PEER, packet)


def tcp_sessions(step: int) -> dict[str, list[bytes]]:
    """Frames a peer sends, one per record (record i arrives at 1 + i *
    step ns): a passive open to port 80 carrying data that the application
    echoes, answers by reference ('G') and closes on ('Q'), aborts on
    ('X'), or ends with a FIN; and a SYN-ACK to its active open."""
    arp_request = arp_frame(1, BROADCAST_MAC, MAC_PEER, IP_PEER, b"\0" * 6, IP_US)
    sport = 50000
    iss = app_isn(1 + step, APP_TCP_PORT, APP_PEER, sport)  # the SYN is record 1

    def to_80(flags: int, seq: int, payload: bytes = b"") -> bytes:
        return tcp_frame(Seg(sport, APP_TCP_PORT, seq, iss + 1, flags, 65535, payload))

    syn = tcp_frame(Seg(sport, APP_TCP_PORT, 1000, 0, SYN, 65535, mss=1460, ws=7))
    opened = [arp_request, syn, to_80(ACK, 1001)]
    get = to_80(ACK | PSH, 1001, b"GET / HTTP/1.1\r\n\r\n")
    after_get = 1001 + 18
    active_iss = app_isn(1, APP_LOCAL_PORT, APP_PEER, APP_PEER_PORT)
    syn_ack = tcp_frame(Seg(APP_PEER_PORT, APP_LOCAL_PORT, 7000, active_iss + 1, SYN | ACK,
                            65535, mss=1460, ws=2))
    return {
        "tcp_echo": [*opened, get, to_80(ACK | FIN, after_get)],
        "tcp_quit": [*opened, to_80(ACK | PSH, 1001, b"bye Q and more")],
        "tcp_abort": [*opened, to_80(ACK | PSH, 1001, b"X")],
        "tcp_data_on_ack": [arp_request, syn, to_80(ACK | PSH, 1001, b"hello")],
        "tcp_active": [arp_request, syn_ack, tcp_frame(Seg(
            APP_PEER_PORT, APP_LOCAL_PORT, 7001, active_iss + 1 + 18, ACK | PSH, 65535,
            b"HTTP/1.0 200 OK\r\n\r\n")), tcp_frame(Seg(
            APP_PEER_PORT, APP_LOCAL_PORT, 7020, active_iss + 1 + 18, ACK | FIN, 65535))],
    }


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
    corpus = {
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
                                     *(ip_frame(MAC_US, MAC_PEER, f) for f in frags)),
                  **{name: records(*frames) for name, frames in tcp_sessions(SEC).items()}},
    }
    for name, frames in tcp_sessions(100 * MSEC).items():
        header = VNET_DATA_VALID if name == "tcp_echo" else VNET_PLAIN
        corpus["vnet"][name] = records(*(header + frame for frame in frames))
    return corpus


def main() -> None:
    for parser, files in seeds().items():
        folder = RUNTIME / "fuzz" / "corpus" / parser
        folder.mkdir(parents=True, exist_ok=True)
        for stem, data in files.items():
            Path(folder / f"{stem}.bin").write_bytes(data)


if __name__ == "__main__":
    main()
