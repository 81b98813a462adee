"""Tenant keys: wrapped by the master key, stable, separate, and sealed values."""

from __future__ import annotations

import pytest

from phantom.kernel.errors import ConfigError
from phantom.privacy.keys import KeyRing


class MemoryKeys:
    def __init__(self) -> None:
        self.rows: dict[str, bytes] = {}
        self.adds = 0

    def find_wrapped(self, tenant_id: str) -> bytes | None:
        return self.rows.get(tenant_id)

    def add_wrapped(self, tenant_id: str, wrapped: bytes) -> bytes:
        self.adds += 1
        return self.rows.setdefault(tenant_id, wrapped)


MASTER = b"m" * 32


def test_a_tenant_key_is_created_once_and_stable_across_rings() -> None:
    store = MemoryKeys()
    first = KeyRing(MASTER, store).keys("t1")
    again = KeyRing(MASTER, store).keys("t1")
    assert first.hmac_key == again.hmac_key
    assert store.adds == 1
    assert b"m" * 32 not in store.rows["t1"]


def test_tenants_get_unrelated_keys() -> None:
    ring = KeyRing(MASTER, MemoryKeys())
    assert ring.keys("t1").hmac_key != ring.keys("t2").hmac_key


def test_a_sealed_value_opens_only_for_its_token_and_tenant() -> None:
    ring = KeyRing(MASTER, MemoryKeys())
    sealed = ring.keys("t1").seal("<EMAIL_1>", "ada@example.com")
    assert "ada" not in sealed
    assert ring.keys("t1").open("<EMAIL_1>", sealed) == "ada@example.com"
    with pytest.raises(ConfigError):
        ring.keys("t1").open("<EMAIL_2>", sealed)
    with pytest.raises(ConfigError):
        ring.keys("t2").open("<EMAIL_1>", sealed)


def test_another_master_key_cannot_unwrap_and_says_so() -> None:
    store = MemoryKeys()
    KeyRing(MASTER, store).keys("t1")
    with pytest.raises(ConfigError, match="master key differs"):
        KeyRing(b"x" * 32, store).keys("t1")


def test_a_wrapped_key_moved_to_another_tenant_does_not_unwrap() -> None:
    store = MemoryKeys()
    KeyRing(MASTER, store).keys("t1")
    store.rows["t2"] = store.rows["t1"]
    with pytest.raises(ConfigError):
        KeyRing(MASTER, store).keys("t2")


def test_a_short_master_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="at least 32 bytes"):
        KeyRing(b"short", MemoryKeys())
