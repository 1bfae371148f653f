"""Shared pytest configuration: skip markers for KVM and CAP_NET_ADMIN.

Tests marked `kvm` or `netadmin` skip, with the reason, only where the
machine lacks /dev/kvm or the right to create network namespaces; CI has
both, so there they run.
"""

from __future__ import annotations

import pytest

from tests.support.host import kvm_unavailable_reason, netadmin_unavailable_reason


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    kvm_reason = kvm_unavailable_reason()
    net_reason = netadmin_unavailable_reason()
    for item in items:
        if kvm_reason and item.get_closest_marker("kvm"):
            item.add_marker(pytest.mark.skip(reason=kvm_reason))
        if net_reason and item.get_closest_marker("netadmin"):
            item.add_marker(pytest.mark.skip(reason=net_reason))
