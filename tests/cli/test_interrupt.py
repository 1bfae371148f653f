"""Ctrl-C: repo-tool exits 130 with the one line `interrupted`, and the repository verifies.

The signal is sent from outside, to the process group (what a terminal's Ctrl-C does),
while a repo-tool process is in the middle of a multi-file repository write: once at
exact step boundaries (the process is held at a commit step until the signal comes)
and once to the installed command, unmodified, as soon as its commit has begun.
Afterwards `repo-tool verify` passes and running the command again finishes the job.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.repository.helpers import Fixture, init_repo, make_keys, pub, release, run
from tests.support.published import metadata_dir

REPO_TOOL = str(Path(sys.executable).with_name("repo-tool"))
PACKAGES = ("alpha", "beta", "gamma", "delta")

# repo-tool's own entry point, held at commit step LABEL (argv[1]) until it is signalled;
# it writes MARKER (argv[2]) when it gets there. The rest of argv is repo-tool's.
HELD_AT_STEP = """
import os, sys, time
from pathlib import Path
from tuf_metadata.store import set_crash_hook
label, marker = sys.argv[1], Path(sys.argv[2])
def hold(point):
    if point == label:
        marker.write_text(point)
        time.sleep(60)
        os._exit(3)
set_crash_hook(hold)
sys.argv = ["repo-tool", *sys.argv[3:]]
from repo_tool.cli import main
main()
"""


def default_sigint() -> None:
    """In the child: Ctrl-C as a shell would deliver it, even if the test runner ignores it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(argv: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True, preexec_fn=default_sigint)


def ctrl_c(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    os.killpg(process.pid, signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    return process.returncode, stdout, stderr


def interrupt_at(label: str, args: list[str], tmp_path: Path) -> tuple[int, str, str]:
    marker = tmp_path / f"held-at-{label}"
    process = start([sys.executable, "-c", HELD_AT_STEP, label, str(marker), *args])
    deadline = time.monotonic() + 120
    while not marker.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            _, stderr = process.communicate()
            pytest.fail(f"never reached step {label}: status {process.returncode}\n{stderr}")
        time.sleep(0.01)
    return ctrl_c(process)


def verify(repo_dir: Path) -> None:
    done = subprocess.run([REPO_TOOL, "verify", "--repo", str(repo_dir)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok: "), done.stdout


@pytest.fixture
def repo(tmp_path: Path) -> Fixture:
    return init_repo(tmp_path / "fixture", maintainers=1, threshold=1, authors=PACKAGES)


def propose_new_maintainer(fx: Fixture) -> tuple[str, Path]:
    new_key = make_keys(fx.work / "keys", ["m-new"])["m-new"]
    result = run(["maintainers", "--repo", str(fx.repo_dir), "--pubkey", str(pub(new_key)),
                  "-t", "1", "--json"])
    assert result.exit_code == 0, result.output
    return str(json.loads(result.stdout)["id"]), new_key


def sign_args(fx: Fixture, change_id: str, new_key: Path) -> list[str]:
    return ["sign", change_id, "--repo", str(fx.repo_dir), "--insecure-plaintext",
            "--key", str(fx.keys["m0"]), "--key", str(new_key)]


@pytest.mark.parametrize("label", ["commit:shard-80", "timestamp"])
def test_ctrl_c_during_a_maintainer_change(repo: Fixture, tmp_path: Path, label: str) -> None:
    change_id, new_key = propose_new_maintainer(repo)
    status, stdout, stderr = interrupt_at(label, sign_args(repo, change_id, new_key), tmp_path)
    assert (status, stdout, stderr) == (130, "", "interrupted\n")
    verify(repo.repo_dir)
    # Signing again finishes the interrupted commit.
    result = run(sign_args(repo, change_id, new_key))
    assert result.exit_code == 0, result.output
    assert "committed and published" in result.stdout
    assert (metadata_dir(repo.repo_dir) / "2.root.json").is_file()
    verify(repo.repo_dir)


@pytest.mark.parametrize("label", ["publish:targets", "publish:role"])
def test_ctrl_c_during_a_publish(repo: Fixture, tmp_path: Path, label: str) -> None:
    for package in PACKAGES:
        assert release(repo, package, "1.0.0", [package]).exit_code == 0
    publish = ["publish", "--no-build", "--repo", str(repo.repo_dir)]
    status, stdout, stderr = interrupt_at(label, publish, tmp_path)
    assert (status, stderr) == (130, "interrupted\n")
    verify(repo.repo_dir)
    result = run([*publish, "--json"])
    assert result.exit_code == 0, result.output
    published = {entry["package"] for entry in json.loads(result.stdout)}
    assert published | {line.split()[1] for line in stdout.splitlines()} == set(PACKAGES)
    verify(repo.repo_dir)


def test_ctrl_c_to_the_installed_command_mid_commit(repo: Fixture) -> None:
    """The unmodified command, signalled as soon as its first new metadata file appears:
    the commit of 258 roles (each written and fsynced) has begun and is far from done."""
    change_id, new_key = propose_new_maintainer(repo)
    metadata = metadata_dir(repo.repo_dir)
    before = set(os.listdir(metadata))
    process = start([REPO_TOOL, *sign_args(repo, change_id, new_key)])
    deadline = time.monotonic() + 120
    while set(os.listdir(metadata)) <= before and process.poll() is None:
        assert time.monotonic() < deadline, "the commit never began"
        time.sleep(0.001)
    if process.poll() is not None:
        pytest.fail(f"exited {process.returncode} before Ctrl-C: {process.communicate()}")
    status, stdout, stderr = ctrl_c(process)
    assert (status, stdout, stderr) == (130, "", "interrupted\n")
    assert not (metadata / "2.root.json").exists()
    verify(repo.repo_dir)
    result = run(sign_args(repo, change_id, new_key))
    assert result.exit_code == 0, result.output
    assert (metadata / "2.root.json").is_file()
    verify(repo.repo_dir)


def test_ctrl_c_at_a_passphrase_prompt(tmp_path: Path) -> None:
    """Ctrl-C while the passphrase is asked for: 130 and `interrupted`, no key written."""
    process = subprocess.Popen(
        [REPO_TOOL, "key", "generate", str(tmp_path / "new.key")],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        start_new_session=True, preexec_fn=default_sigint)
    assert process.stderr is not None
    asked = b""
    deadline = time.monotonic() + 60
    while b"passphrase for" not in asked:  # the prompt has no newline: read what is there
        assert time.monotonic() < deadline and process.poll() is None, asked
        asked += os.read(process.stderr.fileno(), 4096)
    os.killpg(process.pid, signal.SIGINT)
    _, rest = process.communicate(timeout=60)
    assert process.returncode == 130
    assert (asked + rest).decode().endswith("interrupted\n")
    assert b"Traceback" not in asked + rest
    assert not list(tmp_path.glob("new.*"))
