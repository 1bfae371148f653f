"""Differential test: the same corpus of valid and malformed requests to
the www unikernel (spt, on a tap in a namespace) and to nginx (Debian's
package, one worker, sendfile on) serving the same files extracted from
the same archive. Status codes, whether the connection stays open, the
headers that must agree and the bodies of successful responses are
compared; where the two differ on purpose (docs/www.md, "Differences from
nginx") the test pins both answers."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.support.netns import TapNamespace, tap_namespace
from tests.www.guest import GUEST_IP, MTIME, booted_www, build_www, make_site

PROBE = Path(__file__).with_name("http_probe.py")
NGINX_PORT = 8080
TAG = f'"{MTIME:x}-37"'             # index.html: 55 bytes
LAST_MODIFIED = "Tue, 14 Nov 2023 22:13:20 GMT"
OLDER = "Tue, 14 Nov 2023 22:13:19 GMT"
# Fields both servers must send alike on a successful or conditional answer.
SAME_FIELDS = ("content-type", "content-length", "last-modified", "etag", "content-range",
               "accept-ranges")


def get(path: str, *fields: str, version: str = "1.1", method: str = "GET") -> bytes:
    head = f"{method} {path} HTTP/{version}\r\n"
    if version == "1.1":
        head += "Host: www.test\r\n"
    return (head + "".join(f + "\r\n" for f in fields) + "\r\n").encode()


CORPUS: list[tuple[str, bytes, str]] = [
    ("root", get("/"), "GET"),
    ("index", get("/index.html"), "GET"),
    ("css", get("/css/site.css"), "GET"),
    ("js", get("/js/app.js"), "GET"),
    ("svg", get("/img/logo.svg"), "GET"),
    ("big", get("/big.bin"), "GET"),
    ("empty", get("/empty.txt"), "GET"),
    ("space", get("/docs/a%20b.txt"), "GET"),
    ("utf8", get("/docs/caf%C3%A9.txt"), "GET"),
    ("dir index", get("/about/"), "GET"),
    ("query", get("/index.html?v=3"), "GET"),
    ("head", get("/css/site.css", method="HEAD"), "HEAD"),
    ("missing", get("/nothing"), "GET"),
    ("no index", get("/noindex/"), "GET"),
    ("dir redirect", get("/about"), "GET"),
    ("inm match", get("/", f"If-None-Match: {TAG}"), "GET"),
    ("inm weak", get("/", f"If-None-Match: W/{TAG}"), "GET"),
    ("inm list", get("/", f'If-None-Match: "a", {TAG}'), "GET"),
    ("inm star", get("/", "If-None-Match: *"), "GET"),
    ("inm other", get("/", 'If-None-Match: "other"'), "GET"),
    ("ims equal", get("/", f"If-Modified-Since: {LAST_MODIFIED}"), "GET"),
    ("ims older", get("/", f"If-Modified-Since: {OLDER}"), "GET"),
    ("ims junk", get("/", "If-Modified-Since: yesterday"), "GET"),
    ("inm wins", get("/", 'If-None-Match: "x"', f"If-Modified-Since: {LAST_MODIFIED}"), "GET"),
    ("404 before 304", get("/nothing", "If-None-Match: *"), "GET"),
    ("range", get("/big.bin", "Range: bytes=0-9"), "GET"),
    ("range open", get("/big.bin", "Range: bytes=1048000-"), "GET"),
    ("range suffix", get("/big.bin", "Range: bytes=-5"), "GET"),
    ("range clamp", get("/index.html", "Range: bytes=50-999"), "GET"),
    ("range beyond", get("/big.bin", "Range: bytes=2000000-"), "GET"),
    ("range unit", get("/index.html", "Range: items=0-1"), "GET"),
    ("if-range match", get("/index.html", "Range: bytes=0-0", f"If-Range: {TAG}"), "GET"),
    ("if-range stale", get("/index.html", "Range: bytes=0-0", 'If-Range: "old"'), "GET"),
    ("http/1.0", get("/", version="1.0"), "GET"),
    ("http/1.0 keep-alive", get("/", "Connection: keep-alive", version="1.0"), "GET"),
    ("close", get("/", "Connection: close"), "GET"),
    ("absolute form", b"GET http://www.test/index.html HTTP/1.1\r\nHost: x\r\n\r\n", "GET"),
    ("no host", b"GET / HTTP/1.1\r\n\r\n", "GET"),
    ("two hosts", b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "GET"),
    ("http/2.0", get("/", version="2.0"), "GET"),
    ("long uri", get("/" + "a" * 9000), "GET"),
    ("post", get("/", "Content-Length: 0", method="POST"), "GET"),
    ("delete", get("/", method="DELETE"), "GET"),
    ("dot-dot above root", get("/../index.html"), "GET"),
    ("encoded dot-dot", get("/%2e%2e/%2e%2e/etc/passwd"), "GET"),
    ("encoded nul", get("/index.html%00"), "GET"),
    ("bad escape", get("/%zz"), "GET"),
    ("lowercase version", b"GET / http/1.1\r\nHost: a\r\n\r\n", "GET"),
    ("merged slashes", get("//css//site.css"), "GET"),
]

# Deliberate differences: www's answer, then nginx's (docs/www.md).
DIFFERENT = {
    "unknown method": (get("/", method="FROB"), 501, 405),   # RFC 9110 9.1: SHOULD 501
    "dot-dot inside": (get("/docs/../index.html"), 400, 200),  # refused, never normalised
    "encoded slash": (get("/docs%2Fa%20b.txt"), 400, 200),     # refused
    "huge header": (get("/", "X-Big: " + "b" * 9000), 431, 400),  # RFC 6585 431
    "reversed range": (get("/index.html", "Range: bytes=5-2"), 200, 416),  # RFC 9110 14.1.1
    # same status; www closes rather than read 2 MB it would drop, nginx reads on
    "huge body": (get("/", "Content-Length: 2000000"), 413, 413),
}


def stop_nginx(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, not SIGKILL: the master then stops its worker, which SIGKILL would orphan."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def serve_with_nginx(ns: TapNamespace, root: Path, site: Path) -> subprocess.Popen[bytes]:
    docroot = root / "docroot"
    docroot.mkdir()
    subprocess.run(["tar", "-xf", str(site), "-C", str(docroot)], check=True, timeout=60)
    (root / "tmp").mkdir()
    conf = root / "nginx.conf"
    conf.write_text(f"""
