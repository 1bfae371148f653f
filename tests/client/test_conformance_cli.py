"""The tuf-conformance client CLI protocol, run as a subprocess against loopback HTTP."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.client.conftest import files_in
from tests.client.simulator import RepositorySimulator, new_signer, serve_http

ENTRYPOINT = str(Path(sys.executable).parent / "tuf-conformance-client")


def run(*args: str | Path, faketime: str | None = None) -> subprocess.CompletedProcess[str]:
    command = [ENTRYPOINT, *map(str, args)]
    if faketime is not None:
        command = ["faketime", faketime, *command]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def served(
    repo: RepositorySimulator, tmp_path: Path
) -> Iterator[tuple[RepositorySimulator, str, str, list[str], Path]]:
    with serve_http(repo) as (metadata_url, targets_url, log):
        metadata_dir = tmp_path / "metadata"
        root_file = tmp_path / "initial_root.json"
        root_file.write_bytes(repo.root_bytes)
        assert run("--metadata-dir", metadata_dir, "init", root_file).returncode == 0
        yield repo, metadata_url, targets_url, log, metadata_dir


@pytest.mark.slow  # starts the installed tuf-conformance-client
def test_init_copies_root_without_network(repo: RepositorySimulator, tmp_path: Path) -> None:
    root_file = tmp_path / "root.json"
    root_file.write_bytes(repo.root_bytes)
    result = run("--metadata-dir", tmp_path / "md", "init", root_file)
    assert result.returncode == 0, result.stderr
    assert files_in(tmp_path / "md") == {"root.json": repo.root_bytes}


def test_refresh_request_sequence_and_byte_exact_storage(
    served: tuple[RepositorySimulator, str, str, list[str], Path],
) -> None:
    repo, metadata_url, _, log, metadata_dir = served
    result = run("--metadata-url", metadata_url, "--metadata-dir", metadata_dir, "refresh")
    assert result.returncode == 0, result.stderr
    assert log == [
        "/metadata/2.root.json",
        "/metadata/timestamp.json",
        "/metadata/1.snapshot.json",
        "/metadata/1.targets.json",
    ]
    assert files_in(metadata_dir) == {
        "root.json": repo.metadata_files["1.root.json"],
        "timestamp.json": repo.metadata_files["timestamp.json"],
        "snapshot.json": repo.metadata_files["1.snapshot.json"],
        "targets.json": repo.metadata_files["1.targets.json"],
    }


def test_root_history_kept_in_a_subdirectory(
    served: tuple[RepositorySimulator, str, str, list[str], Path],
) -> None:
    repo, metadata_url, _, _, metadata_dir = served
    repo.rotate_keys("root")
    repo.publish_root()
    # Options in the other order than the protocol document lists them.
    result = run("--metadata-dir", metadata_dir, "--metadata-url", metadata_url, "refresh")
    assert result.returncode == 0, result.stderr
    stored = files_in(metadata_dir)
    assert stored["root.json"] == repo.metadata_files["2.root.json"]
    assert stored["root_history/2.root.json"] == repo.metadata_files["2.root.json"]
    assert sorted(p.name for p in metadata_dir.glob("*.json")) == [
        "root.json",
        "snapshot.json",
        "targets.json",
        "timestamp.json",
    ]


def test_refused_refresh_exits_1_and_keeps_metadata(
    served: tuple[RepositorySimulator, str, str, list[str], Path],
) -> None:
    repo, metadata_url, _, _, metadata_dir = served
    assert (
        run("--metadata-url", metadata_url, "--metadata-dir", metadata_dir, "refresh").returncode
        == 0
    )
    before = files_in(metadata_dir)
    repo.signers["snapshot"] = [new_signer()]
    repo.release()
    result = run("--metadata-url", metadata_url, "--metadata-dir", metadata_dir, "refresh")
    assert result.returncode == 1
    assert "snapshot: 0 of 1 required signatures" in result.stderr
    assert files_in(metadata_dir)["snapshot.json"] == before["snapshot.json"]


@pytest.mark.slow  # starts the installed tuf-conformance-client
def test_usage_errors_exit_1_not_2(tmp_path: Path) -> None:
    assert run("refresh").returncode == 1
    assert run("--metadata-dir", tmp_path, "explode").returncode == 1
    assert run("--metadata-dir", tmp_path, "--bogus", "refresh").returncode == 1


def test_download_quoted_roles_several_targets_and_cache(
    served: tuple[RepositorySimulator, str, str, list[str], Path], tmp_path: Path
) -> None:
    repo, metadata_url, targets_url, log, metadata_dir = served
    repo.delegate("targets", "../escape", [new_signer()], paths=["dir/*"])
    repo.delegate("targets", "?#", [new_signer()], paths=["other"])
    repo.add_target("../escape", "dir/file one", b"first")
    repo.add_target("?#", "other", b"second")
    repo.release("targets", "../escape", "?#")
    target_dir = tmp_path / "targets"
    download = (
        "--metadata-url",
        metadata_url,
        "--metadata-dir",
        metadata_dir,
        "--target-name",
        "dir/file one",
        "--target-dir",
        target_dir,
        "--target-base-url",
        targets_url,
        "--target-name",
        "other",
        "download",
    )
    result = run(*download)
    assert result.returncode == 0, result.stderr
    assert sorted(files_in(target_dir).values()) == [b"first", b"second"]
    stored = files_in(metadata_dir)
    assert stored["..%2Fescape.json"] == repo.metadata_files["2.../escape.json"]
    assert stored["%3F%23.json"] == repo.metadata_files["2.?#.json"]
    assert not (tmp_path / "escape.json").exists()
    assert "/metadata/2...%2Fescape.json" in log
    assert "/metadata/2.%3F%23.json" in log
    log.clear()
    result = run(*download)
    assert result.returncode == 0, result.stderr
    assert not any(path.startswith("/targets/") for path in log)  # served from the cache


def test_download_of_unknown_target_exits_1(
    served: tuple[RepositorySimulator, str, str, list[str], Path], tmp_path: Path
) -> None:
    _, metadata_url, targets_url, _, metadata_dir = served
    result = run(
        "--metadata-url",
        metadata_url,
        "--metadata-dir",
        metadata_dir,
        "--target-name",
        "missing",
        "--target-dir",
        tmp_path / "t",
        "--target-base-url",
        targets_url,
        "download",
    )
    assert result.returncode == 1
    assert "target 'missing': no trusted metadata lists it" in result.stderr


@pytest.mark.skipif(shutil.which("faketime") is None, reason="faketime is not installed")
def test_clock_follows_libfaketime(
    served: tuple[RepositorySimulator, str, str, list[str], Path],
) -> None:
    _, metadata_url, _, _, metadata_dir = served
    later = (datetime.now(UTC) + timedelta(days=40)).replace(microsecond=0)
    result = run(
        "--metadata-url",
        metadata_url,
        "--metadata-dir",
        metadata_dir,
        "refresh",
        faketime=str(later),
    )
    assert result.returncode == 1
    assert "timestamp version 1 expired" in result.stderr
