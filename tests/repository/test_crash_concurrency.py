"""Crash consistency (writers SIGKILLed at random moments) and concurrent writers."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from functools import partial
from pathlib import Path

import pytest
from tuf.api.metadata import Root

from signing.keys import INSECURE, generate_key, load_public_key, load_signer, write_key_pair
from tests.repository.helpers import (
    Fixture,
    init_repo,
    make_keys,
    make_release_files,
    pub,
    tree_digest,
)
from tests.support.published import metadata_dir
from tuf_metadata import layout
from tuf_metadata.repo_verify import SignatureCache, VerificationFailure, verify_repository
from tuf_metadata.repository import QuorumError, Repository
from tuf_metadata.store import set_crash_hook

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

REPO_TOOL = str(Path(sys.executable).with_name("repo-tool"))
RANDOM_TRIALS = 210
PACKAGES = ("alpha", "beta", "gamma")


def run_and_kill(operation: Callable[[], object], crash_label: str) -> bool:
    """Run operation in a forked child and make it die (os._exit) at crash point crash_label.
    Returns True if the child was cut short."""
    pid = os.fork()
    if pid == 0:  # child
        status = 0
        try:
            set_crash_hook(lambda label: os._exit(99) if label == crash_label else None)
            operation()
        except BaseException:
            status = 1
        os._exit(status)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return True
    assert os.WEXITSTATUS(status) in (0, 99), f"writer failed, status {status}"
    return os.WEXITSTATUS(status) == 99


MAINTAINER_CHANGE_POINTS = [
    "commit:shard-00", "commit:shard-ff", "commit:targets", "snapshot", "timestamp", "commit:root",
]


def published_root_bytes(repo_dir: Path) -> list[bytes]:
    """1.root.json .. N.root.json."""
    roots: list[bytes] = []
    while (path := metadata_dir(repo_dir) / f"{len(roots) + 1}.root.json").exists():
        roots.append(path.read_bytes())
    return roots


def listed_version(repo_dir: Path, role: str) -> int:
    """The version of ROLE in the snapshot that timestamp.json lists (what clients see)."""
    metadata = metadata_dir(repo_dir)
    timestamp = json.loads((metadata / "timestamp.json").read_bytes())
    snapshot_version = timestamp["signed"]["meta"]["snapshot.json"]["version"]
    snapshot = json.loads((metadata / f"{snapshot_version}.snapshot.json").read_bytes())
    return int(snapshot["signed"]["meta"][f"{role}.json"]["version"])


def proposed_root_bytes(repo: Repository, change_id: str, version: int) -> bytes:
    """The signed new root of a maintainer change: from its pending file, or once that is
    gone, as published."""
    pending = [c for c in repo.pending_changes() if c.change_id == change_id]
    if pending:
        return next(md for role, md in pending[0].documents if role == "root").to_bytes()
    return (repo.metadata_dir / f"{version}.root.json").read_bytes()


class Workload:
    """The writer operations under test, and recovery by simply running them again."""

    def __init__(self, fx: Fixture, rng: random.Random):
        self.fx = fx
        self.rng = rng
        self.repo = fx.repo
        self.signers = {name: fx.signer(name) for name in PACKAGES}
        self.version = 0
        self.verified: SignatureCache = {}
        self.maintainer = fx.signer("m0")
        # The last proposed maintainer change: its id, and its root and targets versions.
        self.root_change: tuple[str, int, int] | None = None

    def verify(self) -> None:
        """Verify as clients holding each root would: from 1.root.json (walking the whole
        chain), from the newest published root, and, once the last maintainer change's
        timestamp is written, from its new root even before N+1.root.json is."""
        repo_dir = self.fx.repo_dir
        verify_repository(repo_dir, cache=self.verified)
        newest = published_root_bytes(repo_dir)[-1]
        verify_repository(repo_dir, cache=self.verified, trusted_root=newest)
        if self.root_change is not None:
            change_id, root_version, targets_version = self.root_change
            if listed_version(repo_dir, "targets") >= targets_version:
                new_root = proposed_root_bytes(self.repo, change_id, root_version)
                verify_repository(repo_dir, cache=self.verified, trusted_root=new_root)

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
        maintainers = [self.maintainer]

        def operation() -> None:
            Repository(self.fx.repo_dir).sign_pending(change.change_id, maintainers)

        def recover() -> None:
            if any(c.change_id == change.change_id for c in self.repo.pending_changes()):
                operation()
        return operation, recover

    def maintainers(self) -> tuple[Callable[[], object], Callable[[], object]]:
        """Replace the maintainer key (root, targets and all 256 shards re-signed)."""
        old, new = self.maintainer, generate_key()
        change = self.repo.propose_maintainers("replace the maintainer", [new.public_key], 1)
        versions = {role: md.signed.version for role, md in change.documents}
        self.root_change = (change.change_id, versions["root"], versions["targets"])

        def operation() -> None:
            Repository(self.fx.repo_dir).sign_pending(change.change_id, [old, new])

        def recover() -> None:
            if any(c.change_id == change.change_id for c in self.repo.pending_changes()):
                operation()
            self.maintainer = new
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
        "publish": ["publish:targets", "publish:role", "snapshot", "snapshot:index", "timestamp"],
        "rotate": ["rotate:file", "rotate:role", "snapshot", "snapshot:index", "timestamp"],
        "delegate": ["commit:" + SHARDS.shard_role("x"), "snapshot", "snapshot:index", "timestamp"],
        "maintainers": MAINTAINER_CHANGE_POINTS,
    }
    for kind, points in labels.items():
        for label in points:
            operation, recover = getattr(workload, kind)()
            if kind == "delegate":
                change_doc = workload.repo.pending_changes()[-1].documents[0][0]
                label = f"commit:{change_doc}" if label.startswith("commit:") else label
            assert run_and_kill(operation, label), f"{kind} never reached {label}"
            workload.verify()
            recover()
            workload.verify()
    assert len(published_root_bytes(workload.fx.repo_dir)) == 1 + len(MAINTAINER_CHANGE_POINTS)


def count_step_boundaries(operation: Callable[[], object]) -> int:
    """Run operation to completion in a forked child; the number of crash points it passed."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        passed: list[str] = []
        set_crash_hook(passed.append)
        status = 0
        try:
            operation()
            os.write(write_end, str(len(passed)).encode())
        except BaseException:
            status = 1
        os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        reported = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"writer failed, {status}"
    return int(reported)


