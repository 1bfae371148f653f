"""The HTTP server of `repo-tool serve`: metadata/, targets/ and the build reports, bounded.

It serves the published folder's metadata/ and targets/ (the server's root is
that folder, tuf_metadata.repo_paths), the build reports (dashboard/,
builds/) read-only, /healthz and /metrics, and nothing else (online/,
pending/, staging/ and repo.json are outside it, and in an old root-layout
repository are still never served).
Metadata and JSON targets (attestations, manifests, build info) go out
gzip-compressed to a client that asks for it (http_encoding); every answered
request is counted for /metrics and written as one Common Log Format line to
the access log.

What a client can make it do is bounded: each connection has `request_timeout`
seconds to deliver a complete request head (idle keep-alive time included,
so an idle or slowloris connection is closed), every write waits at most
`write_timeout`, and at most `max_connections` are served at once (the rest
are answered 503 and closed at accept, costing no thread). Paths are opened
component by component with O_NOFOLLOW, so a symlink inside metadata/ or
targets/ (say to online/timestamp.key) is never followed, and a path with a
NUL byte or bad encoding is a 400.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import os
import socket
import stat
import sys
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from tuf_metadata.hosting import PUBLISHED_FOLDERS, REPORT_FOLDERS, REVALIDATE, cache_control
from tuf_metadata.http_encoding import FileIdentity, GzipCache, accepts_gzip
from tuf_metadata.serve_metrics import (
    CONTENT_TYPE as METRICS_CONTENT_TYPE,
)
from tuf_metadata.serve_metrics import (
    HttpStats,
    SigningValues,
    common_log_line,
    exposition,
)

LOG = logging.getLogger("repo-tool.serve")
HEALTH_PATH = "/healthz"
METRICS_PATH = "/metrics"
HealthReport = Callable[[], tuple[int, dict[str, Any]]]
SigningReport = Callable[[], SigningValues]
_CHUNK = 64 * 1024
_CONTENT_TYPES = {
    ".json": "application/json", ".html": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8", ".log": "text/plain; charset=utf-8",
    ".link": "application/json",
}
# Targets that are JSON documents compress like metadata (a rebuilder's attestation to
# about 40%); images and archives do not, and go out as stored.
_COMPRESSIBLE_TARGETS = (".json", ".jsonl")
# Reports show text produced by untrusted builds (logs, diffoscope output): no script runs.
_REPORT_HEADERS = (
    ("X-Content-Type-Options", "nosniff"),
    ("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:"),
)
_BUSY = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
         b"Connection: close\r\n\r\n")


@dataclass(frozen=True)
class HttpLimits:
    """Per-connection bounds of the server (seconds, connections)."""

    request_timeout: float = 10.0
    write_timeout: float = 30.0
    max_connections: int = 256


class BadPathError(ValueError):
    """A request path that cannot name a file (NUL byte, bad percent-encoding)."""


def request_parts(raw_path: str, reports: bool = False) -> list[str] | None:
    """Path components of a request to a served file, or None when it is not one.

    With reports, dashboard/ and builds/ are served too, a folder by its
    index.html. Raises BadPathError for a path that no file could have.
    """
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    try:
        decoded = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise BadPathError("path is not UTF-8") from None
    if "\x00" in decoded:
        raise BadPathError("NUL byte in path")
    parts = [part for part in decoded.split("/") if part]
    if not parts:
        return None
    # No parent references, and no dot files (temporary files of atomic writes).
    if any(part.startswith(".") for part in parts):
        return None
    if reports and parts[0] in REPORT_FOLDERS:
        return [*parts, "index.html"] if len(parts) == 1 or decoded.endswith("/") else parts
    if parts[0] not in PUBLISHED_FOLDERS or len(parts) < 2:
        return None
    return parts


def content_type(name: str) -> str:
    return _CONTENT_TYPES.get(os.path.splitext(name)[1], "application/octet-stream")


def open_no_follow(root: Path, parts: list[str]) -> BinaryIO:
    """Open root/parts... for reading without following any symlink below root.

    Raises FileNotFoundError for a missing file, a symlink, a directory or anything
    that is not a regular file.
    """
    directory = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for part in parts[:-1]:
            try:
                child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW,
                                dir_fd=directory)
            except OSError as error:
                if error.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise FileNotFoundError(f"{part}: not a directory (symlink?)") from None
                raise
            os.close(directory)
            directory = child
        try:
            fd = os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=directory)
        except OSError as error:
            if error.errno == errno.ELOOP:
                raise FileNotFoundError(f"{parts[-1]}: a symlink, not served") from None
            raise
    finally:
        os.close(directory)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise FileNotFoundError(f"{parts[-1]}: not a regular file")
    return os.fdopen(fd, "rb")


class _DeadlineReader(io.RawIOBase):
    """Socket reads that share one deadline per request head (slowloris and idle bound)."""

    def __init__(self, sock: socket.socket, handler: _PublishedTreeHandler):
        self._sock = sock
        self._handler = handler

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        remaining = self._handler.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request head not complete before the deadline")
        self._sock.settimeout(remaining)
        try:
            return self._sock.recv_into(buffer)
        finally:
            self._sock.settimeout(self._handler.limits.write_timeout)


class _PublishedTreeHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: PublishedTreeServer

    def setup(self) -> None:
        self.limits = self.server.limits
        self.deadline = time.monotonic() + self.limits.request_timeout
        super().setup()
        self.connection.settimeout(self.limits.write_timeout)
        self.rfile.close()
        self.rfile = io.BufferedReader(_DeadlineReader(self.connection, self))

    def handle_one_request(self) -> None:
        self.deadline = time.monotonic() + self.limits.request_timeout
        self.status: int | None = None
        self.body_sent = 0
        self.requestline = ""
        try:
            super().handle_one_request()
        finally:
            if self.status is not None:
                self.server.record(self.client_address[0], self.requestline, self.status,
                                   self.body_sent)

    def send_response(self, code: int, message: str | None = None) -> None:
        self.status = int(code)
        super().send_response(code, message)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Replaced by the access log, written once the body is sent (server.record)."""

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        body = f"{int(code)} {message or HTTPStatus(code).phrase}\n".encode()
        self.send_response(code, message)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        if code >= 400 and code not in (HTTPStatus.NOT_FOUND, HTTPStatus.SERVICE_UNAVAILABLE):
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if self.command != "HEAD" and code >= 200 and code not in (204, 304):
            self._write(body)

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        self.body_sent += len(data)

    def do_GET(self) -> None:
        self._respond(with_body=True)

    def do_HEAD(self) -> None:
        self._respond(with_body=False)

    def _respond(self, with_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        if path == HEALTH_PATH and self.server.health is not None:
            status, report = self.server.health()
            self._document(status, "application/json",
                           json.dumps(report, indent=2).encode() + b"\n", with_body)
            return
        if path == METRICS_PATH and self.server.signing is not None:
            self._document(200, METRICS_CONTENT_TYPE, self.server.metrics().encode(), with_body)
            return
        if self.server.reports and path in ("/", "/dashboard"):
            # The dashboard's links are relative to /dashboard/.
            self.send_response(HTTPStatus.FOUND)
            self.send_header("Location", "/dashboard/")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        try:
            parts = request_parts(self.path, self.server.reports)
        except BadPathError as error:
            self.send_error(HTTPStatus.BAD_REQUEST, str(error))
            return
        if parts is None:
            self.send_error(HTTPStatus.NOT_FOUND, "not found")
            return
        try:
            handle = open_no_follow(self.server.root, parts)
        except FileNotFoundError as error:
            LOG.debug("404 %s: %s", "/".join(parts), error)
            self.send_error(HTTPStatus.NOT_FOUND, "not found")
            return
        except OSError as error:
            LOG.warning("cannot open %s: %s", "/".join(parts), error)
            self.send_error(HTTPStatus.SERVICE_UNAVAILABLE, "temporarily unavailable")
            return
        with handle:
            self._file(parts, handle, with_body)

    def _file(self, parts: list[str], handle: BinaryIO, with_body: bool) -> None:
        relative = "/".join(parts)
        info = os.fstat(handle.fileno())
        compressible = parts[0] == "metadata" or (
            parts[0] == "targets" and parts[-1].endswith(_COMPRESSIBLE_TARGETS))
        body: bytes | None = None
        if compressible and accepts_gzip(self.headers.get("Accept-Encoding")):
            identity = FileIdentity(info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
            compressed = self.server.gzip.get(relative, identity, handle.read)
            if len(compressed) < info.st_size:
                body = compressed
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type(parts[-1]))
        self.send_header("Content-Length", str(info.st_size if body is None else len(body)))
        if body is not None:
            self.send_header("Content-Encoding", "gzip")
        if compressible:
            self.send_header("Vary", "Accept-Encoding")
        self.send_header("Last-Modified", formatdate(info.st_mtime, usegmt=True))
        if parts[0] in REPORT_FOLDERS:
            self.send_header("Cache-Control", REVALIDATE)
            for name, value in _REPORT_HEADERS:
                self.send_header(name, value)
        else:
            self.send_header("Cache-Control", cache_control(relative))
        self.end_headers()
        if not with_body:
            return
        if body is not None:
            self._write(body)
            return
        handle.seek(0)  # the gzip cache may have read it
        remaining = info.st_size  # the size announced, even if the file grows meanwhile
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            self._write(chunk)
            remaining -= len(chunk)

    def _document(self, status: int, kind: str, body: bytes, with_body: bool) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body:
            self._write(body)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("http %s", format % args)


class PublishedTreeServer(ThreadingHTTPServer):
    """Threaded HTTP server of root/metadata and root/targets with the bounds of HttpLimits.

    reports: also serve root/dashboard and root/builds. signing: the values
    /metrics reports (no /metrics without it). access_log: a text stream that
    gets one Common Log Format line per answered request.
    """

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], root: Path, limits: HttpLimits,
                 health: HealthReport | None = None, *, reports: bool = False,
                 signing: SigningReport | None = None, access_log: TextIO | None = None,
                 gzip_cache: GzipCache | None = None):
        self.root = root
        self.limits = limits
        self.health = health
        self.reports = reports
        self.signing = signing
        self.access_log = access_log
        self.gzip = gzip_cache or GzipCache()
        self.stats = HttpStats()
        self._log_lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        super().__init__(address, _PublishedTreeHandler)

    def record(self, host: str, request_line: str, status: int, body_bytes: int) -> None:
        """Count one answered request and write its access log line."""
        self.stats.record(status, body_bytes)
        if self.access_log is None:
            return
        line = common_log_line(host, request_line, status, body_bytes, datetime.now(UTC))
        with self._log_lock:
            try:
                self.access_log.write(line + "\n")
                self.access_log.flush()
            except (OSError, ValueError) as error:  # a full disk must not stop serving
                LOG.warning("access log not written: %s", error)

    def metrics(self) -> str:
        by_code, body_bytes = self.stats.snapshot()
        signing = self.signing() if self.signing is not None else None
        return exposition(by_code, body_bytes, self.gzip.compressions, signing,
                          datetime.now(UTC))

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            # Full: answer at once from the accept loop (a fresh socket's send buffer is
            # empty, so this does not block) and close, instead of queueing a thread.
            try:
                request.setblocking(False)
                request.send(_BUSY)
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            # A client closing a kept-alive connection (say after a 404 it did not read).
            LOG.debug("connection from %s closed by the client",
                      client_address[0] if client_address else "?")
            return
        LOG.warning("request from %s failed", client_address[0] if client_address else "?",
                    exc_info=LOG.isEnabledFor(logging.DEBUG))
