"""Scrubbing skips values with no text unless the policy has field rules."""

from __future__ import annotations

from typing import Any

from phantom.kernel.clock import SystemClock
from phantom.privacy.keys import KeyRing
from phantom.privacy.ner import NerStatus
from phantom.privacy.service import PrivacyService, _has_text


class Store:
    def __init__(self, document: dict[str, Any] | None = None) -> None:
        self.document = document
        self.keys: dict[str, bytes] = {}

    def policy(self, tenant_id: str) -> Any:
        if self.document is None:
            return None

        class Stored:
            document = self.document

        return Stored()

    def find_wrapped(self, tenant_id: str) -> bytes | None:
        return self.keys.get(tenant_id)

    def add_wrapped(self, tenant_id: str, wrapped: bytes) -> bytes:
        return self.keys.setdefault(tenant_id, wrapped)


def service(store: Store) -> PrivacyService:
    return PrivacyService(
        store=store,  # type: ignore[arg-type]
        keyring=KeyRing(b"m" * 32, store),
        clock=SystemClock(),
        ner=NerStatus(enabled=False, model=None, reason="off"),
    )


def test_numbers_only_come_back_untouched_and_text_is_scrubbed() -> None:
    privacy = service(Store())
    numbers = [[1.5, 2, 3.0], {"a": 1, "b": [2.0]}]
    assert privacy.scrub_record("t1", numbers) is numbers
    mixed = [{"email": "ada@example.com", "x": 1.0}]
    assert privacy.scrub_record("t1", mixed) == [{"email": "<EMAIL>", "x": 1.0}]


def test_field_rules_still_apply_to_numbers() -> None:
    rules = {"fields": {"age": {"type": "generalize", "bucket": 10}}}
    privacy = service(Store(rules))
    assert privacy.scrub_record("t1", [{"age": 37}]) == [{"age": "30-39"}]


def test_text_is_found_at_any_depth() -> None:
    assert _has_text([[1.0], {"k": [{"deep": "x"}]}])
    assert not _has_text([[1.0, 2.0], {"k": [None, True, 3]}])
