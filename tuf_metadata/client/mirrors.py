"""Several mirrors of one repository: try each in order until one gives verified data.

Every attempt is a complete, normal TUF update against one mirror, with the
same trusted metadata store. A mirror that is down, slow, redirects, or
serves anything the trust checks refuse (a rolled-back or expired
timestamp, i.e. a stale mirror; a bad signature; a wrong hash) only moves
the client to the next mirror. Nothing a mirror sent is stored unless it was
verified, so a failed attempt leaves the store as good as before and never
lowers what the next attempt accepts. Mixing mirrors needs no trust in any
of them: they all serve the same signed metadata.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from tuf_metadata.client.errors import ClientError
from tuf_metadata.client.fetcher import Fetcher
from tuf_metadata.client.packages import FetchedImage, fetch_image
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.updater import ClientConfig, Updater

T = TypeVar("T")


class MirrorsFailedError(ClientError):
    """No mirror gave data that verified; the message lists each mirror's reason."""


def mirror_updater(store: MetadataStore, fetcher: Fetcher, base_url: str,
                   config: ClientConfig | None = None) -> Updater:
    """An updater reading BASE/metadata/ and BASE/targets/."""
    base = base_url.rstrip("/")
    return Updater(store, fetcher, f"{base}/metadata/", f"{base}/targets/", config)


def first_verified(mirrors: Sequence[str], attempt: Callable[[str], T]) -> tuple[T, str]:
    """attempt(mirror) for each mirror in order; the first success and its mirror."""
    if not mirrors:
        raise MirrorsFailedError("no mirror URL given")
    if len(mirrors) == 1:  # the refusal itself is the clearest message
        return attempt(mirrors[0]), mirrors[0]
    failures: list[str] = []
    for mirror in mirrors:
        try:
            return attempt(mirror), mirror
        except ClientError as error:
            failures.append(f"{mirror}: {error}")
    raise MirrorsFailedError(f"every mirror failed: {'; '.join(failures)}")


def fetch_image_from_mirrors(
    store: MetadataStore, fetcher: Fetcher, mirrors: Sequence[str], package: str,
    output_dir: Path, *, version: str | None = None, target: str = "hvt",
    config: ClientConfig | None = None,
) -> tuple[FetchedImage, str]:
    """fetch_image through the first mirror that gives verified data."""
    return first_verified(mirrors, lambda mirror: fetch_image(
        mirror_updater(store, fetcher, mirror, config), package, output_dir,
        version=version, target=target,
    ))
