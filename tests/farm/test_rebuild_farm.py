"""`repo-tool rebuild --broker`: a rebuilder's builds on real workers over a real redis-server,
its inputs from a repository served on loopback HTTP through the verifying client.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bench.farm_processes import REPO_TOOL
from builder.archive import archive_from_tree
from builder.plan import load_index
from builder.status import BuildStatus
from builder.verdict import read_verdict
from signing.attestations import verify_envelope
from signing.keys import generate_key, load_public_key, write_key_pair
from tests.client.simulator import RepositorySimulator, new_signer, serve_http
from tests.farm.conftest import PACKAGES, REPO, Farm
from tuf_metadata import layout

pytestmark = pytest.mark.slow


@dataclass(frozen=True)
class Published:
    """hello 1.0.0 published with the image its sources build, served on loopback."""

    url: str
    root: Path
    rebuilder_key: Path
    image_sha256: str


@pytest.fixture(scope="module")
def published(
    tmp_path_factory: pytest.TempPathFactory, author_images: Callable[[str], Path]
) -> Iterator[Published]:
    tmp = tmp_path_factory.mktemp("published")
    image = author_images("hello").read_bytes()
    manifest = next(m for (n, _), m in load_index(PACKAGES).items() if n == "hello")
    repo = RepositorySimulator()
    repo.add_package("hello", [new_signer()], {
        "manifest.json": (PACKAGES / "hello" / manifest.version / "manifest.json").read_bytes(),
        f"hello-{manifest.version}.tar.gz": archive_from_tree(
            REPO, manifest.sources, manifest.source_date_epoch),
        "hello.hvt": image,
    }, version=manifest.version)
    repo.release_all()
    (tmp / "root.json").write_bytes(repo.root_bytes)
    write_key_pair(generate_key(), tmp / "alice.key", None)
    with serve_http(repo) as (metadata_url, _, _):
        yield Published(metadata_url.removesuffix("/metadata/"), tmp / "root.json",
                        tmp / "alice.key", hashlib.sha256(image).hexdigest())


def rebuild(published: Published, farm: Farm, out: Path, *trusted: str
            ) -> tuple[int, dict[str, Any], str]:
    argv = [REPO_TOOL, "rebuild", "--repo-url", published.url, "--root", str(published.root),
            "--key", str(published.rebuilder_key), "--insecure-plaintext", "--name", "alice",
            "--out", str(out), "--broker", farm.broker, "--store", str(farm.store),
            "--farm-wait", "240", "--json"]
    for name in trusted:
        argv += ["--worker-key", str(farm.public(name))]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=400, check=False)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else {}, done.stderr


def attested(published: Published, out: Path) -> dict[str, Any]:
    """The rebuilder's attestation for hello's hvt image, verified with its key."""
    data = (out / layout.attestation_path("hello", "1.0.0", "hvt", "alice")).read_bytes()
    key = load_public_key(published.rebuilder_key.with_name("alice.pub.json"))
    statement, _ = verify_envelope(json.loads(data), {key.keyid: key})
    return statement


def farm_records(statement: dict[str, Any]) -> dict[str, dict[str, Any]]:
    internal = statement["predicate"]["buildDefinition"]["internalParameters"]
    return {r["build"]: r for r in internal["farm"]}


def worker_result_digest(out: Path, build: str) -> str:
    """sha256 of the worker's signed result kept beside the reports (canonical JSON)."""
    path = out / "builds" / "hello" / "1.0.0" / "hvt" / f"{build}.provenance.dsse.json"
    document = json.loads(path.read_text())
    return hashlib.sha256(
        json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def test_rebuild_on_two_workers_confirms_the_published_image(
    published: Published, farm: Farm, tmp_path: Path
) -> None:
    farm.start("w1")
    farm.start("w2")
    out = tmp_path / "out"
    status, summary, stderr = rebuild(published, farm, out, "w1", "w2")
    assert status == 0, stderr
    (release,) = summary["releases"]
    (target,) = release["targets"]
    assert target["outcome"] == "confirmed", target
    assert target["sha256"] == target["published_sha256"] == published.image_sha256
    statement = attested(published, out)
    assert statement["subject"][0]["digest"]["sha256"] == published.image_sha256
    # what an operator's rule reads: the rebuilder confirms the image (its key, its role)
    verdict = read_verdict(statement)
    assert verdict.status == BuildStatus.REPRODUCIBLE and verdict.builder_id == "rebuilder-alice"
    records = farm_records(statement)
    # build A and build B ran on different workers, each named, with the key that signed
    assert {records["a"]["worker"], records["b"]["worker"]} == {"w1", "w2"}
    for build, record in records.items():
        key = load_public_key(farm.public(record["worker"]))
        assert record["keyids"] == [key.keyid]
        assert record["sha256"] == published.image_sha256
        assert record["signed_result"] == worker_result_digest(out, build)
    assert records["a"]["variations"] == [] and records["b"]["variations"]
    assert "queued on w1" in stderr and "queued on w2" in stderr


def test_rebuild_ignores_a_worker_whose_key_is_not_configured(
    published: Published, farm: Farm, tmp_path: Path
) -> None:
    farm.start("w1")
    farm.start("w2", key_name="stranger")  # the rebuilder configured w1's and w2's keys only
    farm.key("w2")
    out = tmp_path / "out"
    status, summary, stderr = rebuild(published, farm, out, "w1", "w2")
    assert status == 0, stderr
    (target,) = summary["releases"][0]["targets"]
    assert target["outcome"] == "confirmed", target
    records = farm_records(attested(published, out))
    assert {r["worker"] for r in records.values()} == {"w1"}  # w2's result did not count
    assert max(r["attempts"] for r in records.values()) == 2
    assert "result refused: DSSE envelope: no valid signature by a trusted key" in stderr


def test_rebuild_with_only_untrusted_workers_confirms_nothing(
    published: Published, farm: Farm, tmp_path: Path
) -> None:
    farm.start("w1", key_name="stranger")
    farm.key("w1")
    out = tmp_path / "out"
    status, summary, stderr = rebuild(published, farm, out, "w1")
    assert status == 4, stderr  # no trusted build: a failed rebuild, neutral for operators
    (target,) = summary["releases"][0]["targets"]
    assert target["outcome"] == "failed", target
    assert target["reason"].startswith("no build result signed by a trusted key"), target
    statement = attested(published, out)
    annotations = statement["predicate"]["runDetails"]["byproducts"][-1]["annotations"]
    assert annotations["status"] == "failed"
