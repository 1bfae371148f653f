"""Fixtures for the virtio tests: the test unikernels built once per session."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.runtime.unikernel import build_unikernel as build_runtime_unikernel
from tests.solo5.support import build_unikernel

VIRTIO_TEST_UNIKERNELS = ("hello", "test_time", "test_block", "test_net", "test_abort",
                          "test_ssp", "test_tls", "test_badargs")


@pytest.fixture(scope="session")
def virtio_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """name -> virtio image, for the Solo5 test unikernels, ping and tcp-echo."""
    root = tmp_path_factory.mktemp("virtio-images")
    with ThreadPoolExecutor(max_workers=2) as pool:
        built = dict(zip(VIRTIO_TEST_UNIKERNELS, pool.map(
            lambda name: build_unikernel(name, "virtio", root / name), VIRTIO_TEST_UNIKERNELS),
            strict=True))
    built["ping"] = build_runtime_unikernel("ping", "virtio", root / "ping")
    built["tcp-echo"] = build_runtime_unikernel("tcp-echo", "virtio", root / "tcp-echo",
                                                with_tcp=True)
    return built
