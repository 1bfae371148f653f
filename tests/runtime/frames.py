"""Builders for the frames the host-side stack tests feed and expect.

Written independently of the C stack, from the RFCs, so a test compares
two implementations of each format.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

MAC_US = bytes.fromhex("020000000002")
MAC_PEER = bytes.fromhex("02000000000a")
MAC_GW = bytes.fromhex("020000000001")
BROADCAST_MAC = b"\xff" * 6
IP_US = "10.0.0.2"
IP_PEER = "10.0.0.10"
IP_GW = "10.0.0.1"

ETH_IPV4 = 0x0800
ETH_ARP = 0x0806
PROTO_ICMP = 1
PROTO_TCP = 6
PROTO_UDP = 17


def ip(text: str) -> bytes:
    return ipaddress.IPv4Address(text).packed


def checksum(data: bytes) -> int:
    """RFC 1071 Internet checksum."""
    if len(data) % 2:
        data += b"\0"
    total = sum(int(word) for word in struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def pad60(frame: bytes) -> bytes:
    """IEEE 802.3 minimum frame length without FCS."""
    return frame + b"\0" * max(0, 60 - len(frame))


def eth(dst: bytes, src: bytes, ethertype: int, payload: bytes) -> bytes:
    return dst + src + struct.pack("!H", ethertype) + payload


def arp(op: int, sha: bytes, spa: str, tha: bytes, tpa: str) -> bytes:
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + ip(spa) + tha + ip(tpa)


def arp_frame(op: int, eth_dst: bytes, sha: bytes, spa: str, tha: bytes, tpa: str) -> bytes:
    return pad60(eth(eth_dst, sha, ETH_ARP, arp(op, sha, spa, tha, tpa)))


def ipv4(src: str, dst: str, proto: int, payload: bytes, *, ident: int = 0, flags_frag: int = 0,
         ttl: int = 64, options: bytes = b"", good_checksum: bool = True) -> bytes:
    ihl = 5 + len(options) // 4
    header = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, ihl * 4 + len(payload), ident,
                         flags_frag, ttl, proto, 0, ip(src), ip(dst)) + options
    csum = checksum(header) ^ (0 if good_checksum else 0x5555)
    return header[:10] + struct.pack("!H", csum) + header[12:] + payload


def icmp(icmp_type: int, code: int, rest: bytes, body: bytes, good_checksum: bool = True) -> bytes:
    msg = struct.pack("!BBH", icmp_type, code, 0) + rest + body
    csum = checksum(msg) ^ (0 if good_checksum else 0x1111)
    return msg[:2] + struct.pack("!H", csum) + msg[4:]


def echo(icmp_type: int, ident: int, seq: int, data: bytes) -> bytes:
    return icmp(icmp_type, 0, struct.pack("!HH", ident, seq), data)


def udp(src: str, dst: str, sport: int, dport: int, payload: bytes, *,
        with_checksum: bool = True, corrupt: bool = False) -> bytes:
    length = 8 + len(payload)
    header = struct.pack("!HHHH", sport, dport, length, 0)
    if not with_checksum:
        return header + payload
    pseudo = ip(src) + ip(dst) + struct.pack("!BBH", 0, PROTO_UDP, length)
    csum = checksum(pseudo + header + payload) or 0xFFFF
    if corrupt:
        csum ^= 0x0101
    return header[:6] + struct.pack("!H", csum) + payload


def ip_frame(dst_mac: bytes, src_mac: bytes, packet: bytes) -> bytes:
    return pad60(eth(dst_mac, src_mac, ETH_IPV4, packet))


def fragments(src: str, dst: str, proto: int, payload: bytes, chunk: int, ident: int
              ) -> list[bytes]:
    """payload split into IPv4 fragments of chunk bytes (a multiple of 8)."""
    out = []
    for off in range(0, len(payload), chunk):
        more = 0x2000 if off + chunk < len(payload) else 0
        out.append(ipv4(src, dst, proto, payload[off:off + chunk], ident=ident,
                        flags_frag=more | (off // 8)))
    return out


@dataclass(frozen=True)
class IPv4Header:
    total: int
    ident: int
    flags_frag: int
    ttl: int
    proto: int
    checksum_ok: bool
    src: str
    dst: str

    @property
    def offset(self) -> int:
        return (self.flags_frag & 0x1FFF) * 8


def parse_ipv4(frame: bytes) -> tuple[IPv4Header, bytes]:
    """Header fields and payload of the IPv4 packet in an Ethernet frame."""
    assert frame[12:14] == b"\x08\x00", "not IPv4"
    packet = frame[14:]
    ver_ihl, _tos, total, ident, flags_frag, ttl, proto, _csum, src, dst = struct.unpack(
        "!BBHHHBBH4s4s", packet[:20])
    assert ver_ihl >> 4 == 4
    ihl = (ver_ihl & 15) * 4
    header = IPv4Header(total=total, ident=ident, flags_frag=flags_frag, ttl=ttl, proto=proto,
                        checksum_ok=checksum(packet[:ihl]) == 0,
                        src=str(ipaddress.IPv4Address(src)), dst=str(ipaddress.IPv4Address(dst)))
    return header, packet[ihl:total]
