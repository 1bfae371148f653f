"""End to end: every package double-built in the sandbox; fixtures caught and blamed;
build info, attestations, cache and dashboard."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import shutil
import time
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner

from builder.build import sha256_file
from builder.pipeline import BuildOptions, trusted_cache_verdict, verify_package
from builder.plan import load_index, prefix_map_flags, read_package_tree, solo5_requests
from builder.status import BuildStatus
from builder.verdict import read_verdict, sign_verdict, verdict_statement
from reports.dashboard import load_rows, row_from_result, update_dashboard
from signing.attestations import AttestationError, verify_link, verify_statement
from solo5.recipe import image_plan, run_plan
from tests.builder.conftest import PACKAGES, REPO, UNREPRODUCIBLE, Built, every_variation

pytestmark = pytest.mark.sandbox  # runs builds in the bubblewrap sandbox

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def test_hello_and_every_test_unikernel_is_reproducible_for_every_target(built: Built) -> None:
    index = load_index(PACKAGES)
    expected = {
        (m.name, t)
        for m in index.values()
        if m.kind == "unikernel" and m.name not in UNREPRODUCIBLE
        for t in m.targets
    }
    assert {
        ("hello", "hvt"),
        ("hello", "spt"),
        ("test_net", "spt"),
        ("test_block", "hvt"),
    } <= expected
    for key in sorted(expected):
        result = built.results[key]
        assert result.status == "reproducible", (key, result.reason)
        assert result.sha256 == result.sha256_a == result.sha256_b
        assert result.image is not None and sha256_file(Path(result.image)) == result.sha256
        assert len(result.variations) == 14 and result.culprits == ()


def test_sandboxed_image_equals_a_plain_build_of_the_same_recipe(
    built: Built, tmp_path: Path
) -> None:
    """Authors can reproduce the builder's hash without the sandbox."""
    shutil.copytree(REPO / "unikernels" / "hello", tmp_path / "unikernels" / "hello")
    plan = image_plan(
        "hvt",
        "hello",
        ["unikernels/hello/hello.c"],
        [],
        [],
        extra_cflags=prefix_map_flags(str(tmp_path)),
    )
    assert sha256_file(run_plan(plan, tmp_path)) == built.results[("hello", "hvt")].sha256


@pytest.mark.parametrize(
    ("name", "culprit", "line_a", "line_b"),
    [
        # SOURCE_DATE_EPOCH 1764028800 is 2025-11-25; 398 days later is in 2026.
        ("unrepro_date", "time", "2025............", "2026............"),
        (
            "unrepro_path",
            "build_path",
            "-built 2 directories below /",
            "+built 4 directories below /",
        ),
    ],
)
def test_unreproducible_fixture_caught_blamed_and_reported(
    built: Built, name: str, culprit: str, line_a: str, line_b: str
) -> None:
    for target in ("hvt", "spt"):
        result = built.results[(name, target)]
        assert result.status == "unreproducible" and result.sha256 is None
        assert result.sha256_a != result.sha256_b and result.image is None
        assert not (Path(result.out_dir) / f"{name}.{target}").exists()
        assert result.link is None and result.provenance is not None
        # The refusal is signed too: its subject is the inputs, never an installable image.
        statement = verify_statement(
            json.loads(Path(result.provenance).read_text()), built.signer.public_key
        )
        assert statement["subject"][0]["name"] == f"{name}-1.0.0.{target}.inputs"
        verdict = statement["predicate"]["runDetails"]["byproducts"][-1]
        assert verdict["name"] == "verdict"
        assert verdict["annotations"]["status"] == "unreproducible"
    hvt = built.results[(name, "hvt")]
    assert hvt.culprits == (culprit,)
    assert hvt.reason == f"build A and build B differ; blamed on: {culprit}"
    assert set(hvt.diffoscope) == {"html", "text", "json"}
    text = Path(hvt.diffoscope["text"]).read_text()
    assert line_a in text and line_b in text  # diffoscope shows what differs, both sides
    assert "<html" in Path(hvt.diffoscope["html"]).read_text().lower()
    assert json.loads(Path(hvt.diffoscope["json"]).read_text())["diffoscope-json-version"] == 1
    info = json.loads((Path(hvt.out_dir) / "buildinfo.json").read_text())
    assert info["blame"]["culprits"] == [culprit]
    assert info["outputs"] == {}


