"""The sandbox: isolation (no network, read-only toolchain, only declared inputs) and
every variation of build B really applied (probed from inside the sandbox)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from builder.archive import SourceFile
from builder.build import BuildRequest, run_build
from builder.sandbox import SandboxedBuild, run_sandboxed
from builder.variations import CONTROL, apply, select
from tests.builder.conftest import FixedPlan, every_variation

pytestmark = pytest.mark.sandbox  # runs builds in the bubblewrap sandbox

PROBE = (
    "printf 'host=%s\\n' \"$(hostname)\"; printf 'domain=%s\\n' \"$(domainname)\"; "
    'printf \'uid=%s gid=%s\\n\' "$(id -u)" "$(id -g)"; printf \'user=%s\\n\' "$(id -un)"; '
    "printf 'umask=%s\\n' \"$(umask)\"; printf 'pwd=%s\\n' \"$(pwd)\"; "
    "printf 'year=%s\\n' \"$(date -u +%Y)\"; printf 'kernel=%s\\n' \"$(uname -r)\"; "
    "printf 'nproc=%s\\n' \"$(nproc)\"; "
    "printf 'personality=%s\\n' \"$(cat /proc/self/personality)\"; "
    "env | sort | sed 's/^/env:/'"
)


def probe(tmp_path: Path, variation_names: tuple[str, ...] | None) -> dict[str, str]:
    """Facts seen inside the sandbox (fileordering is probed through run_build below)."""
    conditions = (
        CONTROL
        if variation_names is None
        else apply(CONTROL, select(variation_names, os.cpu_count() or 1))
    )
    tree = tmp_path / "tree"
    tree.mkdir(parents=True)
    result = run_sandboxed(SandboxedBuild(
        conditions,
        tree=tree,
        build_dir=conditions.build_dir("probe-1.0.0"),
        etc_dir=tmp_path / "etc",
        solo5_root=None,
        source_date_epoch=1700000000,
        commands=[["/bin/sh", "-c", PROBE]],
    ))
    assert result.returncode == 0, result.output
    facts: dict[str, str] = {}
    for line in result.output.splitlines():
        key, _, value = line.partition("=")
        facts[key] = value
    return facts


def test_control_conditions_are_the_fixed_environment(tmp_path: Path) -> None:
    facts = probe(tmp_path, None)
    assert facts["host"] == "builder" and facts["domain"] == "(none)"
    assert facts["uid"] == "1000 gid=1000" and facts["user"] == "builder"
    assert facts["umask"] == "0022" and facts["pwd"] == "/build/probe-1.0.0"
    assert facts["nproc"] == "1" and facts["personality"] == "00040000"  # ADDR_NO_RANDOMIZE
    env = {k[4:]: v for k, v in facts.items() if k.startswith("env:")}
    assert env == {
        "HOME": "/home/builder",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "LOGNAME": "builder",
        "PATH": "/usr/bin:/bin",
        "SOURCE_DATE_EPOCH": "1700000000",
        "TZ": "UTC",
        "USER": "builder",
        "PWD": "/build/probe-1.0.0",
    } | {k: v for k, v in env.items() if k in ("_", "OLDPWD", "SHLVL")}  # set by sh itself


def test_experiment_conditions_vary_everything(tmp_path: Path) -> None:
    names = tuple(v.name for v in every_variation() if v.name != "fileordering")
    fixed = probe(tmp_path / "a", None)
    varied = probe(tmp_path / "b", names)
    assert varied["host"] == "i-capture-the-hostname"
    assert varied["domain"] == "i-capture-the-domainname"
    assert varied["uid"] == "2222 gid=2222" and varied["user"] == "rebuilder"
    assert varied["umask"] == "0002"
    assert varied["pwd"] == "/tmp/i-capture-the-build-path/second/probe-1.0.0-b"
    assert int(varied["year"]) >= int(fixed["year"]) + 1  # faketime +398 days
    assert varied["kernel"].startswith("2.6.") and not fixed["kernel"].startswith("2.6.")
    assert varied["personality"] != fixed["personality"]  # ASLR back on
    if (os.cpu_count() or 1) > 1:
        assert int(varied["nproc"]) > int(fixed["nproc"])
    assert varied["env:TZ"] == "Etc/GMT-14" and varied["env:LC_ALL"] == "et_EE.UTF-8"
    assert varied["env:LANGUAGE"] == "et_EE.UTF-8:fr" and varied["env:HOME"].startswith("/nonex")
    assert varied["env:CAPTURE_ENVIRONMENT"] == "i_capture_the_environment"
    assert varied["env:PATH"].startswith("/i_capture_the_path:")


def test_sandbox_sees_only_declared_inputs_and_a_read_only_toolchain(tmp_path: Path) -> None:
    tree = tmp_path / "tree"
    tree.mkdir()
    script = (
        "for p in /work /root /home/builder/.ssh /var /etc/shadow /run; do "
        "  test -e $p && echo visible:$p; done; "
        "touch /usr/bin/evil 2>/dev/null && echo wrote-toolchain; "
        "touch /etc/passwd 2>/dev/null && echo wrote-etc; "
        "ls /; touch inside && echo wrote-build-dir"
    )
    result = run_sandboxed(SandboxedBuild(
        CONTROL,
        tree=tree,
        build_dir="/build/x",
        etc_dir=tmp_path / "etc",
        solo5_root=None,
        source_date_epoch=0,
        commands=[["/bin/sh", "-c", script]],
    ))
    assert "visible:" not in result.output
    assert "wrote-toolchain" not in result.output and "wrote-etc" not in result.output
    assert "wrote-build-dir" in result.output and (tree / "inside").exists()
    listed = set(result.output.split()) - {"wrote-build-dir"}
    assert listed == {
        "bin",
        "build",
        "dev",
        "etc",
        "home",
        "lib",
        "lib64",
        "proc",
        "sbin",
        "tmp",
        "usr",
    }


@dataclass
class _Server:
    port: int
    accepted: list[bool] = field(default_factory=list)


def _listen() -> tuple[socket.socket, _Server]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)
    listener.settimeout(10)
    server = _Server(listener.getsockname()[1])

    def serve() -> None:
        for _ in range(2):  # bounded: at most the two connections this test makes
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            server.accepted.append(True)
            connection.close()

    threading.Thread(target=serve, daemon=True).start()
    return listener, server


def test_a_build_that_reaches_for_the_network_fails_inside_the_sandbox(tmp_path: Path) -> None:
    listener, server = _listen()
    fetch = (
        "import socket,sys\n"
        f"s=socket.create_connection(('127.0.0.1',{server.port}),timeout=5)\n"
        "open('fetched.o','wb').write(b'downloaded')\n"
    )
    try:
        # The same download works on the host: the listener is real and reachable.
        subprocess.run([sys.executable, "-c", fetch], cwd=tmp_path, check=True)
        assert server.accepted == [True]
        request = BuildRequest(
            ident="fetcher-1.0.0",
            target="hvt",
            files={"fetch.py": SourceFile("fetch.py", fetch.encode())},
            plan_for=lambda build_dir: FixedPlan(
                {}, (("/usr/bin/python3", "fetch.py"),), "fetched.o", ("/usr/bin/python3",)
            ),
            source_date_epoch=0,
            solo5_root=None,
        )
        outcome = run_build(request, CONTROL, tmp_path / "work", "a")
    finally:
        listener.close()
    assert not outcome.ok and outcome.image is None
    assert "Network is unreachable" in outcome.log or "Connection refused" in outcome.log
    assert server.accepted == [True]  # nothing reached the host from the sandbox


def test_fileordering_shuffles_directory_entries_through_disorderfs(tmp_path: Path) -> None:
    names = [f"f{i:02d}" for i in range(24)]
    files = {f"d/{n}": SourceFile(f"d/{n}", n.encode()) for n in names}
    request = BuildRequest(
        ident="order-1.0.0",
        target="hvt",
        files=files,
        plan_for=lambda build_dir: FixedPlan(
            {},
            (
                (
                    "/bin/sh",
                    "-c",
                    "ls -f d | grep -v '^\\.' > order.txt; "
                    "grep -c fuse /proc/self/mounts >> order.txt || true",
                ),
            ),
            "order.txt",
            ("/bin/sh",),
        ),
        source_date_epoch=0,
        solo5_root=None,
    )
    shuffled = apply(CONTROL, select(["fileordering"], 1))
    orders = set()
    for attempt in range(3):
        outcome = run_build(request, shuffled, tmp_path, f"s{attempt}")
        assert outcome.ok and outcome.image is not None, outcome.log
        *listing, fuse = outcome.image.read_text().split()
        assert sorted(listing) == names and int(fuse) >= 1
        orders.add(tuple(listing))
    plain = run_build(request, CONTROL, tmp_path, "plain")
    assert plain.image is not None and plain.image.read_text().split()[-1] == "0"
    assert len(orders) > 1 or orders != {tuple(names)}
