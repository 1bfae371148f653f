"""Local farm processes for the farm benchmark and tests: a throwaway redis-server on a free
loopback port and real `repo-tool worker` processes, each in its own process group.

No persistence (--save "" --appendonly no), noeviction (eviction would drop Celery's queue
bindings). stop_group() kills a whole group, so a worker's pool processes go too.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_TOOL = str(Path(sys.executable).parent / "repo-tool")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def stop_group(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=30)


@dataclass
class Redis:
    url: str  # redis://127.0.0.1:PORT/0
    port: int
    process: subprocess.Popen[bytes]

    def db(self, number: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{number}"


def start_redis(directory: Path, port: int | None = None) -> Redis:
    """redis-server on 127.0.0.1 (a free port unless given), answering PING; its log in
    directory/redis.log. Retries on another port if the chosen one was taken meanwhile."""
    for _attempt in range(5):
        chosen = port or free_port()
        process = subprocess.Popen(
            ["redis-server", "--port", str(chosen), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(directory), "--maxmemory-policy", "noeviction"],
            stdout=(directory / "redis.log").open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for _ in range(100):
            if process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", chosen), timeout=0.2) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        return Redis(f"redis://127.0.0.1:{chosen}/0", chosen, process)
            except OSError:
                time.sleep(0.05)
        stop_group(process)
    raise RuntimeError("redis-server did not start")


def start_worker(
    broker: str, key: Path, store: Path, worker_id: str, log: Path, concurrency: int = 1
) -> subprocess.Popen[bytes]:
    """`repo-tool worker` (plaintext test key), returned once Celery says it is ready. Its
    temporary files (Solo5 copy, build trees) go beside its log: a worker stopped with SIGKILL
    cannot remove them itself."""
    scratch = log.parent / f"{worker_id}.tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [REPO_TOOL, "worker", "--broker", broker, "--key", str(key), "--insecure-plaintext",
         "--store", str(store), "--worker-id", worker_id, "--concurrency", str(concurrency)],
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "TMPDIR": str(scratch)},
    )
    deadline = time.monotonic() + 60
    while f"unirepo@{worker_id} ready." not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_group(process)
            raise RuntimeError(
                f"worker {worker_id} did not start:\n{log.read_text(errors='replace')}"
            )
        time.sleep(0.1)
    return process
