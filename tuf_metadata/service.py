"""The online snapshot/timestamp service and the HTTP server of the published repository.

One loop, every `interval` seconds: make a new snapshot if any targets-type
role has a newer verified file on disk (a maintainer commit made without the
online keys, or a crash between role file and snapshot); re-sign snapshot
and timestamp once past `fraction` of their lifetime (default half). The
HTTP server serves only metadata/ and targets/ of the repository (never its
keys, staging or pending changes), on 127.0.0.1 by default.
"""

from __future__ import annotations

import logging
import threading
import urllib.parse
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tuf_metadata.errors import TufError
from tuf_metadata.repository import Repository

LOG = logging.getLogger("repo-tool.serve")
SERVED_TOP = ("metadata", "targets")


class _PublishedOnlyHandler(SimpleHTTPRequestHandler):
    """Serve files under metadata/ and targets/ only; everything else is 404."""

    def send_head(self) -> Any:
        path = urllib.parse.unquote(self.path.split("?", 1)[0].split("#", 1)[0])
        parts = [part for part in path.split("/") if part]
        if not parts or parts[0] not in SERVED_TOP or any(p in (".", "..") for p in parts):
            self.send_error(404, "not found")
            return None
        if any(part.startswith(".") for part in parts):  # temp files of atomic writes
            self.send_error(404, "not found")
            return None
        return super().send_head()

    def list_directory(self, path: str | Any) -> Any:
        self.send_error(404, "not found")
        return None

    def log_message(self, format: str, *args: Any) -> None:
        LOG.debug("http %s", format % args)


class RepositoryService:
    """Snapshot/timestamp scheduler plus HTTP server; start() then stop() (or serve_forever)."""

    def __init__(
        self,
        repository: Repository,
        host: str = "127.0.0.1",
        port: int = 8080,
        interval: float = 5.0,
        fraction: float = 0.5,
    ):
        self.repository = repository
        self.interval = interval
        self.fraction = fraction
        self._stop = threading.Event()
        handler = partial(_PublishedOnlyHandler, directory=str(Path(repository.root_dir)))
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        repository.log = lambda message: LOG.info("%s", message)
        self._threads: list[threading.Thread] = []

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    def tick(self) -> None:
        """One round of the signing schedule."""
        repo = self.repository
        try:
            version = repo.refresh_snapshot()
            if version is None and repo.snapshot_expiring(self.fraction):
                repo.resign_snapshot()
            elif version is None and repo.timestamp_expiring(self.fraction):
                repo.resign_timestamp()
        except TufError as error:
            LOG.error("signing round failed: %s", error)

    def _schedule(self) -> None:
        while not self._stop.is_set():
            self.tick()
            self._stop.wait(self.interval)

    def start(self) -> None:
        self.tick()
        for target in (self.httpd.serve_forever, self._schedule):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        host, port = self.address
        LOG.info("serving %s on http://%s:%d/", self.repository.root_dir, host, port)

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        LOG.info("stopped")

    def wait(self) -> None:
        """Block until stop is requested (by stop() or request_stop())."""
        while not self._stop.wait(0.5):
            pass

    def request_stop(self) -> None:
        self._stop.set()
