"""Fixtures for the dns unikernel's tests: the host tool, built once."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.dns.dns_build import make


@pytest.fixture(scope="session")
def dns_host(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make("host", tmp_path_factory.mktemp("dns-host")) / "dns_host"
