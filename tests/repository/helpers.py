"""Shared helpers of the repository tests: keys, a ready repository, CLI runs, tree digests."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from click.testing import CliRunner, Result

from builder.archive import SourceFile, create_archive
from repo_tool.cli import cli
from signing.keys import INSECURE, generate_key, load_signer, write_key_pair
from tuf_metadata.repository import Repository


def run(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    """Run repo-tool in-process through click (the same code path as the installed command)."""
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def tree_digest(root: Path) -> str:
    """Digest of every file's relative path and bytes under root, except the lock file."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.name != ".lock":
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def make_keys(directory: Path, names: Sequence[str]) -> dict[str, Path]:
    """Plaintext key pairs NAME.key / NAME.pub.json (tests only); returns name -> private path."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name in names:
        private = directory / f"{name}.key"
        if not private.exists():
            write_key_pair(generate_key(), private, None)
        paths[name] = private
    return paths


def pub(private: Path) -> Path:
    return private.with_name(private.name[: -len(".key")] + ".pub.json")


@dataclass
class Fixture:
    repo_dir: Path
    keys: dict[str, Path]
    work: Path
    env: dict[str, str]

    @property
    def repo(self) -> Repository:
        return Repository(self.repo_dir)

    def signer(self, name: str):  # type: ignore[no-untyped-def]
        return load_signer(self.keys[name], INSECURE)


def make_release_files(work: Path, package: str, version: str, targets: Sequence[str] = ("hvt",)
                       ) -> dict[str, Path]:
    """A manifest, its source archive and one image per target, with release-specific bytes
    (the images are not real builds: the builder is not part of these tests)."""
    work.mkdir(parents=True, exist_ok=True)
    stem = f"{package}-{version}".replace("/", "_")
    manifest = work / f"{stem}-manifest.json"
    manifest.write_text(json.dumps({
        "name": package, "version": version, "license": "ISC", "authors": ["test"],
        "kind": "unikernel", "sources": ["main.c"], "targets": list(targets),
        "source_date_epoch": SOURCE_DATE_EPOCH,
    }))
    source = work / f"{stem}.tar.gz"
    code = f"/* {package} {version} {os.urandom(8).hex()} */\nint main(void) {{ return 0; }}\n"
    source.write_bytes(create_archive({"main.c": SourceFile("main.c", code.encode())},
                                      SOURCE_DATE_EPOCH))
    files = {"manifest": manifest, "source": source}
    for target in targets:
        image = work / f"{stem}.{target}"
        image.write_bytes(f"{package} {version} {target}".encode() + os.urandom(32))
        files[target] = image
    return files


SOURCE_DATE_EPOCH = 1_700_000_000

_TEMPLATES: dict[tuple[object, ...], Path] = {}
_TEMPLATE_ROOT: list[Path] = []


def init_repo(tmp: Path, maintainers: int = 3, threshold: int = 2,
              authors: Sequence[str] = (), online_env: dict[str, str] | None = None,
              shard_digits: int | None = None) -> Fixture:
    """A committed repository (maintainers m0..m{n-1}, threshold) with the given packages,
    each delegated to one author key named like the package; made through the CLI.

    The ceremony signs 258 roles, so each distinct set-up is made once per test session
    and copied (keys included) into tmp for each test.
    """
    spec = (maintainers, threshold, tuple(authors), tuple(sorted((online_env or {}).items())),
            shard_digits)
    template = _TEMPLATES.get(spec)
    if template is None:
        if not _TEMPLATE_ROOT:
            _TEMPLATE_ROOT.append(Path(tempfile.mkdtemp(prefix="repo-templates-")))
            atexit.register(shutil.rmtree, _TEMPLATE_ROOT[0], True)
        template = _TEMPLATE_ROOT[0] / str(len(_TEMPLATES))
        _make_repo(template, maintainers, threshold, authors, online_env, shard_digits)
        _TEMPLATES[spec] = template
    tmp.mkdir(parents=True, exist_ok=True)
    for part in ("keys", "repo"):
        shutil.copytree(template / part, tmp / part, dirs_exist_ok=True)
    keys = {path.name[: -len(".key")]: path for path in (tmp / "keys").glob("*.key")}
    return Fixture(tmp / "repo", keys, tmp / "work", online_env or {})


def _make_repo(tmp: Path, maintainers: int, threshold: int, authors: Sequence[str],
               online_env: dict[str, str] | None, shard_digits: int | None) -> None:
    names = [f"m{i}" for i in range(maintainers)] + list(authors)
    keys = make_keys(tmp / "keys", names)
    repo_dir = tmp / "repo"
    online = ["--online-passphrase-env", next(iter(online_env))] if online_env else [
        "--insecure-online-keys"
    ]
    args = ["init", "--repo", str(repo_dir), "-t", str(threshold), "--insecure-plaintext", *online]
    for i in range(maintainers):
        args += ["--pubkey", str(pub(keys[f"m{i}"]))]
    for i in range(threshold):
        args += ["--key", str(keys[f"m{i}"])]
    if shard_digits is not None:
        args += ["--shard-digits", str(shard_digits)]
    result = run(args, env=online_env)
    assert result.exit_code == 0, result.output
    fixture = Fixture(repo_dir, keys, tmp / "work", online_env or {})
    for author in authors:
        delegate(fixture, author, [author], 1, threshold)


def delegate(fixture: Fixture, package: str, authors: Sequence[str], k: int,
             signatures: int) -> str:
    args = ["package", "add", package, "--repo", str(fixture.repo_dir), "-t", str(k), "--json"]
    for author in authors:
        args += ["--pubkey", str(pub(fixture.keys[author]))]
    result = run(args)
    assert result.exit_code == 0, result.output
    change_id = str(json.loads(result.output)["id"])
    sign_args = ["sign", change_id, "--repo", str(fixture.repo_dir), "--insecure-plaintext"]
    for i in range(signatures):
        sign_args += ["--key", str(fixture.keys[f"m{i}"])]
    result = run(sign_args, env=fixture.env)
    assert result.exit_code == 0, result.output
    return change_id


def release(fixture: Fixture, package: str, version: str, signers: Sequence[str],
            targets: Sequence[str] = ("hvt",)) -> Result:
    files = make_release_files(fixture.work, package, version, targets)
    args = ["release", package, version, "--repo", str(fixture.repo_dir), "--insecure-plaintext",
            "--manifest", str(files["manifest"]), "--source", str(files["source"])]
    for target in targets:
        args += ["--image", f"{target}={files[target]}"]
    for signer in signers:
        args += ["--key", str(fixture.keys[signer])]
    return run(args, env=fixture.env)


def publish(fixture: Fixture) -> None:
    """`publish --no-build`: everything staged goes out; it must succeed."""
    result = run(["publish", "--no-build", "--repo", str(fixture.repo_dir)])
    assert result.exit_code == 0, result.output
