"""HTTP clients run inside a test's network namespace (python -m is not
needed: the file runs standalone). Each command prints one JSON object.

    http_probe.py exchange HOST PORT  < {"chunks": [b64...], "pause": s,
                                         "methods": ["GET", ...], "wait_close": s}
        sends the chunks (pausing between them), reads one response per
        method with http.client (pipelined on one connection), then says
        whether the server closed the connection.
    http_probe.py batch HOST PORT  < [spec, ...]
        one exchange per spec, each on its own connection, in order.
    http_probe.py hold HOST PORT N PATH
        opens N keep-alive connections, each answered once and held open;
        while all are open, new connections are answered; then every held
        connection is answered once more and all are kept open 2.5 s more.
    http_probe.py slowloris HOST PORT N SECONDS PATH
        N clients trickle a request head a byte every half second for
        SECONDS while another client keeps fetching PATH.
"""

from __future__ import annotations

import base64
import http.client
import json
import resource
import selectors
import socket
import sys
import time
from typing import Any, BinaryIO

HOLD_SECONDS = 2.5


class _Unclosed:
    """The connection's buffered file, which a finished response must not close."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)

    def close(self) -> None:
        pass


class _SharedFile:
    """A socket stand-in whose makefile() is one buffered file, so several
    HTTPResponse objects read consecutive (pipelined) responses."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = _Unclosed(stream)

    def makefile(self, *args: object, **kwargs: object) -> _Unclosed:
        return self.stream


def read_response(stream: BinaryIO, method: str) -> dict[str, Any]:
    response = http.client.HTTPResponse(_SharedFile(stream), method=method)  # type: ignore[arg-type]
    response.begin()
    body = response.read()
    return {"status": response.status, "reason": response.reason,
            "version": response.version, "headers": [[k, v] for k, v in response.getheaders()],
            "body": base64.b64encode(body).decode()}


def exchange(host: str, port: int, spec: dict[str, Any]) -> dict[str, Any]:
    sock = socket.create_connection((host, port), timeout=15)
    stream = sock.makefile("rb")
    out: dict[str, Any] = {"responses": []}
    try:
        for i, chunk in enumerate(spec["chunks"]):
            if i > 0 and spec.get("pause"):
                time.sleep(spec["pause"])
            sock.sendall(base64.b64decode(chunk))
        for method in spec["methods"]:
            out["responses"].append(read_response(stream, method))
        sock.settimeout(spec.get("wait_close", 2.0))
        try:
            out["closed"] = stream.read(1) == b""
        except TimeoutError:
            out["closed"] = False
    except (OSError, http.client.HTTPException) as error:
        out["error"] = f"{type(error).__name__}: {error}"
    finally:
        sock.close()
    return out


def get(sock: socket.socket, stream: BinaryIO, host: str, path: str) -> int:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    status: int = read_response(stream, "GET")["status"]
    return status


def hold(host: str, port: int, count: int, path: str) -> dict[str, Any]:
    held = []
    started = time.monotonic()
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=30)
        held.append((sock, sock.makefile("rb")))
    first = sum(get(s, f, host, path) == 200 for s, f in held)
    fresh = []
    for _ in range(20):
        sock = socket.create_connection((host, port), timeout=30)
        with sock, sock.makefile("rb") as stream:
            t0 = time.monotonic()
            fresh.append((get(sock, stream, host, path), time.monotonic() - t0))
    second = sum(get(s, f, host, path) == 200 for s, f in held)
    # the guest reports its connection count at most once a second: keep all
    # of them open long enough that one report sees them, however fast the rest ran
    time.sleep(HOLD_SECONDS)
    for sock, stream in held:
        stream.close()
        sock.close()
    return {"held": count, "first": first, "second": second,
            "fresh_ok": sum(status == 200 for status, _ in fresh),
            "fresh_max_s": max(t for _, t in fresh), "seconds": time.monotonic() - started}


def slowloris(host: str, port: int, count: int, seconds: float, path: str) -> dict[str, Any]:
    head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode() + b"a" * 1000
    selector = selectors.DefaultSelector()
    slow: list[dict[str, Any]] = []
    for _ in range(count):
        sock = socket.create_connection((host, port), timeout=30)
        sock.setblocking(False)
        slow.append({"sock": sock, "sent": 0, "got": b"", "closed": False})
        selector.register(sock, selectors.EVENT_READ, slow[-1])
    fetches: list[float] = []
    statuses: list[int] = []
    deadline = time.monotonic() + seconds
    next_byte = time.monotonic()
    while time.monotonic() < deadline:
        if time.monotonic() >= next_byte:
            for conn in slow:
                if not conn["closed"] and conn["sent"] < len(head):
                    try:
                        conn["sock"].send(head[conn["sent"]:conn["sent"] + 1])
                        conn["sent"] += 1
                    except OSError:
                        conn["closed"] = True
            next_byte += 0.5
        t0 = time.monotonic()
        with socket.create_connection((host, port), timeout=10) as sock, \
                sock.makefile("rb") as stream:
            statuses.append(get(sock, stream, host, path))
        fetches.append(time.monotonic() - t0)
        for key, _ in selector.select(timeout=0.1):
            conn = key.data
            try:
                data = conn["sock"].recv(4096)
            except OSError:
                data = b""
            if data:
                conn["got"] += data
            else:
                conn["closed"] = True
                selector.unregister(conn["sock"])
    for conn in slow:
        conn["sock"].close()
    return {"fetches": len(fetches), "ok": statuses.count(200), "max_fetch_s": max(fetches),
            "slow_closed": sum(c["closed"] for c in slow),
            "slow_408": sum(c["got"].startswith(b"HTTP/1.1 408 ") for c in slow)}


def main() -> None:
    command, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(8192, hard), hard))  # 1,000+ sockets
    if command == "exchange":
        result = exchange(host, port, json.load(sys.stdin))
    elif command == "batch":
        result = {"results": [exchange(host, port, spec) for spec in json.load(sys.stdin)]}
    elif command == "hold":
        result = hold(host, port, int(sys.argv[4]), sys.argv[5])
    elif command == "slowloris":
        result = slowloris(host, port, int(sys.argv[4]), float(sys.argv[5]), sys.argv[6])
    else:
        raise SystemExit(f"unknown command {command}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
