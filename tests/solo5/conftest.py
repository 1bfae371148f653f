"""Fixtures for the Solo5 tests: every test unikernel built once per session."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from solo5.recipe import TARGETS
from solo5.tenders import tender_path
from tests.solo5.support import TEST_UNIKERNELS, build_unikernel


@pytest.fixture(scope="session")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    """(unikernel, target) -> image path, for every test unikernel and target."""
    root = tmp_path_factory.mktemp("solo5-images")
    jobs = [(name, target) for name in TEST_UNIKERNELS for target in TARGETS]
    with ThreadPoolExecutor(max_workers=2) as pool:
        built = pool.map(lambda job: build_unikernel(job[0], job[1],
                                                     root / f"{job[0]}-{job[1]}"), jobs)
        return dict(zip(jobs, built, strict=True))


@pytest.fixture(scope="session")
def spt_tender() -> Path:
    return tender_path("spt")
