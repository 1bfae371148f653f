"""The HTTP server of `repo-tool serve`: metadata/ and targets/ only, bounded per connection.

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
import shutil
import socket
import stat
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import formatdate
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO

from tuf_metadata.hosting import PUBLISHED_FOLDERS, cache_control

LOG = logging.getLogger("repo-tool.serve")
HEALTH_PATH = "/healthz"
HealthReport = Callable[[], tuple[int, dict[str, Any]]]
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


def request_parts(raw_path: str) -> list[str] | None:
    """Path components of a request to a published file, or None when it is not one.

    Raises BadPathError for a path that no file could have.
    """
    path = raw_path.split("?", 1)[0].split("#", 1)[0]
    try:
        decoded = urllib.parse.unquote(path, errors="strict")
    except UnicodeDecodeError:
        raise BadPathError("path is not UTF-8") from None
    if "\x00" in decoded:
        raise BadPathError("NUL byte in path")
    parts = [part for part in decoded.split("/") if part]
    if not parts or parts[0] not in PUBLISHED_FOLDERS or len(parts) < 2:
        return None
    # No parent references, and no dot files (temporary files of atomic writes).
    if any(part.startswith(".") for part in parts):
        return None
    return parts


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
        super().handle_one_request()

    def do_GET(self) -> None:
        self._respond(with_body=True)

    def do_HEAD(self) -> None:
        self._respond(with_body=False)

    def _respond(self, with_body: bool) -> None:
        if self.path == HEALTH_PATH and self.server.health is not None:
            self._health(with_body)
            return
        try:
            parts = request_parts(self.path)
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
            info = os.fstat(handle.fileno())
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "application/json" if parts[-1].endswith(".json")
                             else "application/octet-stream")
            self.send_header("Content-Length", str(info.st_size))
            self.send_header("Last-Modified", formatdate(info.st_mtime, usegmt=True))
            self.send_header("Cache-Control", cache_control("/".join(parts)))
            self.end_headers()
            if with_body:
                shutil.copyfileobj(handle, self.wfile, 64 * 1024)

    def _health(self, with_body: bool) -> None:
        assert self.server.health is not None
        status, report = self.server.health()
        body = json.dumps(report, indent=2).encode() + b"\n"
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("http %s", format % args)


class PublishedTreeServer(ThreadingHTTPServer):
    """Threaded HTTP server of root/metadata and root/targets with the bounds of HttpLimits."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], root: Path, limits: HttpLimits,
                 health: HealthReport | None = None):
        self.root = root
        self.limits = limits
        self.health = health
        self._slots = threading.BoundedSemaphore(limits.max_connections)
        super().__init__(address, _PublishedTreeHandler)

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
        LOG.warning("request from %s failed", client_address[0] if client_address else "?",
                    exc_info=LOG.isEnabledFor(logging.DEBUG))
