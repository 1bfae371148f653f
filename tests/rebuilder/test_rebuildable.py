"""What a rebuild refuses before building, in-process and on the farm alike (one check)."""

from __future__ import annotations

from pathlib import Path

import pytest

from builder.archive import archive_from_tree
from builder.errors import BuildError
from builder.manifest import parse_manifest
from builder.pipeline import BuildOptions
from builder.rebuild import PublishedInputs, rebuildable_package
from builder.reference import Reference
from signing.keys import generate_key

REPO = Path(__file__).resolve().parents[2]
MANIFEST = next((REPO / "packages" / "hello").glob("*/manifest.json"))
IMAGE = Reference(sha256="0" * 64, length=1)


def inputs(targets: list[str]) -> PublishedInputs:
    manifest = parse_manifest(MANIFEST.read_bytes())
    archive = archive_from_tree(REPO, manifest.sources, manifest.source_date_epoch)
    return PublishedInputs(manifest.name, manifest.version, MANIFEST.read_bytes(), archive,
                           {target: IMAGE for target in targets})


@pytest.fixture(scope="module")
def signed() -> BuildOptions:
    return BuildOptions(signer=generate_key("ed25519"))


def test_a_declared_target_with_a_signer_is_rebuildable(signed: BuildOptions) -> None:
    assert rebuildable_package(inputs(["hvt"]), signed).manifest.name == "hello"


def test_a_rebuild_without_a_key_is_refused() -> None:
    with pytest.raises(BuildError, match="the rebuilder key is required"):
        rebuildable_package(inputs(["hvt"]), BuildOptions())


def test_a_release_without_images_is_refused(signed: BuildOptions) -> None:
    with pytest.raises(BuildError, match="the release publishes no image"):
        rebuildable_package(inputs([]), signed)


def test_an_image_for_an_undeclared_target_is_refused(signed: BuildOptions) -> None:
    with pytest.raises(BuildError, match="does not declare target kvm"):
        rebuildable_package(inputs(["hvt", "kvm"]), signed)
