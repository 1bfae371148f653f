"""The builder builds from signed inputs only: a library dependency is its *published* release.

`repo-tool release` stages a library (no image); `repo-tool build` publishes it and
then builds its dependent from that published source archive, whatever the local
tree holds; a dependent whose library is not published is refused with one line.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from builder.archive import archive_from_tree
from builder.plan import load_index
from signing.keys import generate_key, write_key_pair
from tests.repository.helpers import init_repo, run

REPO = Path(__file__).resolve().parents[2]
PACKAGES = REPO / "packages"
LIBRARY_SOURCE = "unikernels/test_common/testlib.c"

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]  # skipped where the sandbox cannot run


def _release(fixture, name: str, tree: Path, *extra: str) -> None:  # type: ignore[no-untyped-def]
    manifest = load_index(PACKAGES)[(name, "1.0.0")]
    archive = fixture.work / f"{name}-1.0.0.tar.gz"
    archive.parent.mkdir(parents=True, exist_ok=True)
    archive.write_bytes(archive_from_tree(tree, manifest.sources, manifest.source_date_epoch))
    result = run(["release", name, "1.0.0", "--repo", str(fixture.repo_dir), "--manifest",
                  str(PACKAGES / name / "1.0.0" / "manifest.json"), "--source", str(archive),
                  "--key", str(fixture.keys[name]), "--insecure-plaintext", *extra])
    assert result.exit_code == 0, result.output


def _build(fixture, tree: Path, key: Path, out: Path) -> dict:  # type: ignore[no-untyped-def,type-arg]
    result = run(["build", "--repo", str(fixture.repo_dir), "--tree", str(tree), "--key", str(key),
                  "--insecure-plaintext", "--out", str(out), "--no-blame", "--json"])
    return {"exit_code": result.exit_code, **json.loads(result.stdout)}


def test_a_local_edit_of_a_library_does_not_change_what_the_builder_builds(
    tmp_path: Path,
) -> None:
    fixture = init_repo(tmp_path, maintainers=1, threshold=1, authors=["testlib", "test_time"])
    key = tmp_path / "builder.key"
    write_key_pair(generate_key(), key, None)
    tree = tmp_path / "tree"
    for part in ("unikernels/test_common", "unikernels/test_time"):
        shutil.copytree(REPO / part, tree / part)
    shutil.copytree(PACKAGES, tree / "packages")
    original = (tree / LIBRARY_SOURCE).read_bytes()

    # test_time before its library is published: refused before anything is built.
    author_image = tmp_path / "author" / "test_time.hvt"
    _author_build(tree, author_image)
    _release(fixture, "test_time", tree, "--image", f"hvt={author_image}")
    first = _build(fixture, tree, key, tmp_path / "builds")
    assert first["exit_code"] == 3
    (decision,) = first["decisions"]
    assert decision["decision"] == "rejected"
    assert "dependency testlib 1.0.0" in decision["reason"], decision["reason"]

    # The library is released (no image) and published by the gate; then the tree changes.
    _release(fixture, "testlib", tree)
    withdrawn = run(["release", "withdraw", "test_time", "1.0.0", "--repo",
                     str(fixture.repo_dir), "--key", str(fixture.keys["test_time"]),
                     "--insecure-plaintext"])
    assert withdrawn.exit_code == 0, withdrawn.output
    _release(fixture, "test_time", tree, "--image", f"hvt={author_image}")
    (tree / LIBRARY_SOURCE).write_bytes(original + b"\nint edited_after_release;\n")
    second = _build(fixture, tree, key, tmp_path / "builds")
    decisions = {d["package"]: d for d in second["decisions"]}
    assert decisions["testlib"]["decision"] == "published", decisions["testlib"]
    assert decisions["test_time"]["decision"] == "published", decisions["test_time"]
    assert second["exit_code"] == 0
    info = json.loads((tmp_path / "builds/test_time/1.0.0/hvt/buildinfo.json").read_text())
    assert info["inputs"]["sources"][LIBRARY_SOURCE] == hashlib.sha256(original).hexdigest()


def _author_build(tree: Path, image: Path) -> None:
    result = run(["build-package", str(tree / "packages/test_time/1.0.0"), "--tree", str(tree),
                  "--target", "hvt", "--out", str(image.parent / "out"), "--no-blame", "--json"])
    assert result.exit_code == 0, result.output
    image.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(image.parent / "out/test_time/1.0.0/hvt/test_time.hvt", image)
