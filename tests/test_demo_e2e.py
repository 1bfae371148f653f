"""`repo-tool demo` end to end, in a temporary directory, and its planning logic.

The main test runs the very command `make demo` runs (with hello and one
unreproducible fixture; ping, www and dns, which step 6 boots, come along)
and then checks each step's outcome against the files it left, independently
of what the demo reported: the TUF repository verifies, published image
hashes equal the author-signed ones and the bytes served, the fixture was
refused and blamed, the fetched images boot and answer, the rebuilders'
attestations verify and make `fetch --require-rebuilders 2` refuse hello once
the lying one is published, and after the TAP 8 rotation a fresh client
verifies the new key's release.

The timeouts are hang guards, not performance limits: the demo builds every
image twice on a machine other tests share (8 min 46 s at load average 7 on
2 cores; step 5's server up after 4.5 to 8 min).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from builder.verdict import SignedResult, verify_result
from repo_tool.commands.rebuilder import confirmations
from repo_tool.demo import (
    MARKER_NAME,
    BundledPackage,
    Check,
    DemoError,
    PackageOutcome,
    assign_authors,
    check_gate,
    next_version,
    problems,
    select_packages,
    workdir_action,
)
from signing.keys import load_public_key
from solo5.launcher import run_image
from tests.support.host import kvm_unavailable_reason, netadmin_unavailable_reason
from tests.support.published import builds_dir, dashboard_dir, metadata_dir, targets_dir
from tuf_metadata import layout
from tuf_metadata.repo_verify import now_utc, verify_repository
from tuf_metadata.repository import Repository

SHARDS = layout.DEFAULT_SHARDS  # the repositories these tests make use the default

REPO_TOOL = Path(sys.executable).parent / "repo-tool"
DEMO_PACKAGES = "hello,unrepro_date"
DEMO_TIMEOUT = 1800.0  # seconds, the whole demo
STEP5_TIMEOUT = 1200.0  # seconds until the server of step 5 listens (steps 3-4 build)

# The module-scoped demo runs in the first test's setup: past the project's 900 s default
# on a loaded machine (24 min at load average 10 with another demo running).
pytestmark = pytest.mark.timeout(DEMO_TIMEOUT + 300)


def demo(workdir: Path, *args: str,
         timeout: float = DEMO_TIMEOUT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(REPO_TOOL), "demo", "--workdir", str(workdir), *args],
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    workdir = tmp_path_factory.mktemp("demo") / "work"
    result = demo(workdir, "--packages", DEMO_PACKAGES, "--json")
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir, json.loads(result.stdout)


def checks_by_name(data: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {c["what"]: c for c in data["checks"]}


def test_demo_reports_success_and_stops_what_it_started(
        demo_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, data = demo_run
    assert data["ok"] is True and data["problems"] == []
    assert json.loads((workdir / "summary.json").read_text()) == data
    # The server is stopped: its port no longer accepts connections.
    host, port = data["server"].removeprefix("http://").split(":")
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).close()
    assert data["dashboard"] and Path(data["dashboard"]).is_file()


def test_step1_2_keys_and_quorum(demo_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, data = demo_run
    keys = workdir / "keys"
    assert (keys / "INSECURE-DEMO-KEYS.txt").is_file()
    maintainers = sorted(keys.glob("insecure-demo-maintainer-*.pub.json"))
    assert len(maintainers) == 3
    root = json.loads((metadata_dir(workdir / "repo") / "1.root.json").read_text())["signed"]
    assert root["roles"]["root"]["threshold"] == 2
    assert sorted(root["roles"]["root"]["keyids"]) == sorted(
        load_public_key(path).keyid for path in maintainers)
    repo = Repository(workdir / "repo")
    delegated = set(repo.packages())
    libraries = {entry.split()[0] for entry in data["libraries"]}
    assert {p["name"] for p in data["packages"]} >= {"hello", "unrepro_date"}
    assert delegated == {p["name"] for p in data["packages"]} | libraries
    # ping's, www's and dns's libraries are released on their own and published, so the
    # builder and the rebuilders build their dependents from the repository alone.
    assert libraries >= {"runtime", "runtime_tcp"}
    for library in libraries:
        published = repo.current_package(library)
        assert published is not None and not any(
            path.rsplit("/", 1)[-1].startswith(f"{library}.") for path in published.signed.targets)


def test_step3_4_published_hashes_are_the_author_signed_ones(
        demo_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, data = demo_run
    repo_dir = workdir / "repo"
    verify_repository(repo_dir, now_utc())
    released = {(p["name"], p["version"]): p for p in data["packages"]}
    hello = released[("hello", "1.0.0")]
    assert sorted(hello["author_hashes"]) == ["hvt", "spt", "virtio"]
    published = Repository(repo_dir).current_package("hello")
    assert published is not None
    for target, signed in hello["author_hashes"].items():
        built = hello["built"][target]
        assert built["sha256_a"] == built["sha256_b"] == signed
        path = SHARDS.target_path("hello", "1.0.0", f"hello.{target}")
        assert published.signed.targets[path].hashes["sha256"] == signed
        # The bytes served under the consistent-snapshot name are the signed ones.
        served = list((targets_dir(repo_dir) / path).parent.glob(f"*.hello.{target}"))
        assert served and all(hashlib.sha256(f.read_bytes()).hexdigest() == signed
                              for f in served)


def test_step4_unreproducible_fixture_is_refused_and_blamed(
        demo_run: tuple[Path, dict[str, Any]]) -> None:
    workdir, data = demo_run
    fixture = next(p for p in data["packages"] if p["name"] == "unrepro_date")
    assert fixture["decision"] == "rejected" and fixture["published_hashes"] == {}
    assert "unreproducible" in fixture["reason"]
    for result in fixture["built"].values():
        assert result["sha256_a"] != result["sha256_b"]
        assert result["culprits"] == ["time"]
    repo = Repository(workdir / "repo")
    assert repo.current_package("unrepro_date") is None
    staged = [r for r in repo.staged_releases(include_rejected=True)
              if r.package == "unrepro_date"]
    assert len(staged) == 1
    rejection = repo.rejection(staged[0])
    assert rejection is not None and "unreproducible" in rejection["reason"]


def test_step6_fetched_image_boots_and_greets(
        demo_run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    workdir, data = demo_run
    checks = checks_by_name(data)
    targets = ["spt"] + ([] if kvm_unavailable_reason() else ["hvt"])
    for target in targets:
        assert checks[f"fetch hello.{target} (first release)"]["status"] == "ok"
        assert checks[f"run hello.{target} 1.0.0 on {target}"]["status"] == "ok"
    # Boot the verified download again here, and read its console ourselves.
    image = workdir / "operator" / "images" / "hello.spt"
    console = tmp_path / "console.txt"
    with console.open("wb") as out:
        status = run_image(image, stdout=out, timeout=30)
    assert status == 0
    assert "Hello, World" in console.read_text()
    ping = checks["boot ping on spt on a tap in a namespace, ping it"]
    if netadmin_unavailable_reason():
        assert ping["status"] == "skipped"
    else:  # ping, released and published like hello, is fetched through the client too
        assert checks["fetch ping.spt (first release)"]["status"] == "ok"
        assert ping["status"] == "ok", ping["detail"]
        assert ping["detail"].startswith("3/3 echo replies")
    www = checks["boot www on spt with a site archive, fetch a page with curl"]
    if netadmin_unavailable_reason():
        assert www["status"] == "skipped"
    else:  # www is released, built twice, published and fetched through the client too
        assert checks["fetch www.spt (first release)"]["status"] == "ok"
        assert www["status"] == "ok", www["detail"]
        assert www["detail"].startswith("HTTP/1.1 200 OK, ")
        assert (workdir / "operator" / "images" / "www.spt").is_file()
    dns = checks["boot dns on spt with a zone archive, query it with dig"]
    if netadmin_unavailable_reason():
        assert dns["status"] == "skipped"
    else:  # dns is released, built twice, published and fetched through the client too
        assert checks["fetch dns.spt (first release)"]["status"] == "ok"
        assert dns["status"] == "ok", dns["detail"]
        assert dns["detail"] == "www.demo.test A -> 192.0.2.80 from 10.77.0.2"
        assert (workdir / "operator" / "images" / "dns.spt").is_file()


@contextlib.contextmanager
def serving(repo_dir: Path, tmp_path: Path) -> Iterator[str]:
    """`repo-tool serve` of the demo's repository on loopback; its URL."""
    log_path = tmp_path / "serve.log"
    log = log_path.open("wb")
    server = subprocess.Popen([str(REPO_TOOL), "serve", "--repo", str(repo_dir), "--port", "0"],
                              stdout=subprocess.DEVNULL, stderr=log)
    try:
        url = ""
        for _ in range(200):
            found = re.search(r"listening on (http://\S+?)/?$", log_path.read_text(),
                              re.MULTILINE)
            if found:
                url = found.group(1)
                break
            time.sleep(0.1)
        assert url, log_path.read_text()
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def test_step7_rebuilders_confirm_hello_and_a_liar_is_refused(
        demo_run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    workdir, data = demo_run
    checks = checks_by_name(data)
    for what in ("rebuilders delegated by the maintainers' quorum",
                 "rebuilder alice rebuilds hello from the served repository",
                 "rebuilder bob rebuilds hello from the served repository",
                 "fetch hello.hvt --require-rebuilders 2",
                 "rebuilder mallory publishes a lying attestation",
                 "fetch hello.hvt --require-rebuilders 2 after the lie",
                 "fetch hello.hvt --require-rebuilders 2 --allow-disagreement",
                 "dashboard: hello 1.0.0 hvt reproduced by"):
        assert checks[what]["status"] == "ok", (what, checks[what]["detail"])
    repo_dir = workdir / "repo"
    repo = Repository(repo_dir)
    # Delegated by the maintainers' quorum, each with the key the demo made for it.
    listed = {info.name: info for info in repo.rebuilder_list()}
    assert sorted(listed) == ["alice", "bob", "mallory"]
    for name, info in listed.items():
        key = load_public_key(workdir / "keys" / f"insecure-demo-rebuilder-{name}.pub.json")
        assert info.keyids == (key.keyid,) and info.threshold == 1
    targets = ("hvt", "spt", "virtio")
    assert (listed["alice"].attestations, listed["bob"].attestations,
            listed["mallory"].attestations) == (len(targets), len(targets), 1)
    # What the published attestations say, verified from the repository's files alone and
    # judged by the operator's rule.
    published = repo.current_package("hello")
    assert published is not None
    images = {(i["version"], i["target"]): i
              for i in confirmations(verify_repository(repo_dir, now_utc()))
              if i["package"] == "hello"}
    hvt = images[("1.0.0", "hvt")]
    for target in targets:
        image = images[("1.0.0", target)]
        path = SHARDS.target_path("hello", "1.0.0", f"hello.{target}")
        assert image["sha256"] == published.signed.targets[path].hashes["sha256"]
        assert image["confirmed_by"] == ["alice", "bob"]
        assert image["disagreed"] == (["mallory"] if target == "hvt" else [])
    # Each honest rebuilder built A under its own build path and user, not the builder's.
    builder_a = json.loads((builds_dir(repo_dir) / "hello" / "1.0.0" / "hvt" /
                            "buildinfo.json").read_text())["builds"][0]
    assert builder_a["build_path"].startswith("/build/") and builder_a["uid"] == 1000
    for name in ("alice", "bob"):
        info = json.loads((workdir / "rebuilders" / name / "builds" / "hello" / "1.0.0" /
                           "hvt" / "buildinfo.json").read_text())
        assert info["builds"][0]["build_path"].startswith(f"/rebuild/{name}/")
        assert info["builds"][0]["uid"] == 3000
        # The file the rebuilder wrote is the one the repository serves.
        path = layout.attestation_path("hello", "1.0.0", "hvt", name)
        folder, file_name = path.rsplit("/", 1)
        (stored,) = (targets_dir(repo_dir) / folder).glob(f"*.{file_name}")
        assert stored.read_bytes() == (workdir / "rebuilders" / name / path).read_bytes()
    # Mallory's is a real, well-signed attestation of another hash.
    lie = workdir / "rebuilders" / "mallory" / layout.attestation_path(
        "hello", "1.0.0", "hvt", "mallory")
    mallory = load_public_key(workdir / "keys" / "insecure-demo-rebuilder-mallory.pub.json")
    verdict = verify_result(SignedResult(json.loads(lie.read_bytes())),
                            {mallory.keyid: mallory}).verdict
    assert verdict.status == "reproducible" and verdict.sha256 != hvt["sha256"]
    # The operator's downloads: written when accepted, nothing when refused.
    downloads = workdir / "operator" / "rebuilders"
    accepted = (downloads / "accepted" / "hello.hvt").read_bytes()
    assert hashlib.sha256(accepted).hexdigest() == hvt["sha256"]
    assert not (downloads / "refused" / "hello.hvt").exists()
    assert (downloads / "allowed" / "hello.hvt").read_bytes() == accepted
    # A fresh operator, given only root v1, is refused hello 1.0.0 with mallory named.
    with serving(repo_dir, tmp_path) as url:
        refused = subprocess.run(
            [str(REPO_TOOL), "fetch", "hello", "--version", "1.0.0", "--url", url, "--root",
             str(metadata_dir(repo_dir) / "1.root.json"), "-o", str(tmp_path / "images"),
             "--metadata-dir", str(tmp_path / "tuf"), "--require-rebuilders", "2"],
            capture_output=True, text=True, timeout=60, check=False)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: refused: hello 1.0.0 hvt")
    assert "confirmed by 2 of 2 required rebuilders (alice, bob)" in refused.stderr
    assert "disagreed: mallory: reproducible, but built sha256" in refused.stderr
    assert not (tmp_path / "images" / "hello.hvt").exists()
    # The dashboard's "reproduced by" says the same.
    rows = json.loads((dashboard_dir(repo_dir) / "index.json").read_text())["rows"]
    row = next(r for r in rows if (r["package"], r["version"], r["target"]) ==
               ("hello", "1.0.0", "hvt"))
    assert row["rebuilders"] == {"sha256": hvt["sha256"], "confirmed_by": ["alice", "bob"],
                                 "disagreed": ["mallory"]}
    assert ">alice, bob; disagreed: mallory</td>" in (
        dashboard_dir(repo_dir) / "index.html").read_text()


def test_step8_rotated_key_verifies_for_a_fresh_client(
        demo_run: tuple[Path, dict[str, Any]], tmp_path: Path) -> None:
    workdir, data = demo_run
    checks = checks_by_name(data)
    assert checks["client follows the rotation (spt)"]["status"] == "ok"
    assert checks["run hello.spt 1.0.1 on spt"]["status"] == "ok"
    assert checks["release signed by the rotated-out key"]["status"] == "ok"
    assert "not an author key" in checks["release signed by the rotated-out key"]["detail"]
    repo_dir = workdir / "repo"
    assert (metadata_dir(repo_dir) / "rotate" / "1.pkg-hello.rotate.1.json").is_file()
    rotated = load_public_key(next((workdir / "keys").glob("*-rotated.pub.json"))).keyid
    # A fresh client, given only root v1, follows the rotation and gets the new release.
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen([str(REPO_TOOL), "serve", "--repo", str(repo_dir), "--port", "0"],
                              stdout=subprocess.DEVNULL, stderr=log)
    try:
        url = ""
        for _ in range(200):
            found = re.search(r"listening on (http://\S+?)/?$",
                              (tmp_path / "serve.log").read_text(), re.MULTILINE)
            if found:
                url = found.group(1)
                break
            time.sleep(0.1)
        assert url, (tmp_path / "serve.log").read_text()
        fetched = subprocess.run(
            [str(REPO_TOOL), "fetch", "hello", "--target", "spt", "--url", url, "--root",
             str(metadata_dir(repo_dir) / "1.root.json"), "-o", str(tmp_path / "images"),
             "--metadata-dir", str(tmp_path / "tuf"), "--json"],
            capture_output=True, text=True, timeout=60, check=False)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
    assert fetched.returncode == 0, fetched.stderr
    result = json.loads(fetched.stdout)
    assert result["version"] == "1.0.1"
    package_role = next(r for r in result["verified_roles"] if r["role"] == "pkg-hello")
    assert package_role["rotations"] == 1 and package_role["keyids"] == [rotated]
    released = {(p["name"], p["version"]): p for p in data["packages"]}
    assert result["sha256"] == released[("hello", "1.0.1")]["author_hashes"]["spt"]


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "precious.txt").write_text("keep me")
    result = demo(tmp_path, timeout=60)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: the working directory is not empty and was not made by `repo-tool demo`; "
        "choose another --workdir"]
    assert sorted(os.listdir(tmp_path)) == ["precious.txt"]


