"""The online snapshot/timestamp service: a signing scheduler, and `serve` = scheduler + HTTP.

One round every `interval` seconds: make a new snapshot if any targets-type
role has a newer verified file on disk (a maintainer commit made without the
online keys, or a crash between role file and snapshot); re-sign snapshot and
timestamp once past `fraction` of their lifetime (default half).

A round that fails for any reason (a TUF error, EMFILE, ENOSPC, a broken
key file) is logged and retried with exponential backoff; after
`max_failures` failed rounds in a row the scheduler gives up with
`SigningGaveUpError`, so the process exits non-zero and its supervisor
(systemd's Restart=) starts it again. A silent dead signer is the failure
that matters: metadata would expire days later and every client would fail.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from tuf_metadata.errors import TufError
from tuf_metadata.http_server import HttpLimits, PublishedTreeServer
from tuf_metadata.repository import Repository
from tuf_metadata.serve_metrics import SigningValues
from tuf_metadata.store import atomic_write

LOG = logging.getLogger("repo-tool.serve")


class SigningGaveUpError(TufError):
    """Signing failed too many rounds in a row; the process should exit and be restarted."""


@dataclass(frozen=True)
class SchedulePolicy:
    """When to sign and how to retry."""

    interval: float = 5.0
    fraction: float = 0.5
    max_failures: int = 20
    max_backoff: float = 60.0


def retry_delay(policy: SchedulePolicy, failures: int) -> float:
    """Seconds before the next round after `failures` failed rounds in a row (0: healthy)."""
    if failures <= 0:
        return policy.interval
    return float(min(policy.interval * 2 ** (failures - 1), max(policy.max_backoff,
                                                                  policy.interval)))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class SigningHealth:
    """What the health endpoint and health file report."""

    last_round_ok: datetime | None = None
    last_signed: datetime | None = None
    consecutive_failures: int = 0
    last_error: str | None = None
    timestamp_version: int | None = None
    timestamp_expires: datetime | None = None
    timestamp_signed: datetime | None = None
    expires: dict[str, datetime] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def healthy(self, now: datetime) -> bool:
        fresh = self.timestamp_expires is not None and self.timestamp_expires > now
        return self.consecutive_failures == 0 and fresh

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "healthy": self.healthy(now),
            "last_successful_round": _iso(self.last_round_ok),
            "last_signing": _iso(self.last_signed),
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "timestamp_version": self.timestamp_version,
            "timestamp_expires": _iso(self.timestamp_expires),
            "timestamp_signed": _iso(self.timestamp_signed),
            "expires": {role: _iso(moment) for role, moment in sorted(self.expires.items())},
            "now": _iso(now),
        }

    def values(self, now: datetime) -> SigningValues:
        return SigningValues(self.timestamp_signed, self.last_round_ok,
                             self.consecutive_failures, self.healthy(now), dict(self.expires),
                             dict(self.versions))


TopLevelState = tuple[dict[str, datetime], dict[str, int], datetime]


class TopLevelReader:
    """Expiry and version of each top-level role, and when timestamp.json was written.

    The timestamp file is replaced (renamed into place) only when it is signed,
    so its modification time is the time of the last timestamp signing, by the
    service or by a `repo-tool timestamp` run. Any new snapshot or targets comes
    with a new timestamp, and any new root with a new root file, so the roles are
    read again only when the timestamp file or the root version changed: not a
    parse of a large snapshot every round.
    """

    def __init__(self, repository: Repository):
        self.repository = repository
        self._key: tuple[int, int, int, int] | None = None
        self._state: TopLevelState | None = None

    def read(self) -> TopLevelState:
        repository = self.repository
        info = os.stat(repository.metadata_dir / "timestamp.json")
        key = (info.st_dev, info.st_ino, info.st_mtime_ns, repository.root_version())
        if self._state is not None and key == self._key:
            return self._state
        root = repository.load_root()
        timestamp = repository.load_timestamp(root.signed)
        snapshot = repository.load_snapshot(root.signed)
        targets = repository.load_targets(root.signed, snapshot.signed)
        roles = {"root": root.signed, "targets": targets.signed, "snapshot": snapshot.signed,
                 "timestamp": timestamp.signed}
        self._state = ({role: signed.expires for role, signed in roles.items()},
                       {role: signed.version for role, signed in roles.items()},
                       datetime.fromtimestamp(info.st_mtime, UTC))
        self._key = key
        return self._state


class SigningScheduler:
    """The snapshot/timestamp schedule with retries, backoff, a give-up bound and health."""

    def __init__(self, repository: Repository, policy: SchedulePolicy,
                 health_file: Path | None = None, publish: Callable[[], None] | None = None):
        self.repository = repository
        self.policy = policy
        self.health_file = health_file
        self.publish = publish
        self.health = SigningHealth()
        self._top_level = TopLevelReader(repository)
        self._lock = threading.Lock()
        repository.log = lambda message: LOG.info("%s", message)

    def _sign_if_due(self) -> bool:
        """One round of the schedule; True if anything was signed."""
        repo = self.repository
        fraction = self.policy.fraction
        if repo.refresh_snapshot() is not None:
            return True
        if repo.snapshot_expiring(fraction):
            repo.resign_snapshot()
            return True
        if repo.timestamp_expiring(fraction):
            repo.resign_timestamp()
            return True
        return False

    def tick(self) -> bool:
        """One round; never raises for a failed round (it is counted, logged and retried)."""
        try:
            signed = self._sign_if_due()
            expires, versions, timestamp_signed = self._top_level.read()
            if self.publish is not None:  # e.g. sync to the folder a web server serves
                self.publish()
        except Exception as error:
            with self._lock:
                self.health.consecutive_failures += 1
                self.health.last_error = f"{type(error).__name__}: {error}"
                failures = self.health.consecutive_failures
            LOG.error("signing round failed (%d in a row, next try in %.1fs): %s: %s",
                      failures, retry_delay(self.policy, failures), type(error).__name__, error)
            self._write_health()
            return False
        now = datetime.now(UTC)
        with self._lock:
            if self.health.consecutive_failures:
                LOG.info("signing recovered after %d failed rounds",
                         self.health.consecutive_failures)
            self.health.consecutive_failures = 0
            self.health.last_error = None
            self.health.last_round_ok = now
            if signed:
                self.health.last_signed = now
            self.health.timestamp_version = versions["timestamp"]
            self.health.timestamp_expires = expires["timestamp"]
            self.health.timestamp_signed = timestamp_signed
            self.health.expires = expires
            self.health.versions = versions
        self._write_health()
        return True

    def report(self) -> dict[str, Any]:
        with self._lock:
            return self.health.to_dict(datetime.now(UTC))

    def values(self) -> SigningValues:
        with self._lock:
            return self.health.values(datetime.now(UTC))

    def _write_health(self) -> None:
        if self.health_file is None:
            return
        data = json.dumps(self.report(), indent=2).encode() + b"\n"
        try:
            atomic_write(self.health_file, data)
        except OSError as error:
            LOG.warning("health file %s not written: %s", self.health_file, error)

    def run(self, stop: threading.Event, first_round_done: bool = False) -> None:
        """Rounds until stop is set; raises SigningGaveUpError past the failure bound."""
        if not first_round_done:
            self.tick()
        while True:
            failures = self.health.consecutive_failures
            if failures >= self.policy.max_failures:
                raise SigningGaveUpError(
                    f"signing failed {failures} rounds in a row, giving up "
                    f"(last: {self.health.last_error})"
                )
            if stop.wait(retry_delay(self.policy, failures)):
                return
            self.tick()


class RepositoryService:
    """`serve`: the signing scheduler in a thread plus the HTTP server of metadata/ and
    targets/, the build reports, /healthz and /metrics."""

    def __init__(
        self,
        repository: Repository,
        host: str = "127.0.0.1",
        port: int = 8080,
        limits: HttpLimits | None = None,
        policy: SchedulePolicy | None = None,
        access_log: TextIO | None = None,
    ):
        self.repository = repository
        self.scheduler = SigningScheduler(repository, policy or SchedulePolicy())
        self.httpd = PublishedTreeServer(
            (host, port), repository.published_dir, limits or HttpLimits(), self._health,
            reports=True, signing=self.scheduler.values, access_log=access_log,
        )
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.failure: SigningGaveUpError | None = None

    def _health(self) -> tuple[int, dict[str, Any]]:
        report = self.scheduler.report()
        return (200 if report["healthy"] else 503), report

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.httpd.server_address[:2]
        return str(host), int(port)

    def tick(self) -> bool:
        return self.scheduler.tick()

    def _schedule(self) -> None:
        try:
            self.scheduler.run(self._stop, first_round_done=True)
        except SigningGaveUpError as error:
            self.failure = error
            self._stop.set()

    def start(self) -> None:
        # One round before the first request: expired metadata is never served at start.
        self.scheduler.tick()
        for target in (self.httpd.serve_forever, self._schedule):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self._threads.append(thread)
        host, port = self.address
        LOG.info("serving %s on http://%s:%d/", self.repository.published_dir, host, port)

    def stop(self) -> None:
        self._stop.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        deadline = time.monotonic() + 10
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
        LOG.info("stopped")

    def wait(self) -> None:
        """Block until stop is requested (by stop(), request_stop() or the scheduler giving up)."""
        while not self._stop.wait(0.5):
            pass

    def request_stop(self) -> None:
        self._stop.set()