user root;
daemon off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log off;
    sendfile on;
    server_tokens off;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    server {{
        listen 127.0.0.1:{NGINX_PORT};
        root {docroot};
    }}
}}
""")
    nginx = shutil.which("nginx", path="/usr/sbin:/usr/bin")
    assert nginx, "nginx (Makefile DEB_PACKAGES) is not installed"
    proc = subprocess.Popen(ns.command([nginx, "-p", str(root), "-c", str(conf)]),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    for _ in range(100):
        up = ns.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{NGINX_PORT}/"],
                    check=False, timeout=10)
        if up.returncode == 0:
            return proc
        time.sleep(0.1)
    stop_nginx(proc)
    raise AssertionError(f"nginx did not start: {(root / 'error.log').read_text()}")


def ask_all(ns: TapNamespace, host: str, port: int,
            requests: list[tuple[bytes, str]]) -> list[dict[str, Any]]:
    """Each request on its own connection; the parsed response and whether
    the server then closed the connection."""
    specs = [{"chunks": [base64.b64encode(request).decode()], "methods": [method],
              "wait_close": 0.3} for request, method in requests]
    proc = subprocess.run(ns.command([sys.executable, str(PROBE), "batch", host, str(port)]),
                          input=json.dumps(specs), capture_output=True, text=True, timeout=300,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    responses = []
    for (request, _), result in zip(requests, json.loads(proc.stdout)["results"], strict=True):
        assert "error" not in result, (request[:80], result)
        response: dict[str, Any] = result["responses"][0]
        response["closed"] = result["closed"]
        response["fields"] = {k.lower(): v for k, v in response["headers"]}
        responses.append(response)
    return responses


@pytest.mark.netadmin
def test_same_answers_as_nginx(tmp_path: Path) -> None:
    image = build_www("spt", tmp_path / "build")
    site = make_site(tmp_path / "site")
    (tmp_path / "nginx").mkdir()
    with tap_namespace() as ns, booted_www(image, ns, site):
        nginx = serve_with_nginx(ns, tmp_path / "nginx", site)
        try:
            requests = [(request, method) for _, request, method in CORPUS]
            ours_all = ask_all(ns, GUEST_IP, 80, requests)
            theirs_all = ask_all(ns, "127.0.0.1", NGINX_PORT, requests)
            mismatches = []
            for (name, _, _), ours, theirs in zip(CORPUS, ours_all, theirs_all, strict=True):
                problems = []
                if (ours["status"], ours["closed"]) != (theirs["status"], theirs["closed"]):
                    problems.append(f"status/closed {ours['status']}/{ours['closed']} vs "
                                    f"{theirs['status']}/{theirs['closed']}")
                elif ours["status"] in (200, 206, 304, 416):
                    # a 416's body is each server's own error text
                    fields = ("content-range",) if ours["status"] == 416 else SAME_FIELDS
                    for field in fields:
                        if ours["fields"].get(field) != theirs["fields"].get(field):
                            problems.append(f"{field}: {ours['fields'].get(field)!r} vs "
                                            f"{theirs['fields'].get(field)!r}")
                    if ours["status"] in (200, 206) and ours["body"] != theirs["body"]:
                        problems.append("bodies differ")
                elif ours["status"] == 301:
                    # nginx sends an absolute URL; the path must agree
                    if not theirs["fields"]["location"].endswith(ours["fields"]["location"]):
                        problems.append(f"location {ours['fields']['location']!r} vs "
                                        f"{theirs['fields']['location']!r}")
                if problems:
                    mismatches.append((name, problems))
            assert mismatches == [], "\n".join(f"{n}: {p}" for n, p in mismatches)
            different = [(request, "GET") for request, _, _ in DIFFERENT.values()]
            got = zip(ask_all(ns, GUEST_IP, 80, different),
                      ask_all(ns, "127.0.0.1", NGINX_PORT, different), strict=True)
            assert {name: (ours["status"], theirs["status"])
                    for name, (ours, theirs) in zip(DIFFERENT, got, strict=True)} == \
                {name: (ours_status, theirs_status)
                 for name, (_, ours_status, theirs_status) in DIFFERENT.items()}
        finally:
            stop_nginx(nginx)
