"""Exceptions of fsio.

They derive from OSError: a refused write is a file-system failure to every
caller that already handles OSError (one line and exit 1 in the CLI, retry in
the online service).
"""

from __future__ import annotations


class FsioError(OSError):
    """A safe write could not be completed."""


class UnsafePathError(FsioError):
    """The destination is a symbolic link, not a regular file, or ended up with the wrong
    owner or mode: writing there could hand the file to someone else."""


class DestinationExistsError(FsioError, FileExistsError):
    """A create-only write found its destination name taken (by a file or a symbolic link)."""
