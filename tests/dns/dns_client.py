"""Raw DNS clients run inside a test namespace (python3 dns_client.py MODE
SERVER[:PORT] ...); prints JSON. Modes:

  udp SERVER HEX...        each message in its own datagram; the reply in
                           hex or null (none within 2 s)
  tcp SERVER HEX...        each message on its own connection; the reply
                           in hex or null (closed without one)
  pipeline SERVER HEX...   all messages in one TCP write, then the replies
                           read in order
  stall SERVER SECONDS HEX COUNT
                           sends the message COUNT times on one connection
                           without reading, waits SECONDS, then reads until
                           the server closes: the number of replies read
  idle SERVER SECONDS      connects, stays silent, and reports after how
                           many seconds the server closed (null: it did not
                           within SECONDS + 5)
"""

from __future__ import annotations

import json
import socket
import struct
import sys
import time


def udp(server: tuple[str, int], messages: list[bytes]) -> list[str | None]:
    replies: list[str | None] = []
    for message in messages:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(message, server)
            try:
                replies.append(s.recv(65535).hex())
            except TimeoutError:
                replies.append(None)
    return replies


def read_exact(s: socket.socket, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed early")
        data += chunk
    return data


def tcp(server: tuple[str, int], messages: list[bytes]) -> list[str | None]:
    replies: list[str | None] = []
    for message in messages:
        with socket.create_connection(server, timeout=5) as s:
            s.sendall(struct.pack(">H", len(message)) + message)
            try:
                (length,) = struct.unpack(">H", read_exact(s, 2))
                replies.append(read_exact(s, length).hex())
            except (ConnectionError, TimeoutError):
                replies.append(None)
    return replies


def pipeline(server: tuple[str, int], messages: list[bytes]) -> list[str]:
    with socket.create_connection(server, timeout=10) as s:
        s.sendall(b"".join(struct.pack(">H", len(m)) + m for m in messages))
        replies = []
        for _ in messages:
            (length,) = struct.unpack(">H", read_exact(s, 2))
            replies.append(read_exact(s, length).hex())
        return replies


def stall(server: tuple[str, int], seconds: float, message: bytes, count: int) -> int:
    with socket.create_connection(server, timeout=30) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.sendall((struct.pack(">H", len(message)) + message) * count)
        time.sleep(seconds)
        replies = 0
        try:
            while True:
                (length,) = struct.unpack(">H", read_exact(s, 2))
                read_exact(s, length)
                replies += 1
        except (ConnectionError, struct.error):
            return replies


def idle(server: tuple[str, int], seconds: float) -> float | None:
    with socket.create_connection(server, timeout=seconds + 5) as s:
        start = time.monotonic()
        try:
            data = s.recv(1)
        except TimeoutError:
            return None
        return time.monotonic() - start if data == b"" else None


def main() -> None:
    mode, where, *rest = sys.argv[1:]
    host, _, port = where.partition(":")
    server = (host, int(port or 53))
    result: object
    if mode == "udp":
        result = udp(server, [bytes.fromhex(h) for h in rest])
    elif mode == "tcp":
        result = tcp(server, [bytes.fromhex(h) for h in rest])
    elif mode == "pipeline":
        result = pipeline(server, [bytes.fromhex(h) for h in rest])
    elif mode == "stall":
        result = stall(server, float(rest[0]), bytes.fromhex(rest[1]), int(rest[2]))
    else:
        result = idle(server, float(rest[0]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
