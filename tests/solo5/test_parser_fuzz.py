"""libFuzzer (ASan + UBSan) over the tenders' image parsers, seeded with real images."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from solo5.recipe import C_COMMON_FLAGS, SOLO5_ROOT

Images = dict[tuple[str, str], Path]
COMMON = SOLO5_ROOT / "tenders" / "common"


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed")
def test_image_parsers_survive_fuzzing(images: Images, tmp_path: Path) -> None:
    harness = tmp_path / "fuzz_image"
    subprocess.run(
        ["clang", "-fsanitize=fuzzer,address,undefined", "-fno-sanitize-recover=all",
         "-D_GNU_SOURCE", *C_COMMON_FLAGS, "-g", "-O1",
         str(COMMON / "fuzz" / "fuzz_image.c"), str(COMMON / "elf.c"), str(COMMON / "mft.c"),
         "-o", str(harness)],
        check=True, capture_output=True, text=True)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for key in (("hello", "spt"), ("test_badargs", "hvt"), ("test_block", "spt")):
        shutil.copy(images[key], corpus / images[key].name)
    result = subprocess.run(
        [str(harness), "-runs=200000", "-max_len=32768", "-seed=1", "-timeout=10",
         str(corpus)],
        capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Done 200000 runs" in result.stderr
