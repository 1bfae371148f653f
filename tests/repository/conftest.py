"""Repository tests: encrypt new test keys with the cheapest scrypt cost.

Production encrypts keys with scrypt N=2**17 (about a second per key on a
shared machine; signing.key_encryption.PRODUCTION_COST). These tests create
and unlock dozens of throw-away encrypted keys, so they lower the cost for new
keys inside this test process only. Reading is unaffected (the cost is stored
in each key file), and tests/repository/test_keys.py checks the production
cost end to end.
"""

from __future__ import annotations

import pytest

from signing import key_encryption

TEST_COST = key_encryption.ScryptCost(n=2**10, r=8, p=1)


@pytest.fixture(autouse=True)
def cheap_key_encryption(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(key_encryption, "NEW_KEY_COST", TEST_COST)
