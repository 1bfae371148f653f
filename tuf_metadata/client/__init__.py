"""The verifying TUF client: a pure trust state machine, an updater at the edge.

- `trusted.TrustedSet`: bytes in, verified metadata out (spec 5, TAP 8/20).
- `updater.Updater`: the workflow; reads/writes a `store.MetadataStore` and
  asks a `fetcher.Fetcher` for bytes.
"""

from tuf_metadata.client.errors import ClientError
from tuf_metadata.client.fetcher import Fetcher, UrllibFetcher
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.trusted import TrustedSet, VerifiedRole
from tuf_metadata.client.updater import ClientConfig, RefreshReport, ResolvedTarget, Updater

__all__ = [
    "ClientConfig",
    "ClientError",
    "Fetcher",
    "MetadataStore",
    "RefreshReport",
    "ResolvedTarget",
    "TrustedSet",
    "Updater",
    "UrllibFetcher",
    "VerifiedRole",
]
