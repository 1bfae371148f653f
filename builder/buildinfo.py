"""Build info: toolchain identity, flags, input and output hashes.

The toolchain identity is every program the plan invokes plus the compiler's
internal programs (cc1, as, collect2, ld), each with its resolved path, sha256
and owning Debian package and version.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from builder.archive import SourceFile
from builder.build import sha256_file

BUILDER_VERSION = "1"
BUILD_TYPE = "https://unirepo.invalid/builder/double-build/v1"
COMPILER_INTERNALS = ("cc1", "as", "collect2", "ld")


def _run(argv: list[str]) -> str:
    result = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": "/usr/bin:/bin", "LC_ALL": "C"},
    )
    return result.stdout.strip() if result.returncode == 0 else ""


@functools.cache
def debian_package_of(path: str) -> tuple[str, str]:
    """(package, version) owning path per dpkg, or ("", "") if none does."""
    owner = ""
    for candidate in (path, str(Path(path).resolve())):
        line = _run(["dpkg-query", "-S", candidate])
        if line:
            owner = line.split(":", 1)[0].split(",")[0].strip()
            break
    if not owner:
        return ("", "")
    return (owner, _run(["dpkg-query", "-W", "-f=${Version}", owner]))


@functools.cache
def tool_identity(path: str) -> dict[str, str]:
    real = os.path.realpath(path)
    package, version = debian_package_of(path)
    return {
        "path": path,
        "realpath": real,
        "sha256": sha256_file(Path(real)),
        "package": package,
        "version": version,
    }


@functools.cache  # as tool_identity: a process (a farm worker's pool) asks once per compiler
def compiler_internals(compiler: str) -> tuple[str, ...]:
    found = []
    for name in COMPILER_INTERNALS:
        path = _run([compiler, f"-print-prog-name={name}"])
        if os.path.isabs(path) and os.path.exists(path):
            found.append(path)
        else:
            resolved = _run(["sh", "-c", f"command -v {name}"]) if name in ("as", "ld") else ""
            if resolved:
                found.append(resolved)
    return tuple(found)


def toolchain_identity(tools: Iterable[str]) -> list[dict[str, str]]:
    """Identity of the tools and, for each compiler, its internal programs; sorted, unique."""
    paths: set[str] = set()
    for tool in tools:
        paths.add(tool)
        if Path(tool).name.startswith(("gcc", "cc", "clang")):
            paths.update(compiler_internals(tool))
    return [tool_identity(p) for p in sorted(paths)]


def file_hashes(files: Mapping[str, SourceFile]) -> dict[str, str]:
    return {path: hashlib.sha256(files[path].data).hexdigest() for path in sorted(files)}


def tree_hashes(root: Path) -> dict[str, str]:
    """sha256 of every regular file under root (relative paths, sorted)."""
    return {
        p.relative_to(root).as_posix(): sha256_file(p)
        for p in sorted(root.rglob("*"))
        if p.is_file()
        and not p.is_symlink()
        and "__pycache__" not in p.parts
        and p.suffix != ".pyc"
    }


def digest_of(document: Any) -> str:
    """sha256 of the canonical (sorted, compact) JSON of document."""
    return hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
