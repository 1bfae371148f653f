"""The verdict's `toolchain` annotation and the rebuild's comparison rules (pure, fast)."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from builder.errors import BuildError
from builder.reference import Reference, compare_toolchain, rebuild_reason, toolchain_of_buildinfo
from builder.status import BuildStatus
from builder.verdict import BuildVerdict, VerdictError, read_verdict, verdict_statement

GCC = {"path": "/usr/bin/gcc", "realpath": "/usr/bin/x86_64-linux-gnu-gcc-12", "sha256": "a" * 64,
       "package": "gcc-12", "version": "12.2.0-14"}
LD = {"path": "/usr/bin/ld", "realpath": "/usr/bin/x86_64-linux-gnu-ld.bfd", "sha256": "b" * 64,
      "package": "binutils", "version": "2.40-2"}


def _statement(toolchain: str) -> dict[str, Any]:
    verdict = BuildVerdict("hello", "1.0.0", "hvt", BuildStatus.REPRODUCIBLE, "identical",
                           "c" * 64, 1234, "d" * 64, "rebuilder-alice", toolchain=toolchain)
    return verdict_statement(
        verdict, build_type="https://unirepo.invalid/builder/double-build/v1",
        source_date_epoch=1, internal_parameters={}, resolved_dependencies=[],
        invocation_id="1", started_on="2026-01-01T00:00:00Z", finished_on="2026-01-01T00:00:01Z",
    )


def _annotations(statement: dict[str, Any]) -> dict[str, Any]:
    byproducts = statement["predicate"]["runDetails"]["byproducts"]
    return dict(next(b for b in byproducts if b["name"] == "verdict")["annotations"])


def test_the_toolchain_annotation_round_trips_and_is_absent_in_older_verdicts() -> None:
    for value in ("same", "differs", "unknown"):
        assert read_verdict(_statement(value)).toolchain == value
    older = copy.deepcopy(_statement("same"))
    byproduct = next(b for b in older["predicate"]["runDetails"]["byproducts"]
                     if b["name"] == "verdict")
    del byproduct["annotations"]["toolchain"]  # a verdict written before issue #12
    assert read_verdict(older).toolchain == "unknown"
    byproduct["annotations"]["toolchain"] = "probably"
    with pytest.raises(VerdictError, match="toolchain is not one of"):
        read_verdict(older)


def test_toolchains_compare_by_path_and_hash_only() -> None:
    reference = toolchain_of_buildinfo({"toolchain": [LD, GCC]})
    assert compare_toolchain([GCC, LD], reference) == "same"
    # Another Debian version string with the same bytes is still the same toolchain.
    assert compare_toolchain([{**GCC, "version": "12.2.0-14+b1"}, LD], reference) == "same"
    assert compare_toolchain([{**GCC, "sha256": "e" * 64}, LD], reference) == "differs"
    assert compare_toolchain([GCC], reference) == "differs"
    assert compare_toolchain([GCC, LD], None) == "unknown"
    bad_documents: list[Any] = [
        {}, {"toolchain": []}, {"toolchain": [{"path": "/usr/bin/gcc"}]}, []]
    for bad in bad_documents:
        with pytest.raises(BuildError):
            toolchain_of_buildinfo(bad)


def test_the_reason_says_whether_the_published_image_was_reproduced() -> None:
    published = Reference("c" * 64, 1234)
    ok = rebuild_reason(BuildStatus.REPRODUCIBLE, "c" * 64, 1234, "identical", published, "same")
    assert ok == "both builds are bit-for-bit identical and equal to the published image"
    other = rebuild_reason(BuildStatus.REPRODUCIBLE, "f" * 64, 1234, "identical", published,
                           "unknown")
    assert other == f"builds agree ({'f' * 16}) but differ from the published image {'c' * 16}"
    differs = rebuild_reason(BuildStatus.REPRODUCIBLE, "f" * 64, 1234, "identical", published,
                             "differs")
    assert differs.endswith("the rebuilder's toolchain differs from the release's "
                            "(not a claim of mismatch)")
    failed = rebuild_reason(BuildStatus.FAILED, None, None, "build a failed: x", published, "same")
    assert failed == "build a failed: x"
