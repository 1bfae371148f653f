"""The dns unikernel's libFuzzer harnesses (ASan + UBSan): the zone-file
parser, the query engine and the boot-argument parser, one million
executions each from the committed seeds, with zero crashes, leaks or
sanitizer reports."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.dns.dns_build import DNS_DIR, make

RUNS = 1_000_000


@pytest.fixture(scope="module")
def fuzz_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make("fuzzers", tmp_path_factory.mktemp("dns-fuzz"))


@pytest.mark.slow
@pytest.mark.timeout(3600)
@pytest.mark.parametrize("parser", ["zone", "query", "args"])
def test_a_million_inputs_without_a_crash(parser: str, fuzz_build: Path, tmp_path: Path) -> None:
    corpus = DNS_DIR / "fuzz" / "corpus" / parser
    assert sorted(corpus.iterdir()), f"no seed corpus for {parser}"
    new_units = tmp_path / "new"
    new_units.mkdir()
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    # New inputs go to the first directory only: the committed seeds stay as they are.
    proc = subprocess.run(
        [str(fuzz_build / f"fuzz_{parser}"), f"-runs={RUNS}", "-timeout=10",
         "-rss_limit_mb=2048", f"-artifact_prefix={artifacts}/", str(new_units), str(corpus)],
        capture_output=True, text=True, timeout=3500, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    done = re.search(r"Done (\d+) runs", proc.stderr)
    assert done and int(done.group(1)) >= RUNS, proc.stderr[-2000:]
    assert list(artifacts.iterdir()) == []
