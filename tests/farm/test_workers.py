"""The build farm end to end: a real redis-server, real `repo-tool worker` processes, a real
repository, and `repo-tool build --broker` publishing through the gate.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from tests.farm.conftest import Farm, build_argv, restart_redis, staged_repo
from tests.support.published import builds_dir, dashboard_dir

pytestmark = pytest.mark.slow


def run_build(argv: list[str]) -> tuple[int, dict[str, Any], str]:
    done = subprocess.run(argv, capture_output=True, text=True, timeout=400, check=False)
    report = json.loads(done.stdout) if done.stdout.strip() else {}
    return done.returncode, report, done.stderr


def decisions(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {d["package"]: d for d in report["decisions"]}


def test_releases_built_across_two_workers_and_gated(
    farm: Farm, author_images: Any, tmp_path: Path
) -> None:
    farm.start("w1")
    farm.start("w2")
    # test_time's author signs hello's image: the builds are right, the author is not.
    fixture = staged_repo(
        tmp_path,
        {
            "hello": author_images("hello"),
            "test_ssp": author_images("test_ssp"),
            "test_time": author_images("hello"),
        },
    )
    status, report, stderr = run_build(build_argv(fixture, farm, "w1", "w2"))
    assert status == 3, stderr  # test_time refused, nothing failed to build
    by_package = decisions(report)
    for name in ("hello", "test_ssp"):
        decision = by_package[name]
        assert decision["decision"] == "published", decision
        builds = {b["build"]: b for b in decision["builds"]}
        # build A and build B ran on different workers, each named in its signed result
        assert {builds["a"]["worker"], builds["b"]["worker"]} == {"w1", "w2"}
        assert builds["a"]["sha256"] == builds["b"]["sha256"]
        assert builds["a"]["variations"] == [] and builds["b"]["variations"]
    assert by_package["test_time"]["decision"] == "rejected"
    assert "differ from the author's" in by_package["test_time"]["reason"]
    staged = {r.package for r in fixture.repo.staged_releases(include_rejected=True)}
    assert staged == {"test_time"}
    published = builds_dir(fixture.repo_dir) / "hello" / "1.0.0" / "hvt"
    assert (published / "a.provenance.dsse.json").is_file()
    assert (published / "b.provenance.dsse.json").is_file()
    # progress per build on stderr while waiting
    assert "queued on w1" in stderr and "queued on w2" in stderr
    assert "running on" in stderr and "done: w1:" in stderr
    # the dashboard names who built A and B, how long each waited and built
    rows = json.loads((dashboard_dir(fixture.repo_dir) / "index.json").read_text())["rows"]
    hello = next(r for r in rows if r["package"] == "hello")
    assert hello["status"] == "reproducible" and hello["decision"] == "published"
    assert {hello["farm"]["a"]["worker"], hello["farm"]["b"]["worker"]} == {"w1", "w2"}
    for build in hello["farm"].values():
        assert 0 <= build["queue_seconds"] < 240 and 0 < build["build_seconds"] < 240
    assert hello["reproduced_by"] == ["farm"]
    assert (dashboard_dir(fixture.repo_dir) / hello["buildinfo"]).is_file()
    html = (dashboard_dir(fixture.repo_dir) / "index.html").read_text()
    assert "built on" in html and "queued" in html


def running_worker(process: subprocess.Popen[str], lines: list[str], timeout: float) -> str:
    """Read the dispatcher's stderr until a build runs; the worker running it."""
    assert process.stderr is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        lines.append(line)
        if ": running on " in line:
            return line.rsplit("running on ", 1)[1].strip()
    raise AssertionError("no build started:\n" + "".join(lines))


