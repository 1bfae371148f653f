"""The www fuzz targets (ASan + UBSan + libFuzzer), each for at least a
million executions from its committed seed corpus: zero crashes, leaks,
sanitizer reports or broken invariants (the harnesses abort on those)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.www.host_c import (
    BLK_SOURCES,
    RUNTIME,
    WWW,
    WWW_PURE_SOURCES,
    compile_host,
    executions,
    run_fuzzer,
)

RUNS = 1_000_000


@pytest.mark.slow
def test_ustar_index_fuzzer_million_runs(tmp_path: Path) -> None:
    fuzzer = compile_host(tmp_path / "fuzz_ustar", [RUNTIME / "fuzz" / "fuzz_ustar.c",
                                                    *BLK_SOURCES], fuzzer=True)
    corpus = RUNTIME / "fuzz" / "corpus" / "ustar"
    assert sorted(corpus.glob("*.bin")), "no seed corpus: python -m tests.www.fuzz_corpus"
    log = run_fuzzer(fuzzer, corpus, tmp_path, RUNS)
    assert executions(log) >= RUNS


@pytest.mark.slow
def test_http_request_fuzzer_million_runs(tmp_path: Path) -> None:
    fuzzer = compile_host(tmp_path / "fuzz_http_request",
                          [RUNTIME / "fuzz" / "fuzz_http_request.c", *WWW_PURE_SOURCES,
                           *BLK_SOURCES], fuzzer=True, include_dirs=[WWW])
    corpus = RUNTIME / "fuzz" / "corpus" / "http_request"
    assert sorted(corpus.glob("*.bin")), "no seed corpus: python -m tests.www.fuzz_corpus"
    log = run_fuzzer(fuzzer, corpus, tmp_path, RUNS)
    assert executions(log) >= RUNS


ARGS_SEEDS = {
    "all": b"--ipv4=10.77.0.2/24 --port=8080 --max-age=3600 --access-log --max-connections=64"
           b" --idle-timeout=30 --header-timeout=5 --cache-mb=16",
    "dhcp": b"--dhcp --port=80",
    "bad": b"--port=0 --max-age=x --unknown",
}


@pytest.mark.slow
def test_boot_args_fuzzer_million_runs(tmp_path: Path) -> None:
    fuzzer = compile_host(tmp_path / "fuzz_args", [WWW / "test" / "fuzz_args.c", WWW / "args.c",
                                                   RUNTIME / "net" / "bootargs.c"],
                          fuzzer=True, include_dirs=[WWW, RUNTIME / "fuzz"])
    corpus = tmp_path / "seeds"
    corpus.mkdir()
    for name, seed in ARGS_SEEDS.items():
        (corpus / name).write_bytes(seed)
    log = run_fuzzer(fuzzer, corpus, tmp_path / "work", RUNS)
    assert executions(log) >= RUNS
