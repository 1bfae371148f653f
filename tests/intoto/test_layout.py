"""The layout's construction, the PEM export in-toto-verify reads, and the recorded command."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from in_toto.models.layout import Layout
from in_toto.models.metadata import Metablock
from securesystemslib.signer import SSlibKey

from repo_tool.cli import cli
from repo_tool.commands.intoto import invocation
from signing.intoto_layout import (
    AUTHOR_STEP,
    BUILDER_STEP,
    REBUILD_STEP,
    LayoutError,
    LayoutKeys,
    build_layout,
    public_key_pem,
    recorded_command,
    sign_layout,
)
from signing.keys import KEY_KINDS, generate_key, write_key_pair

EXPIRES = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)


def keys(n: int) -> list[SSlibKey]:
    return [generate_key().public_key for _ in range(n)]


def test_steps_thresholds_and_rules() -> None:
    author, builder = keys(2)
    rebuilders = keys(3)
    layout = build_layout(LayoutKeys([author], [builder], rebuilders, 2), EXPIRES)
    steps = {s.name: s for s in layout.steps}
    assert list(steps) == [AUTHOR_STEP, BUILDER_STEP, REBUILD_STEP]
    assert steps[AUTHOR_STEP].pubkeys == [author.keyid]
    assert steps[REBUILD_STEP].threshold == 2
    assert steps[REBUILD_STEP].pubkeys == sorted(k.keyid for k in rebuilders)
    assert steps[BUILDER_STEP].expected_products == [
        ["MATCH", "*", "WITH", "PRODUCTS", "FROM", AUTHOR_STEP], ["DISALLOW", "*"]]
    assert [i.name for i in layout.inspect] == ["image-is-built", "image-is-rebuilt"]
    assert set(layout.keys) == {author.keyid, builder.keyid, *(k.keyid for k in rebuilders)}
    assert layout.expires == "2030-01-02T03:04:05Z"


def test_each_step_expects_the_command_its_functionary_runs() -> None:
    author, builder, rebuilder = keys(3)
    layout = build_layout(LayoutKeys([author], [builder], [rebuilder], 1), EXPIRES)
    assert {s.name: s.expected_command for s in layout.steps} == {
        AUTHOR_STEP: ["repo-tool", "build-package"],
        BUILDER_STEP: ["repo-tool", "build"],
        REBUILD_STEP: ["repo-tool", "rebuild"],
    }


def test_a_link_records_its_steps_command_and_any_other_command_whole() -> None:
    """in-toto-verify compares whole commands: a run of the step's own command records
    exactly the expected command (its arguments go into the link's environment); any
    other command is recorded as it ran, so in-toto-verify warns about it."""
    rebuild = ("repo-tool", "rebuild", "--repo-url", "http://127.0.0.1:1", "--name", "alice")
    assert recorded_command(REBUILD_STEP, rebuild) == ["repo-tool", "rebuild"]
    other = ("repo-tool", "build-package", "packages/hello/1.0.0", "--link-step", REBUILD_STEP)
    assert recorded_command(REBUILD_STEP, other) == list(other)
    assert recorded_command(BUILDER_STEP, ("repo-tool", "build", "--repo", "r")) == [
        "repo-tool", "build"]
    assert recorded_command(AUTHOR_STEP, ("repo-tool",)) == ["repo-tool"]
    assert recorded_command(AUTHOR_STEP, ()) == []
    assert recorded_command("another-step", rebuild) == list(rebuild)


def test_without_rebuilders_there_is_no_rebuild_step() -> None:
    author, builder = keys(2)
    layout = build_layout(LayoutKeys([author], [builder]), EXPIRES)
    assert [s.name for s in layout.steps] == [AUTHOR_STEP, BUILDER_STEP]
    assert [i.name for i in layout.inspect] == ["image-is-built"]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda a, b, r: LayoutKeys([], [b]), "at least one author key"),
        (lambda a, b, r: LayoutKeys([a], []), "at least one builder key"),
        (lambda a, b, r: LayoutKeys([a], [b], [r], 2), "threshold 2 is not between 1 and the 1"),
        (lambda a, b, r: LayoutKeys([a], [b], [r], 0), "threshold 0 is not between"),
        (lambda a, b, r: LayoutKeys([a], [b], [], 1), "needs rebuilder keys"),
        (lambda a, b, r: LayoutKeys([a], [b], [r, r], 1), "rebuilder key is given twice"),
        (lambda a, b, r: LayoutKeys([a], [a]), "is both author and builder"),
        (lambda a, b, r: LayoutKeys([a], [b], [b], 1), "is both builder and rebuilder"),
    ],
)
def test_impossible_layouts_are_refused(make: object, message: str) -> None:
    author, builder, rebuilder = keys(3)
    assert callable(make)
    with pytest.raises(LayoutError, match=message):
        build_layout(make(author, builder, rebuilder), EXPIRES)


def test_every_maintainer_signs_once() -> None:
    author, builder = keys(2)
    layout = build_layout(LayoutKeys([author], [builder]), EXPIRES)
    maintainers = [generate_key(), generate_key()]
    document = sign_layout(layout, maintainers)
    metablock = Metablock.from_dict(document)
    assert isinstance(metablock.signed, Layout)
    for signer in maintainers:
        metablock.verify_signature(dict(signer.public_key.to_dict(),
                                        keyid=signer.public_key.keyid))
    with pytest.raises(LayoutError, match="given twice"):
        sign_layout(layout, [maintainers[0], maintainers[0]])
    with pytest.raises(LayoutError, match="at least one maintainer"):
        sign_layout(layout, [])


@pytest.mark.parametrize("kind", KEY_KINDS)
def test_pem_export_keeps_the_keyid_in_toto_derives(kind: str) -> None:
    key = generate_key(kind).public_key  # type: ignore[arg-type]
    pem = public_key_pem(key)
    assert pem.startswith(b"-----BEGIN PUBLIC KEY-----")
    # What in-toto-verify does with a --verification-keys file.
    assert SSlibKey.from_crypto(load_pem_public_key(pem)).keyid == key.keyid


def test_layout_command_errors_are_one_line(tmp_path: Path) -> None:
    for name in ("author", "builder", "rebuilder", "maintainer"):
        write_key_pair(generate_key(), tmp_path / f"{name}.key", None)
    out = tmp_path / "root.layout"
    base = ["intoto", "layout", "--author-key", str(tmp_path / "author.pub.json"),
            "--builder-key", str(tmp_path / "builder.pub.json"),
            "--sign-with", str(tmp_path / "maintainer.key"), "--insecure-plaintext",
            "-o", str(out)]
    result = CliRunner().invoke(cli, [*base, "--rebuilder-key",
                                      str(tmp_path / "rebuilder.pub.json"),
                                      "--rebuild-threshold", "2"])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        "error: rebuild threshold 2 is not between 1 and the 1 rebuilder keys given"]
    assert not out.exists()
    result = CliRunner().invoke(cli, [*base, "--rebuild-threshold", "1"])
    assert result.exit_code == 2 and "--rebuild-threshold needs --rebuilder-key" in result.output
    result = CliRunner().invoke(cli, base)
    assert result.exit_code == 0, result.output
    assert "steps author-build (1 of 1), builder-double-build (1 of 1)" in result.output


def test_the_recorded_command_is_what_the_user_gave() -> None:
    seen: list[tuple[str, ...]] = []

    @click.group()
    def root() -> None:
        pass

    @root.command("build-package")
    @click.argument("manifest")
    @click.option("--target", "targets", multiple=True)
    @click.option("--out", default="build-out")
    @click.option("--no-blame", is_flag=True)
    @click.option("--repo", envvar="TEST_REPO", default=".")
    @click.option("--secret", hide_input=True)
    def build_package(manifest: str, targets: tuple[str, ...], out: str, no_blame: bool,
                      repo: str, secret: str | None) -> None:
        seen.append(invocation(click.get_current_context()))

    result = CliRunner().invoke(root, ["build-package", "--no-blame", "packages/hello/1.0.0",
                                       "--target", "hvt", "--target", "spt",
                                       "--secret", "hunter2-hunter2"],
                                env={"TEST_REPO": "/srv/repo"})
    assert result.exit_code == 0, result.output
    # Defaults (--out) and hidden inputs are not recorded; the environment's value is.
    assert seen == [("repo-tool", "build-package", "packages/hello/1.0.0", "--target", "hvt",
                     "--target", "spt", "--no-blame", "--repo", "/srv/repo")]
