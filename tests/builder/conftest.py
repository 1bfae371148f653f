"""Session fixtures of the builder tests: the package catalogue and the fixtures, built once.

Every unikernel package of packages/ is double-built (all 14 variations) for
each of its targets; the two unreproducible fixtures are built with blame
and diffoscope. Results share one cache, so the gate tests reuse them.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from securesystemslib.signer import CryptoSigner

from builder.pipeline import BuildOptions, TargetResult, verify_package
from builder.plan import Package, load_index, read_package_tree, resolve, solo5_requests
from builder.variations import Variation, all_variations
from signing.keys import generate_key, write_key_pair

REPO = Path(__file__).resolve().parents[2]
PACKAGES = REPO / "packages"
UNREPRODUCIBLE = ("unrepro_date", "unrepro_path")


@dataclass
class Built:
    out: Path
    cache: Path
    signer: CryptoSigner
    key: Path  # the same key as a plaintext key file, for the CLI's --key
    results: dict[tuple[str, str], TargetResult]
    packages: dict[str, tuple[Package, list[Package]]]


@dataclass(frozen=True)
class FixedPlan:
    """A builder.build.PlanLike for hand-made BuildRequests: these commands, whatever the
    build directory."""

    files: dict[str, bytes]
    commands: tuple[tuple[str, ...], ...]
    output: str
    tools: tuple[str, ...]


def load_package(name: str) -> tuple[Package, list[Package]]:
    index = load_index(PACKAGES)
    manifest = next(m for (n, _), m in index.items() if n == name)
    package = read_package_tree(manifest, REPO)
    deps = [read_package_tree(d, REPO) for d in resolve(manifest, index)]
    return package, deps


def every_variation() -> tuple[Variation, ...]:
    return all_variations(os.cpu_count() or 1)


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    root = tmp_path_factory.mktemp("builder")
    signer = generate_key()
    key = root / "builder.key"
    write_key_pair(signer, key, None)
    out, cache = root / "out", root / "cache"
    results: dict[tuple[str, str], TargetResult] = {}
    packages: dict[str, tuple[Package, list[Package]]] = {}
    for (name, _), manifest in sorted(load_index(PACKAGES).items()):
        if manifest.kind != "unikernel":
            continue
        package, deps = load_package(name)
        packages[name] = (package, deps)
        for request in solo5_requests(package, deps):
            # Blame once per fixture (hvt); the other target only has to be caught.
            blame = name in UNREPRODUCIBLE and request.target == "hvt"
            (result,) = verify_package(
                [request],
                package,
                deps,
                every_variation(),
                out,
                BuildOptions(
                    cache_dir=cache, signer=signer, builder_id="test-builder", find_culprits=blame
                ),
            )
            results[(name, request.target)] = result
    return Built(out, cache, signer, key, results, packages)
