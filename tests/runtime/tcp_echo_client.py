"""Linux-side peer for the tcp-echo unikernel, run inside the test's network
namespace: `python3 tcp_echo_client.py MODE HOST PORT ...`, prints one JSON
object. Every connection sends seeded random bytes and must get exactly the
same bytes back (checked by length and SHA-256).

  bulk     SIZE         one connection, SIZE bytes
  parallel N SIZE       N connections at once, SIZE bytes each
  churn    N SIZE       N connections one after another
  discard  SIZE         SIZE bytes to the discard service, then wait for its FIN
  source   SIZE         SIZE bytes from the source service (byte k is k % 251)
"""

from __future__ import annotations

import hashlib
import json
import random
import selectors
import socket
import sys
import time
from dataclasses import dataclass, field

CHUNK = 256 * 1024


@dataclass
class Flow:
    sock: socket.socket
    data: bytes
    sent: int = 0
    received: int = 0
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    write_closed: bool = False
    done: bool = False


def run_flows(host: str, port: int, sizes: list[int], seed: int,
              timeout: float) -> dict[str, object]:
    rng = random.Random(seed)
    sel = selectors.DefaultSelector()
    flows = []
    start = time.monotonic()
    for size in sizes:
        sock = socket.create_connection((host, port), timeout=10)
        sock.setblocking(False)
        flow = Flow(sock, rng.randbytes(size))
        flows.append(flow)
        sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, flow)
    pending = len(flows)
    deadline = start + timeout
    while pending:
        if time.monotonic() > deadline:
            raise SystemExit(json.dumps({"error": "timeout", "pending": pending,
                                         "received": [f.received for f in flows]}))
        for key, events in sel.select(timeout=1):
            flow = key.data
            if events & selectors.EVENT_WRITE and not flow.write_closed:
                if flow.sent < len(flow.data):
                    try:
                        flow.sent += flow.sock.send(flow.data[flow.sent:flow.sent + CHUNK])
                    except BlockingIOError:
                        pass
                if flow.sent == len(flow.data):
                    flow.sock.shutdown(socket.SHUT_WR)
                    flow.write_closed = True
                    sel.modify(flow.sock, selectors.EVENT_READ, flow)
            if events & selectors.EVENT_READ:
                try:
                    chunk = flow.sock.recv(CHUNK)
                except BlockingIOError:
                    continue
                if chunk:
                    flow.digest.update(chunk)
                    flow.received += len(chunk)
                    if flow.received > len(flow.data):
                        raise SystemExit(json.dumps({"error": "more bytes than sent"}))
                else:
                    if flow.received != len(flow.data):
                        raise SystemExit(json.dumps({"error": "early end of stream",
                                                     "received": flow.received,
                                                     "expected": len(flow.data)}))
                    sel.unregister(flow.sock)
                    flow.sock.close()
                    flow.done = True
                    pending -= 1
    elapsed = time.monotonic() - start
    intact = all(f.digest.digest() == hashlib.sha256(f.data).digest() for f in flows)
    return {"connections": len(flows), "bytes": sum(sizes), "seconds": elapsed,
            "intact": intact}


def discard(host: str, port: int, size: int) -> dict[str, object]:
    data = bytes(range(256)) * (CHUNK // 256)
    start = time.monotonic()
    with socket.create_connection((host, port), timeout=60) as sock:
        sent = 0
        while sent < size:
            sent += sock.send(data[:min(CHUNK, size - sent)])
        sock.shutdown(socket.SHUT_WR)
        eof = sock.recv(1) == b""   # the service closes once it has read everything
    return {"bytes": size, "seconds": time.monotonic() - start, "intact": eof}


def source(host: str, port: int, size: int) -> dict[str, object]:
    pattern = bytes(k % 251 for k in range(251)) * (2 * CHUNK // 251 + 2)
    received = 0
    intact = True
    start = time.monotonic()
    with socket.create_connection((host, port), timeout=60) as sock:
        while received < size:
            chunk = sock.recv(min(CHUNK, size - received))
            if not chunk:
                break
            offset = received % 251
            intact = intact and chunk == pattern[offset:offset + len(chunk)]
            received += len(chunk)
    return {"bytes": received, "seconds": time.monotonic() - start,
            "intact": intact and received == size}


def main(argv: list[str]) -> None:
    mode, host, port = argv[0], argv[1], int(argv[2])
    if mode == "bulk":
        result = run_flows(host, port, [int(argv[3])], seed=1, timeout=240)
    elif mode == "parallel":
        result = run_flows(host, port, [int(argv[4])] * int(argv[3]), seed=2, timeout=120)
    elif mode == "churn":
        total: dict[str, object] = {"connections": 0, "intact": True}
        start = time.monotonic()
        for i in range(int(argv[3])):
            one = run_flows(host, port, [int(argv[4])], seed=100 + i, timeout=30)
            total["connections"] = int(str(total["connections"])) + 1
            total["intact"] = bool(total["intact"]) and bool(one["intact"])
        total["seconds"] = time.monotonic() - start
        result = total
    elif mode == "discard":
        result = discard(host, port, int(argv[3]))
    elif mode == "source":
        result = source(host, port, int(argv[3]))
    else:
        raise SystemExit(f"unknown mode {mode}")
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1:])