def test_build_info_names_toolchain_flags_inputs_and_outputs(built: Built) -> None:
    result = built.results[("test_block", "hvt")]
    info = json.loads((Path(result.out_dir) / "buildinfo.json").read_text())
    tools = {Path(t["realpath"]).name: t for t in info["toolchain"]}
    for program in ("cc1", "as", "ld", "objcopy"):
        entry = next(t for name, t in tools.items() if name.endswith(program) or program in name)
        assert HEX64.match(entry["sha256"]) and entry["package"] and entry["version"]
    assert any(t["package"].startswith("gcc") for t in info["toolchain"])
    assert any(t["package"].startswith("binutils") for t in info["toolchain"])
    assert info["flags"]["extra_cflags"] == ["-ffile-prefix-map=/build/test_block-1.0.0=."]
    sources = info["inputs"]["sources"]
    assert set(sources) == {
        "unikernels/test_block/block.c",
        "unikernels/test_common/testlib.c",
        "unikernels/test_common/testlib.h",
    }
    assert all(HEX64.match(d) for d in sources.values())
    assert info["inputs"]["dependencies"] == ["testlib-1.0.0"]
    assert info["outputs"] == {"test_block.hvt": result.sha256}
    a, b = info["builds"]
    assert a["build_path"] == "/build/NAME-VERSION" and b["build_path"].startswith("/tmp/")
    assert b["environment"]["TZ"] == "Etc/GMT-14" and b["faketime"] == "+398d"
    assert [v["name"] for v in info["variations"]][:2] == ["environment", "build_path"]
    assert any("-ffile-prefix-map=/solo5=solo5" in arg for arg in a["commands"][0])


def test_attestations_verify_with_the_builder_key_and_refuse_tampering(built: Built) -> None:
    result = built.results[("hello", "spt")]
    assert result.link and result.provenance
    document = json.loads(Path(result.link).read_text())
    link = verify_link(document, built.signer.public_key)
    assert link.products == {"hello.spt": {"sha256": result.sha256}}
    assert "hello-1.0.0.tar.gz" in link.materials
    envelope = json.loads(Path(result.provenance).read_text())
    statement = verify_statement(envelope, built.signer.public_key)
    assert statement["predicateType"] == "https://slsa.dev/provenance/v1"
    assert statement["subject"] == [{"name": "hello.spt", "digest": {"sha256": result.sha256}}]
    deps = statement["predicate"]["buildDefinition"]["resolvedDependencies"]
    assert {"name": "hello-1.0.0.tar.gz", "digest": link.materials["hello-1.0.0.tar.gz"]} in deps
    other = CryptoSigner.generate_ed25519()
    with pytest.raises(AttestationError, match="not signed by key"):
        verify_link(document, other.public_key)
    with pytest.raises(AttestationError, match="no valid signature"):
        verify_statement(envelope, other.public_key)
    document["signed"]["products"]["hello.spt"]["sha256"] = "0" * 64
    with pytest.raises(AttestationError, match="bad signature"):
        verify_link(document, built.signer.public_key)


def test_cache_hit_skips_the_rebuild_and_any_input_change_misses(
    built: Built, tmp_path: Path
) -> None:
    package, deps = built.packages["hello"]
    cache = tmp_path / "cache"
    (first,) = verify_package(
        solo5_requests(package, deps, ["hvt"]),
        package,
        deps,
        every_variation(),
        tmp_path / "out1",
        BuildOptions(cache_dir=cache, signer=built.signer, builder_id="test-builder"),
    )
    assert not first.cached and first.status == "reproducible"
    started = time.monotonic()
    (again,) = verify_package(
        solo5_requests(package, deps, ["hvt"]),
        package,
        deps,
        every_variation(),
        tmp_path / "out2",
        BuildOptions(cache_dir=cache, signer=built.signer, builder_id="test-builder"),
    )
    assert again.cached and time.monotonic() - started < first.seconds
    assert again.sha256 == first.sha256 and again.finished == first.finished
    assert sha256_file(Path(again.image or "")) == again.sha256
    assert again.link and verify_link(
        json.loads(Path(again.link).read_text()), built.signer.public_key
    )
    # Change one byte of the source: a different input hash, so a real double build.
    tree = tmp_path / "tree"
    shutil.copytree(REPO / "unikernels" / "hello", tree / "unikernels" / "hello")
    source = tree / "unikernels" / "hello" / "hello.c"
    source.write_text(source.read_text().replace("Hello", "Jello"))
    changed = read_package_tree(package.manifest, tree)
    (fresh,) = verify_package(
        solo5_requests(changed, [], ["hvt"]),
        changed,
        [],
        every_variation(),
        tmp_path / "out3",
        BuildOptions(cache_dir=cache, signer=built.signer),
    )
    assert not fresh.cached and fresh.status == "reproducible"
    assert fresh.sha256 != first.sha256
    assert len(list(cache.iterdir())) == 2


