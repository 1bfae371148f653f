"""Compressed transfer (issue 18.2): `serve` gzips metadata for clients that ask; our client
asks and decodes; lengths and hashes stay those of the decoded files; bombs are refused.
"""

from __future__ import annotations

import gzip
import http.client
import http.server
import json
import os
import re
import urllib.parse
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.rebuilder.support import add_rebuilder, confirm, fetch, make_world, served
from tests.serving.nginx import NGINX, nginx
from tests.serving.support import Service, published_repo
from tests.support.http_thread import running
from tests.support.published import metadata_dir, published_dir, targets_dir
from tuf_metadata import layout
from tuf_metadata.client.errors import DownloadError, EndlessDataError
from tuf_metadata.client.fetcher import HttpFetcher
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.client.updater import Updater
from tuf_metadata.http_encoding import accepts_gzip
from tuf_metadata.sync import sync_tree

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

pytestmark = pytest.mark.slow  # starts servers or signs whole repositories


def _request(url: str, path: str, headers: dict[str, str] | None = None,
             method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _compressions(url: str) -> int:
    _, _, body = _request(url, "/metrics")
    match = re.search(rb"^unirepo_http_gzip_compressions_total (\d+)$", body, re.MULTILINE)
    assert match is not None, body
    return int(match.group(1))


def _client(tmp_path: Path, root: bytes, base: str) -> tuple[Updater, HttpFetcher, Path]:
    store_dir = tmp_path / "client-md"
    store = MetadataStore(store_dir)
    store.directory.mkdir(parents=True)
    store.save("root", root)
    fetcher = HttpFetcher()
    return Updater(store, fetcher, f"{base}/metadata/", f"{base}/targets/"), fetcher, store_dir


def test_accept_encoding_negotiation() -> None:
    assert accepts_gzip("gzip")
    assert accepts_gzip("br, GZIP;q=0.5")
    assert accepts_gzip("*")
    assert not accepts_gzip(None)  # no preference: sent as stored, like nginx
    assert not accepts_gzip("identity")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip("*, gzip;q=0")
    assert not accepts_gzip("gzip;q=zero")


def test_serve_gzips_metadata_once_deterministically_and_sends_targets_as_stored(
    tmp_path: Path,
) -> None:
    fx = published_repo(tmp_path)
    service = Service(["serve", "--repo", str(fx.repo_dir), "--port", "0"])
    try:
        url = service.url()
        stored = (metadata_dir(fx.repo_dir) / "1.root.json").read_bytes()
        before = _compressions(url)
        asked = {"Accept-Encoding": "gzip"}
        status, headers, first = _request(url, "/metadata/1.root.json", asked)
        assert status == 200
        assert headers["content-encoding"] == "gzip"
        assert headers["vary"] == "Accept-Encoding"
        assert int(headers["content-length"]) == len(first) < len(stored)
        assert gzip.decompress(first) == stored
        assert first[4:8] == b"\0\0\0\0"  # gzip header mtime 0: deterministic
        for _ in range(3):
            assert _request(url, "/metadata/1.root.json", asked)[2] == first
        _, head_headers, head_body = _request(url, "/metadata/1.root.json", asked, "HEAD")
        assert head_body == b"" and head_headers["content-length"] == headers["content-length"]
        assert _compressions(url) == before + 1  # cached, not recompressed per request

        # A new modification time is a new file version: compressed again.
        os.utime(metadata_dir(fx.repo_dir) / "1.root.json", (1_000_000, 1_000_000))
        assert gzip.decompress(_request(url, "/metadata/1.root.json", asked)[2]) == stored
        assert _compressions(url) == before + 2

        for refused in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0"}):
            status, headers, body = _request(url, "/metadata/1.root.json", refused)
            assert status == 200 and "content-encoding" not in headers and body == stored
            assert headers["vary"] == "Accept-Encoding"

        image = next(targets_dir(fx.repo_dir).rglob("*.hello.hvt"))
        path = "/" + image.relative_to(published_dir(fx.repo_dir)).as_posix()
        status, headers, body = _request(url, path, asked)
        assert status == 200 and "content-encoding" not in headers
        assert body == image.read_bytes()
    finally:
        service.stop()


def test_json_targets_go_out_compressed_and_the_rebuilder_check_verifies_them_decoded(
    tmp_path: Path,
) -> None:
    """A rebuilder's attestation (a JSON target) is gzipped like metadata, images are not;
    `fetch --require-rebuilders` decodes it and checks the stored length, hash and DSSE
    signature (bench/results/fetch-rebuilders.md: the bytes an operator's check costs)."""
    world = make_world(tmp_path)
    add_rebuilder(world, "alice")
    confirm(world, "alice")
    stored = next(targets_dir(world.fx.repo_dir).rglob("*.alice.intoto.jsonl"))
    path = "/" + stored.relative_to(published_dir(world.fx.repo_dir)).as_posix()
    with served(world) as url:
        status, headers, body = _request(url, path, {"Accept-Encoding": "gzip"})
        assert status == 200 and headers["content-encoding"] == "gzip"
        assert headers["vary"] == "Accept-Encoding"
        assert len(body) < stored.stat().st_size and gzip.decompress(body) == stored.read_bytes()
        status, headers, body = _request(url, path)
        assert "content-encoding" not in headers and body == stored.read_bytes()
        image = next(targets_dir(world.fx.repo_dir).rglob("*.hello.hvt"))
        image_path = "/" + image.relative_to(published_dir(world.fx.repo_dir)).as_posix()
        _, headers, _ = _request(url, image_path, {"Accept-Encoding": "gzip"})
        assert "content-encoding" not in headers
        result = fetch(world, url, tmp_path / "out", "--require-rebuilders", "1", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["rebuilders"]["confirmed_by"] == ["alice"]


def test_our_client_downloads_compressed_metadata_and_verifies_the_decoded_files(
    tmp_path: Path,
) -> None:
    fx = published_repo(tmp_path)
    service = Service(["serve", "--repo", str(fx.repo_dir), "--port", "0"])
    try:
        base = service.url().rstrip("/")
        root = (metadata_dir(fx.repo_dir) / "1.root.json").read_bytes()
        updater, fetcher, _ = _client(tmp_path, root, base)
        updater.refresh()
        # Snapshot and role lengths in the signed metadata are the stored sizes, larger
        # than what crossed the wire: verification ran on the decoded bytes.
        resolved = updater.resolve(SHARDS.target_path("hello", "1.0.0", "hello.hvt"))
        assert fetcher.bytes_received < fetcher.bytes_decoded
        metadata_wire = fetcher.bytes_received
        updater.download_target(resolved.info, tmp_path / "hello.hvt")
        assert (tmp_path / "hello.hvt").read_bytes() == (fx.work / "hello-1.0.0.hvt").read_bytes()
        assert fetcher.bytes_received - metadata_wire == resolved.info.length  # target: plain
    finally:
        service.stop()


Rewrite = Callable[[str, bytes], tuple[dict[str, str], bytes]]


@contextmanager
def hostile_server(directory: Path, rewrite: Rewrite) -> Iterator[str]:
    """Serves directory's files, each passed through rewrite(path, bytes) -> (headers, body)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.lstrip("/")
            file = directory / path
            if ".." in path or not file.is_file():
                self.send_error(404)
                return
            headers, body = rewrite(path, file.read_bytes())
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with running(http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)) as url:
        yield url


def _only(name: str, change: Callable[[bytes], tuple[dict[str, str], bytes]]) -> Rewrite:
    def rewrite(path: str, data: bytes) -> tuple[dict[str, str], bytes]:
        return change(data) if path == name else ({}, data)
    return rewrite


def _refresh_refused(tmp_path: Path, rewrite: Rewrite) -> tuple[DownloadError, list[str]]:
    fx = published_repo(tmp_path)
    root = (metadata_dir(fx.repo_dir) / "1.root.json").read_bytes()
    with hostile_server(published_dir(fx.repo_dir), rewrite) as base:
        updater, _, store_dir = _client(tmp_path, root, base)
        with pytest.raises(DownloadError) as refused:
            updater.refresh()
    stored = sorted(p.relative_to(store_dir).as_posix() for p in store_dir.rglob("*")
                    if p.is_file())
    return refused.value, stored


def test_a_gzip_bomb_is_refused_by_the_size_cap_and_nothing_is_stored(tmp_path: Path) -> None:
    # 10 KB on the wire inflating to 10 MB; timestamp.json's cap is 16,384 bytes.
    bomb = gzip.compress(b"{" + b" " * 10_000_000, mtime=0)
    assert len(bomb) < 16_000
    error, stored = _refresh_refused(tmp_path, _only(
        "metadata/timestamp.json", lambda _: ({"Content-Encoding": "gzip"}, bomb)))
    assert isinstance(error, EndlessDataError)
    assert "inflates to more than 16384 bytes" in str(error) and "\n" not in str(error)
    assert stored == ["root.json"]


def test_a_snapshot_bomb_within_the_wire_limit_is_refused_at_the_signed_length(
    tmp_path: Path,
) -> None:
    # The snapshot's signed length bounds its decoded size, whatever the wire size.
    def pad(data: bytes) -> tuple[dict[str, str], bytes]:
        return {"Content-Encoding": "gzip"}, gzip.compress(data + b" " * 1_000_000)
    error, stored = _refresh_refused(tmp_path, lambda path, data: (
        pad(data) if re.fullmatch(r"metadata/\d+\.snapshot\.json", path) else ({}, data)))
    assert isinstance(error, EndlessDataError) and "decompression bomb" in str(error)
    assert "snapshot" not in " ".join(stored)


@pytest.mark.parametrize("change, message", [
    (lambda data: ({"Content-Encoding": "br"}, data), "Content-Encoding 'br' was not asked"),
    (lambda data: ({"Content-Encoding": "gzip"}, gzip.compress(data)[:-12]), "truncated"),
    (lambda data: ({"Content-Encoding": "gzip"}, gzip.compress(data) + b"junk"),
     "data after the end of the gzip stream"),
    (lambda data: ({"Content-Encoding": "gzip"}, b"\x1f\x8b\x08\x00" + data),
     "corrupt gzip body"),
    (lambda data: ({"Content-Encoding": "deflate"}, zlib.compress(data)), "'deflate'"),
])
def test_bad_encodings_are_refused_with_one_line(
    tmp_path: Path, change: Callable[[bytes], tuple[dict[str, str], bytes]], message: str,
) -> None:
    error, stored = _refresh_refused(tmp_path, _only("metadata/timestamp.json", change))
    assert message in str(error) and "\n" not in str(error)
    assert stored == ["root.json"]


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed "
                    "(Debian package nginx, in the Makefile's DEB_PACKAGES)")
def test_nginx_gzip_rules_of_the_docs_work_with_our_client(tmp_path: Path) -> None:
    """nginx's `gzip on` (chunked, no Content-Length) is decoded and verified like serve's."""
    fx = published_repo(tmp_path)
    public = tmp_path / "public"
    sync_tree(fx.repo_dir, public)
    with nginx(tmp_path / "nginx", [public]) as (base,):
        status, headers, body = _request(base, "/metadata/1.root.json",
                                         {"Accept-Encoding": "gzip"})
        assert status == 200 and headers["content-encoding"] == "gzip"
        assert headers["vary"] == "Accept-Encoding"
        assert gzip.decompress(body) == (public / "metadata" / "1.root.json").read_bytes()
        image = next((public / "targets").rglob("*.hello.hvt"))
        status, headers, _ = _request(base, "/" + image.relative_to(public).as_posix(),
                                      {"Accept-Encoding": "gzip"})
        assert status == 200 and "content-encoding" not in headers

        root = (public / "metadata" / "1.root.json").read_bytes()
        updater, fetcher, _ = _client(tmp_path, root, base)
        updater.refresh()
        resolved = updater.resolve(SHARDS.target_path("hello", "1.0.0", "hello.hvt"))
        updater.download_target(resolved.info, tmp_path / "hello.hvt")
        assert (tmp_path / "hello.hvt").read_bytes() == (fx.work / "hello-1.0.0.hvt").read_bytes()
        assert fetcher.bytes_received < fetcher.bytes_decoded
