"""Writes the seed corpus of the www fuzzers:
runtime/fuzz/corpus/ustar/*.bin (first byte: block size 512 << (b & 3),
then the device bytes).

    .venv/bin/python -m tests.www.fuzz_corpus
"""

from __future__ import annotations

import tarfile
from pathlib import Path

from tests.www.archives import BLOCK, add_entry, add_file, python_archive
from tests.www.host_c import RUNTIME


def trimmed(archive: bytes) -> bytes:
    """The archive up to its two end-of-archive blocks (no record padding)."""
    end = len(archive)
    while end >= BLOCK and archive[end - BLOCK:end] == bytes(BLOCK):
        end -= BLOCK
    return archive[:end + 2 * BLOCK]


def ustar_seeds() -> dict[str, bytes]:
    def site(tar: tarfile.TarFile) -> None:
        add_entry(tar, ".", tarfile.DIRTYPE)
        add_file(tar, "./index.html", b"<h1>home</h1>\n")
        add_entry(tar, "./css", tarfile.DIRTYPE)
        add_file(tar, "./css/main.css", b"body{}" * 100)
        add_file(tar, "p" * 120 + "/deep.txt", b"deep")

    def links(tar: tarfile.TarFile) -> None:
        add_file(tar, "a", b"data")
        add_entry(tar, "b", tarfile.LNKTYPE, link="a")
        add_entry(tar, "c", tarfile.SYMTYPE, link="a")
        add_entry(tar, "f", tarfile.FIFOTYPE)
        add_file(tar, "a", b"replaced")

    return {
        "site": bytes([0]) + trimmed(python_archive(site)),
        "links": bytes([0]) + trimmed(python_archive(links)),
        "site_4k_blocks": bytes([3]) + trimmed(python_archive(site)),
    }


def write(directory: Path, seeds: dict[str, bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (directory / f"{name}.bin").write_bytes(data)


def main() -> None:
    write(RUNTIME / "fuzz" / "corpus" / "ustar", ustar_seeds())


if __name__ == "__main__":
    main()
