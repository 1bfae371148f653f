"""builder.plan.check_release: what the builder requires of a release, as one pure check
an author's `release` can run before anything is staged."""

from __future__ import annotations

import json

import pytest

from builder.archive import SourceFile, create_archive
from builder.errors import BuildError
from builder.plan import check_release

EPOCH = 1_700_000_000


def manifest(version: str = "1.0.0", **changes: object) -> bytes:
    doc: dict[str, object] = {
        "name": "hello", "version": version, "license": "ISC", "authors": ["A"],
        "kind": "unikernel", "sources": ["hello.c"], "targets": ["hvt", "spt"],
        "source_date_epoch": EPOCH,
    }
    doc.update(changes)
    return json.dumps(doc).encode()


def archive(*paths: str) -> bytes:
    return create_archive({p: SourceFile(p, b"int main(void){return 0;}\n") for p in paths}, EPOCH)


def test_a_release_the_builder_would_build_passes() -> None:
    package = check_release(manifest(), archive("hello.c"), "hello", "1.0.0", ["hvt", "spt"])
    assert package.manifest.ident == "hello-1.0.0"
    assert sorted(package.files) == ["hello.c"]


@pytest.mark.parametrize(
    ("manifest_bytes", "archive_bytes", "version", "targets", "message"),
    [
        (manifest("1.0.0"), archive("hello.c"), "1.0.1", ["hvt"],
         "staged hello 1.0.1 carries a manifest of hello-1.0.0"),
        (manifest("1.0.0"), archive("hello.c"), "v1", ["hvt"],
         "invalid version 'v1': a release version is MAJOR.MINOR.PATCH"),
        (manifest(), archive("hello.c"), "1.0.0", ["kvm"],
         "hello-1.0.0 does not declare target 'kvm'"),
        (manifest(targets=["hvt"]), archive("hello.c"), "1.0.0", ["spt"],
         "does not declare target 'spt' (its manifest lists hvt)"),
        (manifest(), b"not a tar archive\n", "1.0.0", ["hvt"], "archive is not valid gzip"),
        (manifest(), archive("hello.c", "extra.c"), "1.0.0", ["hvt"],
         "source archive does not match the manifest"),
        (b"{", archive("hello.c"), "1.0.0", ["hvt"], "manifest: not valid UTF-8 JSON"),
        (manifest(name="other"), archive("hello.c"), "1.0.0", ["hvt"],
         "carries a manifest of other-1.0.0"),
    ],
    ids=["version-differs", "version-v1", "unknown-target", "undeclared-target",
         "not-a-tar", "undeclared-file", "bad-manifest", "other-package"],
)
def test_what_the_builder_would_refuse_is_refused(
    manifest_bytes: bytes, archive_bytes: bytes, version: str, targets: list[str], message: str
) -> None:
    with pytest.raises(BuildError) as refusal:
        check_release(manifest_bytes, archive_bytes, "hello", version, targets)
    assert message in str(refusal.value)
    assert len(str(refusal.value).splitlines()) == 1
