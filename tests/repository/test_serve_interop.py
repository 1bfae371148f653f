"""`repo-tool serve` end to end, read by python-tuf's own ngclient Updater over loopback HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from tuf.ngclient.updater import Updater

from tests.repository.helpers import Fixture, init_repo, make_release_files, release, run
from tests.support.published import metadata_dir
from tuf_metadata import layout
from tuf_metadata.repo_verify import now_utc, verify_repository
from tuf_metadata.store import set_crash_hook

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

REPO_TOOL = str(Path(sys.executable).with_name("repo-tool"))


class Server:
    def __init__(self, process: subprocess.Popen[str], url: str, log: list[str]):
        self.process = process
        self.url = url
        self.log = log

    def read_log_until(self, pattern: str, timeout: float) -> str:
        """Collect stderr lines until one matches pattern (bounded by timeout)."""
        assert self.process.stderr is not None
        deadline = time.monotonic() + timeout
        os.set_blocking(self.process.stderr.fileno(), False)
        while time.monotonic() < deadline:
            line = self.process.stderr.readline()
            if line:
                self.log.append(line)
                if re.search(pattern, line):
                    return line
            else:
                time.sleep(0.05)
        raise AssertionError(f"no log line matching {pattern!r} in {timeout}s: {self.log}")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Fixture, Server]]:
    fx = init_repo(tmp_path, authors=["hello"])
    # A short timestamp lifetime (4.3 s) so the half-life re-signing shows up quickly.
    config_path = fx.repo_dir / "repo.json"
    config = json.loads(config_path.read_text())
    config["expiry_days"]["timestamp"] = 0.00005
    config_path.write_text(json.dumps(config))
    assert release(fx, "hello", "1.0.0", ["hello"], ("hvt", "spt")).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fx.repo_dir)]).exit_code == 0
    process = subprocess.Popen(
        [REPO_TOOL, "serve", "--repo", str(fx.repo_dir), "--port", "0", "--interval", "0.2"],
        stderr=subprocess.PIPE, text=True,
    )
    server = Server(process, "", [])
    try:
        line = server.read_log_until(r"listening on http://127\.0\.0\.1:\d+/", 20)
        server.url = line.split("listening on ", 1)[1].strip()
        yield fx, server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)


def updater(tmp_path: Path, fx: Fixture, url: str) -> Updater:
    """An ngclient Updater trusting the repository's first root, as shipped out of band."""
    client_metadata = tmp_path / "client" / "metadata"
    client_metadata.mkdir(parents=True, exist_ok=True)
    (tmp_path / "client" / "targets").mkdir(exist_ok=True)
    return Updater(
        str(client_metadata), url + "metadata/", str(tmp_path / "client" / "targets"),
        url + "targets/", bootstrap=(metadata_dir(fx.repo_dir) / "1.root.json").read_bytes(),
    )


def test_ngclient_downloads_from_serve_and_service_keeps_signing(
    served: tuple[Fixture, Server], tmp_path: Path
) -> None:
    fx, server = served

    # python-tuf's reference client walks targets -> shard -> package role and downloads.
    client = updater(tmp_path, fx, server.url)
    client.refresh()
    path = SHARDS.target_path("hello", "1.0.0", "hello.hvt")
    info = client.get_targetinfo(path)
    assert info is not None
    downloaded = Path(client.download_target(info))
    author_image = fx.work / "hello-1.0.0.hvt"
    assert downloaded.read_bytes() == author_image.read_bytes()

    # Only metadata/ and targets/ are served: never keys, config, staging or listings.
    for secret in ("online/snapshot.key", "repo.json", "pending/", "metadata/", ".lock",
                   "metadata/%2e%2e/online/snapshot.key", "targets/../repo.json"):
        with pytest.raises(urllib.error.HTTPError) as error:
            urllib.request.urlopen(server.url + secret, timeout=5)
        assert error.value.code == 404

    # A role file written without a snapshot (a crash, or a commit without online keys)
    # is picked up by the service's next round.
    files = make_release_files(tmp_path / "w", "hello", "2.0.0")
    repo = fx.repo
    staged = repo.stage_release("hello", "2.0.0", files["manifest"], files["source"],
                                {"hvt": files["hvt"]}, [fx.signer("hello")])

    def crash(label: str) -> None:
        if label == "publish:role":
            raise RuntimeError("simulated crash after the role file")

    set_crash_hook(crash)
    try:
        with pytest.raises(RuntimeError):
            repo.publish_release(staged, repo.author_images(staged))
    finally:
        set_crash_hook(None)
    server.read_log_until(r"signed snapshot version", 10)
    fresh = updater(tmp_path / "second", fx, server.url)
    fresh.refresh()
    assert fresh.get_targetinfo(SHARDS.target_path("hello", "2.0.0", "hello.hvt")) is not None

    # The timestamp is re-signed at half its lifetime, without any change.
    first = json.loads((metadata_dir(fx.repo_dir) / "timestamp.json").read_text())["signed"]
    server.read_log_until(rf"signed timestamp version {first['version'] + 1}\b", 10)
    verify_repository(fx.repo_dir, now_utc())

    # SIGTERM stops it cleanly.
    server.process.send_signal(signal.SIGTERM)
    assert server.process.wait(timeout=10) == 0
    assert server.process.stderr is not None
    assert "stopped" in server.process.stderr.read() + "".join(server.log)
