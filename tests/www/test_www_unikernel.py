"""The www unikernel on spt and hvt, on a tap in a namespace made by the
test, serving a site packed with `tar --format=ustar`: every HTTP feature
checked with curl and with Python's http.client (tests/www/http_probe.py),
timeouts, and the refusal of a device that is not an archive."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import sys
import time
from email.utils import formatdate, parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest

from solo5.launcher import tender_command
from tests.support.netns import TapNamespace, tap_namespace
from tests.www.guest import (
    GUEST_IP,
    MTIME,
    SITE_FILES,
    big_file_bytes,
    booted_www,
    build_www,
    make_site,
)

TARGETS = [pytest.param("spt", marks=pytest.mark.netadmin),
           pytest.param("hvt", marks=[pytest.mark.netadmin, pytest.mark.kvm])]
PROBE = Path(__file__).with_name("http_probe.py")
URL = f"http://{GUEST_IP}"
LAST_MODIFIED = formatdate(MTIME, usegmt=True)
INDEX = b"<!doctype html><title>www</title><p>hello from www</p>\n"


@pytest.fixture(scope="module")
def www_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("www-images")
    return {target: build_www(target, root / target) for target in ("spt", "hvt")}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_site(tmp_path_factory.mktemp("www-site"))


def etag(size: int) -> str:
    return f'"{MTIME:x}-{size:x}"'


class Fetched:
    """One response as curl printed it (-i): status, headers, body."""

    def __init__(self, raw: bytes) -> None:
        head, _, self.body = raw.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v for k, _, v in (line.partition(": ") for line in lines[1:])}


def curl(ns: TapNamespace, *args: str) -> Fetched:
    proc = subprocess.run(ns.command(["curl", "-sS", "-i", "--max-time", "15", *args]),
                          capture_output=True, timeout=30, check=False)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return Fetched(proc.stdout)


def probe(ns: TapNamespace, chunks: list[bytes], methods: list[str], pause: float = 0.0,
          wait_close: float = 2.0, port: int = 80) -> dict[str, Any]:
    spec = {"chunks": [base64.b64encode(c).decode() for c in chunks], "methods": methods,
            "pause": pause, "wait_close": wait_close}
    proc = subprocess.run(ns.command([sys.executable, str(PROBE), "exchange", GUEST_IP,
                                      str(port)]),
                          input=json.dumps(spec), capture_output=True, text=True, timeout=60,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    assert "error" not in result, result
    return result


def body(response: dict[str, Any]) -> bytes:
    return base64.b64decode(response["body"])


def header(response: dict[str, Any], name: str) -> str | None:
    found = [v for k, v in response["headers"] if k.lower() == name.lower()]
    assert len(found) <= 1, found
    return found[0] if found else None


@pytest.mark.parametrize("target", TARGETS)
def test_site_served_to_curl(target: str, www_images: dict[str, Path], site: Path,
                             tmp_path: Path) -> None:
    with tap_namespace() as ns, booted_www(www_images[target], ns, site,
                                           ["--access-log", "--max-age=600"]) as guest:
        page = curl(ns, f"{URL}/")
        assert page.status == 200 and page.body == INDEX
        assert page.headers["content-type"] == "text/html"
        assert page.headers["content-length"] == str(len(INDEX))
        assert page.headers["last-modified"] == LAST_MODIFIED
        assert page.headers["etag"] == etag(len(INDEX))
        assert page.headers["cache-control"] == "max-age=600"
        assert page.headers["accept-ranges"] == "bytes"
        assert page.headers["connection"] == "keep-alive"
        served_at = parsedate_to_datetime(page.headers["date"]).timestamp()
        assert abs(served_at - time.time()) < 120        # the guest's clock is the host's

        # a 1 MiB file, byte for byte
        out = tmp_path / "big.bin"
        ns.run(["curl", "-sS", "--max-time", "30", "-o", str(out), f"{URL}/big.bin"])
        assert hashlib.sha256(out.read_bytes()).digest() == \
            hashlib.sha256(big_file_bytes()).digest()

        head = curl(ns, "-I", f"{URL}/css/site.css")
        assert head.status == 200 and head.body == b""
        assert head.headers["content-length"] == str(len(SITE_FILES["css/site.css"]))
        assert head.headers["content-type"] == "text/css"
        assert curl(ns, f"{URL}/js/app.js").headers["content-type"] == "application/javascript"
        assert curl(ns, f"{URL}/img/logo.svg").headers["content-type"] == "image/svg+xml"

        # directories: index.html, a redirect to add the slash, no listings
        moved = curl(ns, f"{URL}/about?x=1")
        assert moved.status == 301 and moved.headers["location"] == "/about/?x=1"
        followed = ns.run(["curl", "-sS", "-L", "--max-time", "15", f"{URL}/about"])
        assert followed.stdout == "<p>about</p>\n"
        assert curl(ns, f"{URL}/noindex/").status == 403
        assert curl(ns, f"{URL}/nothing-here").status == 404
        assert curl(ns, f"{URL}/index.html/").status == 404

        # percent-decoding, and what it must not let through
        assert curl(ns, f"{URL}/docs/a%20b.txt").body == b"a file with a space\n"
        assert curl(ns, f"{URL}/docs/caf%C3%A9.txt").body == "caf\u00e9\n".encode()
        for bad in ("/%2e%2e/%2e%2e/etc/passwd", "/docs/../index.html", "/docs%2Fa%20b.txt",
                    "/index.html%00.txt", "/%zz"):
            refused = curl(ns, "--path-as-is", f"{URL}{bad}")
            assert refused.status == 400 and refused.headers["connection"] == "close", bad

        # conditional requests
        tag = etag(len(INDEX))
        for condition in (f"If-None-Match: {tag}", f"If-None-Match: W/{tag}",
                          "If-None-Match: *", f"If-Modified-Since: {LAST_MODIFIED}"):
            cached = curl(ns, "-H", condition, f"{URL}/")
            assert cached.status == 304 and cached.body == b"", condition
            assert cached.headers["etag"] == tag and cached.headers["cache-control"] == \
                "max-age=600"
            assert "content-length" not in cached.headers
        older = formatdate(MTIME - 1, usegmt=True)
        assert curl(ns, "-H", f"If-Modified-Since: {older}", f"{URL}/").status == 200
        assert curl(ns, "-H", 'If-None-Match: "other"', f"{URL}/").status == 200

        # byte ranges
        part = curl(ns, "-r", "10-19", f"{URL}/big.bin")
        assert part.status == 206 and part.body == big_file_bytes()[10:20]
        assert part.headers["content-range"] == "bytes 10-19/1048576"
        tail = curl(ns, "-r", "-5", f"{URL}/big.bin")
        assert tail.status == 206 and tail.body == big_file_bytes()[-5:]
        beyond = curl(ns, "-r", "2000000-", f"{URL}/big.bin")
        assert beyond.status == 416 and beyond.headers["content-range"] == "bytes */1048576"
        stale = curl(ns, "-r", "0-0", "-H", 'If-Range: "old"', f"{URL}/index.html")
        assert stale.status == 200 and stale.body == INDEX

        # methods
        post = curl(ns, "-X", "POST", "-d", "x=1", f"{URL}/")
        assert post.status == 405 and post.headers["allow"] == "GET, HEAD"
        assert curl(ns, "-X", "BREW", f"{URL}/").status == 501

        # one access-log line per request, in the Common Log Format
        assert guest.wait_for("www: live 0 ", timeout=15), guest.text()[-2000:]
        log = re.findall(r'^10\.77\.0\.1 - - \[[^\]]+\] "([^"]*)" (\d+) (\d+)$', guest.text(),
                         re.M)
        assert ("GET / HTTP/1.1", "200", str(len(INDEX))) in log
        assert ("HEAD /css/site.css HTTP/1.1", "200", "0") in log
        assert ("GET /big.bin HTTP/1.1", "206", "10") in log
        assert len(log) == 30                              # every request above


@pytest.mark.parametrize("target", TARGETS)
def test_keep_alive_pipelining_and_errors(target: str, www_images: dict[str, Path],
                                          site: Path) -> None:
    with tap_namespace() as ns, booted_www(www_images[target], ns, site) as guest:
        # three requests in one segment: answered in order on one connection
        pipelined = (b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"
                     b"HEAD /css/site.css HTTP/1.1\r\nHost: a\r\n\r\n"
                     b"GET /js/app.js HTTP/1.1\r\nHost: a\r\n\r\n")
        result = probe(ns, [pipelined], ["GET", "HEAD", "GET"])
        assert [r["status"] for r in result["responses"]] == [200, 200, 200]
        assert [body(r) for r in result["responses"]] == [INDEX, b"", b"console.log('www');\n"]
        assert result["closed"] is False                  # persistent by default
        # a request split into many small segments, and a GET with a body
        split = b"GET /index.html HTTP/1.1\r\nHost: a\r\n\r\n"
        result = probe(ns, [split[i:i + 3] for i in range(0, len(split), 3)], ["GET"],
                       pause=0.01)
        assert body(result["responses"][0]) == INDEX
        result = probe(ns, [b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello"
                            b"GET /js/app.js HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"],
                       ["GET", "GET"])
        assert [r["status"] for r in result["responses"]] == [200, 200]
        assert header(result["responses"][1], "connection") == "close" and result["closed"]
        # HTTP/1.0 closes unless asked not to
        assert probe(ns, [b"GET / HTTP/1.0\r\n\r\n"], ["GET"])["closed"] is True
        kept = probe(ns, [b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"], ["GET"])
        assert kept["closed"] is False
        assert header(kept["responses"][0], "connection") == "keep-alive"

        # errors: a small body, and the connection closed where framing is in doubt
        cases = [
            (b"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, True),
            (b"GET / HTTP/1.1\r\n\r\n", 400, True),
            (b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400, True),
            (b"GET / HTTP/1.1\r\nHost : a\r\n\r\n", 400, True),
            (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: a\r\n\r\n", 414, True),
            (b"GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n", 431, True),
            (b"GET / HTTP/1.1\r\nHost: a\r\n" + b"X: 1\r\n" * 120 + b"\r\n", 431, True),
            (b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000000\r\n\r\n", 413, True),
            (b"DELETE / HTTP/1.1\r\nHost: a\r\n\r\n", 405, False),
            (b"FROB / HTTP/1.1\r\nHost: a\r\n\r\n", 501, False),
            (b"GET /missing HTTP/1.1\r\nHost: a\r\n\r\n", 404, False),
        ]
        for request, status, closes in cases:
            result = probe(ns, [request], ["GET"])
            response = result["responses"][0]
            assert response["status"] == status, request[:60]
            reason = response["reason"]
            assert body(response) == f"{status} {reason}\n".encode()
            assert header(response, "content-type") == "text/plain"
            assert result["closed"] is closes, request[:60]
        assert guest.wait_for("www: live 0 ", timeout=15), guest.text()[-2000:]


@pytest.mark.parametrize("target", [pytest.param("spt", marks=pytest.mark.netadmin)])
def test_header_and_idle_timeouts(target: str, www_images: dict[str, Path], site: Path) -> None:
    args = ["--header-timeout=2", "--idle-timeout=3"]
    with tap_namespace() as ns, booted_www(www_images[target], ns, site, args):
        started = time.monotonic()
        slow = probe(ns, [b"GET / HTTP/1.1\r\nHost: a\r\n"], ["GET"], wait_close=5)
        assert slow["responses"][0]["status"] == 408 and slow["closed"] is True
        assert 1.5 < time.monotonic() - started < 5
        # a kept-alive connection with nothing more to ask is closed when idle
        started = time.monotonic()
        idle = probe(ns, [b"GET / HTTP/1.1\r\nHost: a\r\n\r\n"], ["GET"], wait_close=8)
        assert idle["closed"] is True and 2.5 < time.monotonic() - started < 6


@pytest.mark.parametrize("target", TARGETS)
def test_device_that_is_not_an_archive(target: str, www_images: dict[str, Path],
                                       tmp_path: Path) -> None:
    device = tmp_path / "not-a-tar.img"
    device.write_bytes(b"this is not a tar archive\n" * 400 + bytes(-10400 % 512))
    with tap_namespace() as ns:
        argv = tender_command(www_images[target], nets={"service": ns.tap},
                              blocks={"site": str(device)}, args=[f"--ipv4={GUEST_IP}/24"])
        result = ns.run(argv, check=False, timeout=60)
    assert result.returncode == 1
    assert ("www: site: invalid ustar header at byte 0: no ustar magic (make the archive "
            "with tar --format=ustar)") in result.stdout


@pytest.mark.parametrize("target", [pytest.param("spt", marks=pytest.mark.netadmin)])
def test_bad_arguments_and_too_little_memory(target: str, www_images: dict[str, Path],
                                             site: Path) -> None:
    with tap_namespace() as ns:
        for args, message in (
                (["--port=0"], "www: --port must be a number from 1 to 65535"),
                (["--max-connections=16384"], "www: --max-connections=16384 needs "),
                (["--verbose"], "www: unknown boot argument")):
            argv = tender_command(www_images[target], nets={"service": ns.tap},
                                  blocks={"site": str(site)},
                                  args=[f"--ipv4={GUEST_IP}/24", *args])
            result = ns.run(argv, check=False, timeout=60)
            assert result.returncode == 1 and message in result.stdout, result.stdout