def test_interrupted_demo_stops_its_server(tmp_path: Path) -> None:
    workdir = tmp_path / "work"
    proc = subprocess.Popen([str(REPO_TOOL), "demo", "--workdir", str(workdir),
                             "--packages", "hello"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    log = workdir / "logs" / "serve.log"
    url = ""
    deadline = time.monotonic() + STEP5_TIMEOUT
    try:
        while time.monotonic() < deadline:
            if log.exists():
                found = re.search(r"listening on (http://\S+?)/?$", log.read_text(),
                                  re.MULTILINE)
                if found:
                    url = found.group(1)
                    break
            if proc.poll() is not None:
                break
            time.sleep(0.1)
        assert url, "the demo never started its server"
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130
    assert "error: interrupted; the services the demo started were stopped" in stderr
    host, port = url.removeprefix("http://").split(":")
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).close()


# -- planning logic (pure) ------------------------------------------------------


def test_workdir_rules() -> None:
    assert workdir_action(False, [], fresh=False) == "create"
    assert workdir_action(True, [], fresh=False) == "create"
    assert workdir_action(True, [MARKER_NAME, "repo"], fresh=True) == "wipe"
    with pytest.raises(DemoError, match="pass --fresh"):
        workdir_action(True, [MARKER_NAME, "repo"], fresh=False)
    with pytest.raises(DemoError, match="not made by"):
        workdir_action(True, ["repo"], fresh=True)


def test_next_version_and_author_assignment() -> None:
    assert next_version("1.0.0") == "1.0.1"
    assert next_version("2.9") == "2.10"
    assert next_version("1.0.0-rc1") == "1.0.0-rc2"
    with pytest.raises(DemoError):
        next_version("release")
    packages = [BundledPackage("hello", "1", ("Team A",), ("spt",)),
                BundledPackage("x", "1", ("Team A",), ("spt",)),
                BundledPackage("unrepro_y", "1", ("Fixtures",), ("spt",))]
    authors = assign_authors(packages)
    assert [(a.slug, a.packages) for a in authors] == [
        ("fixtures", ("unrepro_y",)), ("team-a", ("hello", "x"))]
    assert [p.name for p in select_packages(packages, ["x"])] == ["hello", "x"]
    with_ping = [*packages, BundledPackage("ping", "1", ("Team B",), ("spt",)),
                 BundledPackage("dns", "1", ("Team B",), ("spt",))]
    assert [p.name for p in select_packages(with_ping, ["x"])] == ["dns", "hello", "ping", "x"]
    assert len(select_packages(with_ping, None)) == 5
    with pytest.raises(DemoError, match="not a bundled unikernel: nope"):
        select_packages(packages, ["nope"])


def test_gate_checks_catch_each_wrong_outcome() -> None:
    signed = "a" * 64
    good = PackageOutcome("hello", "1", False, "t", {"spt": signed},
                          {"spt": {"sha256_a": signed, "sha256_b": signed}}, "published", "",
                          {"spt": signed})
    assert check_gate(good) is None
    swapped = PackageOutcome("hello", "1", False, "t", {"spt": signed},
                             {"spt": {"sha256_a": signed, "sha256_b": signed}}, "published", "",
                             {"spt": "b" * 64})
    assert "published hash" in (check_gate(swapped) or "")
    leaked = PackageOutcome("unrepro_x", "1", True, "t", {"spt": signed}, {}, "published")
    assert "fixture was published" in (check_gate(leaked) or "")
    unblamed = PackageOutcome("unrepro_x", "1", True, "t", {"spt": signed},
                              {"spt": {"culprits": []}}, "rejected", "differ")
    assert "no variation was blamed" in (check_gate(unblamed) or "")
    assert problems([good], [Check("run", "failed", "exit 1"), Check("x", "skipped", "")]) == [
        "run: exit 1"]
