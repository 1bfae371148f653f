"""`repo-tool build` without --broker is the in-process gate, unchanged; farm options are
refused where they make no sense, with one line and before anything is built."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from repo_tool.cli import cli
from signing.keys import generate_key, write_key_pair


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_worker_key_without_broker_is_refused(tmp_path: Path) -> None:
    write_key_pair(generate_key(), tmp_path / "w.key", None)
    status, output = invoke("build", "--repo", str(tmp_path), "--worker-key",
                            str(tmp_path / "w.pub.json"))
    assert status == 2 and "--worker-key needs --broker" in output


def test_broker_without_worker_key_is_refused(tmp_path: Path) -> None:
    status, output = invoke("build", "--repo", str(tmp_path), "--broker", "redis://127.0.0.1:1/0")
    assert status == 2 and "--broker needs at least one --worker-key" in output


def test_broker_must_be_redis(tmp_path: Path) -> None:
    write_key_pair(generate_key(), tmp_path / "w.key", None)
    status, output = invoke("build", "--repo", str(tmp_path), "--broker", "amqp://x",
                            "--worker-key", str(tmp_path / "w.pub.json"))
    assert status == 2 and "redis://" in output


def test_worker_id_is_a_plain_name(tmp_path: Path) -> None:
    write_key_pair(generate_key(), tmp_path / "w.key", None)
    status, output = invoke("worker", "--broker", "redis://127.0.0.1:1/0", "--key",
                            str(tmp_path / "w.key"), "--insecure-plaintext", "--store",
                            str(tmp_path / "store"), "--worker-id", "w1/../x")
    assert status == 2 and "--worker-id" in output


def rebuild_args(tmp_path: Path) -> list[str]:
    """`repo-tool rebuild`'s required options (nothing is contacted before the farm checks)."""
    if not (tmp_path / "r.key").exists():
        write_key_pair(generate_key(), tmp_path / "r.key", None)
        (tmp_path / "root.json").write_text("{}")
    return ["rebuild", "--repo-url", "http://127.0.0.1:1", "--root", str(tmp_path / "root.json"),
            "--key", str(tmp_path / "r.key"), "--insecure-plaintext", "--name", "alice",
            "--out", str(tmp_path / "out")]


def test_rebuild_farm_options_are_checked_before_anything_runs(tmp_path: Path) -> None:
    write_key_pair(generate_key(), tmp_path / "w.key", None)
    worker_key = str(tmp_path / "w.pub.json")
    status, output = invoke(*rebuild_args(tmp_path), "--worker-key", worker_key)
    assert status == 2 and "--worker-key needs --broker" in output
    status, output = invoke(*rebuild_args(tmp_path), "--broker", "redis://127.0.0.1:1/0")
    assert status == 2 and "--broker needs at least one --worker-key" in output
    status, output = invoke(*rebuild_args(tmp_path), "--broker", "amqp://x",
                            "--worker-key", worker_key)
    assert status == 2 and "redis://" in output
    status, output = invoke(*rebuild_args(tmp_path), "--broker", "redis://127.0.0.1:1/0",
                            "--worker-key", worker_key, "--require-workers", "2")
    assert status == 1 and "--require-workers 2 with only 1 --worker-key" in output
    assert not (tmp_path / "out").exists()
