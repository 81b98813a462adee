"""``client.experiments`` and ``client.runs``: experiment tracking over HTTP."""

from __future__ import annotations

import builtins
import mimetypes
import os
import uuid
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import cast

from pydantic import TypeAdapter

from phantom.sdk.datasets import CHUNK_BYTES, file_chunks, iter_pages, save_stream
from phantom.sdk.errors import ServerError, ValidationError
from phantom.sdk.models import (
    Artifact,
    Experiment,
    MetricHistory,
    MetricSummary,
    Run,
    RunComparison,
    RunStatus,
)
from phantom.sdk.transport import Transport
from phantom.sdk.wire import (
    MAX_BATCH,
    Metric,
    Point,
    decode,
    encode,
    encode_points,
    normalise_metrics,
    segment,
)

__all__ = ["Experiments", "Runs", "new_idempotency_key"]

_SUMMARIES = TypeAdapter(list[MetricSummary])
_HISTORY_COLUMNS = ("steps", "timestamps_us", "values")
_PAGE_MAX = 500


def new_idempotency_key() -> str:
    """A fresh ``Idempotency-Key``: one per logical create, kept across retries."""
    return uuid.uuid4().hex


def _creating() -> dict[str, str]:
    return {"Idempotency-Key": new_idempotency_key()}


