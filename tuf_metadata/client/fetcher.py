"""Fetching at the edge: the interface the updater uses, and an HTTP(S) implementation.

Every download is bounded in size (the caller's limit), in time (a deadline
per file, enforced by a watchdog that closes the connection even while
headers trickle in), and in speed (after a grace period the average rate
must stay above a minimum): TUF's slow-retrieval attack, a mirror sending
one byte every few seconds, ends in seconds instead of holding the client
for days. Redirects are never followed: a mirror could otherwise make the
client request arbitrary URLs on other hosts, and a same-host redirect is
refused too, so the URL the operator configured is the only one used.

The client asks for gzip (`Accept-Encoding: gzip`) and removes it before
anything is checked: TUF lengths and hashes are those of the file as stored.
Decoding is incremental with a bounded output, so a small gzip body that
inflates past the caller's limit (a decompression bomb) is refused after at
most that many bytes were produced, like an over-long plain body.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import threading
import time
import urllib.parse
import zlib
from dataclasses import dataclass
from typing import Protocol

from tuf_metadata.client.errors import DownloadError, EndlessDataError, NotFoundError

_CHUNK = 64 * 1024
_GZIP = zlib.MAX_WBITS | 16  # wbits selecting the gzip wrapper (RFC 1952)


def gzip_wire_limit(max_length: int) -> int:
    """Most compressed bytes a gzip body of at most max_length decoded bytes can need.

    Deflate's worst case (incompressible data in stored blocks) adds 5 bytes per
    block of up to 65535 bytes, plus an 18-byte gzip header and trailer; this
    bound is looser than that.
    """
    return max_length + (max_length >> 10) + 64


class GzipBodyDecoder:
    """Incremental gzip decoding that never produces more than max_length + 1 bytes."""

    def __init__(self, url: str, max_length: int):
        self._url = url
        self._max_length = max_length
        self._decoder = zlib.decompressobj(_GZIP)
        self._chunks: list[bytes] = []
        self.decoded = 0

    def feed(self, data: bytes) -> None:
        pending = data
        try:
            while pending:
                budget = self._max_length + 1 - self.decoded
                if self._decoder.eof:
                    raise DownloadError(f"{self._url}: data after the end of the gzip stream")
                out = self._decoder.decompress(pending, budget)
                self._chunks.append(out)
                self.decoded += len(out)
                if self.decoded > self._max_length:
                    raise EndlessDataError(
                        f"{self._url}: gzip body inflates to more than {self._max_length} "
                        f"bytes, the limit for this file (decompression bomb?); refused"
                    )
                pending = self._decoder.unconsumed_tail or self._decoder.unused_data
                if self._decoder.eof and self._decoder.unused_data:
                    raise DownloadError(f"{self._url}: data after the end of the gzip stream")
        except zlib.error as error:
            raise DownloadError(f"{self._url}: corrupt gzip body ({error})") from None

    def finish(self) -> bytes:
        if not self._decoder.eof:
            raise DownloadError(f"{self._url}: gzip body ends before the end of its stream "
                                f"(truncated)")
        return b"".join(self._chunks)


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
                 limits: FetchLimits | None = None, accept_gzip: bool = True) -> None:
        limits = limits or FetchLimits()
        if timeout is not None:
            limits = FetchLimits(timeout, limits.deadline, limits.min_rate, limits.grace)
        self.limits = limits
        self.user_agent = user_agent
        self.accept_gzip = accept_gzip
        self.requests: list[str] = []
        self.bytes_received = 0  # on the wire (compressed when the server compressed)
        self.bytes_decoded = 0  # handed to the caller

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
                headers = {"User-Agent": self.user_agent,
                           "Accept-Encoding": "gzip" if self.accept_gzip else "identity"}
                connection.request("GET", target, headers=headers)
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
        coding = (response.getheader("Content-Encoding") or "identity").strip().lower()
        decoder: GzipBodyDecoder | None = None
        if coding in ("gzip", "x-gzip") and self.accept_gzip:
            decoder = GzipBodyDecoder(url, max_length)
            wire_limit = gzip_wire_limit(max_length)
        elif coding == "identity":
            wire_limit = max_length
        else:
            raise DownloadError(f"{url}: Content-Encoding {coding!r} was not asked for; "
                                f"refused (the client decodes only gzip)")
        declared = response.getheader("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > wire_limit:
            raise EndlessDataError(f"{url}: server announces {declared} bytes, limit is "
                                   f"{wire_limit}")
        chunks: list[bytes] = []
        received = 0
        # Read one byte past the limit so that overflow is detected, never buffered.
        while received <= wire_limit:
            chunk = response.read1(min(_CHUNK, wire_limit + 1 - received))
            if not chunk:
                break
            received += len(chunk)
            if received > wire_limit:
                break
            if decoder is None:
                chunks.append(chunk)
            else:
                decoder.feed(chunk)
            self._check_rate(url, received, time.monotonic() - started)
        self.bytes_received += received
        if received > wire_limit:
            raise EndlessDataError(f"{url}: more than {wire_limit} bytes")
        if declared is not None and declared.isdigit() and received < int(declared):
            raise DownloadError(f"{url}: connection closed after {received} of {declared} bytes")
        body = b"".join(chunks) if decoder is None else decoder.finish()
        self.bytes_decoded += len(body)
        return body

    def _check_rate(self, url: str, received: int, elapsed: float) -> None:
        limits = self.limits
        if elapsed > limits.grace and received / elapsed < limits.min_rate:
            raise SlowRetrievalError(
                f"{url}: {received} bytes in {elapsed:.1f}s, below the minimum average of "
                f"{limits.min_rate:g} bytes/s (slow retrieval)"
            )


UrllibFetcher = HttpFetcher
"""The former name, still imported by the fetch command and the conformance entry point."""
