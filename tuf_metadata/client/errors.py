"""Errors of the verifying client; all derive from tuf_metadata's TufError."""

from __future__ import annotations

from tuf_metadata.errors import TufError


class ClientError(TufError):
    """Base of every refusal or failure of the verifying client."""


class MalformedMetadataError(ClientError):
    """Bytes that do not parse as the expected kind of TUF metadata."""


class BadSignatureError(ClientError):
    """Metadata not signed by a threshold of the keys trusted for its role."""


class RollbackError(ClientError):
    """A version lower than one already trusted (or not the expected next one)."""


class EqualVersionError(ClientError):
    """The new timestamp has the trusted version: nothing changed (not a failure)."""


class ExpiredError(ClientError):
    """Metadata whose expiry is at or before the update's start time (freeze)."""


class MismatchError(ClientError):
    """Metadata or a file that does not match the version, length or hashes vouched for it."""


class DelegationError(ClientError):
    """A delegated role that cannot be reached, listed or trusted."""


class TargetNotFoundError(ClientError):
    """No trusted metadata describes the requested target."""


class DownloadError(ClientError):
    """A fetch failed (network, HTTP status)."""


class NotFoundError(DownloadError):
    """The server answered 403 or 404."""


class EndlessDataError(DownloadError):
    """The server sent more bytes than allowed for the file."""
