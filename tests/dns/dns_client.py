"""Raw DNS clients run inside a test namespace (python3 dns_client.py MODE
SERVER ...); prints JSON. Modes:

  udp SERVER HEX...        each message in its own datagram; the reply in
                           hex or null (none within 2 s)
  pipeline SERVER HEX...   all messages in one TCP write, then the replies
                           read in order
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


def udp(server: str, messages: list[bytes]) -> list[str | None]:
    replies: list[str | None] = []
    for message in messages:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(message, (server, 53))
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


def pipeline(server: str, messages: list[bytes]) -> list[str]:
    with socket.create_connection((server, 53), timeout=10) as s:
        s.sendall(b"".join(struct.pack(">H", len(m)) + m for m in messages))
        replies = []
        for _ in messages:
            (length,) = struct.unpack(">H", read_exact(s, 2))
            replies.append(read_exact(s, length).hex())
        return replies


def idle(server: str, seconds: float) -> float | None:
    with socket.create_connection((server, 53), timeout=seconds + 5) as s:
        start = time.monotonic()
        try:
            data = s.recv(1)
        except TimeoutError:
            return None
        return time.monotonic() - start if data == b"" else None


def main() -> None:
    mode, server, *rest = sys.argv[1:]
    result: object
    if mode == "udp":
        result = udp(server, [bytes.fromhex(h) for h in rest])
    elif mode == "pipeline":
        result = pipeline(server, [bytes.fromhex(h) for h in rest])
    else:
        result = idle(server, float(rest[0]))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