class Experiments:
    """The tenant's experiments (``/v1/experiments``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def create(self, name: str, description: str | None = None) -> Experiment:
        """Create an experiment (:class:`ConflictError` if the name is taken)."""
        body: dict[str, str] = {"name": name}
        if description is not None:
            body["description"] = description
        response = self._transport.request(
            "POST", "/v1/experiments", json=encode(body), headers=_creating()
        )
        return Experiment.model_validate_json(response.content)

    def get(self, experiment: str) -> Experiment:
        """One experiment, by id or name."""
        path = f"/v1/experiments/{segment(experiment)}"
        return Experiment.model_validate_json(
            self._transport.request("GET", path).content
        )

    def list(self) -> builtins.list[Experiment]:
        """Every experiment of the tenant, by name."""
        return [
            Experiment.model_validate(item)
            for item in iter_pages(self._transport, "/v1/experiments")
        ]


class Runs:
    """Runs, their params, tags, metrics and artifacts (``/v1/runs``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def start(  # noqa: PLR0913 - a run's starting facts
        self,
        experiment: str,
        name: str | None = None,
        *,
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
        dataset: str | None = None,
        dataset_version: int | None = None,
    ) -> Run:
        """Start a run in ``experiment`` (created if new); values become strings."""
        body: dict[str, object] = {"experiment": experiment}
        optional = {
            "name": name,
            "params": _strings(params),
            "tags": _strings(tags),
            "dataset": dataset,
            "dataset_version": dataset_version,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        response = self._transport.request(
            "POST", "/v1/runs", json=encode(body), headers=_creating()
        )
        return Run.model_validate_json(response.content)

    def get(self, run_id: str) -> Run:
        """One run with its latest metric values and artifacts."""
        path = f"/v1/runs/{segment(run_id)}"
        return Run.model_validate_json(self._transport.request("GET", path).content)

    def search(
        self,
        experiment: str | None = None,
        *,
        filter: str | None = None,  # noqa: A002 - the server's name for it
        order_by: str | None = None,
        status: RunStatus | None = None,
        limit: int | None = 50,
    ) -> builtins.list[Run]:
        """Runs matching a filter such as ``metrics.acc > 0.9 and tags.x = 'y'``.

        Pages through the answers until ``limit`` runs (``None``: all of them).
        With a ``filter`` or ``order_by``, the server examines the newest 5,000
        runs and answers at most 500.
        """
        found: builtins.list[Run] = []
        after: str | None = None
        query = {"experiment": experiment, "filter": filter, "order_by": order_by}
        base = {k: v for k, v in {**query, "status": status}.items() if v is not None}
        while limit is None or len(found) < limit:
            size = _PAGE_MAX if limit is None else min(limit - len(found), _PAGE_MAX)
            params: dict[str, str | int] = {**base, "limit": size}
            if after is not None:
                params["after"] = after
            page = self._transport.request("GET", "/v1/runs", params=params).json()
            found.extend(Run.model_validate(item) for item in page["items"])
            after = page.get("next_after")
            if not after or not page["items"]:
                break
        return found if limit is None else found[:limit]

    def compare(self, ids: Sequence[str]) -> RunComparison:
        """2 to 20 runs side by side, with the params that differ."""
        response = self._transport.request(
            "GET", "/v1/runs/compare", params={"ids": list(ids)}
        )
        return RunComparison.model_validate_json(response.content)

    def update(
        self,
        run_id: str,
        params: Mapping[str, object] | None = None,
        tags: Mapping[str, object] | None = None,
        status: RunStatus | None = None,
    ) -> Run:
        """Log params (a param keeps its first value), set tags, then end the run.

        ``status`` ends a running run: ``finished``, ``failed`` or ``killed``.
        Safe to retry: the server ignores a param logged again with its value, a
        tag set again, and a run ended again the same way.
        """
        body = {
            k: v
            for k, v in {
                "params": _strings(params),
                "tags": _strings(tags),
                "status": status,
            }.items()
            if v is not None
        }
        response = self._transport.request(
            "PATCH", f"/v1/runs/{segment(run_id)}", json=encode(body), idempotent=True
        )
        return Run.model_validate_json(response.content)

    def log_metrics(
        self, run_id: str, points: Iterable[Metric | Mapping[str, object]]
    ) -> int:
        """Write metric points, 10,000 per request; return how many were written.

        Each request is all or nothing. A point is a :class:`~phantom.sdk.Metric`
        or a mapping with its fields (``key``, ``value``, ``step``, ``timestamp``).
        """
        return self.post_points(run_id, normalise_metrics(points))

    def post_points(self, run_id: str, points: Sequence[Point]) -> int:
        """Write already checked points (the tracking helpers' path)."""
        path = f"/v1/runs/{segment(run_id)}/metrics"
        written = 0
        for start in range(0, len(points), MAX_BATCH):
            body = encode_points(points[start : start + MAX_BATCH])
            written += int(
                self._transport.request("POST", path, json=body).json()["written"]
            )
        return written

    def metric_history(
        self, run_id: str, key: str, max_points: int | None = None
    ) -> MetricHistory:
        """One metric's points in step order (``max_points`` samples evenly)."""
        path = f"/v1/runs/{segment(run_id)}/metrics/{segment(key)}"
        params = {} if max_points is None else {"max_points": int(max_points)}
        document = decode(self._transport.request("GET", path, params=params).content)
        columns = (
            [document.get(name) for name in _HISTORY_COLUMNS]
            if isinstance(document, dict)
            else []
        )
        if not columns or any(not isinstance(c, list) for c in columns):
            detail = "the metric history answer lacks its steps/timestamps/values"
            raise ServerError(502, "bad-answer", "Bad answer", detail)
        # The lists are taken as the server typed them: checking 300,000 numbers
        # one by one in Python would double the read.
        steps, stamps, values = columns
        return MetricHistory(
            key=key,
            steps=cast("list[int]", steps),
            timestamps_us=cast("list[int]", stamps),
            values=cast("list[float]", values),
        )

    def metrics(self, run_id: str) -> builtins.list[MetricSummary]:
        """Every metric of the run: last value, range and count."""
        path = f"/v1/runs/{segment(run_id)}/metrics"
        return _SUMMARIES.validate_json(self._transport.request("GET", path).content)

    def log_artifact(
        self,
        run_id: str,
        path: str | os.PathLike[str],
        name: str | None = None,
        media_type: str | None = None,
    ) -> Artifact:
        """Attach a file (streamed from disk) to the run as ``name``.

        ``name`` defaults to the file's name; one already so named is replaced.
        """
        source = Path(path)
        try:
            size = source.stat().st_size
        except OSError as exc:
            detail = f"cannot read {source}: {exc.strerror}"
            raise ValidationError(422, "invalid-file", "Invalid file", detail) from None
        media = media_type or mimetypes.guess_type(source.name)[0]
        headers = {
            "Content-Type": media or "application/octet-stream",
            "Content-Length": str(size),
        }
        target = "/".join(segment(part) for part in (name or source.name).split("/"))
        response = self._transport.request(
            "PUT",
            f"/v1/runs/{segment(run_id)}/artifacts/{target}",
            content=file_chunks(source),
            headers=headers,
        )
        return Artifact.model_validate_json(response.content)

    def download_artifact(
        self, run_id: str, name: str, dest: str | os.PathLike[str]
    ) -> Path:
        """Save an artifact to ``dest`` (inside it, when it is a folder)."""
        target = Path(dest)
        if target.is_dir():
            target /= Path(name).name
        quoted = "/".join(segment(part) for part in name.split("/"))
        path = f"/v1/runs/{segment(run_id)}/artifacts/{quoted}"
        with self._transport.stream("GET", path) as response:
            save_stream(
                response.iter_bytes(CHUNK_BYTES),
                target,
                response.headers.get("etag"),
                self._transport.base_url,
            )
        return target


def _strings(values: Mapping[str, object] | None) -> dict[str, str] | None:
    if values is None:
        return None
    return {str(key): str(value) for key, value in values.items()}
