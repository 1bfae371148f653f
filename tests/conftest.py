"""Shared pytest configuration: skip markers for KVM and CAP_NET_ADMIN, and the test tiers.

Tests marked `kvm` or `netadmin` skip, with the reason, only where the
machine lacks /dev/kvm or the right to create network namespaces; CI has
both, so there they run.

Tiers: `make test` runs everything (CI). `make test-fast` runs `-m "not slow"`:
the pure and unit tests. A test is slow when it is marked `slow`, `kvm` or
`netadmin`, or when it uses a fixture that compiles unikernels, runs the
sandboxed builder, compiles a C harness, boots a guest or starts servers
(SLOW_FIXTURES below), or when its module fuzzes, simulates a network, runs the
demo, kills processes mid-write or runs sandboxed builds (SLOW_MODULE_WORDS).
"""

from __future__ import annotations

import pytest

from signing import key_encryption
from tests.support.host import kvm_unavailable_reason, netadmin_unavailable_reason

# Fixtures whose set-up alone takes seconds: images built with the recipe,
# double builds in bubblewrap, tenders, fuzzers, served repositories, the demo.
SLOW_FIXTURES = frozenset(
    {
        "built",
        "images",
        "spt_tender",
        "hvt_images",
        "tender",
        "hello_images",
        "solo5_tenders",
        "ping_images",
        "echo_images",
        "fuzz_build",
        "tap_peer",
        "workload",
        "served",
        "served_packages",
        "published",
        "demo_run",
        # host-side C harnesses compiled with sanitizers (module-scoped, seconds each)
        "dns_host",
        "stack_harness",
        "host_build",
        "dump",
    }
)


# Modules that are slow by design: fuzzers run for a fixed budget, the demo runs whole,
# crash and Ctrl-C tests kill real repo-tool processes mid-write, the limits tests run
# hostile builds in the bubblewrap sandbox, hvt_host compiles the tender under ASan.
SLOW_MODULE_WORDS = ("fuzz", "demo", "netsim", "crash", "interrupt", "limits", "hvt_host")


# New keys made in-process by tests (CliRunner, Repository) are encrypted with this
# cheap scrypt cost instead of production's N=2**17 (about a second per key under
# load); the cost is stored in each key file, so reading is unaffected.
# tests/repository/test_keys.py::test_production_cost_end_to_end checks production's.
TEST_KEY_COST = key_encryption.ScryptCost(n=2**10, r=8, p=1)


@pytest.fixture(autouse=True)
def cheap_key_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(key_encryption, "NEW_KEY_COST", TEST_KEY_COST)


def _is_slow(item: pytest.Item) -> bool:
    if any(word in item.path.name for word in SLOW_MODULE_WORDS):
        return True
    if any(item.get_closest_marker(name) for name in ("slow", "kvm", "netadmin")):
        return True
    return bool(SLOW_FIXTURES.intersection(getattr(item, "fixturenames", ())))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kvm_reason = kvm_unavailable_reason()
    net_reason = netadmin_unavailable_reason()
    for item in items:
        if _is_slow(item) and not item.get_closest_marker("slow"):
            item.add_marker(pytest.mark.slow)
        if kvm_reason and item.get_closest_marker("kvm"):
            item.add_marker(pytest.mark.skip(reason=kvm_reason))
        if net_reason and item.get_closest_marker("netadmin"):
            item.add_marker(pytest.mark.skip(reason=net_reason))
