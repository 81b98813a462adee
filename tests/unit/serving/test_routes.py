"""ServingService remembers alias resolutions briefly and boundedly."""

from __future__ import annotations

import time
from typing import Any

import pytest

from phantom.serving import service as service_module
from phantom.serving.service import ServingService, _Route


def test_alias_resolutions_are_bounded_oldest_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(service_module, "MAX_ROUTES", 3)
    resolved: list[tuple[str, str, str]] = []

    def resolve(tenant_id: str, name: str, alias: str) -> _Route:
        resolved.append((tenant_id, name, alias))
        primary: Any = object()
        return _Route(
            expires=time.monotonic() + 60,
            primary=primary,
            canary=None,
            canary_percent=0,
            shadow=None,
        )

    serving = ServingService.__new__(ServingService)
    serving._routes = {}
    monkeypatch.setattr(serving, "_resolve_route", resolve, raising=False)
    for i in range(5):
        serving.route("t1", f"m{i}", "production")
    assert [key[1] for key in serving._routes] == ["m2", "m3", "m4"]
    serving.route("t1", "m4", "production")  # still fresh: not resolved again
    assert len(resolved) == 5
    serving.route("t1", "m0", "production")  # forgotten: resolved again
    assert [key[1] for key in serving._routes] == ["m3", "m4", "m0"]
