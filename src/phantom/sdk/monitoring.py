"""``client.monitoring``: drift reports, feedback labels, performance, analytics.

::

    client = phantom.Client()
    report = client.monitoring.drift("churn")              # now, not recorded
    report["report"]["drifted_features"]                   # ["age", "income"]
    client.monitoring.feedback("churn", [{"prediction_id": pid, "label": 1}])
    client.monitoring.performance("churn")["metrics"]      # {"accuracy": ...}

Windows default to the last 24 hours; ``since``/``until`` take datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from phantom.sdk.transport import Transport
from phantom.sdk.wire import encode, segment

__all__ = ["Monitoring"]


def _window(
    version: int | None, since: datetime | None, until: datetime | None
) -> dict[str, str]:
    query: dict[str, str] = {}
    if version is not None:
        query["version"] = str(int(version))
    if since is not None:
        query["since"] = since.isoformat()
    if until is not None:
        query["until"] = until.isoformat()
    return query


class Monitoring:
    """A tenant's model monitoring (``/v1/models/{name}/drift``, ...)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def drift(
        self,
        model: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        record: bool = False,
    ) -> dict[str, Any]:
        """A drift report (``record``: kept in the history, DriftDetected emitted)."""
        response = self._transport.request(
            "POST" if record else "GET",
            f"/v1/models/{segment(model)}/drift",
            params=_window(version, since, until),
            idempotent=not record,
        )
        found: dict[str, Any] = response.json()
        return found

    def history(self, model: str, *, limit: int = 50) -> list[dict[str, Any]]:
        """Recorded drift reports, newest first."""
        response = self._transport.request(
            "GET",
            f"/v1/models/{segment(model)}/drift/history",
            params={"limit": str(limit)},
        )
        found: list[dict[str, Any]] = response.json()
        return found

    def feedback(self, model: str, labels: Sequence[dict[str, Any]]) -> int:
        """Send ground-truth labels (``prediction_id``, ``label``, ``row``)."""
        response = self._transport.request(
            "POST",
            f"/v1/models/{segment(model)}/feedback",
            json=encode({"feedback": list(labels)}),
            idempotent=True,
        )
        return int(response.json()["stored"])

    def performance(
        self,
        model: str,
        *,
        version: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """Metrics from labels over a window, and the label-free estimate."""
        response = self._transport.request(
            "GET",
            f"/v1/models/{segment(model)}/performance",
            params=_window(version, since, until),
        )
        found: dict[str, Any] = response.json()
        return found

    def serving(
        self,
        *,
        model: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[dict[str, Any]]:
        """Latency percentiles, throughput and error rates per model and version."""
        query = _window(None, since, until)
        if model is not None:
            query["model"] = model
        response = self._transport.request(
            "GET", "/v1/monitoring/serving", params=query
        )
        found: list[dict[str, Any]] = response.json()
        return found
