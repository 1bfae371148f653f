"""`--json` on `run` (the guest's result) and `serve` (its status), for scripts and
supervisors: stdout carries only JSON, the human lines stay on stderr."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.repository.helpers import init_repo
from tests.solo5.support import build_unikernel

pytestmark = pytest.mark.slow  # runs the installed repo-tool: a guest, a server, the signer

REPO_TOOL = str(Path(sys.executable).parent / "repo-tool")


@pytest.fixture(scope="module")
def hello_spt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_unikernel("hello", "spt", tmp_path_factory.mktemp("json-run") / "hello-spt")


def test_run_json_puts_the_console_on_stderr_and_one_result_object_on_stdout(
        hello_spt: Path) -> None:
    result = subprocess.run([REPO_TOOL, "run", "--json", "--mem", "8", str(hello_spt), "--",
                             "hi"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "Command line is: 'hi'" in result.stderr  # the guest's console
    data = json.loads(result.stdout)  # nothing else on stdout
    assert data["exit_status"] == 0 and data["target"] == "spt"
    assert data["image"] == str(hello_spt) and len(data["sha256"]) == 64
    assert 0 <= data["seconds"] < 60


def test_serve_json_reports_where_it_listens_and_that_it_stopped(tmp_path: Path) -> None:
    fx = init_repo(tmp_path)
    server = subprocess.Popen([REPO_TOOL, "serve", "--repo", str(fx.repo_dir), "--port", "0",
                               "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True)
    try:
        assert server.stdout is not None
        listening = json.loads(server.stdout.readline())
        assert listening["state"] == "listening" and listening["pid"] == server.pid
        assert listening["url"] == f"http://127.0.0.1:{listening['port']}/"
        with urllib.request.urlopen(listening["url"] + "healthz", timeout=10) as response:
            assert response.status == 200
        server.send_signal(signal.SIGTERM)
        out, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert server.returncode == 0
    assert [json.loads(line) for line in out.splitlines()] == [
        {"state": "stopped", "failure": None}]


def test_sign_service_json_reports_start_and_stop(tmp_path: Path) -> None:
    fx = init_repo(tmp_path)
    service = subprocess.Popen([REPO_TOOL, "sign-service", "--repo", str(fx.repo_dir),
                                "--interval", "0.2", "--json"], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        assert service.stdout is not None
        started = json.loads(service.stdout.readline())
        assert started == {"state": "signing", "repo": str(fx.repo_dir), "interval": 0.2,
                           "pid": service.pid, "sync_to": []}
        service.send_signal(signal.SIGTERM)
        out, _ = service.communicate(timeout=30)
    finally:
        if service.poll() is None:
            service.kill()
            service.communicate()
    assert service.returncode == 0
    assert [json.loads(line) for line in out.splitlines()] == [{"state": "stopped"}]
