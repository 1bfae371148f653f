"""Shared pytest configuration: the test tiers, and skip markers for KVM, CAP_NET_ADMIN and
the build sandbox.

Tests marked `kvm`, `netadmin` or `sandbox` skip, with the reason, only where the machine
lacks /dev/kvm, the right to create network namespaces, or root and the sandbox's programs;
CI has all three, so there they run.

Tiers: `make test` runs everything (CI). `make test-fast` runs `-m "not slow"`: the pure and
unit tests. A test is slow when it is marked `slow`, `kvm`, `netadmin` or `sandbox`, when it
uses a fixture that builds unikernel images (any fixture named `images` or `*_image(s)`), runs
the sandboxed builder, compiles a C harness, boots a guest or starts servers (SLOW_FIXTURES),
or when its module fuzzes, simulates a network, runs the demo, kills processes mid-write or
runs sandboxed builds (SLOW_MODULE_WORDS).

The fast tier checks itself: while `-m "not slow"` runs, a test of it that starts one of
tests/support/tiers.py's SLOW_PROGRAMS (the installed commands, compilers, the sandbox,
guests, servers, namespace tools, another Python interpreter) fails at teardown, naming the
program and the fix (mark it slow). So a new test of those kinds cannot quietly make the fast
tier slow again.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Generator

import pytest

from signing import key_encryption
from tests.support.host import (
    kvm_unavailable_reason,
    netadmin_unavailable_reason,
    sandbox_unavailable_reason,
)
from tests.support.tiers import command_of, slow_program

# Fixtures whose set-up alone takes seconds (besides `images` and `*_image(s)`):
# double builds in bubblewrap, tenders, C harnesses, fuzzers, servers, the demo.
SLOW_FIXTURES = frozenset(
    {
        "built",
        "spt_tender",
        "tender",
        "solo5_tenders",
        "fuzz_build",
        "tap_peer",
        "workload",
        "served",
        "served_packages",
        "published",
        "demo_run",
        "hello_spt",
        "xen_hello",
        "rebuilt",
        "redis",
        "s3_endpoint",
        # host-side C harnesses compiled with sanitizers (module-scoped, seconds each)
        "dns_host",
        "stack_harness",
        "host_build",
        "dump",
        "c_layout",
    }
)


# Modules that are slow by design: fuzzers run for a fixed budget, the demo runs whole,
# crash and Ctrl-C tests kill real repo-tool processes mid-write, the limits tests run
# hostile builds in the bubblewrap sandbox, hvt_host compiles the tender under ASan,
# wide_shards makes and serves repositories of 4,096 shard roles.
SLOW_MODULE_WORDS = ("fuzz", "demo", "netsim", "crash", "interrupt", "limits", "hvt_host",
                     "wide_shards")

# Markers that name what a test needs; each of them puts the test in the slow tier.
SLOW_MARKERS = ("slow", "kvm", "netadmin", "sandbox")

# New keys made in-process by tests (CliRunner, Repository) are encrypted with this
# cheap scrypt cost instead of production's N=2**17 (about a second per key under
# load); the cost is stored in each key file, so reading is unaffected.
# tests/repository/test_keys.py::test_production_cost_end_to_end checks production's.
TEST_KEY_COST = key_encryption.ScryptCost(n=2**10, r=8, p=1)


@pytest.fixture(autouse=True)
def cheap_key_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(key_encryption, "NEW_KEY_COST", TEST_KEY_COST)


# The fast tier does not flush to disk: fsync (thousands per run, milliseconds each on a busy
# disk) only matters for a power cut, which no test makes; SIGKILLed writers (the crash tests)
# lose nothing the page cache holds. A bad descriptor is still refused. `make test` keeps fsync.
def _fsync_without_flush(fd: int) -> None:
    os.fstat(fd)


@pytest.fixture(autouse=True)
def unflushed_writes_in_the_fast_tier(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> None:
    if _fast_tier_run(request.config):
        monkeypatch.setattr(os, "fsync", _fsync_without_flush)


def _builds_images(fixture: str) -> bool:
    return fixture == "images" or fixture.endswith(("_images", "_image"))


def _is_slow(item: pytest.Item) -> bool:
    if any(word in item.path.name for word in SLOW_MODULE_WORDS):
        return True
    if any(item.get_closest_marker(name) for name in SLOW_MARKERS):
        return True
    fixtures: list[str] = getattr(item, "fixturenames", [])
    return any(name in SLOW_FIXTURES or _builds_images(name) for name in fixtures)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    reasons = {
        "kvm": kvm_unavailable_reason(),
        "netadmin": netadmin_unavailable_reason(),
        "sandbox": sandbox_unavailable_reason(),
    }
    for item in items:
        if _is_slow(item) and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
        for marker, reason in reasons.items():
            if reason and item.get_closest_marker(marker):
                item.add_marker(pytest.mark.skip(reason=reason))


# The fast tier's self-check. An audit hook (it cannot be removed, so it is added once, only
# for fast-tier runs) records the slow programs started while a test runs; its teardown
# fails the test with their names.
_started: list[str] | None = None


def _record_slow_program(event: str, args: tuple[object, ...]) -> None:
    if _started is not None and (name := slow_program(command_of(event, args))):
        _started.append(name)


def _fast_tier_run(config: pytest.Config) -> bool:
    return "not slow" in (config.getoption("markexpr") or "")


def pytest_configure(config: pytest.Config) -> None:
    if _fast_tier_run(config):
        sys.addaudithook(_record_slow_program)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    global _started
    if _fast_tier_run(item.config):
        _started = []
    return (yield)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    global _started
    try:
        result = yield
    finally:
        started, _started = _started, None
    if started:
        names = ", ".join(sorted(set(started)))
        pytest.fail(
            f"tier rule (tests/conftest.py): this test starts {names}, so it is not a fast "
            "test; mark it @pytest.mark.slow",
            pytrace=False,
        )
    return result
