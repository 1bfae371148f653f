"""The verdict of one double build, as one enum used everywhere a status is compared."""

from __future__ import annotations

from enum import StrEnum


class BuildStatus(StrEnum):
    """What a double build found; the value is what JSON documents and the dashboard show."""

    REPRODUCIBLE = "reproducible"  # A and B built and are bit-for-bit identical
    UNREPRODUCIBLE = "unreproducible"  # both built, images differ
    FAILED = "failed"  # A or B did not produce an image (compile error, resource limit)
