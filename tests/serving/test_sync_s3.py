"""Issue 19.3: `repo-tool sync --to s3://BUCKET/PREFIX` against a real local S3-compatible server.

moto's server mode (PyPI `moto[server]`) listens on loopback and speaks the
S3 REST protocol that boto3 uses against AWS. The test publishes through
the CLI, then a fresh verifying client fetches hello over plain HTTP from
the bucket's URL, as it would from a CDN in front of the bucket. It also
checks what only S3 can get wrong: the objects' Cache-Control, that nothing
private is uploaded, that an object already there with other bytes is never
overwritten, and that a missing bucket is one clear error.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.repository.helpers import release, run
from tests.serving.nginx import free_port
from tests.serving.support import Service, published_repo
from tests.support.published import metadata_dir
from tuf_metadata.client.fetcher import HttpFetcher
from tuf_metadata.client.mirrors import fetch_image_from_mirrors
from tuf_metadata.client.store import MetadataStore
from tuf_metadata.hosting import IMMUTABLE, REVALIDATE

MOTO_SERVER = shutil.which("moto_server") or str(Path(sys.executable).with_name("moto_server"))

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not Path(MOTO_SERVER).exists(),
                       reason="moto_server is not installed (pip install -e '.[dev]')"),
]

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "unirepo-test", "AWS_SECRET_ACCESS_KEY": "unirepo-test",
               "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    port = free_port()
    server = subprocess.Popen([MOTO_SERVER, "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise AssertionError("moto_server did not start") from None
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _bucket(endpoint: str, name: str) -> Any:
    import boto3

    client = boto3.client("s3", endpoint_url=endpoint)
    client.create_bucket(Bucket=name)
    # As an operator publishes a repository: anyone may read, only the publisher writes.
    client.put_bucket_policy(Bucket=name, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": f"arn:aws:s3:::{name}/*"}],
    }))
    return client


def _sync(repo_dir: Path, endpoint: str, destination: str) -> dict[str, Any]:
    result = run(["sync", "--repo", str(repo_dir), "--to", destination,
                  "--s3-endpoint", endpoint, "--json"])
    assert result.exit_code == 0, result.output
    published: dict[str, Any] = json.loads(result.output)
    return published


def test_sync_to_s3_serves_a_verifying_client(tmp_path: Path, s3_endpoint: str) -> None:
    fx = published_repo(tmp_path)
    client = _bucket(s3_endpoint, "repo")
    first = _sync(fx.repo_dir, s3_endpoint, "s3://repo/stable")
    assert "metadata/timestamp.json" not in first["copied"]  # committed separately, last
    assert first["timestamp_written"] is True

    keys = [item["Key"] for item in client.list_objects_v2(Bucket="repo")["Contents"]]
    assert keys and all(key.startswith(("stable/metadata/", "stable/targets/",
                                         "stable/.unirepo-sync.json")) for key in keys), keys
    head = client.head_object(Bucket="repo", Key="stable/metadata/timestamp.json")
    assert head["CacheControl"] == REVALIDATE and head["ContentType"] == "application/json"
    image_key = next(key for key in keys if key.endswith(".hello.hvt"))
    assert client.head_object(Bucket="repo", Key=image_key)["CacheControl"] == IMMUTABLE

    # A fresh client that trusts only 1.root.json fetches through the bucket's HTTP URL.
    store = MetadataStore(tmp_path / "client")
    store.directory.mkdir(parents=True)
    store.save("root", (metadata_dir(fx.repo_dir) / "1.root.json").read_bytes())
    out = tmp_path / "out"
    fetched, _ = fetch_image_from_mirrors(store, HttpFetcher(), [f"{s3_endpoint}/repo/stable"],
                                          "hello", out, version="1.0.0")
    assert fetched.version == "1.0.0"
    assert (out / "hello.hvt").read_bytes() == (fx.work / "hello-1.0.0.hvt").read_bytes()

    # A new release: only the new files are uploaded; the client sees the new version.
    assert release(fx, "hello", "1.1.0", ["hello"], ("hvt",)).exit_code == 0
    assert run(["publish", "--no-build", "--repo", str(fx.repo_dir)]).exit_code == 0
    second = _sync(fx.repo_dir, s3_endpoint, "s3://repo/stable")
    assert second["unchanged"] == len(first["copied"])
    assert any(path.endswith(".hello.hvt") for path in second["copied"])
    fetched, _ = fetch_image_from_mirrors(store, HttpFetcher(), [f"{s3_endpoint}/repo/stable"],
                                          "hello", out)
    assert fetched.version == "1.1.0"


def test_s3_object_with_other_bytes_is_never_overwritten(tmp_path: Path,
                                                         s3_endpoint: str) -> None:
    fx = published_repo(tmp_path)
    client = _bucket(s3_endpoint, "repo")
    client.put_object(Bucket="repo", Key="metadata/1.targets.json", Body=b"{}")
    result = run(["sync", "--repo", str(fx.repo_dir), "--to", "s3://repo",
                  "--s3-endpoint", s3_endpoint])
    assert result.exit_code != 0
    assert "s3://repo/metadata/1.targets.json: already published with other content" in \
        result.output
    # Refused before the commit point: no timestamp was uploaded, the foreign object is intact.
    assert client.get_object(Bucket="repo", Key="metadata/1.targets.json")["Body"].read() == b"{}"
    listing = client.list_objects_v2(Bucket="repo", Prefix="metadata/timestamp.json")
    assert listing.get("KeyCount", 0) == 0


def test_missing_bucket_is_one_clear_error(tmp_path: Path, s3_endpoint: str) -> None:
    fx = published_repo(tmp_path)
    result = run(["sync", "--repo", str(fx.repo_dir), "--to", "s3://no-such-bucket/x",
                  "--s3-endpoint", s3_endpoint])
    assert result.exit_code != 0
    assert "s3://no-such-bucket/x/" in result.output and "NoSuchBucket" in result.output
    assert len(result.output.strip().splitlines()) == 1, result.output


def test_sign_service_publishes_each_round_to_s3(tmp_path: Path, s3_endpoint: str) -> None:
    fx = published_repo(tmp_path, timestamp_days=0.00007)  # about 6 s: re-signed every 3 s
    client = _bucket(s3_endpoint, "repo")
    service = Service(["sign-service", "--repo", str(fx.repo_dir), "--interval", "0.2",
                       "--sync-to", "s3://repo/live", "--s3-endpoint", s3_endpoint])
    try:
        service.wait_for(r"published \d+ files and timestamp.json to s3://repo/live", 30)
        first = _timestamp_version(client)
        service.wait_for(r"published \d+ files and timestamp.json to s3://repo/live", 30,
                         since=len(service.log))
        assert _timestamp_version(client) > first  # the re-signed timestamp reached the bucket
        service.process.terminate()
        assert service.exit_code(timeout=10) == 0
    finally:
        service.stop()


def _timestamp_version(client: Any) -> int:
    body = client.get_object(Bucket="repo", Key="live/metadata/timestamp.json")["Body"].read()
    return int(json.loads(body)["signed"]["version"])
