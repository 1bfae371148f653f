"""Safe file writing: the one implementation of atomic and create-only writes.

Layering: fsio is the lowest package of the project. It imports only the
standard library and no other project package; every other package
(tuf_metadata, signing, builder, reports, repo_tool, ...) may import it.

Every write goes through a temporary file with an unpredictable name, created
with O_CREAT|O_EXCL|O_NOFOLLOW in the destination's directory, given its final
mode with fchmod before any byte is written, fsynced, and then renamed (or
hard-linked, for create-only writes) into place, followed by an fsync of the
directory. So another local user who can predict or pre-create names in the
directory can neither make us write through their file or symlink nor end up
owning the result, and a reader sees the old file or the new one, never a
torn one. A destination that is a symbolic link is refused. A tree built before
being renamed into place starts in make_temp_dir. Temporary files and
directories left by a crashed writer are removed by sweep_temp_files.
"""

from fsio.errors import DestinationExistsError, FsioError, UnsafePathError
from fsio.write import (
    TEMP_SUFFIX,
    atomic_copy,
    atomic_write,
    create_exclusive,
    fsync_dir,
    is_temp_name,
    make_temp_dir,
    sweep_temp_files,
)

__all__ = [
    "TEMP_SUFFIX",
    "DestinationExistsError",
    "FsioError",
    "UnsafePathError",
    "atomic_copy",
    "atomic_write",
    "create_exclusive",
    "fsync_dir",
    "is_temp_name",
    "make_temp_dir",
    "sweep_temp_files",
]
