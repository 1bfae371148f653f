"""Fixtures for the runtime's host-side tests: the harness, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.runtime.stack_harness import build


@pytest.fixture(scope="session")
def stack_harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("harness", tmp_path_factory.mktemp("runtime-build")) / "stack_harness"
