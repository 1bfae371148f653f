"""`repo-tool build`, the publish gate over a real repository's staging area.

Published: hello (both builds identical and equal to the author-signed hashes).
Kept staged with a one-line reason: the unreproducible fixture (blamed), a
release whose author signed other bytes, and a release with a malicious
source archive (refused before anything is extracted or built).
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest

from builder.archive import archive_from_tree
from builder.build import sha256_file
from builder.plan import load_index, prefix_map_flags
from signing.keys import INSECURE, load_signer
from solo5.recipe import image_plan, run_plan
from tests.builder.conftest import PACKAGES, REPO, Built
from tests.repository.helpers import init_repo, run
from tests.support.published import targets_dir

pytestmark = pytest.mark.sandbox  # runs builds in the bubblewrap sandbox


def stage(fixture, name: str, archive: bytes, images: dict[str, Path], work: Path) -> None:  # type: ignore[no-untyped-def]
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"{name}-1.0.0.tar.gz"
    source.write_bytes(archive)
    fixture.repo.stage_release(
        name,
        "1.0.0",
        PACKAGES / name / "1.0.0" / "manifest.json",
        source,
        images,
        [load_signer(fixture.keys[name], INSECURE)],
    )


def archive_of(name: str) -> bytes:
    manifest = load_index(PACKAGES)[(name, "1.0.0")]
    return archive_from_tree(REPO, manifest.sources, manifest.source_date_epoch)


def plain_build(name: str, tmp: Path) -> Path:
    manifest = load_index(PACKAGES)[(name, "1.0.0")]
    for source in manifest.sources:
        (tmp / source).parent.mkdir(parents=True, exist_ok=True)
        (tmp / source).write_bytes((REPO / source).read_bytes())
    plan = image_plan(
        "hvt",
        name,
        list(manifest.compiled_sources),
        [],
        [],
        extra_cflags=prefix_map_flags(str(tmp)),
    )
    return run_plan(plan, tmp)


def evil_archive() -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name in ("unikernels/test_abort/abort.c", "/etc/cron.d/evil"):
            info = tarfile.TarInfo(name)
            info.size = 3
            tar.addfile(info, io.BytesIO(b"x;\n"))
    return gzip.compress(raw.getvalue())


def test_gate_publishes_only_exact_author_matching_images(built: Built, tmp_path: Path) -> None:
    fixture = init_repo(
        tmp_path,
        maintainers=1,
        threshold=1,
        authors=["hello", "unrepro_date", "test_time", "test_abort"],
    )
    work = tmp_path / "author"
    hello_images = {t: Path(built.results[("hello", t)].image or "") for t in ("hvt", "spt")}
    stage(fixture, "hello", archive_of("hello"), hello_images, work)
    stage(
        fixture,
        "unrepro_date",
        archive_of("unrepro_date"),
        {"hvt": plain_build("unrepro_date", work / "date")},
        work,
    )
    # The author of test_time signs hello's image instead of the real one.
    stage(fixture, "test_time", archive_of("test_time"), {"hvt": hello_images["hvt"]}, work)
    stage(fixture, "test_abort", evil_archive(), {"hvt": hello_images["hvt"]}, work)
    out, board = tmp_path / "builds", tmp_path / "board"
    # One malformed manifest in the index blocks nothing but itself.
    index = tmp_path / "index"
    shutil.copytree(PACKAGES, index)
    (index / "broken" / "1.0.0").mkdir(parents=True)
    (index / "broken" / "1.0.0" / "manifest.json").write_text('{"name": "broken",')

    result = run(
        [
            "build",
            "--repo",
            str(fixture.repo_dir),
            "--tree",
            str(REPO),
            "--index",
            str(index),
            "--dependencies",
            "tree",  # test_time's library from the tree; published ones: tests/rebuilder
            "--out",
            str(out),
            "--dashboard",
            str(board),
            "--cache",
            str(built.cache),
            "--key",
            str(built.key),
            "--insecure-plaintext",
            "--json",
        ]
    )
    assert result.exit_code == 3, result.output  # releases refused, none failed to build
    report = json.loads(result.stdout)
    assert list(report["index_problems"]) == [str(index / "broken" / "1.0.0" / "manifest.json")]
    assert "not valid UTF-8 JSON" in next(iter(report["index_problems"].values()))
    assert "skipping" in result.stderr and "broken" in result.stderr
    decisions = {d["package"]: d for d in report["decisions"]}
    assert decisions["hello"]["decision"] == "published", decisions["hello"]
    date = decisions["unrepro_date"]
    assert date["decision"] == "rejected"
    assert date["reason"] == "hvt: unreproducible: build A and build B differ; blamed on: time"
    assert (
        out / "unrepro_date" / "1.0.0" / "hvt" / "unrepro_date-1.0.0.hvt.diffoscope.html"
    ).is_file()
    assert decisions["test_time"]["decision"] == "rejected"
    assert "builds agree" in decisions["test_time"]["reason"]
    assert "differ from the author's" in decisions["test_time"]["reason"]
    assert decisions["test_abort"]["decision"] == "rejected"
    assert decisions["test_abort"]["reason"] == (
        "archive member '/etc/cron.d/evil': absolute path refused"
    )
    assert not (out / "test_abort").exists()  # refused before anything was built

    repo = fixture.repo
    assert [s.package for s in repo.staged_releases()] == []  # none left pending
    kept = {s.package: repo.rejection(s) for s in repo.staged_releases(include_rejected=True)}
    assert set(kept) == {"unrepro_date", "test_time", "test_abort"}
    assert all(r and r["state"] == "rejected" and "\n" not in r["reason"] for r in kept.values())
    published = {p.name.split(".", 1)[1]: p for p in targets_dir(fixture.repo_dir).rglob("*.hvt")}
    assert sha256_file(published["hello.hvt"]) == built.results[("hello", "hvt")].sha256
    assert "unrepro_date.hvt" not in published and "test_time.hvt" not in published

    rows = {
        (r["package"], r["target"]): r
        for r in json.loads((board / "index.json").read_text())["rows"]
    }
    assert rows[("hello", "hvt")]["decision"] == "published"
    assert rows[("hello", "hvt")]["author_sha256"] == rows[("hello", "hvt")]["sha256"]
    assert rows[("unrepro_date", "hvt")]["culprits"] == ["time"]

    staging = run(["staging", "--repo", str(fixture.repo_dir), "--json"])
    assert {r["package"]: r["state"] for r in json.loads(staging.output)} == {
        "unrepro_date": "rejected",
        "test_time": "rejected",
        "test_abort": "rejected",
    }