def kill_within_step(operation: Callable[[], object], window: int, delay: float) -> bool:
    """Run operation in a forked child and SIGKILL it at a random moment inside its step
    window `window` (0: before the first crash point; k: between crash points k and k+1; the
    last window ends with the operation): `delay` seconds after the window opens, or at the
    window's closing crash point if that comes first. No timing calibration is needed: the
    kill always lands inside the chosen window. Returns True if the child was killed."""
    pid = os.fork()
    if pid == 0:  # child
        passed = 0
        armed = False

        def arm() -> None:
            nonlocal armed
            armed = True
            killer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGKILL))
            killer.daemon = True
            killer.start()

        def wait_for_the_kill() -> None:
            time.sleep(60)
            os._exit(3)  # the kill never came: the parent fails the test

        def hook(label: str) -> None:
            nonlocal passed
            passed += 1
            if passed == window:
                arm()
            elif passed == window + 1:
                wait_for_the_kill()

        status = 0
        try:
            if window == 0:
                arm()
            set_crash_hook(hook)
            operation()
            if armed:
                wait_for_the_kill()
        except BaseException:
            status = 1
        os._exit(status)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return True
    assert os.WEXITSTATUS(status) == 0, f"writer failed, status {status}"
    return False


@pytest.mark.timeout(1800)  # ~1 s of CPU per trial; a loaded machine needs headroom
def test_random_sigkill_of_writers_never_breaks_the_repository(workload: Workload) -> None:
    """>= 200 writers SIGKILLed at random moments; the published repository verifies after
    each, and running the interrupted operation again completes it. Each kill lands at a random
    moment inside a randomly chosen step of the operation, so the test asserts invariants only:
    it needs no wall-clock calibration and behaves the same on a loaded machine."""
    rng = workload.rng
    kinds = ["publish"] * 5 + ["rotate"] * 2 + ["maintainers"] * 2
    kinds += ["delegate", "snapshot", "timestamp"]
    windows: dict[str, int] = {}
    for kind in sorted(set(kinds)):
        operation, recover = getattr(workload, kind)()
        windows[kind] = count_step_boundaries(operation) + 1
        recover()
    # Every step of the short operations once, the other trials at random, in random order.
    plan = [(kind, window) for kind in sorted(set(kinds)) if windows[kind] <= 8
            for window in range(windows[kind])]
    for _ in range(RANDOM_TRIALS - len(plan)):
        kind = rng.choice(kinds)
        plan.append((kind, rng.randrange(windows[kind])))
    rng.shuffle(plan)
    interrupted: Counter[tuple[str, int]] = Counter()
    for kind, window in plan:
        operation, recover = getattr(workload, kind)()
        if kill_within_step(operation, window, rng.uniform(0.0, 0.005)):
            interrupted[kind, window] += 1
        workload.verify()  # no recovery step before this
        recover()
    workload.verify()
    summary = verify_repository(workload.fx.repo_dir, cache=workload.verified)
    print(f"{sum(interrupted.values())} of {RANDOM_TRIALS} writers were cut short")
    assert sum(interrupted.values()) == RANDOM_TRIALS, "every writer is killed in its window"
    # Every step of the short operations was cut at least once; a maintainer change has a
    # step per shard role (hundreds), of which the trials sample at random.
    never = [(kind, window) for kind, count in windows.items() for window in range(count)
             if count <= 8 and not interrupted[kind, window]]
    assert not never, f"steps never interrupted: {never}"
    assert {kind for kind, _ in interrupted} == set(kinds)
    assert summary.targets > 0


