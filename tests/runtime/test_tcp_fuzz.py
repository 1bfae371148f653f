"""The TCP libFuzzer harnesses (runtime/fuzz/tcp_*_fuzz.c) built with clang,
ASan and UBSan, run for a bounded time over the seed corpus: zero crashes,
and (engine harness) no connection left allocated after any input."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from solo5.recipe import C_COMMON_FLAGS
from tests.runtime.tcp_harness import ENGINE_SOURCES, RUNTIME

CORPUS = RUNTIME / "fuzz" / "corpus" / "tcp"
FLAGS = [*C_COMMON_FLAGS, "-g", "-O1", f"-I{RUNTIME / 'include'}",
         "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all"]
HARNESSES = {
    "wire": ["tcp_wire.c"],
    "engine": ENGINE_SOURCES,
}


@pytest.mark.parametrize("name", sorted(HARNESSES))
def test_tcp_fuzzer_finds_nothing(name: str, tmp_path: Path) -> None:
    if shutil.which("clang") is None:
        pytest.fail("clang is required (Makefile DEB_PACKAGES installs it)")
    binary = tmp_path / f"tcp_{name}_fuzz"
    sources = [str(RUNTIME / "fuzz" / f"tcp_{name}_fuzz.c"),
               *(str(RUNTIME / "net" / s) for s in HARNESSES[name])]
    subprocess.run(["clang", *FLAGS, "-o", str(binary), *sources], check=True,
                   capture_output=True, text=True, timeout=300)
    seeds = sorted((CORPUS / name).glob("*.bin"))
    assert seeds, f"no seed corpus in {CORPUS / name}"
    work = tmp_path / "corpus"
    work.mkdir()
    for seed in seeds:
        shutil.copy(seed, work / seed.name)
    result = subprocess.run(
        [str(binary), "-max_total_time=20", "-timeout=10", "-rss_limit_mb=1024",
         f"-artifact_prefix={tmp_path}/", str(work)],
        capture_output=True, text=True, timeout=120)
    crashes = list(tmp_path.glob("crash-*")) + list(tmp_path.glob("leak-*")) + \
        list(tmp_path.glob("timeout-*"))
    assert result.returncode == 0 and not crashes, result.stderr[-3000:]
    assert "Done" in result.stderr
