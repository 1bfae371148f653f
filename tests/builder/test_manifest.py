"""Manifests: every shipped manifest is valid; malformed or unsafe ones are refused."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest

from builder.errors import BuildError
from builder.manifest import ALLOWED_KEYS, NAME_RE, ManifestError, parse_manifest
from builder.plan import load_index, resolve
from tests.builder.conftest import PACKAGES, REPO

GOOD: dict[str, Any] = {
    "schema": 1,
    "name": "demo",
    "version": "1.2.3",
    "license": "ISC",
    "authors": ["A. Author"],
    "kind": "unikernel",
    "sources": ["unikernels/demo/main.c", "unikernels/demo/demo.h"],
    "dependencies": {"testlib": "1.0.0"},
    "targets": ["hvt", "spt"],
    "devices": [{"name": "service", "kind": "NET_BASIC"}],
    "source_date_epoch": 1700000000,
}


def encoded(doc: Any) -> bytes:
    return json.dumps(doc).encode()


def test_every_shipped_manifest_is_valid_and_names_existing_files() -> None:
    index = load_index(PACKAGES)
    assert {"hello", "testlib", "unrepro_date", "unrepro_path"} <= {n for n, _ in index}
    for manifest in index.values():
        for source in manifest.sources:
            assert (REPO / source).is_file(), f"{manifest.ident}: {source} is missing"
        resolve(manifest, index)


def test_good_manifest_round_trips() -> None:
    manifest = parse_manifest(encoded(GOOD))
    assert manifest.compiled_sources == ("unikernels/demo/main.c",)
    assert parse_manifest(encoded(manifest.to_json())) == manifest


def changed(**changes: Any) -> dict[str, Any]:
    doc = copy.deepcopy(GOOD)
    for key, value in changes.items():
        if value is None:
            doc.pop(key)
        else:
            doc[key] = value
    return doc


BAD = [
    (changed(build_script="make all"), "unknown field(s) build_script"),
    (changed(commands=[["sh", "-c", "curl x | sh"]]), "unknown field(s) commands"),
    (changed(sources=["/etc/passwd"]), "absolute path"),
    (changed(sources=["unikernels/../../etc/passwd"]), "'..' component"),
    (changed(sources=["a//b.c"]), "empty"),
    (changed(sources=["a/b c.c"]), "disallowed character"),
    (changed(sources=[]), "expected 1.."),
    (changed(sources=["x.c", "x.c"]), "duplicate path"),
    (changed(sources=["include/only.h"]), "at least one .c or .S"),
    (changed(name="Bad Name"), "field 'name'"),
    (changed(version="latest"), "field 'version'"),
    (changed(kind="script"), "field 'kind'"),
    (changed(targets=["virtio-bogus"]), "unknown Solo5 target"),
    (changed(targets=[]), "at least one Solo5 target"),
    (changed(devices=[{"name": "net-0", "kind": "NET_BASIC"}]), "bad device name"),
    (changed(devices=[{"name": "n", "kind": "GPU"}]), "bad device kind"),
    (changed(devices=[{"name": "n", "kind": "NET_BASIC"}] * 2), "duplicate device name"),
    (changed(source_date_epoch=None), "source_date_epoch"),
    (changed(source_date_epoch="1700000000"), "source_date_epoch"),
    (changed(source_date_epoch=-1), "source_date_epoch"),
    (changed(dependencies={"testlib": "any"}), "bad version"),
    (changed(dependencies=["testlib"]), "dependencies"),
    (changed(authors=[]), "authors"),
    (changed(schema=2), "schema"),
    ([1, 2, 3], "expected a JSON object"),
]


@pytest.mark.parametrize(("doc", "message"), BAD, ids=[m for _, m in BAD])
def test_malformed_manifest_refused_with_one_line(doc: Any, message: str) -> None:
    with pytest.raises(ManifestError) as raised:
        parse_manifest(encoded(doc))
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)


def test_not_json_refused() -> None:
    with pytest.raises(ManifestError, match="not valid UTF-8 JSON"):
        parse_manifest(b"\xff{")


def test_library_with_devices_refused() -> None:
    doc = changed(kind="library", targets=None)
    with pytest.raises(ManifestError, match="a library declares no devices"):
        parse_manifest(encoded(doc))


def test_resolution_refuses_missing_cyclic_and_non_library_dependencies(tmp_path: Path) -> None:
    def write(name: str, kind: str, deps: dict[str, str]) -> None:
        doc = changed(name=name, kind=kind, dependencies=deps)
        if kind == "library":
            doc.pop("devices")
            doc.pop("targets")
            doc["sources"] = [f"lib/{name}.c"]
        folder = tmp_path / name / "1.2.3"
        folder.mkdir(parents=True)
        (folder / "manifest.json").write_text(json.dumps(doc))

    write("app", "unikernel", {"liba": "1.2.3"})
    write("liba", "library", {"libb": "1.2.3"})
    write("libb", "library", {"liba": "1.2.3"})
    write("other", "unikernel", {"app": "1.2.3"})
    write("lonely", "unikernel", {"ghost": "9.9.9"})
    index = load_index(tmp_path)
    with pytest.raises(BuildError, match="dependency cycle: app -> liba -> libb -> liba"):
        resolve(index[("app", "1.2.3")], index)
    with pytest.raises(BuildError, match="not a library"):
        resolve(index[("other", "1.2.3")], index)
    with pytest.raises(BuildError, match=r"ghost 9\.9\.9, which is not in the index"):
        resolve(index[("lonely", "1.2.3")], index)


def test_dependencies_come_first_and_bring_their_include_dirs() -> None:
    from builder.plan import compile_inputs

    index = load_index(PACKAGES)
    manifest = index[("test_block", "1.0.0")]
    deps = resolve(manifest, index)
    assert [d.name for d in deps] == ["testlib"]
    sources, include_dirs = compile_inputs(manifest, deps)
    assert sources == ["unikernels/test_common/testlib.c", "unikernels/test_block/block.c"]
    assert include_dirs == ["unikernels/test_common"]
    echo = index[("tcp-echo", "0.1.0")]
    assert [d.name for d in resolve(echo, index)] == ["runtime", "runtime_tcp"]
    sources, include_dirs = compile_inputs(echo, resolve(echo, index))
    assert (
        sources[0].startswith("runtime/libc/") and sources[-1] == "unikernels/tcp-echo/tcp_echo.c"
    )
    assert any(s.startswith("runtime/net/tcp") for s in sources)
    assert include_dirs == ["runtime/include", "runtime/libc/include"]


NEWLINE_CASES = [
    (changed(name="demo\n"), "field 'name'"),
    (changed(version="1.2.3\n"), "field 'version'"),
    (changed(sources=["unikernels/demo/main.c", "unikernels/demo/demo.h\n"]), "disallowed"),
    (changed(include_dirs=["unikernels/demo\n"]), "disallowed"),
    (changed(dependencies={"testlib\n": "1.0.0"}), "bad package name"),
    (changed(dependencies={"testlib": "1.0.0\n"}), "bad version"),
    (changed(devices=[{"name": "service\n", "kind": "NET_BASIC"}]), "bad device name"),
]


@pytest.mark.parametrize(("doc", "message"), NEWLINE_CASES, ids=[m for _, m in NEWLINE_CASES])
def test_a_trailing_newline_is_refused_in_every_checked_field(doc: Any, message: str) -> None:
    """`re.match` with `$` accepts "x\\n"; the checks are full matches."""
    with pytest.raises(ManifestError, match=message):
        parse_manifest(encoded(doc))


def test_pathologically_nested_json_is_a_manifest_error() -> None:
    with pytest.raises(ManifestError, match="nested too deeply"):
        parse_manifest(b"[" * 200_000 + b"]" * 200_000)


ODD_VALUES: list[Any] = [
    None, True, 0, -1, 1.5, 2**80, "", " ", "x\n", "../x", "/abs", "\x00", "\ud800", "é",
    [], [None], ["hvt", "hvt"], {}, {"a": 1}, [[[]]], "hvt", "NET_BASIC", "1.0.0",
]


def mutate(doc: Any, rng: random.Random, depth: int = 0) -> Any:
    """One random change somewhere in a JSON value: replace, drop, add or recurse."""
    if isinstance(doc, dict) and doc and rng.random() < 0.7 and depth < 4:
        key = rng.choice(sorted(doc))
        out = dict(doc)
        action = rng.random()
        if action < 0.15:
            out.pop(key)
        elif action < 0.25:
            out[rng.choice([*ALLOWED_KEYS, "extra", "name\n"])] = rng.choice(ODD_VALUES)
        else:
            out[key] = mutate(doc[key], rng, depth + 1)
        return out
    if isinstance(doc, list) and doc and rng.random() < 0.7 and depth < 4:
        out_list = list(doc)
        index = rng.randrange(len(out_list))
        if rng.random() < 0.2:
            out_list.pop(index)
        elif rng.random() < 0.2:
            out_list.append(rng.choice(ODD_VALUES))
        else:
            out_list[index] = mutate(out_list[index], rng, depth + 1)
        return out_list
    if isinstance(doc, str) and doc and rng.random() < 0.5:
        position = rng.randrange(len(doc) + 1)
        return doc[:position] + rng.choice(["\n", "/", "..", " ", "\x00", "A", "-", "."]) + (
            doc[position:]
        )
    return copy.deepcopy(rng.choice(ODD_VALUES))


def test_fuzzed_manifests_validate_or_raise_only_manifest_errors() -> None:
    """Seeded random mutations of valid manifests: a valid Manifest, or ManifestError."""
    rng = random.Random(20261202)
    seeds = [GOOD, *(m.to_json() for m in load_index(PACKAGES).values())]
    accepted = refused = 0
    for _ in range(6000):
        doc = rng.choice(seeds)
        for _ in range(rng.randint(1, 3)):
            doc = mutate(doc, rng)
        data = json.dumps(doc).encode() if rng.random() < 0.9 else byte_flip(doc, rng)
        try:
            manifest = parse_manifest(data)
        except ManifestError as error:
            assert "\n" not in str(error)
            refused += 1
            continue
        # Whatever is accepted is a manifest that survives its own round trip.
        assert parse_manifest(json.dumps(manifest.to_json()).encode()) == manifest
        assert all(NAME_RE.fullmatch(n) for n, _ in manifest.dependencies)
        accepted += 1
    assert accepted > 100 and refused > 1000  # both sides of the validator were exercised


def byte_flip(doc: Any, rng: random.Random) -> bytes:
    data = bytearray(json.dumps(doc).encode())
    for _ in range(rng.randint(1, 4)):
        data[rng.randrange(len(data))] = rng.randrange(256)
    return bytes(data)
