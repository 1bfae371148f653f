"""Issue 19 end to end: nginx serves a tree that `sign-service --sync-to` keeps publishing.

A real nginx serves two published folders on loopback: mirror A, kept
current by `sign-service --sync-to --prune` (re-signing a 6 s timestamp
every 3 s, deleting what no unexpired timestamp reaches), and mirror B,
synced once at the start and then left to go stale. A third mirror URL has
nothing listening. Clients fetch in a bounded loop through [down, A] while
the service re-signs and an author rotates the package key (TAP 8): no
fetch may fail. Then a client that trusts newer metadata, and a fresh one,
are pointed at [B, A]: both must refuse B (rollback, expiry) and use A.
"""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path

import pytest

from tests.repository.helpers import make_keys, pub, run
from tests.serving.nginx import NGINX, free_port, nginx
from tests.serving.support import Service, get, published_repo
from tests.support.published import metadata_dir
from tuf_metadata.client.errors import ExpiredError
from tuf_metadata.client.fetcher import FetchLimits, HttpFetcher
from tuf_metadata.client.mirrors import MirrorsFailedError, fetch_image_from_mirrors
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.sync import STATE_NAME, sync_tree

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed "
                       "(Debian package nginx, in the Makefile's DEB_PACKAGES)"),
]

TIMESTAMP_DAYS = 0.00007  # about 6 s: re-signed every 3 s
LIMITS = FetchLimits(read_timeout=2.0, deadline=5.0, min_rate=1000.0, grace=1.0)


def _client(tmp_path: Path, name: str, root: bytes) -> MetadataStore:
    store = MetadataStore(tmp_path / name)
    store.directory.mkdir(parents=True)
    store.save("root", root)
    return store


def test_nginx_mirrors_while_sign_service_resigns_and_a_key_rotates(tmp_path: Path) -> None:
    fx = published_repo(tmp_path, TIMESTAMP_DAYS)
    public_a, public_b = tmp_path / "public-a", tmp_path / "public-b"
    sync_tree(fx.repo_dir, public_b)  # mirror B: a copy that will go stale
    root = (metadata_dir(fx.repo_dir) / "1.root.json").read_bytes()
    image = (fx.work / "hello-1.0.0.hvt").read_bytes()
    service = Service(["sign-service", "--repo", str(fx.repo_dir), "--interval", "0.2",
                       "--sync-to", str(public_a), "--prune", "--prune-grace", "2"])
    try:
        with nginx(tmp_path / "nginx", [public_a, public_b]) as (url_a, url_b):
            service.wait_for(r"published \d+ files", 15)
            down = f"http://127.0.0.1:{free_port()}"
            store = _client(tmp_path, "client", root)
            out = tmp_path / "out"
            timestamps: set[int] = set()
            rotated = False
            started = time.monotonic()
            fetches = 0
            while time.monotonic() - started < 20:
                fetched, used = fetch_image_from_mirrors(
                    store, HttpFetcher(limits=LIMITS), [down, url_a], "hello", out,
                    version="1.0.0",
                )
                assert used == url_a
                assert (out / "hello.hvt").read_bytes() == image
                timestamps.add(fetched.refresh.timestamp_version)
                fetches += 1
                if not rotated and time.monotonic() - started > 7:
                    new_key = make_keys(tmp_path / "keys", ["hello2"])["hello2"]
                    result = run(["rotate", "pkg-hello", "--repo", str(fx.repo_dir),
                                  "--insecure-plaintext", "--pubkey", str(pub(new_key)),
                                  "--sign-with", str(fx.keys["hello"]),
                                  "--new-signer", str(new_key)])
                    assert result.exit_code == 0, result.output
                    rotated = True
                time.sleep(0.1)
            assert fetches > 20 and len(timestamps) >= 4, (fetches, timestamps)
            assert fetched.chain[-1].role == "pkg-hello" and fetched.chain[-1].rotations == 1
            # The rotation's superseded snapshot and role files were pruned once the last
            # timestamp reaching them expired, while clients kept fetching without error.
            service.wait_for(r"pruned \d+ expired files", 15)

            # Mirror B is stale: a client trusting newer metadata refuses it (rollback) ...
            b_version = _timestamp_version(url_b)
            assert b_version < max(timestamps)
            _, used = fetch_image_from_mirrors(store, HttpFetcher(limits=LIMITS),
                                               [url_b, url_a], "hello", out)
            assert used == url_a
            # ... and a new client refuses it too (expired), and fails with B alone.
            fresh = _client(tmp_path, "fresh", root)
            _, used = fetch_image_from_mirrors(fresh, HttpFetcher(limits=LIMITS),
                                               [url_b, url_a], "hello", out)
            assert used == url_a
            with pytest.raises(ExpiredError):
                fetch_image_from_mirrors(_client(tmp_path, "only-b", root),
                                         HttpFetcher(limits=LIMITS), [url_b], "hello", out)
            with pytest.raises(MirrorsFailedError, match="every mirror failed"):
                fetch_image_from_mirrors(_client(tmp_path, "stale-down", root),
                                         HttpFetcher(limits=LIMITS), [down, url_b], "hello", out)

            _check_published(public_a, url_a)
        service.process.terminate()
        assert service.exit_code(timeout=10) == 0
    finally:
        service.stop()


def _timestamp_version(url: str) -> int:
    with urllib.request.urlopen(url + "/metadata/timestamp.json", timeout=5) as response:
        return int(json.loads(response.read())["signed"]["version"])


def _check_published(public: Path, url: str) -> None:
    """Only public files are published, and nginx marks what may be cached forever."""
    assert sorted(p.name for p in public.iterdir()) == [STATE_NAME, "metadata", "targets"]
    assert get(f"{url}/{STATE_NAME}")[0] == 404
    for path in public.rglob("*"):
        if path.is_file():
            assert b"PRIVATE KEY" not in path.read_bytes(), path
    for secret in ("/online/timestamp.key", "/repo.json", "/metadata/", "/pending/"):
        assert get(url + secret)[0] == 404, secret
    target = next(p for p in (public / "targets").rglob("*") if p.is_file())
    for relative, expected in (("metadata/timestamp.json", "no-cache"),
                           ("metadata/1.root.json", "immutable"),
                           (str(target.relative_to(public)), "immutable")):
        with urllib.request.urlopen(f"{url}/{relative}", timeout=5) as response:
            assert expected in response.headers["Cache-Control"], relative
