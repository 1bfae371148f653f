"""Shared set-up of the rebuilder-role tests: a repository with hello 1.0.0 published,
rebuilders delegated through the maintainers' quorum, signed verdicts made with
builder.verdict (no real builds: what is under test is who may attest what, and what
an operator accepts), the repository served on loopback HTTP, and `repo-tool` runs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from click.testing import CliRunner, Result
from securesystemslib.signer import Signer
from tuf.api.metadata import Metadata, TargetFile, Targets

from builder.status import BuildStatus
from builder.verdict import BuildVerdict, sign_verdict, verdict_statement
from repo_tool.cli import cli
from signing.keys import INSECURE, load_signer
from tests.repository.helpers import Fixture, init_repo, make_keys, pub, release, run
from tests.support.http_thread import running
from tests.support.published import metadata_dir, published_dir
from tuf_metadata import layout
from tuf_metadata.http_server import HttpLimits, PublishedTreeServer
from tuf_metadata.repo_types import metadata_bytes, utc_now
from tuf_metadata.repository import Repository

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

PACKAGE, VERSION = "hello", "1.0.0"
REBUILDER_NAMES = ("alice", "bob", "carol", "mallory")


@dataclass
class World:
    """A published repository (hello 1.0.0, hvt and spt) and the rebuilders' keys."""

    fx: Fixture

    @property
    def repo(self) -> Repository:
        return Repository(self.fx.repo_dir)

    def signer(self, name: str) -> Signer:
        return load_signer(self.fx.keys[name], INSECURE)

    def key_file(self, name: str) -> Path:
        return self.fx.keys[name]

    def image_sha256(self, target: str = "hvt", version: str = VERSION) -> str:
        role = self.repo.current_package(PACKAGE)
        assert role is not None
        path = SHARDS.target_path(PACKAGE, version, f"{PACKAGE}.{target}")
        return str(role.signed.targets[path].hashes["sha256"])

    def image_length(self, target: str = "hvt") -> int:
        role = self.repo.current_package(PACKAGE)
        assert role is not None
        return int(role.signed.targets[SHARDS.target_path(PACKAGE, VERSION,
                                                          f"{PACKAGE}.{target}")].length)


def make_world(tmp: Path) -> World:
    fx = init_repo(tmp, authors=[PACKAGE])
    fx.keys.update(make_keys(tmp / "keys", [*REBUILDER_NAMES, "alice2", "bob2"]))
    result = release(fx, PACKAGE, VERSION, [PACKAGE], ("hvt", "spt"))
    assert result.exit_code == 0, result.output
    result = run(["publish", "--no-build", "--repo", str(fx.repo_dir)])
    assert result.exit_code == 0, result.output
    return World(fx)


def add_rebuilder(world: World, name: str, keys: Sequence[str] | None = None,
                  threshold: int = 1) -> None:
    """`rebuilder add` proposed, then signed by two maintainers (the quorum)."""
    args = ["rebuilder", "add", name, "--repo", str(world.fx.repo_dir), "-t", str(threshold),
            "--json"]
    for key in keys or [name]:
        args += ["--key", str(pub(world.key_file(key)))]
    result = run(args)
    assert result.exit_code == 0, result.output
    change = json.loads(result.output)["id"]
    sign = ["sign", change, "--repo", str(world.fx.repo_dir), "--insecure-plaintext",
            "--key", str(world.key_file("m0")), "--key", str(world.key_file("m1"))]
    result = run(sign)
    assert result.exit_code == 0, result.output


