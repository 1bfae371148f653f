"""Resource limits: a hostile source cannot grow a build without bound, and the sandbox
never runs as root on the host. Each limit is hit for real and reported by name."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from builder.archive import SourceFile
from builder.build import BuildRequest, PlanLike
from builder.double import double_build, run_diffoscope
from builder.limits import MIB, SANDBOX_HOST_UID, Limits, limit_reason
from builder.sandbox import (
    TOOL_ENVIRONMENT,
    SandboxedBuild,
    SandboxResult,
    run_sandboxed,
    run_tool_sandboxed,
)
from builder.status import BuildStatus
from builder.variations import CONTROL


@dataclass(frozen=True)
class Plan:
    files: dict[str, bytes]
    commands: tuple[tuple[str, ...], ...]
    output: str
    tools: tuple[str, ...] = ("gcc",)


@pytest.mark.sandbox
def test_a_source_including_dev_zero_is_a_failed_build_on_the_memory_limit(
    tmp_path: Path,
) -> None:
    """The attack: `#include "/dev/zero"` makes cc1 read zeros until memory runs out."""

    def plan_for(build_dir: str) -> PlanLike:
        return Plan({}, (("gcc", "-c", "zero.c", "-o", "zero.o"),), "zero.o")

    request = BuildRequest(
        ident="zero-1.0.0",
        target="hvt",
        files={"zero.c": SourceFile("zero.c", b'#include "/dev/zero"\n')},
        plan_for=plan_for,
        source_date_epoch=0,
        solo5_root=None,
    )
    started = time.monotonic()
    result = double_build(request, (), tmp_path / "work", find_culprits=False)
    assert time.monotonic() - started < 120
    assert result.status == BuildStatus.FAILED
    assert result.reason == "build a failed: resource limit: memory (2048 MiB of address space)"
    assert "cc1: out of memory" in result.control.log


def sandboxed(tmp_path: Path, script: str, limits: Limits) -> SandboxResult:
    tree = tmp_path / "tree"
    tree.mkdir(parents=True, exist_ok=True)
    return run_sandboxed(SandboxedBuild(
        CONTROL,
        tree=tree,
        build_dir=CONTROL.build_dir("limits-1.0.0"),
        etc_dir=tmp_path / "etc",
        solo5_root=None,
        source_date_epoch=0,
        commands=[["/bin/sh", "-c", script]],
        limits=limits,
    ))


@pytest.mark.sandbox
@pytest.mark.parametrize(
    ("script", "limits", "reason"),
    [
        (
            "while :; do :; done",
            Limits(cpu_seconds=1),
            "resource limit: CPU time (1 s per process)",
        ),
        (
            "i=0; while [ $i -lt 200 ]; do sleep 5 & i=$((i+1)); done; wait",
            Limits(processes=16),
            "resource limit: processes (16)",
        ),
        (
            "head -c 8388608 /dev/zero > big",
            Limits(output_bytes=MIB),
            "resource limit: output size (1 MiB per file)",
        ),
        ("yes flood", Limits(output_bytes=MIB), "resource limit: output size (1 MiB per file)"),
        ("sleep 60", Limits(wall_seconds=2), "resource limit: wall-clock time (2 s)"),
    ],
    ids=["cpu", "processes", "file", "log", "wall"],
)
def test_each_limit_stops_the_build_and_is_named(
    tmp_path: Path, script: str, limits: Limits, reason: str
) -> None:
    started = time.monotonic()
    result = sandboxed(tmp_path, script, limits)
    assert time.monotonic() - started < 30
    assert result.returncode != 0 and result.limit == reason, result.output[-2000:]
    assert len(result.output) <= 2 * MIB


@pytest.mark.sandbox
def test_sandboxed_processes_run_as_an_unprivileged_host_uid(tmp_path: Path) -> None:
    """What the build writes is owned by the sandbox uid on the host; host root is unmapped."""
    result = sandboxed(tmp_path, "id -u; stat -c %u /usr; echo x > made-inside", Limits())
    assert result.returncode == 0, result.output
    assert result.output.split() == ["1000", "65534"]  # root is nobody in here
    assert (tmp_path / "tree" / "made-inside").stat().st_uid == SANDBOX_HOST_UID


def test_limit_reason_names_nothing_for_an_ordinary_failure() -> None:
    limits = Limits()
    assert limit_reason(1, "main.c:1:1: error: expected ';'", limits,
                        timed_out=False, output_cut=False) is None
    assert limit_reason(0, "out of memory", limits, timed_out=False, output_cut=False) is None
    assert limit_reason(-24, "", limits, timed_out=False, output_cut=False) == (
        "resource limit: CPU time (300 s per process)"
    )


@pytest.mark.sandbox
def test_tools_on_untrusted_images_see_none_of_the_builders_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """diffoscope's sandbox: the builder's passphrase variable is not visible, no network,
    inputs read-only, nothing of the host but /usr."""
    monkeypatch.setenv("BUILDER_PW", "hunter2-do-not-leak")
    image = tmp_path / "image"
    image.write_bytes(b"guest")
    result = run_tool_sandboxed(
        [
            "/bin/sh",
            "-c",
            "env; cat /in/x/image; echo; (echo overwrite > /in/x/image) 2>/dev/null || echo ro; "
            "cat /proc/net/dev | grep -c : ; ls /work /root 2>&1 | grep -c 'No such'; "
            "echo report > /out/r.txt",
        ],
        inputs=[(image, "x/image")],
        out_dir=tmp_path / "out",
    )
    assert result.returncode == 0, result.output
    lines = result.output.splitlines()
    env = dict(line.split("=", 1) for line in lines if "=" in line)
    assert env.keys() <= {*TOOL_ENVIRONMENT, "PWD", "SHLVL", "_"}
    assert "hunter2" not in result.output
    assert lines[-4:] == ["guest", "ro", "1", "2"]  # read-only input; only lo; no /work, /root
    assert (tmp_path / "out" / "r.txt").read_text() == "report\n"
    assert image.read_bytes() == b"guest"


@pytest.mark.sandbox
def test_sandboxed_diffoscope_still_writes_its_reports(tmp_path: Path) -> None:
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    a.write_bytes(b"built in 2025\n" * 4)
    b.write_bytes(b"built in 2026\n" * 4)
    reports = run_diffoscope(a, b, tmp_path / "reports", "demo-1.0.0.hvt")
    assert set(reports) == {"html", "text", "json"}
    text = Path(reports["text"]).read_text()
    assert "-built in 2025" in text and "+built in 2026" in text
    assert Path(reports["html"]).parent == tmp_path / "reports"
