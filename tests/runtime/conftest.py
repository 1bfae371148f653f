"""Fixtures for the runtime's host-side tests: the harness, built once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.runtime.stack_harness import build
from tests.runtime.tcp_harness import Engine, engine_lib


@pytest.fixture(scope="session")
def stack_harness(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build("harness", tmp_path_factory.mktemp("runtime-build")) / "stack_harness"


@pytest.fixture
def engine() -> Iterator[Engine]:
    with Engine(engine_lib()) as eng:
        yield eng