def envelope(
    signer: Signer, sha256: str, *, target: str = "hvt", version: str = VERSION,
    package: str = PACKAGE, status: BuildStatus = BuildStatus.REPRODUCIBLE,
    toolchain: str = "same", size: int = 1000, builder_id: str = "rebuilder",
) -> bytes:
    """A signed verdict's DSSE envelope as a rebuilder publishes it (JSON, then a newline)."""
    names_image = status in (BuildStatus.REPRODUCIBLE, BuildStatus.BUILT)
    verdict = BuildVerdict(
        package=package, version=version, target=target, status=status,
        reason="test verdict", sha256=sha256 if names_image else None,
        size=size if names_image else None, input_id="c" * 64, builder_id=builder_id,
        toolchain=toolchain,
    )
    statement = verdict_statement(
        verdict, build_type="https://unirepo.invalid/test", source_date_epoch=0,
        internal_parameters={}, resolved_dependencies=[], invocation_id="1",
        started_on="2026-01-01T00:00:00Z", finished_on="2026-01-01T00:00:01Z",
    )
    return (json.dumps(sign_verdict(statement, signer).envelope) + "\n").encode()


def attestation(name: str, target: str = "hvt", version: str = VERSION) -> str:
    return layout.attestation_path(PACKAGE, version, target, name)


def submit(world: World, name: str, files: dict[str, bytes], keys: Sequence[str] | None = None
           ) -> Result:
    """`rebuilder submit NAME` with TARGET_PATH=FILE arguments."""
    work = world.fx.work / "attest"
    work.mkdir(parents=True, exist_ok=True)
    args = ["rebuilder", "submit", name, "--repo", str(world.fx.repo_dir), "--insecure-plaintext"]
    for key in keys or [name]:
        args += ["--key", str(world.key_file(key))]
    for path, data in files.items():
        local = work / hashlib.sha256(path.encode() + data).hexdigest()
        local.write_bytes(data)
        args.append(f"{path}={local}")
    return CliRunner().invoke(cli, args)


def confirm(world: World, name: str, target: str = "hvt", key: str | None = None) -> None:
    """Rebuilder NAME publishes a positive attestation for the published image."""
    data = envelope(world.signer(key or name), world.image_sha256(target), target=target,
                    size=world.image_length(target))
    result = submit(world, name, {attestation(name, target): data}, [key or name])
    assert result.exit_code == 0, result.output


def plant_role(world: World, name: str, targets: dict[str, bytes], signer: str,
               version: int = 1) -> None:
    """Write rebuilder NAME's role VERSION listing TARGETS (and their files), signed by
    SIGNER, straight into the repository, bypassing `submit`'s checks: what a crashed
    writer, or one that skipped the checks, leaves for the snapshot service to find."""
    repo = world.repo
    md = Metadata(Targets(version=version, expires=utc_now() + timedelta(days=30),
                          targets={path: TargetFile.from_data(path, data, ["sha256"])
                                   for path, data in targets.items()}))
    md.sign(world.signer(signer))
    for path, data in targets.items():
        folder, filename = path.rsplit("/", 1)
        digest = md.signed.targets[path].hashes["sha256"]
        stored = repo.targets_dir / folder / f"{digest}.{filename}"
        stored.parent.mkdir(parents=True, exist_ok=True)
        stored.write_bytes(data)
    repo.files.role_file(layout.rebuilder_role(name), version).write_bytes(metadata_bytes(md))


@contextmanager
def served(world: World) -> Iterator[str]:
    """The repository's published tree over loopback HTTP (the project's own server)."""
    server = PublishedTreeServer(("127.0.0.1", 0), published_dir(world.fx.repo_dir), HttpLimits())
    with running(server) as url:
        yield url


def fetch(world: World, url: str, out: Path, *extra: str) -> Result:
    """`repo-tool fetch hello` through the verifying client into OUT."""
    args = ["fetch", PACKAGE, "--url", url, "--root",
            str(metadata_dir(world.fx.repo_dir) / "1.root.json"), "-o", str(out),
            "--metadata-dir", str(out.parent / f"{out.name}-md"), *extra]
    return CliRunner().invoke(cli, args)


def tree(directory: Path) -> dict[str, bytes]:
    """Every file under DIRECTORY (the trusted state or the output), by relative path."""
    if not directory.exists():
        return {}
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}
