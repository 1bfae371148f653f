"""Fixtures of the farm tests: a real redis-server on a free loopback port, real
`repo-tool worker` processes, and a repository with releases staged by their authors.

Every process a test starts is stopped by the fixture that started it (its
whole process group, so a worker's pool goes too).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bench.farm_processes import REPO_TOOL, Redis, start_redis, start_worker, stop_group
from builder.archive import archive_from_tree
from builder.build import run_build
from builder.plan import load_index, read_package_tree, resolve, solo5_requests
from builder.sandbox import missing_programs
from builder.variations import CONTROL
from signing.keys import INSECURE, generate_key, load_signer, write_key_pair
from tests.repository.helpers import Fixture, init_repo

REPO = Path(__file__).resolve().parents[2]
PACKAGES = REPO / "packages"
TARGET = "hvt"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = missing_programs() + ([] if shutil.which("redis-server") else ["redis-server"])
    if missing or os.geteuid() != 0:
        reason = f"the farm needs root and {', '.join(missing) or 'nothing else'}"
        for item in items:
            if "tests/farm" in str(item.fspath) and "farm" in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.skip(reason=reason))


def restart_redis(server: Redis, directory: Path) -> None:
    """Stop redis-server (SIGKILL: nothing saved) and start a new one on the same port."""
    stop_group(server.process)
    server.process = start_redis(directory, server.port).process


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Redis]:
    directory = tmp_path / "redis"
    directory.mkdir()
    server = start_redis(directory)
    yield server
    stop_group(server.process)


@dataclass
class Farm:
    """Worker processes of one test, their keys (name -> private path) and the store."""

    tmp: Path
    broker: str
    store: Path
    workers: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    keys: dict[str, Path] = field(default_factory=dict)

    def key(self, name: str) -> Path:
        if name not in self.keys:
            path = self.tmp / "keys" / f"{name}.key"
            path.parent.mkdir(parents=True, exist_ok=True)
            write_key_pair(generate_key(), path, None)
            self.keys[name] = path
        return self.keys[name]

    def public(self, name: str) -> Path:
        return self.key(name).with_name(f"{name}.pub.json")

    def log(self, worker: str) -> str:
        return (self.tmp / f"{worker}.log").read_text(errors="replace")

    def start(self, worker: str, key_name: str | None = None) -> subprocess.Popen[bytes]:
        process = start_worker(self.broker, self.key(key_name or worker), self.store, worker,
                               self.tmp / f"{worker}.log")
        self.workers[worker] = process
        return process


@pytest.fixture
def farm(tmp_path: Path, redis: Redis) -> Iterator[Farm]:
    pool = Farm(tmp_path / "farm", redis.url, tmp_path / "farm" / "store")
    pool.tmp.mkdir()
    yield pool
    for process in pool.workers.values():
        stop_group(process)


@pytest.fixture(scope="session")
def author_images(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Path]:
    """The image an author builds and signs for a package (one sandboxed build, cached)."""
    root = tmp_path_factory.mktemp("authors")
    index = load_index(PACKAGES)
    made: dict[str, Path] = {}

    def image(name: str) -> Path:
        if name not in made:
            manifest = next(m for (n, _), m in index.items() if n == name)
            package = read_package_tree(manifest, REPO)
            deps = [read_package_tree(d, REPO) for d in resolve(manifest, index)]
            (request,) = solo5_requests(package, deps, [TARGET])
            outcome = run_build(request, CONTROL, root / name, "author")
            assert outcome.image is not None, outcome.log
            made[name] = outcome.image
        return made[name]

    return image


def stage(fixture: Fixture, name: str, image: Path) -> None:
    """Author `name` signs its release with `image` as its hvt image and stages it."""
    manifest = next(m for (n, _), m in load_index(PACKAGES).items() if n == name)
    work = fixture.work / name
    work.mkdir(parents=True, exist_ok=True)
    source = work / f"{manifest.ident}.tar.gz"
    source.write_bytes(archive_from_tree(REPO, manifest.sources, manifest.source_date_epoch))
    fixture.repo.stage_release(
        name,
        manifest.version,
        PACKAGES / name / manifest.version / "manifest.json",
        source,
        {TARGET: image},
        [load_signer(fixture.keys[name], INSECURE)],
    )


def staged_repo(tmp: Path, releases: dict[str, Path]) -> Fixture:
    fixture = init_repo(tmp / "repository", maintainers=1, threshold=1, authors=list(releases))
    for name, image in releases.items():
        stage(fixture, name, image)
    return fixture


def build_argv(
    fixture: Fixture, farm: Farm, *trusted: str, extra: tuple[str, ...] = ()
) -> list[str]:
    argv = [REPO_TOOL, "build", "--repo", str(fixture.repo_dir), "--tree", str(REPO),
            "--broker", farm.broker, "--store", str(farm.store), "--farm-wait", "240",
            "--json", *extra]
    for name in trusted:
        argv += ["--worker-key", str(farm.public(name))]
    return argv
