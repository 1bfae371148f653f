"""Host builds of the www unikernel's and the block reader's C code: test
drivers (gcc, ASan + UBSan) and libFuzzer harnesses (clang), with the
repository's one set of C flags."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

from solo5.recipe import C_COMMON_FLAGS

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "runtime"
WWW = REPO / "unikernels" / "www"
BLK_SOURCES = [RUNTIME / "blk" / name for name in ("device.c", "ustar.c", "ustar_header.c")]
# www's pure modules (no Solo5, no TCP) and the runtime's boot-argument
# parsers args.c uses: what the host driver and the fuzzer link.
WWW_PURE_SOURCES = [*(WWW / f"{name}.c" for name in (
    "http_request", "url_path", "http_date", "mime", "conditional", "resource", "args",
    "access_log", "file_cache")), RUNTIME / "net" / "bootargs.c"]
SANITIZERS = ("-fsanitize=address,undefined", "-fno-sanitize-recover=all",
              "-fno-omit-frame-pointer")


def compile_host(out: Path, sources: Sequence[Path], *, fuzzer: bool = False,
                 include_dirs: Sequence[Path] = ()) -> Path:
    """One host program from sources; raises with the compiler's message."""
    out.parent.mkdir(parents=True, exist_ok=True)
    compiler = "clang" if fuzzer else "gcc"
    sanitize = ("-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all") if fuzzer \
        else SANITIZERS
    argv = [compiler, *C_COMMON_FLAGS, "-g", "-O1", *sanitize, "-I", str(RUNTIME / "include"),
            *(arg for d in include_dirs for arg in ("-I", str(d))), "-o", str(out),
            *map(str, sources)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=False)
    if result.returncode != 0:
        raise AssertionError(f"{compiler} failed:\n{result.stderr[-3000:]}")
    return out


def run_fuzzer(fuzzer: Path, corpus: Path, work: Path, runs: int) -> str:
    """Runs fuzzer for `runs` executions from corpus (kept as is: new
    inputs go to a scratch directory); returns libFuzzer's log. Fails on
    any crash, leak or sanitizer report."""
    new_units = work / "new"
    artifacts = work / "artifacts"
    new_units.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run(
        [str(fuzzer), f"-runs={runs}", "-timeout=10", "-rss_limit_mb=2048",
         f"-artifact_prefix={artifacts}/", "-print_final_stats=1", str(new_units),
         str(corpus)],
        capture_output=True, text=True, timeout=1800, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert list(artifacts.iterdir()) == [], proc.stderr[-3000:]
    return proc.stderr


def executions(log: str) -> int:
    """stat::number_of_executed_units from -print_final_stats."""
    for line in log.splitlines():
        if line.startswith("stat::number_of_executed_units:"):
            return int(line.split(":")[-1])
    raise AssertionError("libFuzzer printed no final stats:\n" + log[-2000:])
