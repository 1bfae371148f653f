"""`repo-tool rebuild` against a served repository: real sandboxed double builds, real TUF.

One module fixture publishes, in a repository served on loopback HTTP:
hello 1.0.0 as its author built it (image and build info), two copies of hello
whose published image is not what the sources build (one with the author's
build info, one whose build info names another toolchain), test_time with its
library testlib published, and ping whose library runtime is not published.
One `repo-tool rebuild` run then rebuilds them all; each test checks one claim.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from securesystemslib.signer import CryptoSigner

from builder.archive import archive_from_tree
from builder.pipeline import BuildOptions, TargetResult, verify_package
from builder.plan import load_index, read_package_tree, resolve, solo5_requests
from builder.status import BuildStatus
from builder.variations import all_variations
from builder.verdict import SignedResult, verify_result
from repo_tool.cli import cli
from signing.attestations import BUILDER_URI_PREFIX, verify_envelope
from signing.keys import generate_key, write_key_pair
from tests.client.simulator import RepositorySimulator, new_signer, serve_http
from tuf_metadata import layout

REPO = Path(__file__).resolve().parents[2]
PACKAGES = REPO / "packages"
REBUILDER = "alice"

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]  # skipped where the sandbox cannot run


@dataclass
class Rebuilt:
    exit_code: int
    summary: dict[str, Any]
    stderr: str
    out: Path
    signer: CryptoSigner
    published: dict[tuple[str, str], str]  # (package, version) -> published hvt sha256


def _manifest(name: str, version: str | None = None) -> bytes:
    (path,) = PACKAGES.glob(f"{name}/*/manifest.json")
    if version is None:
        return path.read_bytes()
    document = json.loads(path.read_bytes())
    document["version"] = version
    return json.dumps(document).encode()


def _archive(name: str) -> bytes:
    manifest = next(m for (n, _), m in load_index(PACKAGES).items() if n == name)
    return archive_from_tree(REPO, manifest.sources, manifest.source_date_epoch)


def _author_build(name: str, out: Path) -> TargetResult:
    """The author's own double build of NAME's hvt image (what a release publishes)."""
    index = load_index(PACKAGES)
    manifest = next(m for (n, _), m in index.items() if n == name)
    package = read_package_tree(manifest, REPO)
    deps = [read_package_tree(d, REPO) for d in resolve(manifest, index)]
    (result,) = verify_package(
        solo5_requests(package, deps, ["hvt"]), package, deps,
        all_variations(os.cpu_count() or 1), out, BuildOptions(builder_id="author"),
    )
    assert result.status == BuildStatus.REPRODUCIBLE, result.reason
    return result


def _tampered(image: bytes) -> bytes:
    """The image with one byte in its middle changed: another binary a repository could ship."""
    middle = len(image) // 2
    return image[:middle] + bytes([image[middle] ^ 0xFF]) + image[middle + 1:]


@pytest.fixture(scope="module")
def rebuilt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rebuilt]:
    root = tmp_path_factory.mktemp("rebuild")
    hello = _author_build("hello", root / "author")
    test_time = _author_build("test_time", root / "author")
    hello_image = Path(hello.image or "").read_bytes()
    buildinfo = (Path(hello.out_dir) / "buildinfo.json").read_bytes()
    other_toolchain = json.loads(buildinfo)
    other_toolchain["toolchain"][0]["sha256"] = "0" * 64  # e.g. another gcc build
    repo = RepositorySimulator()
    author = new_signer()
    hello_archive = _archive("hello")
    releases: dict[tuple[str, str], dict[str, bytes]] = {
        ("hello", "1.0.0"): {"hello.hvt": hello_image, "buildinfo.hvt.json": buildinfo},
        ("hello", "1.0.1"): {"hello.hvt": _tampered(hello_image)},
        ("hello", "1.0.2"): {"hello.hvt": _tampered(hello_image),
                             "buildinfo.hvt.json": json.dumps(other_toolchain).encode()},
    }
    for (name, version), files in releases.items():
        repo.add_package(name, [author], {
            "manifest.json": _manifest(name, version), f"{name}-{version}.tar.gz": hello_archive,
            **files,
        }, version=version)
    repo.add_package("testlib", [author], {
        "manifest.json": _manifest("testlib"), "testlib-1.0.0.tar.gz": _archive("testlib"),
    }, version="1.0.0")
    repo.add_package("test_time", [author], {
        "manifest.json": _manifest("test_time"), "test_time-1.0.0.tar.gz": _archive("test_time"),
        "test_time.hvt": Path(test_time.image or "").read_bytes(),
    }, version="1.0.0")
    repo.add_package("ping", [author], {  # depends on runtime 0.1.0, which is not published
        "manifest.json": _manifest("ping"), "ping-0.1.0.tar.gz": _archive("ping"),
        "ping.hvt": b"not rebuilt",
    }, version="0.1.0")
    repo.release_all()
    (root / "root.json").write_bytes(repo.root_bytes)
    signer = generate_key()
    write_key_pair(signer, root / "alice.key", None)
    out = root / "out"
    with serve_http(repo) as (metadata_url, _, _):
        result = CliRunner().invoke(cli, [
            "rebuild", "--repo-url", metadata_url.removesuffix("/metadata/"),
            "--root", str(root / "root.json"), "--key", str(root / "alice.key"),
            "--insecure-plaintext", "--name", REBUILDER, "--out", str(out), "--json",
        ])
    assert result.stdout, result.stderr
    published = {
        (name, version): hashlib.sha256(files["hello.hvt"]).hexdigest()
        for (name, version), files in releases.items()
    }
    yield Rebuilt(result.exit_code, json.loads(result.stdout), result.stderr, out, signer,
                  published)


def _target(rebuilt: Rebuilt, package: str, version: str) -> dict[str, Any]:
    (release,) = [r for r in rebuilt.summary["releases"]
                  if (r["package"], r["version"]) == (package, version)]
    (target,) = release["targets"]
    assert target["target"] == "hvt"
    return dict(target)


def _attestation(rebuilt: Rebuilt, package: str, version: str) -> tuple[dict[str, Any], bytes]:
    path = rebuilt.out / layout.attestation_path(package, version, "hvt", REBUILDER)
    data = path.read_bytes()
    key = rebuilt.signer.public_key
    statement, _ = verify_envelope(json.loads(data), {key.keyid: key})
    return statement, data


def test_a_published_release_is_rebuilt_and_confirmed_with_a_signed_attestation(
    rebuilt: Rebuilt,
) -> None:
    target = _target(rebuilt, "hello", "1.0.0")
    assert target["outcome"] == "confirmed", target
    assert target["sha256"] == rebuilt.published[("hello", "1.0.0")]
    statement, data = _attestation(rebuilt, "hello", "1.0.0")
    assert data.endswith(b"\n") and data.count(b"\n") == 1  # one JSON line, the DSSE envelope
    assert statement["subject"] == [
        {"name": "hello.hvt", "digest": {"sha256": rebuilt.published[("hello", "1.0.0")]}}]
    run = statement["predicate"]["runDetails"]
    assert run["builder"]["id"] == f"{BUILDER_URI_PREFIX}rebuilder-{REBUILDER}"
    key = rebuilt.signer.public_key
    verdict = verify_result(SignedResult(json.loads(data)), {key.keyid: key}).verdict
    assert verdict.status == BuildStatus.REPRODUCIBLE
    assert verdict.toolchain == "same"  # the author's build info ships with the release
    # Build A ran under the rebuilder's own path and user, not the builder's.
    info = json.loads((Path(target["reports"]) / "buildinfo.json").read_text())
    assert info["builds"][0]["build_path"].startswith(f"/rebuild/{REBUILDER}/")
    assert info["builds"][0]["uid"] != 1000


def test_a_published_image_the_sources_do_not_build_gets_a_signed_negative_verdict(
    rebuilt: Rebuilt,
) -> None:
    target = _target(rebuilt, "hello", "1.0.1")
    assert target["outcome"] == "mismatch"
    assert target["sha256"] == rebuilt.published[("hello", "1.0.0")]  # what the sources build
    assert target["published_sha256"] != target["sha256"]
    assert "differ from the published image" in target["reason"]
    assert set(target["diffoscope"]) == {"html", "text", "json"}
    # Ours (a) against the published image (b): diffoscope found where they differ.
    report = Path(target["diffoscope"]["text"]).read_text().splitlines()
    assert report[:2] == ["--- /in/a/hello-1.0.1.hvt.published",
                          "+++ /in/b/hello-1.0.1.hvt.published"]
    assert len(report) > 2
    _, data = _attestation(rebuilt, "hello", "1.0.1")
    key = rebuilt.signer.public_key
    verdict = verify_result(SignedResult(json.loads(data)), {key.keyid: key}).verdict
    assert verdict.sha256 != target["published_sha256"]
    assert verdict.toolchain == "unknown"  # this release ships no build info
    assert rebuilt.exit_code == 3


def test_a_rebuilder_whose_toolchain_differs_says_so(rebuilt: Rebuilt) -> None:
    target = _target(rebuilt, "hello", "1.0.2")
    assert target["outcome"] == "mismatch (toolchain differs)"
    assert target["toolchain"] == "differs"
    statement, _ = _attestation(rebuilt, "hello", "1.0.2")
    annotations = next(b for b in statement["predicate"]["runDetails"]["byproducts"]
                       if b["name"] == "verdict")["annotations"]
    assert annotations["toolchain"] == "differs"
    assert "toolchain differs" in annotations["reason"]


def test_dependencies_come_from_their_published_source_archives(rebuilt: Rebuilt) -> None:
    target = _target(rebuilt, "test_time", "1.0.0")
    assert target["outcome"] == "confirmed", target
    info = json.loads((Path(target["reports"]) / "buildinfo.json").read_text())
    assert info["inputs"]["dependencies"] == ["testlib-1.0.0"]
    fetched = rebuilt.out / "published/test_time/1.0.0/dependencies/testlib/1.0.0"
    assert (fetched / "testlib-1.0.0.tar.gz").read_bytes() == _archive("testlib")


def test_a_dependency_archive_that_cannot_be_fetched_is_a_clear_error(rebuilt: Rebuilt) -> None:
    (ping,) = [r for r in rebuilt.summary["releases"] if r["package"] == "ping"]
    assert ping["targets"] == []
    assert ping["error"].startswith(
        "ping 0.1.0: dependency runtime 0.1.0: its published source archive cannot be fetched ("
    ), ping["error"]
    assert f"error: {ping['error']}" in rebuilt.stderr
    assert not (rebuilt.out / layout.ATTESTATIONS_DIR / "ping").exists()
