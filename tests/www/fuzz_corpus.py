"""Writes the seed corpus of the www fuzzers:
runtime/fuzz/corpus/ustar/*.bin (first byte: block size 512 << (b & 3),
then the device bytes) and runtime/fuzz/corpus/http_request/*.bin (first
byte: the size of the pieces the head arrives in, then the head).

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


def http_seeds() -> dict[str, bytes]:
    heads = {
        "get": b"GET /index.html HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n\r\n",
        "conditional": (b"GET /css/a.css HTTP/1.1\r\nHost: h\r\n"
                        b'If-None-Match: "x", W/"6553f100-2bc"\r\n'
                        b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n"),
        "range": (b"GET /index.html?v=1 HTTP/1.1\r\nHost: h\r\nRange: bytes=10-\r\n"
                  b'If-Range: "6553f100-64"\r\nConnection: close\r\n\r\n'),
        "absolute_head_1_0": (b"\r\nHEAD http://h:8080/d%2f/../ HTTP/1.0\n"
                              b"Connection: keep-alive\nContent-Length: 5, 5\n\n"),
        "post_chunked": (b"POST /x HTTP/1.1\r\nHost: [::1]:80\r\n"
                         b"Transfer-Encoding: chunked\r\nIf-Modified-Since: "
                         b"Sunday, 06-Nov-94 08:49:37 GMT\r\n\r\n"),
        "suffix_range_asctime": (b"GET /empty HTTP/1.1\r\nHost: h\r\nRange: bytes=-5\r\n"
                                 b"If-Range: Sun Nov  6 08:49:37 1994\r\n\r\n"),
    }
    return {name: bytes([7]) + head for name, head in heads.items()}


def write(directory: Path, seeds: dict[str, bytes]) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, data in seeds.items():
        (directory / f"{name}.bin").write_bytes(data)


def main() -> None:
    write(RUNTIME / "fuzz" / "corpus" / "ustar", ustar_seeds())
    write(RUNTIME / "fuzz" / "corpus" / "http_request", http_seeds())


if __name__ == "__main__":
    main()
