"""HTTP servers on loopback for tests, each run in a thread of the test's own process."""

from __future__ import annotations

import functools
import http.server
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class QuietFolderHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder without a log line per request."""

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def running(server: socketserver.BaseServer) -> Iterator[str]:
    """SERVER's loop in a daemon thread; yields its base URL; stopped and closed on exit."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        address = server.server_address
        assert isinstance(address, tuple), "an Internet-socket server"
        host, port = address[:2]
        yield f"http://{host!s}:{port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@contextmanager
def serving_folder(folder: Path) -> Iterator[str]:
    """FOLDER served read-only on 127.0.0.1 at a free port; yields the base URL."""
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietFolderHandler, directory=str(folder)))
    with running(server) as url:
        yield url


class _LoggingFolderHandler(QuietFolderHandler):
    requests: list[str]

    def do_GET(self) -> None:
        self.requests.append(self.path)
        super().do_GET()


@contextmanager
def serving_folder_logged(folder: Path, requests: list[str]) -> Iterator[str]:
    """FOLDER served like `serving_folder`, each GET's path appended to REQUESTS (what a
    client asked for, in order); yields the base URL."""
    handler = type("Handler", (_LoggingFolderHandler,), {"requests": requests})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    with running(server) as url:
        yield url
