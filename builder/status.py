"""The verdict of a build, as one enum used everywhere a status is compared."""

from __future__ import annotations

from enum import StrEnum


class BuildStatus(StrEnum):
    """What a double build found; the value is what JSON documents and the dashboard show."""

    REPRODUCIBLE = "reproducible"  # A and B built and are bit-for-bit identical
    UNREPRODUCIBLE = "unreproducible"  # both built, images differ
    FAILED = "failed"  # A or B did not produce an image (compile error, resource limit)
    # One build (a farm worker's build A or build B) produced this image. Alone it proves
    # nothing about reproducibility: the gate needs agreeing builds under both conditions.
    BUILT = "built"
