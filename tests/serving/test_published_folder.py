"""Issue 19.1 served: what `serve` and a plain nginx publish is the published folder alone.

A repository `init` made is served straight from REPO/public by nginx while
`sign-service` re-signs in place: nothing private is in that folder (walked),
nor reachable over HTTP. An old root-layout repository is served by `serve`
before and after `repo-tool migrate`, and the client fetches through it both
times.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.repository.helpers import Fixture, run
from tests.serving.nginx import NGINX, nginx
from tests.serving.support import Service, get, published_repo
from tests.support.published import (
    metadata_dir,
    private_files_under,
    published_dir,
    write_root_layout,
)

pytestmark = pytest.mark.slow  # starts servers and signs whole repositories

SECRETS = ("/online/timestamp.key", "/online/snapshot.key", "/repo.json", "/pending/",
           "/staging/", "/public/metadata/1.root.json")


def _fetch(fx: Fixture, url: str, out: Path) -> dict[str, object]:
    result = run(["fetch", "hello", "--url", url, "--json",
                  "--root", str(fx.work / "trusted-root.json"), "-o", str(out),
                  "--metadata-dir", str(out.with_name(f"{out.name}-md"))])
    assert result.exit_code == 0, result.output
    assert (out / "hello.hvt").read_bytes() == (fx.work / "hello-1.0.0.hvt").read_bytes()
    return dict(json.loads(result.output))


def _timestamp_version(fetched: dict[str, object]) -> int:
    refresh = fetched["refresh"]
    assert isinstance(refresh, dict)
    return int(refresh["timestamp"])


def _trust(fx: Fixture) -> None:
    """The operator's out-of-band copy of the first root."""
    fx.work.mkdir(parents=True, exist_ok=True)
    (fx.work / "trusted-root.json").write_bytes(
        (metadata_dir(fx.repo_dir) / "1.root.json").read_bytes())


@pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (Debian package "
                    "nginx, in the Makefile's DEB_PACKAGES)")
def test_nginx_serves_the_published_folder_in_place_while_sign_service_signs(
    tmp_path: Path,
) -> None:
    fx = published_repo(tmp_path, 0.00007)  # a 6 s timestamp: re-signed while served
    _trust(fx)
    public = published_dir(fx.repo_dir)
    assert public == fx.repo_dir / "public"
    service = Service(["sign-service", "--repo", str(fx.repo_dir), "--interval", "0.2"])
    try:
        with nginx(tmp_path / "nginx", [public]) as (url,):
            # The 6 s timestamp may have expired while the fixture was made: fetch once the
            # service signed (it re-signs at half the lifetime, so within about 3 s).
            service.wait_for(r"signed timestamp version", 15)
            first = _timestamp_version(_fetch(fx, url, tmp_path / "out-1"))
            service.wait_for(rf"signed timestamp version {first + 1}\b", 15)
            # A new client, after the re-signing, gets the new timestamp from the same folder.
            assert _timestamp_version(_fetch(fx, url, tmp_path / "out-2")) > first
            assert private_files_under(public) == []
            for secret in SECRETS:
                assert get(url + secret)[0] == 404, secret
        service.process.terminate()
        assert service.exit_code(timeout=10) == 0
    finally:
        service.stop()


def test_serve_before_and_after_migrate(tmp_path: Path) -> None:
    fx = published_repo(tmp_path)
    _trust(fx)
    write_root_layout(fx.repo_dir)
    for step in ("old", "migrated"):
        if step == "migrated":
            migrated = run(["migrate", "--repo", str(fx.repo_dir)])
            assert migrated.exit_code == 0, migrated.output
            assert private_files_under(published_dir(fx.repo_dir)) == []
        service = Service(["serve", "--repo", str(fx.repo_dir), "--port", "0"])
        try:
            url = service.url().rstrip("/")
            _fetch(fx, url, tmp_path / f"out-{step}")
            for secret in SECRETS:
                assert get(url + secret)[0] == 404, secret
        finally:
            service.stop()
