"""Small in-memory stand-ins for the server, behind ``httpx.MockTransport``.

:class:`FakeServer` answers like our server (problem+json errors, the same JSON
shapes) for the training routes the SDK's unit tests touch; :class:`Recorder`
answers canned responses in turn. The real server is exercised in
``tests/e2e/test_sdk.py``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from phantom.sdk import Client, RetryPolicy

URL = "http://phantom.test"
KEY = "phk_test_secret"
NOW = "2026-11-23T10:00:00Z"


def problem(status: int, code: str, detail: str = "", **extra: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "type": f"https://phantom.dev/problems/{code}",
        "title": code.title(),
        "status": status,
        "detail": detail or code,
        "code": code,
        **extra,
    }
    return httpx.Response(
        status, json=body, headers={"content-type": "application/problem+json"}
    )


def run_body(run_id: str, status: str = "running", **extra: Any) -> dict[str, Any]:
    return {
        "run_id": run_id,
        "experiment_id": "e1",
        "name": f"run-{run_id}",
        "status": status,
        "params": {},
        "tags": {},
        "metrics": {},
        "artifacts": [],
        "dataset_id": None,
        "dataset_version": None,
        "job_id": None,
        "created_by": "u1",
        "started_at": NOW,
        "ended_at": None,
    } | extra


@dataclass
class FakeServer:
    """Runs, their points, params, tags and statuses; every request kept."""

    requests: list[httpx.Request] = field(default_factory=list)
    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    points: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    batches: list[int] = field(default_factory=list)
    fail_metrics: Callable[[int], httpx.Response | None] | None = None
    metric_delay_s: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def handler(self, request: httpx.Request) -> httpx.Response:
        with self.lock:
            self.requests.append(request)
        path, method = request.url.path, request.method
        if request.headers.get("authorization") != f"Bearer {KEY}":
            return problem(401, "unauthenticated")
        if method == "POST" and path == "/v1/runs":
            return self._start(json.loads(request.content))
        parts = path.split("/")
        if len(parts) >= 4 and parts[2] == "runs" and parts[3] not in self.runs:
            return problem(404, "not-found", f"no run {parts[3]}")
        return self._on_run(method, parts, request)

    def _on_run(
        self, method: str, parts: list[str], request: httpx.Request
    ) -> httpx.Response:
        if method == "PATCH" and len(parts) == 4:
            return self._patch(parts[3], json.loads(request.content))
        if method == "GET" and len(parts) == 4:
            return httpx.Response(200, json=self.runs[parts[3]])
        if method == "POST" and parts[4:] == ["metrics"]:
            return self._metrics(parts[3], request)
        return problem(404, "not-found", f"no route {method} {request.url.path}")

    def _start(self, body: dict[str, Any]) -> httpx.Response:
        with self.lock:
            run_id = f"r{len(self.runs) + 1}"
            self.runs[run_id] = run_body(
                run_id, params=body.get("params") or {}, tags=body.get("tags") or {}
            )
            self.points[run_id] = []
        return httpx.Response(201, json=self.runs[run_id])

    def _patch(self, run_id: str, body: dict[str, Any]) -> httpx.Response:
        with self.lock:
            run = self.runs[run_id]
            for key, value in (body.get("params") or {}).items():
                if run["params"].get(key, value) != value:
                    return problem(409, "conflict", f"param {key}")
                run["params"][key] = value
            run["tags"].update(body.get("tags") or {})
            if body.get("status"):
                if run["status"] not in ("running", body["status"]):
                    return problem(409, "conflict", "ended")
                run["status"] = body["status"]
        return httpx.Response(200, json=run)

    def _metrics(self, run_id: str, request: httpx.Request) -> httpx.Response:
        points = json.loads(request.content)["metrics"]
        if len(points) > 10_000:
            return problem(422, "invalid-input", "too many points")
        if self.fail_metrics is not None:
            failure = self.fail_metrics(len(self.batches))
            if failure is not None:
                with self.lock:
                    self.batches.append(-len(points))
                return failure
        if self.metric_delay_s:
            threading.Event().wait(self.metric_delay_s)
        with self.lock:
            self.batches.append(len(points))
            self.points[run_id].extend(points)
        return httpx.Response(200, json={"written": len(points)})


class Recorder:
    """Answers each request with the next canned response; keeps the requests."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.answers.pop(0)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def ok(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def no_sleep(_: float) -> None:
    return None


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
    *,
    attempts: int = 3,
    sleep: Callable[[float], None] = no_sleep,
) -> Client:
    policy = RetryPolicy(attempts=attempts, sleep=sleep)
    return Client(URL, KEY, retry=policy, transport=httpx.MockTransport(handler))
