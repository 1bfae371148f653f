"""Fetching at the edge: the interface the updater uses, and an urllib implementation."""

from __future__ import annotations

import urllib.error
import urllib.request
from typing import Protocol

from tuf_metadata.client.errors import DownloadError, EndlessDataError, NotFoundError

_CHUNK = 64 * 1024


class Fetcher(Protocol):
    """Return the body at URL, at most MAX_LENGTH bytes.

    Raises NotFoundError for 403/404, EndlessDataError when the body is longer
    than MAX_LENGTH, DownloadError for anything else.
    """

    def fetch(self, url: str, max_length: int) -> bytes: ...


class UrllibFetcher:
    """HTTP(S) fetcher on urllib; counts requests and bytes for reports and benchmarks."""

    def __init__(self, timeout: float = 30.0, user_agent: str = "unirepo-tuf-client/0.1") -> None:
        self.timeout = timeout
        self.user_agent = user_agent
        self.requests: list[str] = []
        self.bytes_received = 0

    def fetch(self, url: str, max_length: int) -> bytes:
        self.requests.append(url)
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > max_length:
                    raise EndlessDataError(
                        f"{url}: server announces {declared} bytes, limit is {max_length}"
                    )
                chunks: list[bytes] = []
                received = 0
                # Read one byte past the limit so that overflow is detected, never buffered.
                while received <= max_length:
                    chunk = response.read(min(_CHUNK, max_length + 1 - received))
                    if not chunk:
                        break
                    chunks.append(chunk)
                    received += len(chunk)
                self.bytes_received += received
                if received > max_length:
                    raise EndlessDataError(f"{url}: more than {max_length} bytes")
                return b"".join(chunks)
        except urllib.error.HTTPError as error:
            if error.code in (403, 404):
                raise NotFoundError(f"{url}: HTTP {error.code}") from None
            raise DownloadError(f"{url}: HTTP {error.code}") from None
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise DownloadError(f"{url}: {reason}") from None
