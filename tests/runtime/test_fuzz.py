"""Runs every parser's libFuzzer harness (ASan + UBSan) for a bounded time
on its committed corpus: zero crashes, leaks or sanitizer reports."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.runtime.stack_harness import RUNTIME, build

PARSERS = ["ethernet", "arp", "ipv4", "icmp", "udp", "dhcp", "dns", "bootargs", "stack",
           "vnet"]
SECONDS_EACH = 6


@pytest.fixture(scope="module")
def fuzz_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("fuzzers", tmp_path_factory.mktemp("fuzz-build")) / "fuzz"


@pytest.mark.slow
@pytest.mark.parametrize("parser", PARSERS)
def test_fuzzer_finds_no_crash(parser: str, fuzz_build: Path, tmp_path: Path) -> None:
    corpus = RUNTIME / "fuzz" / "corpus" / parser
    assert sorted(corpus.glob("*.bin")), f"no seed corpus for {parser}"
    new_units = tmp_path / "new"
    new_units.mkdir()
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    # New inputs go to the first directory only: the committed corpus stays as is.
    proc = subprocess.run(
        [str(fuzz_build / f"fuzz_{parser}"), f"-max_total_time={SECONDS_EACH}", "-timeout=10",
         "-rss_limit_mb=2048", f"-artifact_prefix={artifacts}/", str(new_units), str(corpus)],
        capture_output=True, text=True, timeout=SECONDS_EACH + 60, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Done " in proc.stderr
    assert list(artifacts.iterdir()) == []
