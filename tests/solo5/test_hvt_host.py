"""Host-side tests of the hvt tender's C parts, under ASan and UBSan.

- solo5/tenders/hvt/test/hvt_unit_test.c: exact page-table and GDT entries
  for several memory sizes, and the guest-address checks at every boundary.
- solo5/tenders/hvt/fuzz/hvt_hypercall_fuzz.c: libFuzzer on the hypercall
  handlers with guest-controlled requests; any host access outside guest
  memory is an ASan report and fails the test. The regression inputs in
  fuzz/corpus/ are replayed first and seed the run.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from solo5.recipe import C_COMMON_FLAGS

REPO = Path(__file__).resolve().parents[2]
HVT = REPO / "solo5" / "tenders" / "hvt"
# Inputs that once found a bug; every run replays them.
CORPUS = HVT / "fuzz" / "corpus"
CFLAGS = (*C_COMMON_FLAGS, "-D_GNU_SOURCE", "-g", "-O1", "-fno-sanitize-recover=all")
FUZZ_RUNS = 30000

pytestmark = pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed")


def compile_c(output: Path, sanitizers: str, *sources: str) -> None:
    result = subprocess.run(["clang", *CFLAGS, f"-fsanitize={sanitizers}", "-o", str(output),
                             *(str(HVT / s) for s in sources)],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_page_tables_gdt_and_address_checks(tmp_path: Path) -> None:
    binary = tmp_path / "hvt_unit_test"
    compile_c(binary, "address,undefined", "test/hvt_unit_test.c", "hvt_x86_64.c", "hvt_gpa.c")
    result = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    sizes = ("2", "32", "1024", "1026", "4096")
    assert result.stdout.splitlines() == [
        *(f"page tables {mib} MiB: ok" for mib in sizes),
        *(f"page tables {mib} MiB (upstream): ok" for mib in sizes),
        "gdt: ok",
        "guest address checks: ok",
    ]


def test_hypercall_fuzzer_finds_no_out_of_bounds_access(tmp_path: Path) -> None:
    binary = tmp_path / "hvt_hypercall_fuzz"
    compile_c(binary, "fuzzer,address,undefined", "fuzz/hvt_hypercall_fuzz.c",
              "hvt_hypercall.c", "hvt_gpa.c")
    # Regression inputs first, one by one: each must run clean.
    regressions = sorted(CORPUS.iterdir())
    assert regressions
    replay = subprocess.run([str(binary), *map(str, regressions)], capture_output=True,
                            text=True, timeout=60, check=False, cwd=tmp_path)
    assert replay.returncode == 0, replay.stderr[-3000:]
    assert f"Executed {regressions[-1]}" in replay.stderr
    # Then fuzz from a copy of the corpus (libFuzzer adds to its corpus dir).
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    result = subprocess.run([str(binary), f"-runs={FUZZ_RUNS}", "-max_len=4096", "-seed=1",
                             str(corpus)],
                            capture_output=True, text=True, timeout=120, check=False,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"Done {FUZZ_RUNS} runs" in result.stderr
    assert not list(tmp_path.glob("crash-*"))
