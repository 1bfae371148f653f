"""End to end: an author releases hello with its build info, the maintainers delegate a
rebuilder, `repo-tool rebuild --submit` rebuilds from the served repository alone and
publishes its attestation, and an operator's `fetch --require-rebuilders 1` accepts the image.

Real: the repository (CLI), the sandboxed double builds, the project's HTTP server, the
verifying client on both sides.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from builder.archive import archive_from_tree
from builder.plan import load_index
from repo_tool.cli import cli
from tests.rebuilder.support import World, add_rebuilder, fetch, served
from tests.repository.helpers import init_repo, make_keys, run
from tests.support.published import metadata_dir, targets_dir
from tuf_metadata import layout

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "packages" / "hello" / "1.0.0"

pytestmark = [pytest.mark.slow, pytest.mark.sandbox]  # skipped where the sandbox cannot run


def test_a_remote_rebuilder_confirms_a_release_and_the_operator_requires_it(
    tmp_path: Path,
) -> None:
    fx = init_repo(tmp_path, authors=["hello"])
    fx.keys.update(make_keys(tmp_path / "keys", ["alice"]))
    world = World(fx)
    # The author: build, then release with the image and its build info; published unbuilt.
    author = run(["build-package", str(HELLO), "--tree", str(REPO), "--target", "hvt",
                  "--out", str(tmp_path / "author"), "--no-blame"])
    assert author.exit_code == 0, author.output
    built = tmp_path / "author" / "hello" / "1.0.0"
    manifest = load_index(REPO / "packages")[("hello", "1.0.0")]
    assert (built / "hello-1.0.0.tar.gz").read_bytes() == archive_from_tree(
        REPO, manifest.sources, manifest.source_date_epoch)
    released = run(["release", "hello", "1.0.0", "--repo", str(fx.repo_dir),
                    "--manifest", str(HELLO / "manifest.json"),
                    "--source", str(built / "hello-1.0.0.tar.gz"),
                    "--image", f"hvt={built / 'hvt' / 'hello.hvt'}",
                    "--buildinfo", f"hvt={built / 'hvt' / 'buildinfo.json'}",
                    "--key", str(fx.keys["hello"]), "--insecure-plaintext"])
    assert released.exit_code == 0, released.output
    published = run(["publish", "--no-build", "--repo", str(fx.repo_dir)])
    assert published.exit_code == 0, published.output
    add_rebuilder(world, "alice")

    with served(world) as url:
        refused = fetch(world, url, tmp_path / "before", "--require-rebuilders", "1")
        assert refused.exit_code != 0  # nobody confirmed it yet
        rebuilt = CliRunner().invoke(cli, [
            "rebuild", "--repo-url", url, "--root", str(metadata_dir(fx.repo_dir) / "1.root.json"),
            "--key", str(fx.keys["alice"]), "--insecure-plaintext", "--name", "alice",
            "--out", str(tmp_path / "rebuild-out"), "--submit", str(fx.repo_dir), "--json",
        ])
        assert rebuilt.exit_code == 0, rebuilt.stderr
        summary = json.loads(rebuilt.stdout)
        (release,) = summary["releases"]
        (target,) = release["targets"]
        assert (target["outcome"], target["toolchain"]) == ("confirmed", "same")
        assert summary["submitted"] == 1
        (listed,) = json.loads(run(["rebuilder", "list", "--repo", str(fx.repo_dir),
                                    "--json"]).output)
        assert (listed["name"], listed["attestations"]) == ("alice", 1)
        path = layout.attestation_path("hello", "1.0.0", "hvt", "alice")
        written = (tmp_path / "rebuild-out" / path).read_bytes()
        folder, name = path.rsplit("/", 1)
        (stored,) = (targets_dir(fx.repo_dir) / folder).glob(f"*.{name}")
        assert stored.read_bytes() == written
        accepted = fetch(world, url, tmp_path / "after", "--require-rebuilders", "1")
        assert accepted.exit_code == 0, accepted.output
    assert (tmp_path / "after" / "hello.hvt").read_bytes() == (
        built / "hvt" / "hello.hvt").read_bytes()
