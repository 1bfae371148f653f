"""Two TCP engines over a simulated link with seeded loss, reordering and
duplication: many parallel echo transfers must arrive intact and every
connection on both sides must end CLOSED and freed."""

from __future__ import annotations

import heapq
import random
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.runtime.tcp_harness import MS, NEVER, SEC, Engine, asan_environment, engine_lib

CLIENT_IP = 0x0A000001
SERVER_IP = 0x0A000002


@dataclass
class Link:
    rng: random.Random
    loss: float
    dup: float
    delay: int
    jitter: int
    queue: list[tuple[int, int, Engine, int, int, bytes]] = field(default_factory=list)
    counter: int = 0
    carried: int = 0

    def push(self, now: int, dst: Engine, src_ip: int, dst_ip: int, raw: bytes) -> None:
        self.carried += 1
        if self.rng.random() < self.loss:
            return
        copies = 2 if self.rng.random() < self.dup else 1
        for _ in range(copies):
            at = now + self.delay + self.rng.randrange(self.jitter + 1)
            self.counter += 1
            heapq.heappush(self.queue, (at, self.counter, dst, src_ip, dst_ip, raw))


@dataclass
class Flow:
    data: bytes
    sent: int = 0
    echoed: bytearray = field(default_factory=bytearray)
    closed: bool = False


def describe(client: Engine, conns: dict[int, Flow], server: Engine,
             served: dict[int, bytearray]) -> str:
    flows = [f"{client.state(c)}({client.error(c)}):{len(f.data)}/{f.sent}/{len(f.echoed)}"
             for c, f in conns.items() if not f.closed]
    servers = [f"{server.state(c)}({server.error(c)}):{len(p)}" for c, p in served.items()]
    return f"client {flows} server {servers}"


def run_echo(seed: int, loss: float, dup: float, jitter: int, flows: int, size: int) -> None:
    lib = engine_lib()
    client = Engine(lib, local_ip=CLIENT_IP, rcvbuf=64 * 1024, sndbuf=64 * 1024)
    server = Engine(lib, local_ip=SERVER_IP, rcvbuf=64 * 1024, sndbuf=64 * 1024)
    try:
        rng = random.Random(seed)
        link = Link(rng, loss, dup, delay=5 * MS, jitter=jitter)
        listener = server.listen(port=7, backlog=flows)
        conns: dict[int, Flow] = {}
        for i in range(flows):
            payload = rng.randbytes(size + i)
            conns[client.connect(rport=7, rip=SERVER_IP)] = Flow(payload)
        served: dict[int, bytearray] = {}    # server conn -> bytes not yet echoed
        server_eof: set[int] = set()
        now = 0
        for _ in range(400_000):
            # the applications, level-triggered
            while (c := server.accept(listener)) is not None:
                served[c] = bytearray()
            for c, pending in list(served.items()):
                got = server.recv(c, 65536)
                if isinstance(got, bytes) and got:
                    pending += got
                elif got == b"":
                    server_eof.add(c)
                if pending:
                    n = server.send(c, bytes(pending))
                    if n > 0:
                        del pending[:n]
                if c in server_eof and not pending:
                    server.close(c)
                    del served[c]
                    # handles are addresses: a later connection may get this one
                    server_eof.discard(c)
            for c, flow in conns.items():
                if flow.closed:
                    continue
                if flow.sent < len(flow.data) and client.state(c) == "ESTABLISHED":
                    n = client.send(c, flow.data[flow.sent:flow.sent + 65536])
                    if n > 0:
                        flow.sent += n
                got = client.recv(c, 65536)
                if isinstance(got, bytes):
                    flow.echoed += got
                if len(flow.echoed) == len(flow.data):
                    client.close(c)
                    flow.closed = True
            # the wire
            for eng, peer in ((client, server), (server, client)):
                for src, dst, raw in eng.out:
                    link.push(now, peer, src, dst, raw)
                eng.out.clear()
            if all(f.closed for f in conns.values()) and not served and \
                    client.stats().live_conns == 0 and server.stats().live_conns == 0:
                break
            nxt = min(client.deadline(), server.deadline(),
                      link.queue[0][0] if link.queue else NEVER)
            assert nxt != NEVER, "deadlock: no timer and nothing on the wire: " + describe(
                client, conns, server, served)
            now = max(now, nxt)
            assert now < 900 * SEC, "transfer did not finish in 900 virtual seconds"
            while link.queue and link.queue[0][0] <= now:
                _, _, dst_eng, src_ip, dst_ip, raw = heapq.heappop(link.queue)
                dst_eng.at(now)
                dst_eng.lib.tcp_input(dst_eng.handle, now, src_ip, dst_ip, raw, len(raw))
            for eng in (client, server):
                eng.at(now)
                eng.lib.tcp_poll(eng.handle, now)  # outputs stay queued for the link
        else:
            raise AssertionError("simulation step limit reached")
        for flow in conns.values():
            assert bytes(flow.echoed) == flow.data
        client.assert_no_leaks()
        server.lib.tcp_unlisten(listener)
        server.assert_no_leaks()
        stats = client.stats()
        if loss:
            assert stats.retransmits > 0
    finally:
        client.destroy()
        server.destroy()


def test_clean_link_many_flows() -> None:
    run_echo(seed=1, loss=0.0, dup=0.0, jitter=0, flows=20, size=50_000)


@pytest.mark.parametrize("seed,loss,dup", [(2, 0.02, 0.02), (3, 0.1, 0.05), (4, 0.2, 0.0),
                                           (5, 0.3, 0.1), (6, 0.05, 0.25)])
def test_lossy_reordering_link(seed: int, loss: float, dup: float) -> None:
    run_echo(seed=seed, loss=loss, dup=dup, jitter=8 * MS, flows=8, size=60_000)


def test_lossy_link_under_address_sanitizer() -> None:
    """The same simulation in a child process with the engine built with ASan."""
    repo = Path(__file__).resolve().parents[2]
    code = ("from tests.runtime.test_tcp_netsim import run_echo\n"
            "run_echo(seed=7, loss=0.15, dup=0.1, jitter=20_000_000, flows=30, size=20_000)\n"
            "run_echo(seed=8, loss=0.3, dup=0.1, jitter=8_000_000, flows=4, size=60_000)\n"
            "print('asan ok')\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=repo, env=asan_environment(),
                            capture_output=True, text=True, timeout=240)
    assert result.returncode == 0 and "asan ok" in result.stdout, result.stderr[-3000:]
