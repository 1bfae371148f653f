"""The www unikernel's pure modules on the host (unikernels/www/test/www_dump.c
under ASan + UBSan): request heads, paths, dates, media types, validators,
ranges, boot arguments, access-log lines and the resource a request gets
from a site, each with its exact expected output."""

from __future__ import annotations

import random
import subprocess
import tarfile
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from pathlib import Path

import pytest

from tests.www.archives import MTIME, add_entry, add_file, python_archive
from tests.www.host_c import BLK_SOURCES, WWW, WWW_PURE_SOURCES, compile_host

pytestmark = pytest.mark.slow   # a sanitized build and ~120 short processes


@pytest.fixture(scope="module")
def dump(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("www-units") / "www_dump"
    return compile_host(out, [WWW / "test" / "www_dump.c", *WWW_PURE_SOURCES, *BLK_SOURCES],
                        include_dirs=[WWW])


def run(dump: Path, *args: str, stdin: bytes = b"") -> list[str]:
    proc = subprocess.run([str(dump), *args], input=stdin, capture_output=True, timeout=60,
                          check=False)
    assert proc.returncode == 0 and proc.stderr == b"", proc.stderr.decode(errors="replace")
    return proc.stdout.decode(errors="replace").splitlines()


def request(dump: Path, head: bytes) -> list[str]:
    return run(dump, "request", stdin=head)


def test_full_request_head(dump: Path) -> None:
    head = (b"GET /a%20b?x=1&y HTTP/1.1\r\nHost: example.org:8080\r\nAccept: */*\r\n"
            b'If-None-Match: "x", W/"y"\r\nIf-None-Match: "z"\r\n'
            b"If-Modified-Since: Sun, 06 Nov 1994 08:49:37 GMT\r\n"
            b"Range:   bytes=0-1  \r\nIf-Range: \"x\"\r\nContent-Length: 0\r\n\r\n")
    assert request(dump, head + b"GET /next") == [
        f"scan complete {len(head)}",
        "method GET", "method-name GET", "target /a%20b?x=1&y", "form origin", "path /a%20b",
        "query x=1&y", "version 1.1", "keep-alive 1", "host example.org:8080",
        "content-length 0", "transfer-encoding 0",
        'if-none-match "x", W/"y"', 'if-none-match "z"',
        "if-modified-since Sun, 06 Nov 1994 08:49:37 GMT",
        "range bytes=0-1",                     # optional whitespace trimmed
        'if-range "x"',
    ]


def test_lenient_framing(dump: Path) -> None:
    # empty lines before the request line are skipped; bare LF ends lines (RFC 9112 2.2)
    head = b"\r\n\nHEAD http://h/p?q HTTP/1.0\nConnection: Keep-Alive\n\n"
    lines = request(dump, head)
    assert lines[:9] == [f"scan complete {len(head)}", "method HEAD", "method-name HEAD",
                         "target http://h/p?q", "form absolute", "path /p", "query q",
                         "version 1.0", "keep-alive 1"]
    assert request(dump, b"GET http://h HTTP/1.1\r\nHost: h\r\n\r\n")[5] == "path /"
    assert request(dump, b"GET / HTTP/1.0\r\n\r\n")[8:10] == ["keep-alive 0", "host none"]
    assert request(dump, b"GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Close\r\n\r\n"
                   )[8] == "keep-alive 0"
    assert request(dump, b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n")[1:5] == [
        "method known-other", "method-name OPTIONS", "target *", "form asterisk"]
    assert request(dump, b"get / HTTP/1.1\r\nHost: h\r\n\r\n")[1] == "method unknown"
    assert request(dump, b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 7 , 7\r\n\r\n"
                   )[10] == "content-length 7"


@pytest.mark.parametrize(("head", "status"), [
    (b"GET / HTTP/1.1\r\n\r\n", 400),                               # no Host
    (b"GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", 400),          # two Hosts
    (b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400),                    # invalid Host
    (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400),                     # space before colon
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n folded\r\n\r\n", 400),   # obs-fold
    (b"GET / HTTP/1.1\r\nHost: a\rX: 1\r\n\r\n", 400),               # bare CR
    (b"GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", 400),          # NUL in a value
    (b"GET / HTTP/1.1\r\nHost: a\r\nNo colon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close;x\r\n\r\n", 400),
    (b"GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400),                     # two spaces
    (b"GET / http/1.1\r\nHost: a\r\n\r\n", 400),                      # version is case-sensitive
    (b"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400),
    (b"GET /\r\nHost: a\r\n\r\n", 400),                               # no version
    (b"GET relative HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET ftp://h/ HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET /\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400),
    (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
    (b"GET / HTTP/0.9\r\nHost: a\r\n\r\n", 505),
    (b"ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\nHost: a\r\n\r\n", 501),      # 17 > HTTP_METHOD_MAX
    (b"GET / HTTP/1.1\r\nHost: a\r\n" + b'If-None-Match: "a"\r\n' * 5 + b"\r\n", 400),
])
def test_malformed_heads_get_their_status(dump: Path, head: bytes, status: int) -> None:
    assert request(dump, head) == [f"scan complete {len(head)}", f"parse error {status}"]


def test_head_limits_while_scanning(dump: Path) -> None:
    assert request(dump, b"GET /" + b"a" * 8200) == ["scan error 414"]
    assert request(dump, b"GET /" + b"a" * 8180 + b" HTTP/1.1\r\n") == ["scan error 414"]
    assert request(dump, b"GET /" + b"a" * 8100 + b" HTTP/1.1\r\n") == ["scan incomplete"]
    assert request(dump, b"GET / HTTP/1.1\r\nX: " + b"v" * 8200) == ["scan error 431"]
    many = b"GET / HTTP/1.1\r\n" + b"X: 1\r\n" * 101
    assert request(dump, many) == ["scan error 431"]          # HTTP_FIELDS_MAX is 100
    enough = b"GET / HTTP/1.1\r\nHost: h\r\n" + b"X: 1\r\n" * 99 + b"\r\n"
    assert request(dump, enough)[:2] == [f"scan complete {len(enough)}", "method GET"]
    # a full buffer without the end of the head: the head is too large
    fields = b"GET / HTTP/1.1\r\n" + b"X-Long: " + b"v" * 8000 + b"\r\n" + b"Y: " + b"w" * 8000
    assert request(dump, fields + b"\r\nZ: " + b"z" * 400) == ["scan error 431"]
    assert request(dump, b"\r\n" * 8192) == ["scan error 400"]
    assert request(dump, b"GET / HTTP/1.1\r\nHost: a\r\n") == ["scan incomplete"]


@pytest.mark.parametrize(("path", "expected"), [
    ("/", "name [] dir 1"),
    ("/index.html", "name [index.html] dir 0"),
    ("/a%20b/%C3%A9", "name [a b/\u00e9] dir 0"),
    ("//a///b/", "name [a/b] dir 1"),            # empty segments merge
    ("/...", "name [...] dir 0"),
    ("/.well-known/x", "name [.well-known/x] dir 0"),
    ("/../etc/passwd", "bad"),
    ("/a/..", "bad"),
    ("/a/./b", "bad"),
    ("/%2e%2E/x", "bad"),                        # encoded dot segments too
    ("/%2E", "bad"),
    ("/a%2Fb", "bad"),                           # encoded slash
    ("/a%2fb", "bad"),
    ("/a%00", "bad"),                            # encoded NUL
    ("/%zz", "bad"),
    ("/%4", "bad"),
    ("/%", "bad"),
    ("/" + "x" * 64, "too-long"),                # the driver's name buffer is 64 bytes
    ("/" + "x" * 63, "name [" + "x" * 63 + "] dir 0"),
])
def test_path_decoding(dump: Path, path: str, expected: str) -> None:
    assert run(dump, "path", path) == [expected]


def test_dates_against_python(dump: Path) -> None:
    rng = random.Random(14)
    stamps = [0, 784111777, 951782400, 4102444799, 253402300799] + [
        rng.randrange(0, 253402300800) for _ in range(40)]
    for stamp in stamps:
        text = format_datetime(datetime.fromtimestamp(stamp, UTC), usegmt=True)
        assert run(dump, "date-format", str(stamp)) == [text]
        assert run(dump, "date-parse", text) == [str(stamp)]
        clf = datetime.fromtimestamp(stamp, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
        assert run(dump, "clf", str(stamp)) == [clf]
    assert run(dump, "date-format", "253402300800") == ["Fri, 31 Dec 9999 23:59:59 GMT"]
    assert run(dump, "date-parse", "Sunday, 06-Nov-94 08:49:37 GMT") == ["784111777"]
    assert run(dump, "date-parse", "Sun Nov  6 08:49:37 1994") == ["784111777"]
    assert run(dump, "date-parse", "Thursday, 01-Jan-70 00:00:00 GMT") == ["0"]
    assert run(dump, "date-parse", "Monday, 01-Jan-01 00:00:00 GMT") == ["978307200"]
    assert parsedate_to_datetime("Mon, 01 Jan 2001 00:00:00 GMT").timestamp() == 978307200
    for invalid in ("Sun, 06 Nov 1994 08:49:37 UTC", "Sun, 31 Feb 1994 08:49:37 GMT",
                    "Sun, 06 Nov 1994 24:00:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ",
                    "Sun, 6 Nov 1994 08:49:37 GMT", "06 Nov 1994 08:49:37 GMT", "",
                    "Sun, 29 Feb 1900 00:00:00 GMT", "Sun Nov 6 08:49:37 1994"):
        assert run(dump, "date-parse", invalid) == ["invalid"], invalid


@pytest.mark.parametrize(("name", "media_type"), [
    ("index.html", "text/html"), ("A.HTM", "text/html"), ("css/site.css", "text/css"),
    ("app.js", "application/javascript"), ("logo.svg", "image/svg+xml"),
    ("photo.JPG", "image/jpeg"), ("font.woff2", "font/woff2"), ("x.tar.gz", "application/gzip"),
    ("README", "application/octet-stream"), (".hidden", "application/octet-stream"),
    ("dir.d/file", "application/octet-stream"), ("x.", "application/octet-stream"),
])
def test_media_types(dump: Path, name: str, media_type: str) -> None:
    assert run(dump, "mime", name) == [media_type]


@pytest.mark.parametrize(("spec", "size", "expected"), [
    ("bytes=0-0", 10, "satisfiable 0 1"), ("bytes=5-", 10, "satisfiable 5 5"),
    ("bytes=-3", 10, "satisfiable 7 3"), ("bytes=-20", 10, "satisfiable 0 10"),
    ("bytes=2-100", 10, "satisfiable 2 8"), ("BYTES=1-1", 10, "satisfiable 1 1"),
    ("bytes= 1-2 ", 10, "satisfiable 1 2"),
    ("bytes=10-", 10, "unsatisfiable"), ("bytes=-0", 10, "unsatisfiable"),
    ("bytes=0-", 0, "unsatisfiable"), ("bytes=-1", 0, "unsatisfiable"),
    ("bytes=3-2", 10, "ignore"), ("bytes=0-1,3-4", 10, "ignore"), ("items=0-1", 10, "ignore"),
    ("bytes=-", 10, "ignore"), ("bytes=a-b", 10, "ignore"), ("bytes", 10, "ignore"),
    ("bytes=99999999999999999999-", 10, "ignore"),
])
def test_ranges(dump: Path, spec: str, size: int, expected: str) -> None:
    assert run(dump, "range", spec, str(size)) == [expected]


def test_validators(dump: Path) -> None:
    etag = '"6553f100-64"'
    assert run(dump, "etag", str(MTIME), "100") == [etag]
    for value, matches in (("*", 1), (etag, 1), ("W/" + etag, 1), (f'"a", {etag}', 1),
                           (f'"a",,{etag} ', 1), ('"a"', 0), ("garbage", 0), (f"{etag} x", 0),
                           ("", 0), ("* ,", 0)):
        assert run(dump, "inm", value, etag) == [str(matches)], value
    date = "Tue, 14 Nov 2023 22:13:20 GMT"       # MTIME
    for value, holds in ((etag, 1), ("W/" + etag, 0), ('"other"', 0), (date, 1),
                         ("Tue, 14 Nov 2023 22:13:21 GMT", 0), ("junk", 0)):
        assert run(dump, "if-range", value, etag, str(MTIME)) == [str(holds)], value


def test_boot_arguments(dump: Path) -> None:
    assert run(dump, "args", "--ipv4=10.0.0.2/24") == [
        "port 80 max-age -1 access-log 0 max-connections 128 idle 60 header 10 cache 8"]
    assert run(dump, "args", "--dhcp --port=8080 --max-age=3600 --access-log "
               "--max-connections=1000 --idle-timeout=5 --header-timeout=2 --cache-mb=0") == [
        "port 8080 max-age 3600 access-log 1 max-connections 1000 idle 5 header 2 cache 0"]
    for bad, message in (
            ("--port=0", "--port must be a number from 1 to 65535"),
            ("--port=65536", "--port must be a number from 1 to 65535"),
            ("--port=8o", "--port must be a number from 1 to 65535"),
            ("--max-age=-1", "--max-age must be a number of seconds from 0 to 315360000"),
            ("--max-connections=0", "--max-connections must be a number from 1 to 16384"),
            ("--idle-timeout=", "--idle-timeout must be a number of seconds from 1 to 86400"),
            ("--header-timeout=0",
             "--header-timeout must be a number of seconds from 1 to 86400"),
            ("--cache-mb=4097", "--cache-mb must be a number of MiB from 0 to 4096"),
            ("--acess-log", "unknown boot argument (see docs/www.md for the list)")):
        assert run(dump, "args", bad) == [f"error {message}"], bad


def test_access_log_line_escapes_the_request(dump: Path) -> None:
    assert run(dump, "log", str(0x0A000001), str(MTIME), "200", "1234",
               stdin=b'GET /"x\\\x1b[31m HTTP/1.1') == [
        '10.0.0.1 - - [14/Nov/2023:22:13:20 +0000] "GET /\\x22x\\x5c\\x1b[31m HTTP/1.1" '
        "200 1234"]
    assert run(dump, "log", "1", "0", "414", "0", stdin=b"G" * 300) == [
        '0.0.0.1 - - [01/Jan/1970:00:00:00 +0000] "' + "G" * 200 + '..." 414 0']


def site(tar: tarfile.TarFile) -> None:
    add_file(tar, "index.html", b"x" * 100)
    add_entry(tar, "css", tarfile.DIRTYPE)
    add_file(tar, "css/a.css", b"a{}")
    add_file(tar, "d/index.html", b"d")
    add_entry(tar, "link", tarfile.SYMTYPE, link="index.html")
    add_file(tar, "sp ace.txt", b"s")


@pytest.fixture(scope="module")
def site_tar(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("site") / "site.tar"
    path.write_bytes(python_archive(site))
    return path


INDEX = 'file index.html etag "6553f100-64"'
WHOLE = ["status 200", f"{INDEX} first 0 length 100"]
NOT_MODIFIED = ["status 304", f"{INDEX} first 0 length 0"]
IMS_EQUAL = "Tue, 14 Nov 2023 22:13:20 GMT"
IMS_BEFORE = "Tue, 14 Nov 2023 22:13:19 GMT"


@pytest.mark.parametrize(("head", "expected"), [
    ("GET / HTTP/1.1", WHOLE),
    ("GET /index.html?q=1 HTTP/1.1", WHOLE),
    ("HEAD /css/a.css HTTP/1.1",
     ["status 200", 'file css/a.css etag "6553f100-3" first 0 length 3']),
    ("GET /sp%20ace.txt HTTP/1.1",
     ["status 200", 'file sp ace.txt etag "6553f100-1" first 0 length 1']),
    ("GET /css HTTP/1.1", ["status 301", "redirect css"]),
    ("GET /d HTTP/1.1", ["status 301", "redirect d"]),          # implied by d/index.html
    ("GET /d/ HTTP/1.1", ["status 200", 'file d/index.html etag "6553f100-1" first 0 length 1']),
    ("GET /css/ HTTP/1.1", ["status 403"]),                     # no index.html: not listed
    ("GET /nope HTTP/1.1", ["status 404"]),
    ("GET /nope/ HTTP/1.1", ["status 404"]),
    ("GET /link HTTP/1.1", ["status 404"]),                     # symbolic links are not followed
    ("GET /index.html/ HTTP/1.1", ["status 404"]),
    ("GET /%2e%2e/ HTTP/1.1", ["status 400"]),
    ("POST / HTTP/1.1", ["status 405"]),
    ("OPTIONS * HTTP/1.1", ["status 405"]),
    ("GET * HTTP/1.1", ["status 400"]),
    ("BREW / HTTP/1.1", ["status 501"]),
    ("GET / HTTP/1.1\r\nIf-None-Match: \"6553f100-64\"", NOT_MODIFIED),
    ("GET / HTTP/1.1\r\nIf-None-Match: *", NOT_MODIFIED),
    ("GET /nope HTTP/1.1\r\nIf-None-Match: *", ["status 404"]),  # 404 beats 304
    (f"GET / HTTP/1.1\r\nIf-Modified-Since: {IMS_EQUAL}", NOT_MODIFIED),
    (f"GET / HTTP/1.1\r\nIf-Modified-Since: {IMS_BEFORE}", WHOLE),
    ("GET / HTTP/1.1\r\nIf-Modified-Since: yesterday", WHOLE),
    (f"GET / HTTP/1.1\r\nIf-Modified-Since: {IMS_EQUAL}\r\nIf-Modified-Since: {IMS_EQUAL}",
     WHOLE),             # repeated: ignored
    (f"GET / HTTP/1.1\r\nIf-None-Match: \"x\"\r\nIf-Modified-Since: {IMS_EQUAL}",
     WHOLE),             # If-None-Match decides
    ("GET / HTTP/1.1\r\nRange: bytes=10-19", ["status 206", f"{INDEX} first 10 length 10"]),
    ("GET / HTTP/1.1\r\nRange: bytes=-1", ["status 206", f"{INDEX} first 99 length 1"]),
    ("GET / HTTP/1.1\r\nRange: bytes=100-", ["status 416", f"{INDEX} first 0 length 0"]),
    ("GET / HTTP/1.1\r\nRange: bytes=0-1, 5-6", WHOLE),
    ("HEAD / HTTP/1.1\r\nRange: bytes=10-19", WHOLE),
    ("GET / HTTP/1.1\r\nRange: bytes=1-1\r\nRange: bytes=2-2",
     WHOLE),
    ("GET / HTTP/1.1\r\nRange: bytes=1-1\r\nIf-Range: \"6553f100-64\"",
     ["status 206", f"{INDEX} first 1 length 1"]),
    ("GET / HTTP/1.1\r\nRange: bytes=1-1\r\nIf-Range: \"old\"",
     WHOLE),
    (f"GET / HTTP/1.1\r\nRange: bytes=1-1\r\nIf-Range: {IMS_EQUAL}",
     ["status 206", f"{INDEX} first 1 length 1"]),
    ("GET / HTTP/1.1\r\nRange: bytes=1-1\r\nIf-None-Match: \"6553f100-64\"",
     NOT_MODIFIED),
])
def test_resource_decisions(dump: Path, site_tar: Path, head: str, expected: list[str]) -> None:
    raw = (head + "\r\nHost: h\r\n\r\n").encode()
    assert run(dump, "resolve", str(site_tar), stdin=raw) == expected