def test_dashboard_rows_show_status_hashes_variations_and_reports(
    built: Built, tmp_path: Path
) -> None:
    board = tmp_path / "board"
    rows = update_dashboard(
        board, [row_from_result(r.to_json(), board) for r in built.results.values()]
    )
    assert len(rows) == len(built.results)
    by_key = {(r["package"], r["target"]): r for r in rows}
    hello = by_key[("hello", "hvt")]
    assert hello["reproduced_by"] == ["test-builder"] and hello["size"] > 0
    assert len(hello["variations"]) == 14 and hello["seconds"] > 0
    date = by_key[("unrepro_date", "hvt")]
    assert date["status"] == "unreproducible" and date["culprits"] == ["time"]
    assert (board / date["diffoscope"]["html"]).is_file()
    page = (board / "index.html").read_text()
    assert "unrepro_path" in page and date["diffoscope"]["html"] in page
    # A second, independent rebuilder that agrees is listed beside the first.
    second = dict(built.results[("hello", "hvt")].to_json(), builder_id="rebuilder-2")
    update_dashboard(board, [row_from_result(second, board)])
    merged = {(r["package"], r["target"]): r for r in load_rows(board)}
    assert merged[("hello", "hvt")]["reproduced_by"] == ["rebuilder-2", "test-builder"]


def cache_entry(cache: Path, name: str, target: str) -> Path:
    for entry in cache.iterdir():
        result = entry / "result.json"
        if result.is_file():
            document = json.loads(result.read_text())
            if (document["package"], document["target"]) == (name, target):
                return entry
    raise AssertionError(f"no cache entry for {name}.{target}")


def test_cache_entries_count_only_when_signed_by_this_builder_for_these_inputs(
    built: Built, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    shutil.copytree(built.cache, cache)
    hello = cache_entry(cache, "hello", "hvt")
    spt = cache_entry(cache, "hello", "spt")
    key = hello.name
    assert trusted_cache_verdict(hello, key, built.signer, "hello.hvt") is not None
    # Another builder's key: not ours, not trusted.
    assert trusted_cache_verdict(hello, key, CryptoSigner.generate_ed25519(), "hello.hvt") is None
    # A genuine entry for other inputs moved under this key: its input hash does not match.
    assert trusted_cache_verdict(spt, key, built.signer, "hello.spt") is None
    # The image swapped for other bytes: not the signed image.
    (hello / "hello.hvt").write_bytes(b"\x7fELF evil")
    assert trusted_cache_verdict(hello, key, built.signer, "hello.hvt") is None
    # No signed verdict at all.
    (hello / "provenance.dsse.json").unlink()
    assert trusted_cache_verdict(hello, key, built.signer, "hello.hvt") is None


def test_a_forged_cache_verdict_is_ignored_and_the_image_rebuilt(
    built: Built, tmp_path: Path
) -> None:
    """An attacker who can write the cache turns the unreproducible fixture into
    'reproducible' with their own image and signature: the builder rebuilds."""
    cache = tmp_path / "cache"
    shutil.copytree(built.cache, cache)
    entry = cache_entry(cache, "unrepro_date", "spt")
    evil = b"\x7fELF not the fixture"
    digest = hashlib.sha256(evil).hexdigest()
    (entry / "unrepro_date.spt").write_bytes(evil)
    result = json.loads((entry / "result.json").read_text())
    result.update(status="reproducible", reason="both builds are bit-for-bit identical",
                  sha256=digest, size=len(evil))
    (entry / "result.json").write_text(json.dumps(result))
    forged = read_verdict(
        verify_statement(
            json.loads((entry / "provenance.dsse.json").read_text()), built.signer.public_key
        )
    )
    forger = CryptoSigner.generate_ed25519()
    statement = verdict_statement(
        dataclasses.replace(forged, status=BuildStatus.REPRODUCIBLE, sha256=digest,
                            size=len(evil), reason="both builds are bit-for-bit identical"),
        build_type="x", source_date_epoch=0, internal_parameters={}, resolved_dependencies=[],
        invocation_id="1", started_on="", finished_on="",
    )
    (entry / "provenance.dsse.json").write_text(
        json.dumps(dict(sign_verdict(statement, forger).envelope))
    )
    package, deps = built.packages["unrepro_date"]
    (again,) = verify_package(
        solo5_requests(package, deps, ["spt"]),
        package,
        deps,
        every_variation(),
        tmp_path / "out",
        BuildOptions(cache_dir=cache, signer=built.signer, find_culprits=False),
    )
    assert not again.cached and again.status == "unreproducible" and again.image is None
