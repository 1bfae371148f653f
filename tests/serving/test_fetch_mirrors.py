"""`repo-tool fetch --mirror`: the operator's command falls back between mirrors (issue 19.3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.repository.helpers import run
from tests.serving.nginx import free_port
from tests.serving.support import Service, published_repo
from tests.support.published import metadata_dir

pytestmark = pytest.mark.slow  # starts servers or signs whole repositories


def test_fetch_uses_the_next_mirror_when_the_first_is_down(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    service = Service(["serve", "--repo", str(fx.repo_dir), "--port", "0"])
    try:
        url = service.url().rstrip("/")
        down = f"http://127.0.0.1:{free_port()}"
        common = ["--root", str(metadata_dir(fx.repo_dir) / "1.root.json"),
                  "-o", str(tmp_path / "out"), "--metadata-dir", str(tmp_path / "md")]
        result = run(["fetch", "hello", "--url", down, "--mirror", url, "--json", *common])
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["mirror"] == url
        assert (tmp_path / "out" / "hello.hvt").read_bytes() == (
            fx.work / "hello-1.0.0.hvt").read_bytes()

        # Every mirror down: one line naming each mirror and its reason.
        other = f"http://127.0.0.1:{free_port()}"
        failed = run(["fetch", "hello", "--url", down, "--mirror", other, *common])
        assert failed.exit_code == 1
        line = failed.output.strip()
        assert line.startswith("error: every mirror failed:") and "\n" not in line
        assert down in line and other in line
    finally:
        service.stop()
