"""The tender programs, built on demand with `make -C solo5`."""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path

from solo5.errors import Solo5Error
from solo5.recipe import SOLO5_ROOT, TARGETS

TENDER_DIR: Path = SOLO5_ROOT.parent / "build" / "solo5"


class TenderError(Solo5Error):
    """A tender cannot be built or found."""


def tender_path(target: str, *, debug: bool = False) -> Path:
    """Path of solo5-<target> (solo5-hvt-debug with debug=True), (re)built if
    its sources changed."""
    if target not in TARGETS:
        raise TenderError(f"no tender for target {target!r} (known: {', '.join(TARGETS)})")
    if debug and target != "hvt":
        raise TenderError(f"only hvt has a debug tender, not {target}")
    TENDER_DIR.mkdir(parents=True, exist_ok=True)
    path = TENDER_DIR / (f"solo5-{target}-debug" if debug else f"solo5-{target}")
    # One make at a time: concurrent tests and launches share the outputs.
    with open(TENDER_DIR / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = subprocess.run(
            ["make", "-s", "-C", str(SOLO5_ROOT), f"OUT={TENDER_DIR}", str(path)],
            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines()
        raise TenderError(f"building solo5-{target} failed: {lines[0] if lines else 'make'}")
    return path
