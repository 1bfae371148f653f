"""`repo-tool serve` as an operator runs it (issue 13.9): the build dashboard and reports served
read-only, private folders refused, Prometheus metrics at /metrics, an access log.
"""

from __future__ import annotations

import html.parser
import http.client
import json
import os
import re
import time
import urllib.parse
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from builder.pipeline import TargetResult
from builder.status import BuildStatus
from reports.dashboard import row_from_result, update_dashboard
from tests.repository.helpers import Fixture, run
from tests.serving.support import Service, published_repo
from tests.support.published import builds_dir, dashboard_dir, metadata_dir, published_dir
from tuf_metadata.serve_metrics import common_log_line

pytestmark = pytest.mark.slow  # starts servers or signs whole repositories

CLF = re.compile(r'^(\S+) - - \[(\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000)\] '
                 r'"((?:[^"\\]|\\.)*)" (\d{3}) (\d+|-)$')


def _request(url: str, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest(method, path, skip_accept_encoding=True)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _write_reports(fx: Fixture) -> None:
    """What `repo-tool build` leaves under the repository for an unreproducible hello."""
    out = builds_dir(fx.repo_dir) / "hello" / "1.0" / "hvt"
    out.mkdir(parents=True)
    (out / "a.log").write_text("cc -c hello.c\n")
    (out / "b.log").write_text("cc -c hello.c\n")
    (out / "buildinfo.json").write_text(json.dumps({"package": "hello"}))
    (out / "hello.hvt.diffoscope.html").write_text("<html><body>differences</body></html>")
    result = TargetResult(
        "hello", "1.0", "hvt", BuildStatus.UNREPRODUCIBLE, "images differ", None, None,
        "a" * 64, "b" * 64, 1.5, (0.7, 0.8), (), ("time",), 0.2, "test-builder", False,
        "2026-12-02T15:00:00Z", str(out),
        diffoscope={"html": str(out / "hello.hvt.diffoscope.html")},
    )
    (out / "result.json").write_text(json.dumps(result.to_json()))
    board = dashboard_dir(fx.repo_dir)
    update_dashboard(board, [row_from_result(result.to_json(), board)])


class _Links(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.hrefs += [value for name, value in attrs if name == "href" and value]


def test_dashboard_and_reports_are_served_and_their_links_resolve(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    _write_reports(fx)
    service = Service(["serve", "--repo", str(fx.repo_dir), "--port", "0"])
    try:
        url = service.url()
        status, headers, page = _request(url, "/dashboard/")
        assert status == 200 and headers["content-type"] == "text/html; charset=utf-8"
        assert page == (dashboard_dir(fx.repo_dir) / "index.html").read_bytes()
        assert headers["x-content-type-options"] == "nosniff"
        assert "default-src 'none'" in headers["content-security-policy"]
        for path in ("/", "/dashboard"):
            status, headers, _ = _request(url, path)
            assert status == 302 and headers["location"] == "/dashboard/"
        status, headers, index = _request(url, "/dashboard/index.json")
        assert status == 200 and headers["content-type"] == "application/json"
        assert json.loads(index)["rows"][0]["package"] == "hello"

        links = _Links()
        links.feed(page.decode())
        reports = [href for href in links.hrefs if "builds/" in href]
        assert reports, links.hrefs
        for href in reports:  # relative links from the dashboard into builds/
            path = urllib.parse.urlsplit(urllib.parse.urljoin("/dashboard/", href)).path
            status, headers, body = _request(url, path)
            assert status == 200, path
            assert body == (published_dir(fx.repo_dir) / path.lstrip("/")).read_bytes()
        status, headers, _ = _request(url, "/builds/hello/1.0/hvt/a.log")
        assert status == 200 and headers["content-type"] == "text/plain; charset=utf-8"
        # Read-only: nothing but GET and HEAD.
        assert _request(url, "/dashboard/index.html", "PUT")[0] == 501
        assert _request(url, "/dashboard/index.html", "DELETE")[0] == 501
    finally:
        service.stop()


def test_private_paths_and_symlinks_out_of_the_report_folders_are_refused(
    tmp_path: Path,
) -> None:
    fx = published_repo(tmp_path)
    _write_reports(fx)
    repo = fx.repo_dir
    (repo / "build-cache").mkdir()
    (repo / "build-cache" / "entry").write_text("cached")
    (repo / "pending").mkdir(exist_ok=True)
    (repo / "pending" / "change.json").write_text("{}")
    key = next(p for p in (repo / "online").iterdir() if p.is_file())
    os.symlink(key, dashboard_dir(repo) / "key.html")
    os.symlink(repo / "online", builds_dir(repo) / "keys")
    (builds_dir(repo) / ".hidden").write_text("tmp")
    service = Service(["serve", "--repo", str(repo), "--port", "0"])
    try:
        url = service.url()
        refused = [
            f"/online/{key.name}", "/repo.json", "/pending/change.json", "/staging/",
            "/build-cache/entry", f"/dashboard/../online/{key.name}",
            f"/dashboard/%2e%2e/online/{key.name}", f"/builds/..%2fonline%2f{key.name}",
            "/dashboard/key.html", f"/builds/keys/{key.name}", "/builds/.hidden",
            "/builds/hello/1.0/hvt/", "/metadata/",
        ]
        for path in refused:
            status, _, body = _request(url, path)
            assert status == 404, (path, status)
            assert b"PRIVATE" not in body and b"-----BEGIN" not in body
    finally:
        service.stop()


def _families(url: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    status, headers, body = _request(url, "/metrics")
    assert status == 200
    assert headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    found: dict[str, dict[tuple[tuple[str, str], ...], float]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            found.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def test_metrics_parse_and_report_requests_bytes_signing_and_expiry(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    service = Service(["serve", "--repo", str(fx.repo_dir), "--port", "0", "--interval", "1"])
    try:
        url = service.url()
        timestamp = json.loads((metadata_dir(fx.repo_dir) / "timestamp.json").read_text())
        for _ in range(3):
            assert _request(url, "/metadata/timestamp.json")[0] == 200
        for _ in range(2):
            assert _request(url, "/online/")[0] == 404
        metrics = _families(url)
        requests = metrics["unirepo_http_requests_total"]
        assert requests[(("code", "200"),)] >= 3 and requests[(("code", "404"),)] == 2
        assert metrics["unirepo_http_response_body_bytes_total"][()] >= 3 * len(
            (metadata_dir(fx.repo_dir) / "timestamp.json").read_bytes())
        now = time.time()
        signed = metrics["unirepo_signing_last_success_timestamp_seconds"][()]
        assert signed == pytest.approx(
            (metadata_dir(fx.repo_dir) / "timestamp.json").stat().st_mtime, abs=1)
        assert 0 <= metrics["unirepo_signing_age_seconds"][()] <= now - signed + 1
        assert metrics["unirepo_signing_consecutive_failures"][()] == 0
        assert metrics["unirepo_signing_healthy"][()] == 1
        expiry = metrics["unirepo_metadata_expiry_timestamp_seconds"]
        assert {labels[0][1] for labels in expiry} == {"root", "targets", "snapshot",
                                                       "timestamp"}
        expected = datetime.strptime(timestamp["signed"]["expires"], "%Y-%m-%dT%H:%M:%SZ")
        assert expiry[(("role", "timestamp"),)] == expected.replace(tzinfo=UTC).timestamp()

        # A timestamp signed outside the service (a new file version) is reported.
        version = metrics["unirepo_metadata_version"][(("role", "timestamp"),)]
        assert run(["timestamp", "--repo", str(fx.repo_dir)]).exit_code == 0
        deadline = time.monotonic() + 20
        while _families(url)["unirepo_metadata_version"][(("role", "timestamp"),)] == version:
            assert time.monotonic() < deadline, "new timestamp version not reported"
            time.sleep(0.3)
        signed_again = _families(url)["unirepo_signing_last_success_timestamp_seconds"][()]
        assert signed_again == pytest.approx(
            (metadata_dir(fx.repo_dir) / "timestamp.json").stat().st_mtime, abs=1)

        # Failing rounds show up (the published state cannot be read), and recovery too.
        timestamp_file = metadata_dir(fx.repo_dir) / "timestamp.json"
        aside = tmp_path / "timestamp.json"
        timestamp_file.rename(aside)
        deadline = time.monotonic() + 20
        while _families(url)["unirepo_signing_consecutive_failures"][()] < 2:
            assert time.monotonic() < deadline, "signing failures not reported"
            time.sleep(0.3)
        assert _families(url)["unirepo_signing_healthy"][()] == 0
        aside.rename(timestamp_file)
        while _families(url)["unirepo_signing_consecutive_failures"][()] != 0:
            assert time.monotonic() < deadline + 20, "recovery not reported"
            time.sleep(0.3)
    finally:
        service.stop()


@pytest.mark.parametrize("to_stderr", [False, True])
def test_access_log_has_one_common_log_format_line_per_request(
    tmp_path: Path, to_stderr: bool,
) -> None:
    fx = published_repo(tmp_path)
    log = tmp_path / "access.log"
    service = Service(["serve", "--repo", str(fx.repo_dir), "--port", "0",
                       "--access-log", "-" if to_stderr else str(log)])
    try:
        url = service.url()
        size = len((metadata_dir(fx.repo_dir) / "1.root.json").read_bytes())
        assert _request(url, "/metadata/1.root.json")[0] == 200
        assert _request(url, "/metadata/1.root.json", "HEAD")[0] == 200
        assert _request(url, '/nothing"here\\')[0] == 404
        expected = [("GET /metadata/1.root.json HTTP/1.1", "200", str(size)),
                    ("HEAD /metadata/1.root.json HTTP/1.1", "200", "-"),
                    ('GET /nothing\\"here\\\\ HTTP/1.1', "404", None)]
        deadline = time.monotonic() + 10
        while True:
            if to_stderr:
                service.wait_for(r"HEAD /metadata", 10)
                lines = [line.rstrip("\n") for line in service.log if CLF.match(line.rstrip())]
            else:
                lines = log.read_text().splitlines() if log.exists() else []
            if len(lines) >= len(expected) or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert len(lines) == len(expected), lines
        for line, (request, status, body_size) in zip(lines, expected, strict=True):
            match = CLF.match(line)
            assert match is not None, line
            assert match.group(1) == "127.0.0.1"
            assert match.group(3) == request and match.group(4) == status
            if body_size is not None:
                assert match.group(5) == body_size
    finally:
        service.stop()


def test_access_log_that_cannot_be_opened_is_a_usage_error(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    service = Service(["serve", "--repo", str(fx.repo_dir), "--port", "0",
                       "--access-log", str(tmp_path / "missing" / "access.log")])
    try:
        assert service.exit_code(30) == 2
        assert any("--access-log" in line and "cannot open" in line for line in service.log)
    finally:
        service.stop()


def test_common_log_line_escapes_what_the_client_sent() -> None:
    moment = datetime(2026, 12, 2, 15, 4, 5, tzinfo=UTC)
    assert common_log_line("10.0.0.1", 'GET /a"b\nX HTTP/1.1', 404, 0, moment) == (
        '10.0.0.1 - - [02/Dec/2026:15:04:05 +0000] "GET /a\\"b\\x0aX HTTP/1.1" 404 -')
