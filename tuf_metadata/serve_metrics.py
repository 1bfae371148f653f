"""Prometheus metrics of `serve` (text exposition format 0.0.4) and its access log lines.

Counters are kept by the HTTP server (HttpStats); the signing values come from
the scheduler's SigningHealth. Rendering is pure: values in, text out.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class HttpStats:
    """Requests by status code and body bytes sent, shared by the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_code: dict[int, int] = {}
        self._body_bytes = 0

    def record(self, code: int, body_bytes: int) -> None:
        with self._lock:
            self._by_code[code] = self._by_code.get(code, 0) + 1
            self._body_bytes += body_bytes

    def snapshot(self) -> tuple[dict[int, int], int]:
        with self._lock:
            return dict(self._by_code), self._body_bytes


@dataclass(frozen=True)
class SigningValues:
    """What the signing service reports, as of one moment."""

    timestamp_signed: datetime | None
    last_round_ok: datetime | None
    consecutive_failures: int
    healthy: bool
    expires: Mapping[str, datetime] = field(default_factory=dict)
    versions: Mapping[str, int] = field(default_factory=dict)


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return repr(float(value)) if value != int(value) else str(int(value))


def _family(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {_number(value)}" for labels, value in samples]
    return lines


def exposition(by_code: Mapping[int, int], body_bytes: int, gzip_compressions: int,
               signing: SigningValues | None, now: datetime) -> str:
    """The /metrics document."""
    lines: list[str] = []
    lines += _family("unirepo_http_requests_total", "counter",
                     "HTTP requests answered, by status code.",
                     [(f'{{code="{_escape(str(code))}"}}', count)
                      for code, count in sorted(by_code.items())])
    lines += _family("unirepo_http_response_body_bytes_total", "counter",
                     "Response body bytes sent (after compression).", [("", body_bytes)])
    lines += _family("unirepo_http_gzip_compressions_total", "counter",
                     "Metadata files compressed (each file version once while cached).",
                     [("", gzip_compressions)])
    if signing is not None:
        if signing.timestamp_signed is not None:
            signed = signing.timestamp_signed.timestamp()
            lines += _family("unirepo_signing_last_success_timestamp_seconds", "gauge",
                             "Unix time the published timestamp.json was last signed.",
                             [("", signed)])
            lines += _family("unirepo_signing_age_seconds", "gauge",
                             "Seconds since the published timestamp.json was signed.",
                             [("", max(0.0, now.timestamp() - signed))])
        if signing.last_round_ok is not None:
            lines += _family("unirepo_signing_last_round_success_timestamp_seconds", "gauge",
                             "Unix time of the last signing round that succeeded "
                             "(signed or found nothing due).",
                             [("", signing.last_round_ok.timestamp())])
        lines += _family("unirepo_signing_consecutive_failures", "gauge",
                         "Signing rounds failed in a row (0 when the last one succeeded).",
                         [("", signing.consecutive_failures)])
        lines += _family("unirepo_signing_healthy", "gauge",
                         "1 when the last round succeeded and the timestamp is unexpired.",
                         [("", 1 if signing.healthy else 0)])
        lines += _family("unirepo_metadata_expiry_timestamp_seconds", "gauge",
                         "Unix time at which each top-level role's current metadata expires.",
                         [(f'{{role="{_escape(role)}"}}', moment.timestamp())
                          for role, moment in sorted(signing.expires.items())])
        lines += _family("unirepo_metadata_version", "gauge",
                         "Version of each top-level role's current metadata.",
                         [(f'{{role="{_escape(role)}"}}', version)
                          for role, version in sorted(signing.versions.items())])
    return "\n".join(lines) + "\n"


def common_log_line(host: str, request_line: str, status: int, body_bytes: int,
                    moment: datetime) -> str:
    """One access log line in the Common Log Format (as Apache's and nginx's `common`).

    The request line comes from the client: quotes, backslashes and control or
    non-ASCII characters are escaped so that one request is always one line.
    """
    moment = moment.astimezone(UTC)
    stamp = (f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year:04d}:"
             f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} +0000")
    size = str(body_bytes) if body_bytes else "-"
    return f'{host} - - [{stamp}] "{_escape_request(request_line)}" {status} {size}'


def _escape_request(text: str) -> str:
    out: list[str] = []
    for char in text:
        code = ord(char)
        if char in '"\\':
            out.append("\\" + char)
        elif code < 0x20 or code >= 0x7F:
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)
