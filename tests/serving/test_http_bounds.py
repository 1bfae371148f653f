"""`repo-tool serve` under hostile clients (issue 11.2): idle floods, slowloris, NUL, symlinks.

The server runs as a real process with the descriptor limit a systemd service
gets by default (1024), so an unbounded server runs out of descriptors.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.repository.helpers import run
from tests.serving.support import Service, get, published_repo
from tests.support.published import metadata_dir, targets_dir

pytestmark = pytest.mark.slow  # starts servers or signs whole repositories

REQUEST_TIMEOUT = 2.0
BOUNDED = ["--request-timeout", str(REQUEST_TIMEOUT), "--max-connections", "64"]


def _serve(repo_dir: Path, *extra: str) -> Service:
    return Service(["serve", "--repo", str(repo_dir), "--port", "0", "--interval", "1", *extra],
                   prefix=["prlimit", "--nofile=1024"])


def _address(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    """True once the server closed the connection (EOF or reset), within timeout."""
    deadline = time.monotonic() + timeout
    poller = select.poll()  # select() cannot watch descriptors above 1023
    poller.register(sock, select.POLLIN)
    while time.monotonic() < deadline:
        if not poller.poll(max(0.0, deadline - time.monotonic()) * 1000):
            continue
        try:
            if not sock.recv(4096):
                return True
        except ConnectionError:
            return True
    return False


def test_a_thousand_idle_connections_do_not_starve_a_real_request(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    service = _serve(fx.repo_dir, *BOUNDED)
    idle: list[socket.socket] = []
    try:
        url = service.url()
        for _ in range(1100):
            idle.append(socket.create_connection(_address(url), timeout=5))
        time.sleep(0.5)
        # Idle connections cost the server at most the connection cap in descriptors.
        assert len(os.listdir(f"/proc/{service.pid}/fd")) < 64 + 32

        started = time.monotonic()
        status = 0
        while time.monotonic() - started < REQUEST_TIMEOUT + 8:
            status, body = get(url + "metadata/timestamp.json", timeout=2)
            if status == 200:
                break
            assert status == 503  # at capacity: answered at once, never left hanging
            time.sleep(0.2)
        assert status == 200
        assert json.loads(body)["signed"]["_type"] == "timestamp"
        assert time.monotonic() - started < REQUEST_TIMEOUT + 8

        # Every idle connection was answered 503 or closed after the request timeout.
        assert all(_closed_by_peer(sock, REQUEST_TIMEOUT + 3) for sock in idle)
    finally:
        for sock in idle:
            sock.close()
        service.stop()


def test_slowloris_request_head_is_cut_off(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    service = _serve(fx.repo_dir, *BOUNDED)
    try:
        sock = socket.create_connection(_address(service.url()), timeout=5)
        with sock:
            started = time.monotonic()
            sock.sendall(b"GET /metadata/timestamp.json HTTP/1.1\r\nHost: x\r\n")
            closed = False
            # One header line every 0.3 s: each read is quick, the whole head never ends.
            while time.monotonic() - started < REQUEST_TIMEOUT + 4:
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except ConnectionError:
                    closed = True
                    break
                if _closed_by_peer(sock, 0.3):
                    closed = True
                    break
            assert closed, "the server kept a slowloris connection open"
            assert time.monotonic() - started < REQUEST_TIMEOUT + 2
    finally:
        service.stop()


def test_nul_byte_and_bad_encoding_are_400_without_traceback(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    service = _serve(fx.repo_dir)
    try:
        host, port = _address(service.url())
        for path in ("/metadata/%00.json", "/targets/a%00b/c", "/metadata/1.root.json%00",
                     "/metadata/%ff.json"):
            connection = http.client.HTTPConnection(host, port, timeout=5)
            connection.request("GET", path)
            response = connection.getresponse()
            assert response.status == 400, path
            connection.close()
        status, _ = get(f"http://{host}:{port}/metadata/1.root.json")
        assert status == 200
        service.stop()
        assert not any("Traceback" in line for line in service.log), "".join(service.log)
    finally:
        service.stop()


def test_symlinks_in_published_folders_are_not_followed_and_verify_reports_them(
    tmp_path: Path,
) -> None:
    fx = published_repo(tmp_path)
    config = json.loads((fx.repo_dir / "repo.json").read_text())
    key = fx.repo_dir / config["online_keys"]["timestamp"]
    assert b"PRIVATE KEY" in key.read_bytes()
    (metadata_dir(fx.repo_dir) / "leak.json").symlink_to(key)
    (targets_dir(fx.repo_dir) / "leak").symlink_to(key.parent)
    service = _serve(fx.repo_dir)
    try:
        url = service.url()
        for path in ("metadata/leak.json", f"targets/leak/{key.name}"):
            status, body = get(url + path)
            assert status == 404, path
            assert b"PRIVATE KEY" not in body
        assert get(url + "metadata/1.root.json")[0] == 200
    finally:
        service.stop()

    result = run(["verify", "--repo", str(fx.repo_dir)])
    assert result.exit_code == 1
    assert "metadata/leak.json: symbolic link to" in result.output
    assert "and 1 more" in result.output


def test_a_private_key_copied_into_targets_fails_verify(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    config = json.loads((fx.repo_dir / "repo.json").read_text())
    key = fx.repo_dir / config["online_keys"]["snapshot"]
    (targets_dir(fx.repo_dir) / "snapshot.key").write_bytes(key.read_bytes())
    result = run(["verify", "--repo", str(fx.repo_dir)])
    assert result.exit_code == 1
    assert "targets/snapshot.key: a private key in a published folder" in result.output


def test_cache_headers_mark_versioned_files_immutable(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    service = _serve(fx.repo_dir)
    try:
        host, port = _address(service.url())
        connection = http.client.HTTPConnection(host, port, timeout=5)
        for path, expected in (("/metadata/timestamp.json", "no-cache"),
                               ("/metadata/1.root.json", "immutable"),
                               ("/metadata/1.targets.json", "immutable")):
            connection.request("GET", path)  # one keep-alive connection for all three
            response = connection.getresponse()
            response.read()
            assert response.status == 200
            assert expected in response.headers["Cache-Control"], path
        connection.close()
    finally:
        service.stop()
