"""Fetching at the edge: the interface the updater uses, and an HTTP(S) implementation.

Every download is bounded in size (the caller's limit), in time (a deadline
per file, enforced by a watchdog that closes the connection even while
headers trickle in), and in speed (after a grace period the average rate
must stay above a minimum): TUF's slow-retrieval attack, a mirror sending
one byte every few seconds, ends in seconds instead of holding the client
for days. Redirects are never followed: a mirror could otherwise make the
client request arbitrary URLs on other hosts, and a same-host redirect is
refused too, so the URL the operator configured is the only one used.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from typing import Protocol

from tuf_metadata.client.errors import DownloadError, EndlessDataError, NotFoundError

_CHUNK = 64 * 1024


class SlowRetrievalError(DownloadError):
    """The server sent too slowly (below the minimum rate, or past the per-file deadline)."""


class RedirectRefusedError(DownloadError):
    """The server answered with a redirect; the client follows none."""


class Fetcher(Protocol):
    """Return the body at URL, at most MAX_LENGTH bytes.

    Raises NotFoundError for 403/404, EndlessDataError when the body is longer
    than MAX_LENGTH, DownloadError for anything else.
    """

    def fetch(self, url: str, max_length: int) -> bytes: ...


@dataclass(frozen=True)
class FetchLimits:
    """Time bounds of one file's download.

    read_timeout: longest wait for any single read (connect included).
    deadline: longest time for one whole file, headers included.
    min_rate: bytes per second the average must reach once `grace` seconds passed.
    """

    read_timeout: float = 10.0
    deadline: float = 300.0
    min_rate: float = 8 * 1024
    grace: float = 5.0


class _Watchdog:
    """Closes a connection's socket at its deadline, waking any read blocked on it."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float):
        self._connection = connection
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True

    def _fire(self) -> None:
        self.fired = True
        sock = self._connection.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()


class HttpFetcher:
    """HTTP(S) fetcher on http.client; counts requests and bytes for reports and benchmarks."""

    def __init__(self, timeout: float | None = None, user_agent: str = "unirepo-tuf-client/0.2",
                 limits: FetchLimits | None = None) -> None:
        limits = limits or FetchLimits()
        if timeout is not None:
            limits = FetchLimits(timeout, limits.deadline, limits.min_rate, limits.grace)
        self.limits = limits
        self.user_agent = user_agent
        self.requests: list[str] = []
        self.bytes_received = 0

    def _connection(self, url: str) -> tuple[http.client.HTTPConnection, str]:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise DownloadError(f"{url}: only http:// and https:// URLs are supported")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        timeout = min(self.limits.read_timeout, self.limits.deadline)
        if parts.scheme == "https":
            return http.client.HTTPSConnection(
                parts.hostname, parts.port, timeout=timeout,
                context=ssl.create_default_context(),
            ), target
        return http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout), target

    def fetch(self, url: str, max_length: int) -> bytes:
        self.requests.append(url)
        try:
            connection, target = self._connection(url)
        except ValueError as error:  # a port that is not a number
            raise DownloadError(f"{url}: {error}") from None
        started = time.monotonic()
        watchdog = _Watchdog(connection, self.limits.deadline)
        try:
            with watchdog:
                connection.request("GET", target, headers={"User-Agent": self.user_agent})
                response = connection.getresponse()
                body = self._body(url, response, max_length, started)
        except DownloadError:
            if watchdog.fired:  # the watchdog's shutdown reads as end of data
                raise self._past_deadline(url) from None
            raise
        except (OSError, http.client.HTTPException, ValueError) as error:
            if watchdog.fired:
                raise self._past_deadline(url) from None
            reason = getattr(error, "reason", None) or str(error) or type(error).__name__
            raise DownloadError(f"{url}: {reason}") from None
        finally:
            connection.close()
        if watchdog.fired:
            raise self._past_deadline(url)
        return body

    def _past_deadline(self, url: str) -> SlowRetrievalError:
        return SlowRetrievalError(
            f"{url}: not complete within {self.limits.deadline:g}s (slow retrieval)"
        )

    def _body(self, url: str, response: http.client.HTTPResponse, max_length: int,
              started: float) -> bytes:
        if 300 <= response.status < 400:
            location = response.getheader("Location", "?")
            raise RedirectRefusedError(
                f"{url}: HTTP {response.status} redirect to {location} refused "
                f"(redirects are never followed; use the final URL)"
            )
        if response.status in (403, 404):
            raise NotFoundError(f"{url}: HTTP {response.status}")
        if response.status != 200:
            raise DownloadError(f"{url}: HTTP {response.status}")
        declared = response.getheader("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > max_length:
            raise EndlessDataError(f"{url}: server announces {declared} bytes, limit is "
                                   f"{max_length}")
        chunks: list[bytes] = []
        received = 0
        # Read one byte past the limit so that overflow is detected, never buffered.
        while received <= max_length:
            chunk = response.read1(min(_CHUNK, max_length + 1 - received))
            if not chunk:
                break
            chunks.append(chunk)
            received += len(chunk)
            self._check_rate(url, received, time.monotonic() - started)
        self.bytes_received += received
        if received > max_length:
            raise EndlessDataError(f"{url}: more than {max_length} bytes")
        if declared is not None and declared.isdigit() and received < int(declared):
            raise DownloadError(f"{url}: connection closed after {received} of {declared} bytes")
        return b"".join(chunks)

    def _check_rate(self, url: str, received: int, elapsed: float) -> None:
        limits = self.limits
        if elapsed > limits.grace and received / elapsed < limits.min_rate:
            raise SlowRetrievalError(
                f"{url}: {received} bytes in {elapsed:.1f}s, below the minimum average of "
                f"{limits.min_rate:g} bytes/s (slow retrieval)"
            )


UrllibFetcher = HttpFetcher
"""The former name, still imported by the fetch command and the conformance entry point."""
