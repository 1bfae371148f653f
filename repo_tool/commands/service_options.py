"""Options and helpers shared by the long-running services `serve` and `sign-service`."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO, TypeVar

import click

from tuf_metadata.service import SchedulePolicy

F = TypeVar("F", bound=Callable[..., Any])


def schedule_options(function: F) -> F:
    """--interval, --resign-fraction, --max-failures, --max-backoff (serve and sign-service)."""
    options = [
        click.option("--interval", default=5.0, show_default=True, type=float,
                     help="Seconds between checks for changed targets metadata and expiry."),
        click.option("--resign-fraction", default=0.5, show_default=True, type=float,
                     help="Re-sign snapshot/timestamp once this fraction of their lifetime "
                     "passed."),
        click.option("--max-failures", default=20, show_default=True,
                     type=click.IntRange(min=1),
                     help="Exit with status 1 after this many failed signing rounds in a row "
                     "(so a supervisor restarts the service)."),
        click.option("--max-backoff", default=60.0, show_default=True,
                     type=click.FloatRange(min=0),
                     help="Longest wait, in seconds, between retries of a failed round."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def schedule_policy(interval: float, resign_fraction: float, max_failures: int,
                    max_backoff: float) -> SchedulePolicy:
    if not 0 < resign_fraction < 1:
        raise click.UsageError("--resign-fraction must be between 0 and 1")
    if interval <= 0:
        raise click.UsageError("--interval must be positive")
    return SchedulePolicy(interval, resign_fraction, max_failures, max_backoff)


def stop_on_signals(stop: Callable[[], None]) -> None:
    """SIGTERM and Ctrl-C end the service cleanly (exit 0)."""
    signal.signal(signal.SIGTERM, lambda *_: stop())
    signal.signal(signal.SIGINT, lambda *_: stop())


@contextmanager
def open_access_log(destination: str | None) -> Iterator[TextIO | None]:
    """The --access-log stream: None, stderr for '-', else FILE opened for appending.

    Appending (O_APPEND) keeps lines whole with several writers and lets
    logrotate's copytruncate work.
    """
    if destination is None:
        yield None
        return
    if destination == "-":
        yield sys.stderr
        return
    try:
        stream = open(destination, "a", encoding="utf-8")
    except OSError as error:
        raise click.UsageError(f"--access-log {destination}: cannot open for appending "
                               f"({error.strerror}); give a writable file or '-'") from None
    try:
        yield stream
    finally:
        stream.close()


def http_options(function: F) -> F:
    """--request-timeout, --write-timeout, --max-connections (serve)."""
    options = [
        click.option("--request-timeout", default=10.0, show_default=True,
                     type=click.FloatRange(min=0, min_open=True),
                     help="Seconds a connection has to send a complete request head, idle "
                     "keep-alive time included; then it is closed."),
        click.option("--write-timeout", default=30.0, show_default=True,
                     type=click.FloatRange(min=0, min_open=True),
                     help="Seconds one write to a client may block."),
        click.option("--max-connections", default=256, show_default=True,
                     type=click.IntRange(min=1),
                     help="Connections served at once; more are answered 503 and closed."),
    ]
    for option in reversed(options):
        function = option(function)
    return function
