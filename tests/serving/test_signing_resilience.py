"""The snapshot/timestamp service survives EMFILE and ENOSPC, and gives up loudly (issue 11.1).

Faults are real: the service process's file descriptor limit is lowered with
prlimit(2) from outside, and its repository sits on a small tmpfs mounted in
a private mount namespace (unshare -m) that the test fills through
/proc/PID/root. After the fault is removed, signing must resume by itself.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import time
from pathlib import Path

import pytest

from tests.serving.support import Service, health, published_repo
from tests.support.published import metadata_dir
from tuf_metadata.repo_verify import verify_repository
from tuf_metadata.service import SchedulePolicy, retry_delay

# A 2.6 s timestamp lifetime: re-signed every ~1.3 s, so faults hit real signing writes.
SHORT_TIMESTAMP_DAYS = 0.00003


def _starve_fds(pid: int) -> tuple[int, int]:
    """Lower the soft RLIMIT_NOFILE of pid to 3: every open(2) it tries fails with EMFILE."""
    old = resource.prlimit(pid, resource.RLIMIT_NOFILE)
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (3, old[1]))
    return old


def test_retry_delay_backs_off_exponentially_up_to_the_cap() -> None:
    policy = SchedulePolicy(interval=2.0, max_backoff=10.0)
    assert [retry_delay(policy, n) for n in range(6)] == [2.0, 2.0, 4.0, 8.0, 10.0, 10.0]


@pytest.mark.slow
def test_serve_keeps_signing_after_file_descriptors_run_out(tmp_path: Path) -> None:
    fx = published_repo(tmp_path, SHORT_TIMESTAMP_DAYS)
    service = Service(["serve", "--repo", str(fx.repo_dir), "--port", "0", "--interval", "0.1",
                       "--max-backoff", "0.4", "--max-failures", "1000"])
    try:
        url = service.url()
        service.wait_for(r"signed timestamp version", 10)
        old_limit = _starve_fds(service.pid)
        try:
            service.wait_for(r"signing round failed .*Too many open files", 10)
            failed_at = len(service.log)
            # Still failing a while later: the signer retries instead of dying.
            service.wait_for(r"signing round failed \([3-9]\d* in a row", 10, failed_at)
        finally:
            resource.prlimit(service.pid, resource.RLIMIT_NOFILE, old_limit)
        recovered_at = len(service.log)
        service.wait_for(r"signing recovered after \d+ failed rounds", 10, recovered_at)
        service.wait_for(r"signed timestamp version", 10, recovered_at)
        status, report = health(url)
        assert status == 200, report
        assert report["healthy"] and report["consecutive_failures"] == 0
        assert report["last_signing"] is not None and report["timestamp_expires"] > report["now"]
        assert service.process.poll() is None
        verify_repository(fx.repo_dir)  # freshness is the health report's, checked above
    finally:
        service.stop()


@pytest.mark.slow
@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_sign_service_resumes_after_the_disk_was_full(tmp_path: Path) -> None:
    fx = published_repo(tmp_path, SHORT_TIMESTAMP_DAYS)
    size = sum(p.stat().st_size for p in fx.repo_dir.rglob("*") if p.is_file())
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    health_file = tmp_path / "health.json"
    repo_in_ns = mount_point / "repo"
    script = (f"mount -t tmpfs -o size={size * 2 + (1 << 20)} tmpfs {mount_point} && "
              f"cp -a {fx.repo_dir} {repo_in_ns} && exec \"$0\" \"$@\"")
    service = Service(
        ["sign-service", "--repo", str(repo_in_ns), "--interval", "0.1", "--max-backoff", "0.4",
         "--max-failures", "1000", "--health-file", str(health_file)],
        prefix=["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
    )
    try:
        service.wait_for(r"signed timestamp version", 15)
        # The service's view of the tmpfs, from outside its mount namespace.
        disk = Path(f"/proc/{service.pid}/root") / repo_in_ns.relative_to("/")
        filler = disk.parent / "filler"
        with filler.open("wb") as handle:
            chunk = b"\0" * (1 << 16)
            while True:
                try:
                    handle.write(chunk)
                    handle.flush()
                except OSError as error:
                    assert error.errno == errno.ENOSPC
                    break
        failed_at = len(service.log)
        service.wait_for(r"signing round failed .*No space left on device", 10, failed_at)
        service.wait_for(r"signing round failed \([3-9]\d* in a row", 10, failed_at)
        report = json.loads(health_file.read_text())
        assert not report["healthy"] and report["consecutive_failures"] >= 1
        assert "No space left on device" in report["last_error"]

        filler.unlink()
        recovered_at = len(service.log)
        service.wait_for(r"signing recovered after \d+ failed rounds", 10, recovered_at)
        service.wait_for(r"signed timestamp version", 10, recovered_at)
        deadline = time.monotonic() + 10  # the file is rewritten just after the log line
        while json.loads(health_file.read_text())["consecutive_failures"] != 0:
            assert time.monotonic() < deadline, health_file.read_text()
            time.sleep(0.1)
        assert json.loads(health_file.read_text())["last_error"] is None
        # The failed writes left nothing half-written: the published tree verifies
        # (expiry aside: a 2.6 s timestamp may lapse while 258 roles are checked).
        copy = tmp_path / "after"
        shutil.copytree(disk, copy, symlinks=True)
        verify_repository(copy)
        assert service.process.poll() is None
    finally:
        service.stop()


@pytest.mark.slow
@pytest.mark.parametrize("command", ["sign-service", "serve"])
def test_signing_that_keeps_failing_exits_non_zero(tmp_path: Path, command: str) -> None:
    fx = published_repo(tmp_path)
    extra = ["--port", "0"] if command == "serve" else []
    service = Service([command, "--repo", str(fx.repo_dir), *extra, "--interval", "0.05",
                       "--max-backoff", "0.1", "--max-failures", "3"])
    try:
        service.wait_for(r"listening on|signing .* every", 15)
        _starve_fds(service.pid)
        assert service.exit_code(timeout=15) == 1
        assert any("error: signing failed 3 rounds in a row" in line for line in service.log), \
            "".join(service.log)
    finally:
        service.stop()


def _poll_health(url: str, status: int, timeout: float) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while True:
        code, report = health(url)
        if code == status:
            return report
        assert time.monotonic() < deadline, (code, report)
        time.sleep(0.1)


@pytest.mark.slow
def test_healthz_turns_503_while_rounds_fail_and_200_after(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    service = Service(["serve", "--repo", str(fx.repo_dir), "--port", "0", "--interval", "0.1",
                       "--max-backoff", "0.2", "--max-failures", "1000"])
    try:
        url = service.url()
        report = _poll_health(url, 200, 10)
        assert report["consecutive_failures"] == 0 and report["last_error"] is None
        timestamp = metadata_dir(fx.repo_dir) / "timestamp.json"
        aside = tmp_path / "timestamp.json"
        timestamp.rename(aside)  # every round now fails reading the published state
        try:
            report = _poll_health(url, 503, 10)
            assert not report["healthy"] and int(str(report["consecutive_failures"])) >= 1
            assert "timestamp.json is missing" in str(report["last_error"])
        finally:
            aside.rename(timestamp)
        report = _poll_health(url, 200, 10)
        assert report["healthy"] and report["consecutive_failures"] == 0
    finally:
        service.stop()
