"""Where `repo-tool sync` publishes: a local folder, or a bucket of an S3-compatible store.

Both offer the few operations the consistent copy needs (tuf_metadata.sync
decides the order and what may be deleted): the size and bytes of an
object, writing one (replacing it in one step, so a reader sees the old or
the new bytes, never a mix), a barrier that makes a stage durable before the
next stage references it, deletion, and the top-level names for the
"private file in the published folder" warning.

S3 goes through boto3 (the `s3` extra); credentials, region and retries come
from boto3's usual sources (environment, ~/.aws, instance roles). A PUT in
S3 replaces an object atomically and is read-after-write consistent, so
every PUT is already its own barrier. Objects get the same Cache-Control as
`serve` sends (versioned metadata and hashed targets immutable, the
timestamp revalidated) so a CDN in front caches them correctly.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from fsio import atomic_write, fsync_dir
from tuf_metadata.errors import TufError
from tuf_metadata.hosting import cache_control


class DestinationError(TufError):
    """The destination cannot be reached or used; nothing inconsistent was written."""


class Destination(Protocol):
    """A place that serves a published tree under relative paths like `metadata/1.root.json`."""

    def describe(self, relative: str = "") -> str: ...

    def size(self, relative: str) -> int | None: ...

    def read(self, relative: str) -> bytes | None: ...

    def write(self, relative: str, data: bytes) -> None: ...

    def settle(self, relatives: Iterable[str]) -> None: ...

    def delete(self, relative: str) -> None: ...

    def top_level_names(self) -> list[str]: ...


@dataclass(frozen=True)
class LocalFolder:
    """A folder a web server (nginx, a CDN origin, a mirror) serves."""

    path: Path

    def describe(self, relative: str = "") -> str:
        return str(self.path / relative) if relative else str(self.path)

    def size(self, relative: str) -> int | None:
        try:
            return (self.path / relative).stat().st_size
        except FileNotFoundError:
            return None

    def read(self, relative: str) -> bytes | None:
        try:
            return (self.path / relative).read_bytes()
        except FileNotFoundError:
            return None

    def write(self, relative: str, data: bytes) -> None:
        target = self.path / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(target, data, sync_dir=False)

    def settle(self, relatives: Iterable[str]) -> None:
        for directory in sorted({(self.path / relative).parent for relative in relatives}):
            fsync_dir(directory)

    def delete(self, relative: str) -> None:
        (self.path / relative).unlink(missing_ok=True)

    def top_level_names(self) -> list[str]:
        try:
            names = sorted(os.listdir(self.path))
        except FileNotFoundError:
            return []
        return names


def _content_type(relative: str) -> str:
    return "application/json" if relative.endswith(".json") else "application/octet-stream"


class S3Bucket:
    """`s3://BUCKET[/PREFIX]` on AWS or any S3-compatible server (`endpoint_url`)."""

    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    @classmethod
    def from_url(cls, url: str, endpoint_url: str | None = None) -> S3Bucket:
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc or parts.query or parts.fragment:
            raise DestinationError(f"{url}: not an S3 destination; write s3://BUCKET[/PREFIX]")
        try:
            import boto3
            from botocore.config import Config
        except ImportError:
            raise DestinationError("publishing to S3 needs boto3: pip install 'unirepo[s3]'"
                                   ) from None
        # Path-style addressing works with every S3-compatible server, not only AWS's DNS.
        client = boto3.client("s3", endpoint_url=endpoint_url,
                              config=Config(s3={"addressing_style": "path"},
                                            retries={"max_attempts": 5, "mode": "standard"}))
        return cls(parts.netloc, parts.path, client)

    def _key(self, relative: str) -> str:
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def describe(self, relative: str = "") -> str:
        base = f"s3://{self.bucket}" + (f"/{self.prefix}" if self.prefix else "")
        return f"{base}/{relative}" if relative else base

    def _call(self, what: str, relative: str, **kwargs: Any) -> Any:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, what)(Bucket=self.bucket, **kwargs)
        except ClientError as error:
            code = str(error.response.get("Error", {}).get("Code", ""))
            if code in ("404", "NoSuchKey", "NotFound"):
                return None
            raise DestinationError(f"{self.describe(relative)}: {what} refused ({code or error}"
                                   f"); check the bucket name and credentials") from None
        except BotoCoreError as error:
            raise DestinationError(f"{self.describe(relative)}: {what} failed ({error})"
                                   ) from None

    def size(self, relative: str) -> int | None:
        head = self._call("head_object", relative, Key=self._key(relative))
        return None if head is None else int(head["ContentLength"])

    def read(self, relative: str) -> bytes | None:
        got = self._call("get_object", relative, Key=self._key(relative))
        return None if got is None else bytes(got["Body"].read())

    def write(self, relative: str, data: bytes) -> None:
        self._call("put_object", relative, Key=self._key(relative), Body=data,
                   ContentType=_content_type(relative), CacheControl=cache_control(relative))

    def settle(self, relatives: Iterable[str]) -> None:
        """Nothing to wait for: a PUT that returned is durable and visible."""

    def delete(self, relative: str) -> None:
        self._call("delete_object", relative, Key=self._key(relative))

    def top_level_names(self) -> list[str]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        listing = self._call("list_objects_v2", "", Prefix=prefix, Delimiter="/")
        if listing is None:
            return []
        names = [entry["Prefix"][len(prefix):].rstrip("/")
                 for entry in listing.get("CommonPrefixes", [])]
        names += [entry["Key"][len(prefix):] for entry in listing.get("Contents", [])]
        return sorted(names)


def open_destination(spec: str, endpoint_url: str | None = None) -> Destination:
    """`s3://BUCKET[/PREFIX]` or a folder path."""
    if spec.startswith("s3://"):
        return S3Bucket.from_url(spec, endpoint_url)
    if endpoint_url is not None:
        raise DestinationError("--s3-endpoint applies only to an s3:// destination")
    return LocalFolder(Path(spec))