def test_worker_killed_mid_build_is_redelivered_and_decided_once(
    farm: Farm, author_images: Any, tmp_path: Path
) -> None:
    farm.start("w1")
    farm.start("w2")
    fixture = staged_repo(tmp_path, {"hello": author_images("hello")})
    process = subprocess.Popen(
        build_argv(fixture, farm, "w1", "w2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    victim = running_worker(process, lines, 120)
    os.killpg(farm.workers[victim].pid, signal.SIGKILL)  # the machine dies: worker and pool
    stdout, rest = process.communicate(timeout=300)
    stderr = "".join(lines) + rest
    assert process.returncode == 0, stderr
    assert f"worker {victim} lost" in stderr
    (decision,) = json.loads(stdout)["decisions"]
    assert decision["decision"] == "published"
    survivor = "w2" if victim == "w1" else "w1"
    assert {b["worker"] for b in decision["builds"]} == {survivor}
    assert max(b["attempts"] for b in decision["builds"]) == 2
    assert fixture.repo.staged_releases(include_rejected=True) == []
    # decided once: nothing is left to decide, so a second run publishes nothing again
    status, report, _ = run_build(build_argv(fixture, farm, "w1", "w2"))
    assert status == 0 and report["decisions"] == []


def queued_tasks(farm: Farm, redis_port: int) -> list[tuple[str, dict[str, Any]]]:
    """(celery task id, task document) of every message still waiting in a worker queue."""
    import base64

    import redis as redis_client

    client = redis_client.Redis(port=redis_port)
    found = []
    for queue in (b"unirepo.worker.w1", b"unirepo.worker.w2"):
        for raw in client.lrange(queue, 0, -1):
            message = json.loads(raw)
            body = json.loads(base64.b64decode(message["body"]))
            found.append((message["headers"]["id"], body[0][0]))
    return found


def test_forged_results_in_the_broker_are_refused(
    farm: Farm, redis: Any, author_images: Any, tmp_path: Path
) -> None:
    import redis as redis_client

    from builder.status import BuildStatus
    from builder.verdict import BuildVerdict, sign_verdict, verdict_statement
    from signing.keys import generate_key

    farm.start("w1")
    farm.start("w2")
    hello = author_images("hello")
    # hello's builds keep both workers busy while test_time's wait in the queues.
    fixture = staged_repo(tmp_path, {"hello": hello, "test_time": hello})
    process = subprocess.Popen(
        build_argv(fixture, farm, "w1", "w2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    attacker = generate_key()
    client = redis_client.Redis(port=redis.port)
    forged: set[str] = set()
    deadline = time.monotonic() + 60
    while len(forged) < 2 and time.monotonic() < deadline and process.poll() is None:
        for task_id, spec in queued_tasks(farm, redis.port):
            if spec["package"] != "test_time" or task_id in forged or len(forged) == 2:
                continue  # (the dispatcher resends a refused build at once: forge two only)
            import hashlib

            claim = BuildVerdict(
                package="test_time", version="1.0.0", target="hvt", status=BuildStatus.BUILT,
                reason="forged", sha256=hashlib.sha256(hello.read_bytes()).hexdigest(),
                size=hello.stat().st_size, input_id="0" * 64, builder_id=f"w{len(forged) + 1}",
                variations=tuple(spec["variations"]),
            )
            statement = verdict_statement(
                claim, build_type="x", source_date_epoch=0, internal_parameters={},
                resolved_dependencies=[], invocation_id=spec["task"], started_on="",
                finished_on="",
            )
            envelope = dict(sign_verdict(statement, attacker).envelope)
            if forged:  # the second one unsigned
                envelope["signatures"] = []
            result = {"envelope": envelope, "image": claim.sha256, "log": None,
                      "buildinfo": None}
            client.set(
                f"celery-task-meta-{task_id}",
                json.dumps({"status": "SUCCESS", "result": result, "traceback": None,
                            "children": [], "date_done": None, "task_id": task_id}),
            )
            forged.add(task_id)
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=300)
    assert len(forged) == 2, stderr
    assert process.returncode == 3, stderr
    by_package = decisions(json.loads(stdout))
    assert by_package["hello"]["decision"] == "published"
    refused = by_package["test_time"]
    assert refused["decision"] == "rejected"
    assert "differ from the author's" in refused["reason"]  # decided on the real builds
    ignored = "\n".join(refused["ignored_results"])
    assert "result refused: DSSE envelope: no valid signature by a trusted key" in ignored
    assert "result refused: DSSE envelope: unsigned" in ignored
    assert "result refused" in stderr


def test_worker_with_a_key_not_configured_is_refused(
    farm: Farm, author_images: Any, tmp_path: Path
) -> None:
    farm.start("w1")
    farm.start("w2", key_name="stranger")  # the operator configured w1 and w2's keys only
    farm.key("w2")
    fixture = staged_repo(tmp_path, {"hello": author_images("hello")})
    status, report, stderr = run_build(build_argv(fixture, farm, "w1", "w2"))
    assert status == 0, stderr
    (decision,) = report["decisions"]
    assert decision["decision"] == "published"
    assert {b["worker"] for b in decision["builds"]} == {"w1"}  # w2's result did not count
    assert any(
        "result refused: DSSE envelope: no valid signature by a trusted key" in line
        for line in decision["ignored_results"]
    )


def test_only_untrusted_workers_publish_nothing(
    farm: Farm, author_images: Any, tmp_path: Path
) -> None:
    farm.start("w1", key_name="stranger")
    fixture = staged_repo(tmp_path, {"hello": author_images("hello")})
    status, report, stderr = run_build(build_argv(fixture, farm, "w1"))
    assert status == 3, stderr
    (decision,) = report["decisions"]
    assert decision["decision"] == "rejected"
    assert decision["reason"].startswith("hvt: no build result signed by a trusted key")
    assert [r.package for r in fixture.repo.staged_releases(include_rejected=True)] == ["hello"]


def test_build_past_its_time_limit_fails_with_the_reason(
    farm: Farm, author_images: Any, tmp_path: Path
) -> None:
    farm.start("w1")
    fixture = staged_repo(tmp_path, {"hello": author_images("hello")})
    status, report, stderr = run_build(
        build_argv(fixture, farm, "w1", extra=("--build-time-limit", "0.05"))
    )
    assert status == 4, stderr
    (decision,) = report["decisions"]
    assert decision["decision"] == "rejected"
    assert "resource limit: wall-clock time (0.05 s)" in decision["reason"]


def test_pool_process_killed_mid_build_is_redelivered_by_the_broker(
    farm: Farm, author_images: Any, tmp_path: Path
) -> None:
    worker = farm.start("w1")
    fixture = staged_repo(tmp_path, {"hello": author_images("hello")})
    process = subprocess.Popen(
        build_argv(fixture, farm, "w1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    running_worker(process, lines, 120)
    pool = subprocess.run(
        ["pgrep", "-P", str(worker.pid)], capture_output=True, text=True, check=True
    ).stdout.split()
    for pid in pool:  # the process running the build dies (OOM killer, a crash)
        os.kill(int(pid), signal.SIGKILL)
    stdout, rest = process.communicate(timeout=300)
    stderr = "".join(lines) + rest
    assert process.returncode == 0, stderr
    (decision,) = json.loads(stdout)["decisions"]
    assert decision["decision"] == "published"
    # not sent again by the dispatcher: the unacknowledged message came back from Redis
    assert [b["attempts"] for b in decision["builds"]] == [1, 1]
    log = farm.log("w1")
    assert "WorkerLostError" in log
    received = [
        line for line in log.splitlines() if "unirepo.build[" in line and "received" in line
    ]
    assert len(received) == 3, log  # A, B, and the killed one again


def test_redis_restart_between_tasks_loses_no_release(
    farm: Farm, redis: Any, author_images: Any, tmp_path: Path
) -> None:
    farm.start("w1")
    farm.start("w2")
    fixture = staged_repo(
        tmp_path, {"hello": author_images("hello"), "test_ssp": author_images("test_ssp")}
    )
    process = subprocess.Popen(
        build_argv(fixture, farm, "w1", "w2"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # the first build is done, the others are not
        lines.append(process.stderr.readline())
        if ": built by " in lines[-1]:
            break
    restart_redis(redis, tmp_path / "redis")  # without persistence: queues and results gone
    stdout, rest = process.communicate(timeout=300)
    stderr = "".join(lines) + rest
    assert process.returncode == 0, stderr
    assert "broker restarted: sending the undecided builds again" in stderr
    assert {d["decision"] for d in json.loads(stdout)["decisions"]} == {"published"}
    assert fixture.repo.staged_releases(include_rejected=True) == []


def test_two_workers_required_and_one_up_publishes_nothing(
    farm: Farm, author_images: Any, tmp_path: Path
) -> None:
    farm.start("w1")
    farm.key("w2")  # configured, but its machine is down
    fixture = staged_repo(tmp_path, {"hello": author_images("hello")})
    status, report, stderr = run_build(
        build_argv(fixture, farm, "w1", "w2", extra=("--require-workers", "2"))
    )
    assert status == 3, stderr
    (decision,) = report["decisions"]
    assert decision["reason"] == "hvt: reproduced by 1 of the 2 trusted builders required"


HOST_PROBE_C = """/* Built under /build/host_probe-1.0.0 it returns 1, elsewhere 2:
 * not reproducible under
 * the build path variation. */
#include <solo5.h>
#if __has_include("../../../host_probe-1.0.0/unikernels/host_probe/host_probe.c")
#define BUILT_IN 1
#else
#define BUILT_IN 2
#endif
int solo5_app_main(const struct solo5_start_info *si)
{
    (void)si;
    return BUILT_IN;
}
"""


def host_probe_tree(tree: Path) -> Path:
    """A source tree with one package whose image depends on the build path."""
    source = tree / "unikernels" / "host_probe" / "host_probe.c"
    source.parent.mkdir(parents=True)
    source.write_text(HOST_PROBE_C)
    manifest = tree / "packages" / "host_probe" / "1.0.0" / "manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({
        "schema": 1, "name": "host_probe", "version": "1.0.0",
        "description": "Returns where it was built.", "license": "ISC", "authors": ["test"],
        "kind": "unikernel", "sources": ["unikernels/host_probe/host_probe.c"],
        "dependencies": {}, "targets": ["hvt"], "devices": [],
        "source_date_epoch": 1764028800,
    }))
    return manifest


def test_unreproducible_farm_build_is_blamed_with_probes_on_workers(
    farm: Farm, author_images: Any, tmp_path: Path
) -> None:
    from builder.archive import archive_from_tree
    from builder.plan import load_index
    from signing.keys import INSECURE, load_signer
    from tests.repository.helpers import init_repo

    farm.start("w1")
    farm.start("w2")
    tree = tmp_path / "tree"
    manifest_path = host_probe_tree(tree)
    (manifest,) = load_index(tree / "packages").values()
    fixture = init_repo(tmp_path / "repository", maintainers=1, threshold=1,
                        authors=["host_probe"])
    source = tmp_path / "host_probe-1.0.0.tar.gz"
    source.write_bytes(archive_from_tree(tree, manifest.sources, manifest.source_date_epoch))
    fixture.repo.stage_release("host_probe", "1.0.0", manifest_path, source,
                               {"hvt": author_images("hello")},
                               [load_signer(fixture.keys["host_probe"], INSECURE)])
    argv = build_argv(fixture, farm, "w1", "w2")
    argv[argv.index("--tree") + 1] = str(tree)
    status, report, stderr = run_build(argv)
    assert status == 3, stderr
    (decision,) = report["decisions"]
    assert decision["decision"] == "rejected" and decision["refusal"] == "unreproducible"
    (blame,) = decision["blame"]
    # bisected on the worker that built A, with signed probe builds: the build path alone
    assert blame["culprits"] == ["build_path"], blame
    assert blame["error"] is None
    worker_a = blame["workers"][0]
    assert all(label.endswith(f" on {worker_a}") for label in blame["probes"])
    assert blame["probes"][f"control-again on {worker_a}"] == next(
        b["sha256"] for b in decision["builds"] if b["build"] == "a")
    assert "A and B differ; blamed on: build_path" in stderr
    target_dir = builds_dir(fixture.repo_dir) / "host_probe" / "1.0.0" / "hvt"
    if shutil.which("diffoscope"):
        assert set(blame["diffoscope"]) == {"html", "text", "json"}
        assert (target_dir / "host_probe-1.0.0.hvt.diffoscope.txt").is_file()
    rows = json.loads((dashboard_dir(fixture.repo_dir) / "index.json").read_text())["rows"]
    (row,) = rows
    assert row["status"] == "unreproducible" and row["culprits"] == ["build_path"]
    assert row["decision"] == "rejected" and row["farm"]["a"]["worker"] == worker_a
    (staged,) = fixture.repo.staged_releases(include_rejected=True)
    assert staged.package == "host_probe"
