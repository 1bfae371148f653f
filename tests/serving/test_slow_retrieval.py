"""The client's fetcher against hostile servers on loopback (issue 11.4).

Slow retrieval: a body or header trickled byte by byte must end in a bounded
time with SlowRetrievalError. Redirects: refused, so a mirror cannot make the
client request URLs on another host (the other host must see no request).
"""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from tests.support.http_thread import running
from tuf_metadata.client.errors import DownloadError, NotFoundError
from tuf_metadata.client.fetcher import (
    FetchLimits,
    HttpFetcher,
    RedirectRefusedError,
    SlowRetrievalError,
)

Behaviour = Callable[[socket.socket, threading.Event], None]
LIMITS = FetchLimits(read_timeout=1.0, deadline=2.0, min_rate=200.0, grace=0.5)


@contextmanager
def tcp_server(behaviour: Behaviour, host: str = "127.0.0.1") -> Iterator[tuple[str, list[bytes]]]:
    """A loopback server running `behaviour` on each connection; yields its URL and requests."""
    requests: list[bytes] = []
    stop = threading.Event()

    class Handler(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head:
                data = self.request.recv(4096)
                if not data:
                    return
                head += data
            requests.append(head)
            try:
                behaviour(self.request, stop)
            except OSError:
                pass  # the client gave up: what these tests want

    server = socketserver.ThreadingTCPServer((host, 0), Handler)
    server.daemon_threads = True
    with running(server) as url:
        try:
            yield url, requests
        finally:
            stop.set()  # before the server stops: a trickling handler must not hold it


def trickle(data: bytes, every: float, head: bytes = b"") -> Behaviour:
    """Send head at once, then data one byte every `every` seconds."""
    def behaviour(sock: socket.socket, stop: threading.Event) -> None:
        sock.sendall(head)
        for byte in data:
            if stop.wait(every):
                return
            sock.sendall(bytes([byte]))
    return behaviour


def respond(status: str, headers: dict[str, str], body: bytes = b"") -> Behaviour:
    def behaviour(sock: socket.socket, stop: threading.Event) -> None:
        lines = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
    return behaviour


def _timed_fetch(url: str, max_length: int = 10_000) -> tuple[BaseException | bytes, float]:
    started = time.monotonic()
    try:
        result: BaseException | bytes = HttpFetcher(limits=LIMITS).fetch(url, max_length)
    except DownloadError as error:
        result = error
    return result, time.monotonic() - started


def test_body_below_the_minimum_rate_is_cut_off() -> None:
    # Each byte arrives well within the read timeout; only the average rate gives it away.
    body = trickle(b"x" * 5000, 0.05, b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n")
    with tcp_server(body) as (url, _):
        result, elapsed = _timed_fetch(url + "/metadata/timestamp.json")
    assert isinstance(result, SlowRetrievalError), result
    assert "below the minimum average" in str(result)
    assert elapsed < 2 * LIMITS.grace + 1


def test_trickled_headers_end_at_the_file_deadline() -> None:
    # Header bytes keep the rate check from ever running: the per-file deadline stops it.
    headers = trickle(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"a" * 10_000, 0.05)
    with tcp_server(headers) as (url, _):
        result, elapsed = _timed_fetch(url + "/metadata/timestamp.json")
    assert isinstance(result, SlowRetrievalError), result
    assert "not complete within 2s" in str(result)
    assert LIMITS.deadline - 0.2 < elapsed < LIMITS.deadline + 1.5


def test_a_fast_download_passes_the_same_limits() -> None:
    body = b"y" * 200_000
    with tcp_server(respond("200 OK", {}, body)) as (url, requests):
        assert HttpFetcher(limits=LIMITS).fetch(url + "/targets/a", len(body)) == body
    assert requests[0].startswith(b"GET /targets/a HTTP/1.1\r\n")


def test_a_redirect_to_another_host_is_refused_and_never_requested() -> None:
    with tcp_server(respond("200 OK", {}, b"secret"), host="127.0.0.2") as (other, seen):
        to_other = respond("302 Found", {"Location": other + "/internal/admin"})
        with tcp_server(to_other) as (url, _):
            result, _ = _timed_fetch(url + "/metadata/timestamp.json")
        assert isinstance(result, RedirectRefusedError), result
        assert "/internal/admin refused" in str(result)
        assert seen == []


def test_a_same_host_redirect_is_refused_too() -> None:
    with tcp_server(respond("301 Moved Permanently", {"Location": "/elsewhere.json"})) as (
        url, requests
    ):
        result, _ = _timed_fetch(url + "/metadata/timestamp.json")
    assert isinstance(result, RedirectRefusedError), result
    assert len(requests) == 1


@pytest.mark.parametrize("status", ["403 Forbidden", "404 Not Found"])
def test_not_found_statuses(status: str) -> None:
    with tcp_server(respond(status, {})) as (url, _):
        result, _ = _timed_fetch(url + "/metadata/2.root.json")
    assert isinstance(result, NotFoundError)


def test_a_body_cut_short_is_an_error() -> None:
    short = trickle(b"", 0, b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"z" * 10)
    with tcp_server(short) as (url, _):
        result, _ = _timed_fetch(url + "/targets/a")
    assert isinstance(result, DownloadError) and "after 10 of 100 bytes" in str(result)