@pytest.mark.slow
def test_parallel_releases_by_different_authors_all_land(tmp_path: Path) -> None:
    authors = [f"author{i}" for i in range(6)]
    fx = init_repo(tmp_path, authors=authors)
    processes = []
    for author in authors:
        files = make_release_files(tmp_path / "w" / author, author, "1.0.0")
        script = (
            f"{REPO_TOOL} release {author} 1.0.0 --repo {fx.repo_dir} --insecure-plaintext "
            f"--manifest {files['manifest']} --source {files['source']} "
            f"--image hvt={files['hvt']} --key {fx.keys[author]} && "
            f"{REPO_TOOL} publish --no-build --repo {fx.repo_dir} {author} 1.0.0"
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


@pytest.mark.parametrize("label", MAINTAINER_CHANGE_POINTS)
def test_crash_during_a_maintainer_change_verifies_under_both_roots(
    tmp_path: Path, label: str
) -> None:
    """Drop m0, add m3 (2 of 3 before and after), killed at each step: with no recovery step
    the repository verifies for a client holding the old root, and from the timestamp on
    (the commit point) for a client holding the new root too. Signing again completes it."""
    fx = init_repo(tmp_path, authors=["alpha"])
    repo = fx.repo
    fx.keys.update(make_keys(tmp_path / "keys", ["m3"]))
    new_set = [load_public_key(pub(fx.keys[m])) for m in ("m1", "m2", "m3")]
    change = repo.propose_maintainers("drop m0, add m3", new_set, 2)
    signers = [fx.signer("m0"), fx.signer("m1"), load_signer(fx.keys["m3"], INSECURE)]
    old_root = (metadata_dir(fx.repo_dir) / "1.root.json").read_bytes()

    assert run_and_kill(lambda: Repository(fx.repo_dir).sign_pending(change.change_id, signers),
                        label)
    new_root = proposed_root_bytes(repo, change.change_id, 2)
    old_view = verify_repository(fx.repo_dir, trusted_root=old_root)
    committed = label in ("timestamp", "commit:root")
    assert old_view.root_version == (2 if label == "commit:root" else 1)
    if committed:
        assert verify_repository(fx.repo_dir, trusted_root=new_root).root_version == 2
    else:  # the new targets is not published yet: the old maintainers' one does not verify
        with pytest.raises(VerificationFailure, match="targets"):
            verify_repository(fx.repo_dir, trusted_root=new_root)
    # The snapshot service may run in the window (it lists complete orphan files that verify
    # under the current root: here the new targets and shards once targets is written).
    Repository(fx.repo_dir).refresh_snapshot()
    after_service = verify_repository(fx.repo_dir, trusted_root=old_root)
    assert after_service.root_version == old_view.root_version
    # Signing again with any one key completes the interrupted change.
    _, done = repo.sign_pending(change.change_id, signers[1:2])
    assert done
    for trusted in (old_root, new_root):
        assert verify_repository(fx.repo_dir, trusted_root=trusted).root_version == 2
    assert not repo.pending_changes()


def test_release_published_between_the_commit_point_and_the_new_root(tmp_path: Path) -> None:
    """Crash after the timestamp; an author publishes before the change is completed (under
    the old root, against the new shards); completing the change keeps that release."""
    fx = init_repo(tmp_path, maintainers=1, threshold=1, authors=["alpha"])
    repo = fx.repo
    old, new = fx.signer("m0"), generate_key()
    change = repo.propose_maintainers("replace m0", [new.public_key], 1)
    assert run_and_kill(
        lambda: Repository(fx.repo_dir).sign_pending(change.change_id, [old, new]), "timestamp",
    )
    files = make_release_files(fx.work, "alpha", "1")
    staged = repo.stage_release("alpha", "1", files["manifest"], files["source"],
                                {"hvt": files["hvt"]}, [fx.signer("alpha")])
    repo.publish_release(staged, repo.author_images(staged))
    assert verify_repository(fx.repo_dir).root_version == 1
    assert repo.sign_pending(change.change_id, [old])[1]  # the old key alone: same requirements
    assert listed_version(fx.repo_dir, "pkg-alpha") == 1
    new_root = (metadata_dir(fx.repo_dir) / "2.root.json").read_bytes()
    summary = verify_repository(fx.repo_dir, trusted_root=new_root)
    assert summary.root_version == 2 and summary.targets == 3


def test_a_root_change_may_not_replace_the_online_keys(tmp_path: Path) -> None:
    fx = init_repo(tmp_path, maintainers=1, threshold=1)
    repo = fx.repo
    other = generate_key().public_key
    change = repo.propose_maintainers("replace timestamp key", [fx.signer("m0").public_key], 1)
    root = next(md for role, md in change.documents if role == "root").signed
    assert isinstance(root, Root)
    root.revoke_key(root.roles["timestamp"].keyids[0], "timestamp")
    root.add_key(other, "timestamp")
    edited = repo._write_pending(change.description, change.documents)
    before = tree_digest(metadata_dir(fx.repo_dir))
    with pytest.raises(QuorumError, match="root: version 2 changes the timestamp keys"):
        repo.sign_pending(edited.change_id, [fx.signer("m0")])
    assert tree_digest(metadata_dir(fx.repo_dir)) == before


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
    shard = SHARDS.shard_role("echo")
    assert run_and_kill(
        lambda: Repository(repo_dir).sign_pending(added.change_id, maintainers), f"commit:{shard}",
    )
    verify_repository(repo_dir)
    # The crashed child's signatures were saved before the commit began; re-running commits.
    _, committed = repo.sign_pending(added.change_id, maintainers[:1])
    assert committed
    assert "echo" in set(repo.packages())
    verify_repository(repo_dir)


def test_crashed_key_ceremony_publishes_nothing_until_signed_again(tmp_path: Path) -> None:
    """The ceremony writes 1.root.json last: before it nothing is published; signing again
    (which replaces the crashed attempt's unreferenced snapshot and timestamp) completes it."""
    maintainer = generate_key()
    online = {role: generate_key() for role in ("snapshot", "timestamp")}
    for label in ["commit:shard-ff", "commit:targets", "snapshot", "timestamp", "commit:root"]:
        repo_dir = tmp_path / label.replace(":", "-")
        (repo_dir / "online").mkdir(parents=True)
        for role, signer in online.items():
            write_key_pair(signer, repo_dir / "online" / f"{role}.key", None)
        change = Repository(repo_dir).init(
            [maintainer.public_key], 1, online["snapshot"].public_key,
            online["timestamp"].public_key,
            {role: Path("online") / f"{role}.key" for role in online}, "insecure",
        )
        sign = partial(Repository(repo_dir).sign_pending, change.change_id, [maintainer])
        assert run_and_kill(sign, label)
        if label == "commit:root":
            verify_repository(repo_dir)
        else:
            with pytest.raises(VerificationFailure, match=r"1\.root\.json is missing"):
                verify_repository(repo_dir)
            assert sign()[1]
        summary = verify_repository(repo_dir)
        assert (summary.root_version, summary.roles) == (1, 257)
