"""Crash consistency (writers SIGKILLed at random moments) and concurrent writers."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from signing.keys import INSECURE, generate_key, load_public_key, load_signer, write_key_pair
from tests.repository.helpers import Fixture, init_repo, make_keys, make_release_files, pub
from tuf_metadata import layout
from tuf_metadata.repo_verify import SignatureCache, VerificationFailure, verify_repository
from tuf_metadata.repository import Repository
from tuf_metadata.store import set_crash_hook

REPO_TOOL = str(Path(sys.executable).with_name("repo-tool"))
RANDOM_TRIALS = 210
PACKAGES = ("alpha", "beta", "gamma")


def run_and_kill(operation: Callable[[], object], delay: float | None,
                 crash_label: str | None = None) -> bool:
    """Run operation in a forked child; SIGKILL it after delay seconds, or make it die
    (os._exit) at crash point crash_label. Returns True if the child was cut short."""
    pid = os.fork()
    if pid == 0:  # child
        status = 0
        try:
            if crash_label is not None:
                set_crash_hook(lambda label: os._exit(99) if label == crash_label else None)
            operation()
        except BaseException:
            status = 1
        os._exit(status)
    if delay is not None:
        time.sleep(delay)
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return True
    assert os.WEXITSTATUS(status) in (0, 99), f"writer failed, status {status}"
    return os.WEXITSTATUS(status) == 99


class Workload:
    """The writer operations under test, and recovery by simply running them again."""

    def __init__(self, fx: Fixture, rng: random.Random):
        self.fx = fx
        self.rng = rng
        self.repo = fx.repo
        self.signers = {name: fx.signer(name) for name in PACKAGES}
        self.version = 0
        self.verified: SignatureCache = {}

    def current_signer(self, package: str):  # type: ignore[no-untyped-def]
        keys = self.repo._package_context(package).keys
        return next(s for s in self.signers.values() if s.public_key.keyid in keys)

    def publish(self) -> tuple[Callable[[], object], Callable[[], object]]:
        package = self.rng.choice(PACKAGES)
        self.version += 1
        files = make_release_files(self.fx.work / str(self.version), package, str(self.version))
        staged = self.repo.stage_release(
            package, str(self.version), files["manifest"], files["source"],
            {"hvt": files["hvt"]}, [self.current_signer(package)],
        )

        def operation() -> None:
            Repository(self.fx.repo_dir).publish_release(staged, self.repo.author_images(staged))

        def recover() -> None:
            if staged in self.repo.staged_releases():
                operation()
        return operation, recover

    def rotate(self) -> tuple[Callable[[], object], Callable[[], object]]:
        package = self.rng.choice(PACKAGES)
        old = self.current_signer(package)
        new = generate_key()
        self.signers[f"k{len(self.signers)}"] = new
        snapshot = self.repo._package_context(package).snapshot
        before = len(self.repo.rotate_chain(snapshot, layout.package_role(package)))

        def operation() -> None:
            Repository(self.fx.repo_dir).rotate(package, [new.public_key], 1, [old], [new])

        def recover() -> None:
            context = self.repo._package_context(package)
            if len(self.repo.rotate_chain(context.snapshot, layout.package_role(package))) == (
                before
            ):
                # The rotate file may exist unlisted: rewriting identical bytes is allowed,
                # but a fresh signature differs (ed25519 is deterministic, so it is equal).
                operation()
        return operation, recover

    def delegate(self) -> tuple[Callable[[], object], Callable[[], object]]:
        name = f"new{self.rng.randrange(10**9)}"
        change = self.repo.propose_package(name, [self.signers["alpha"].public_key], 1)
        maintainers = [self.fx.signer("m0")]

        def operation() -> None:
            Repository(self.fx.repo_dir).sign_pending(change.change_id, maintainers)

        def recover() -> None:
            if any(c.change_id == change.change_id for c in self.repo.pending_changes()):
                operation()
        return operation, recover

    def snapshot(self) -> tuple[Callable[[], object], Callable[[], object]]:
        return (lambda: Repository(self.fx.repo_dir).resign_snapshot()), (lambda: None)

    def timestamp(self) -> tuple[Callable[[], object], Callable[[], object]]:
        return (lambda: Repository(self.fx.repo_dir).resign_timestamp()), (lambda: None)


@pytest.fixture
def workload(tmp_path: Path) -> Workload:
    # One maintainer keeps each whole-repository check cheap; quorum is tested elsewhere.
    fx = init_repo(tmp_path, maintainers=1, threshold=1, authors=list(PACKAGES))
    return Workload(fx, random.Random(20261125))


def test_crash_at_every_step_boundary_leaves_a_verifying_repository(workload: Workload) -> None:
    labels = {
        "publish": ["publish:targets", "publish:role", "snapshot", "timestamp"],
        "rotate": ["rotate:file", "rotate:role", "snapshot", "timestamp"],
        "delegate": ["commit:" + layout.shard_role("x"), "snapshot", "timestamp"],
    }
    for kind, points in labels.items():
        for label in points:
            operation, recover = getattr(workload, kind)()
            if kind == "delegate":
                change_doc = workload.repo.pending_changes()[-1].documents[0][0]
                label = f"commit:{change_doc}" if label.startswith("commit:") else label
            assert run_and_kill(operation, None, label), f"{kind} never reached {label}"
            verify_repository(workload.fx.repo_dir, cache=workload.verified)
            recover()
            verify_repository(workload.fx.repo_dir, cache=workload.verified)


def test_random_sigkill_of_writers_never_breaks_the_repository(workload: Workload) -> None:
    """>= 200 writers killed at random moments; the published repository verifies after each,
    and running the interrupted operation again completes it."""
    rng = workload.rng
    kinds = ["publish"] * 5 + ["rotate"] * 2 + ["delegate"] + ["snapshot", "timestamp"]
    durations: dict[str, float] = {}
    for kind in set(kinds):  # calibrate: the fastest of three complete runs of each operation
        for _ in range(3):
            operation, _ = getattr(workload, kind)()
            start = time.perf_counter()
            run_and_kill(operation, None)
            elapsed = time.perf_counter() - start
            durations[kind] = min(durations.get(kind, elapsed), elapsed)
    interrupted = 0
    for _ in range(RANDOM_TRIALS):
        kind = rng.choice(kinds)
        operation, recover = getattr(workload, kind)()
        if run_and_kill(operation, rng.uniform(0, durations[kind] * 1.1)):
            interrupted += 1
        verify_repository(workload.fx.repo_dir, cache=workload.verified)
        recover()
    summary = verify_repository(workload.fx.repo_dir, cache=workload.verified)
    print(f"{interrupted} of {RANDOM_TRIALS} writers were cut short")
    assert interrupted >= RANDOM_TRIALS // 4, f"only {interrupted} writers were cut short"
    assert summary.targets > 0


def test_parallel_releases_by_different_authors_all_land(tmp_path: Path) -> None:
    authors = [f"author{i}" for i in range(6)]
    fx = init_repo(tmp_path, authors=authors)
    processes = []
    for author in authors:
        files = make_release_files(tmp_path / "w" / author, author, "1.0")
        script = (
            f"{REPO_TOOL} release {author} 1.0 --repo {fx.repo_dir} --insecure-plaintext "
            f"--manifest {files['manifest']} --source {files['source']} "
            f"--image hvt={files['hvt']} --key {fx.keys[author]} && "
            f"{REPO_TOOL} publish --no-build --repo {fx.repo_dir} {author} 1.0"
        )
        processes.append(subprocess.Popen(["sh", "-c", script], stdout=subprocess.PIPE,
                                          stderr=subprocess.STDOUT, text=True))
    for process in processes:
        output, _ = process.communicate(timeout=120)
        assert process.returncode == 0, output
    summary = verify_repository(fx.repo_dir)
    assert summary.targets == 3 * len(authors)
    snapshot = fx.repo.load_snapshot(fx.repo.load_root().signed).signed
    assert all(snapshot.meta[f"pkg-{a}.json"].version == 1 for a in authors)
    assert not pub(fx.keys["m0"]).read_text() == ""


@pytest.mark.parametrize("label", ["commit:shard-ff", "commit:targets", "commit:root", "snapshot"])
def test_crash_during_a_maintainer_change(tmp_path: Path, label: str) -> None:
    """The one documented window: a crash after N+1.root.json and before timestamp.json leaves
    root ahead of the listed targets until the snapshot service runs (`serve`'s first round).
    Every earlier crash point leaves the repository verifying."""
    fx = init_repo(tmp_path, authors=["alpha"])
    repo = fx.repo
    fx.keys.update(make_keys(tmp_path / "keys", ["m3"]))
    new_set = [load_public_key(pub(fx.keys[m])) for m in ("m1", "m2", "m3")]
    change = repo.propose_maintainers("drop m0, add m3", new_set, 2)
    signers = [fx.signer("m1"), fx.signer("m2"), load_signer(fx.keys["m3"], INSECURE)]

    assert run_and_kill(lambda: Repository(fx.repo_dir).sign_pending(change.change_id, signers),
                        None, label)
    if label in ("commit:root", "snapshot"):
        with pytest.raises(VerificationFailure, match="targets"):
            verify_repository(fx.repo_dir)
        Repository(fx.repo_dir).refresh_snapshot()  # what `serve` does on its first round
    verify_repository(fx.repo_dir)
    # Signing again completes (or finds nothing left to do for) the interrupted change.
    if any(c.change_id == change.change_id for c in repo.pending_changes()):
        repo.sign_pending(change.change_id, signers[:1])
    summary = verify_repository(fx.repo_dir)
    assert summary.root_version == 2


def test_rerun_commit_with_randomised_signatures(tmp_path: Path) -> None:
    """ECDSA signatures differ on every signing: re-running a commit that crashed after
    writing a role file must keep the saved signatures, so the bytes come out identical."""
    maintainers = [generate_key("ecdsa-p256") for _ in range(2)]
    online = {role: generate_key() for role in ("snapshot", "timestamp")}
    repo_dir = tmp_path / "repo"
    (repo_dir / "online").mkdir(parents=True)
    for role, signer in online.items():
        write_key_pair(signer, repo_dir / "online" / f"{role}.key", None)
    repo = Repository(repo_dir)
    change = repo.init(
        [m.public_key for m in maintainers], 2, online["snapshot"].public_key,
        online["timestamp"].public_key,
        {role: Path("online") / f"{role}.key" for role in online}, "insecure",
    )
    repo.sign_pending(change.change_id, maintainers)
    author = generate_key()
    added = repo.propose_package("echo", [author.public_key], 1)
    shard = layout.shard_role("echo")
    assert run_and_kill(
        lambda: Repository(repo_dir).sign_pending(added.change_id, maintainers),
        None, f"commit:{shard}",
    )
    verify_repository(repo_dir)
    # The crashed child's signatures were saved before the commit began; re-running commits.
    _, committed = repo.sign_pending(added.change_id, maintainers[:1])
    assert committed
    assert "echo" in set(repo.packages())
    verify_repository(repo_dir)
