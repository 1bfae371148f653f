"""What a release must carry for rebuilds from the repository alone (pure, fast):
a library is released without images, a unikernel with at least one, and an author's
build info only for an image it releases."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.archive import archive_from_tree
from builder.errors import BuildError
from builder.plan import check_release, load_index
from tests.repository.helpers import init_repo, run

REPO = Path(__file__).resolve().parents[2]


def _release(name: str) -> tuple[bytes, bytes]:
    manifest = load_index(REPO / "packages")[(name, "1.0.0")]
    return (
        (REPO / "packages" / name / "1.0.0" / "manifest.json").read_bytes(),
        archive_from_tree(REPO, manifest.sources, manifest.source_date_epoch),
    )


def test_a_library_is_released_without_images_and_a_unikernel_with_one() -> None:
    manifest, archive = _release("testlib")
    assert check_release(manifest, archive, "testlib", "1.0.0", []).manifest.kind == "library"
    with pytest.raises(BuildError, match="is a library: its release carries no images"):
        check_release(manifest, archive, "testlib", "1.0.0", ["hvt"])
    manifest, archive = _release("hello")
    assert check_release(manifest, archive, "hello", "1.0.0", ["hvt"]).manifest.name == "hello"
    with pytest.raises(BuildError, match="a unikernel release signs at least one image"):
        check_release(manifest, archive, "hello", "1.0.0", [])


def test_release_refuses_a_build_info_without_a_toolchain_or_without_its_image(
    tmp_path: Path,
) -> None:
    fx = init_repo(tmp_path, maintainers=1, threshold=1, authors=["hello"])
    _, archive = _release("hello")
    files = tmp_path / "files"
    files.mkdir()
    (files / "hello-1.0.0.tar.gz").write_bytes(archive)
    (files / "hello.hvt").write_bytes(b"the author's image")
    (files / "not-json").write_bytes(b"gcc 12\n")
    (files / "buildinfo.json").write_text(
        '{"toolchain": [{"path": "/usr/bin/gcc", "sha256": "' + "a" * 64 + '"}]}')
    base = ["release", "hello", "1.0.0", "--repo", str(fx.repo_dir), "--manifest",
            str(REPO / "packages/hello/1.0.0/manifest.json"), "--source",
            str(files / "hello-1.0.0.tar.gz"), "--image", f"hvt={files / 'hello.hvt'}",
            "--key", str(fx.keys["hello"]), "--insecure-plaintext"]
    bad = run([*base, "--buildinfo", f"hvt={files / 'not-json'}"])
    assert bad.exit_code == 1
    assert f"--buildinfo hvt={files / 'not-json'}:" in bad.output
    orphan = run([*base, "--buildinfo", f"spt={files / 'buildinfo.json'}"])
    assert orphan.exit_code == 1
    assert "build info for 'spt', which has no image" in orphan.output
    assert not (fx.repo_dir / "staging" / "hello").exists() or not any(
        (fx.repo_dir / "staging" / "hello").iterdir())  # nothing staged
    good = run([*base, "--buildinfo", f"hvt={files / 'buildinfo.json'}"])
    assert good.exit_code == 0, good.output
