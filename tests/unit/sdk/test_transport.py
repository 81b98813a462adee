"""Error answers become the SDK's error tree; what is safe to retry is retried."""

from __future__ import annotations

import random

import httpx
import pytest

from phantom.sdk import (
    ApiError,
    AuthError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    RetryPolicy,
    ServerError,
    ServerUnreachable,
    ValidationError,
)
from phantom.sdk.errors import error_from_response
from phantom.sdk.transport import USER_AGENT
from tests.unit.sdk.fake import KEY, URL, client_for, problem

# -- error mapping -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (400, "malformed-body", ValidationError),
        (401, "unauthenticated", AuthError),
        (403, "forbidden", AuthError),
        (404, "not-found", NotFoundError),
        (409, "conflict", ConflictError),
        (413, "payload-too-large", ValidationError),
        (422, "invalid-input", ValidationError),
        (429, "rate-limited", RateLimitedError),
        (500, "internal-error", ServerError),
        (503, "unavailable", ServerError),
        (418, "teapot", ApiError),
    ],
)
def test_a_problem_maps_to_its_error_class(
    status: int, code: str, kind: type[ApiError]
) -> None:
    error = error_from_response(problem(status, code, "what happened"))
    assert type(error) is kind
    assert (error.status, error.code, error.detail) == (status, code, "what happened")


def test_a_problem_keeps_its_members_and_reads_well() -> None:
    errors = [{"loc": ["body", "metrics", 3, "value"], "msg": "not a number"}]
    response = problem(422, "invalid-input", "bad point", errors=errors)
    response.headers["x-request-id"] = "req-7"
    error = error_from_response(response)
    assert error.title == "Invalid-Input"
    assert error.errors == errors
    assert error.request_id == "req-7"
    text = str(error)
    assert "422" in text
    assert "bad point" in text
    assert "body.metrics.3.value: not a number" in text
    assert "req-7" in text


def test_retry_after_is_read_from_a_429() -> None:
    response = problem(429, "rate-limited")
    response.headers["retry-after"] = "3"
    error = error_from_response(response)
    assert isinstance(error, RateLimitedError)
    assert error.retry_after == 3.0


def test_a_non_problem_answer_still_gives_a_useful_error() -> None:
    error = error_from_response(httpx.Response(502, text="<html>Bad gateway</html>"))
    assert isinstance(error, ServerError)
    assert error.code == "http-502"
    assert error.title == "Bad Gateway"
    assert "Bad gateway" in error.detail


# -- the transport --------------------------------------------------------------


def test_requests_carry_the_key_and_the_user_agent() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"ok": True})

    assert client_for(handler).get("/v1/me") == {"ok": True}
    assert seen[0].headers["authorization"] == f"Bearer {KEY}"
    assert seen[0].headers["user-agent"] == USER_AGENT
    assert USER_AGENT.startswith("phantom-sdk/")


def test_a_429_is_retried_after_the_wait_the_server_asked_for() -> None:
    answers = iter([problem(429, "rate-limited"), httpx.Response(200, json={})])
    waits: list[float] = []

    def handler(_: httpx.Request) -> httpx.Response:
        answer = next(answers)
        answer.headers["retry-after"] = "2"
        return answer

    client = client_for(handler, sleep=waits.append)
    assert client.post("/v1/anything", {"x": 1}) == {}  # even a plain POST
    assert len(waits) == 1
    assert 2.0 <= waits[0] <= 2.1


def test_a_quota_refusal_is_not_retried() -> None:
    calls: list[int] = []

    def handler(_: httpx.Request) -> httpx.Response:
        calls.append(1)
        return problem(429, "quota-exceeded")

    with pytest.raises(RateLimitedError):
        client_for(handler).get("/v1/x")
    assert len(calls) == 1


def test_a_503_on_a_get_is_retried_with_growing_jittered_backoff() -> None:
    answers = iter([problem(503, "unavailable")] * 3 + [httpx.Response(200, json=1)])
    waits: list[float] = []
    client = client_for(lambda _: next(answers), attempts=4, sleep=waits.append)
    assert client.get("/v1/x") == 1
    assert len(waits) == 3
    assert waits[0] <= 0.2
    assert waits[1] <= 0.4
    assert waits[2] <= 0.8


def test_backoff_doubles_up_to_its_cap() -> None:
    class Top(random.Random):
        def uniform(self, a: float, b: float) -> float:
            return b

    policy = RetryPolicy(base_s=0.5, max_backoff_s=3.0, rng=Top())
    assert [policy.backoff(n) for n in range(5)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    assert policy.wait_for(0, 100.0) == pytest.approx(60.1)  # capped, jittered


def test_a_503_on_a_post_without_an_idempotency_key_is_not_retried() -> None:
    calls: list[int] = []

    def handler(_: httpx.Request) -> httpx.Response:
        calls.append(1)
        return problem(503, "unavailable")

    with pytest.raises(ServerError):
        client_for(handler).post("/v1/runs/r1/metrics", {"metrics": []})
    assert len(calls) == 1


def test_a_create_is_retried_with_the_same_idempotency_key() -> None:
    keys: list[str] = []
    answers = iter(
        [problem(502, "bad-gateway"), problem(504, "timeout"), None]  # then 201
    )

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers["idempotency-key"])
        answer = next(answers)
        if answer is not None:
            return answer
        return httpx.Response(
            201,
            json={
                "experiment_id": "e1",
                "name": "churn",
                "description": "",
                "created_by": "u",
                "created_at": "2026-11-23T10:00:00Z",
            },
        )

    client = client_for(handler)
    created = client.experiments.create("churn")
    assert created.name == "churn"
    assert len(keys) == 3
    assert len(set(keys)) == 1
    answers = iter([None])
    client.experiments.create("churn")
    assert len(set(keys)) == 2  # a new logical create gets a new key


def test_a_refused_connection_is_retried_even_for_a_post() -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) < 3:
            msg = "connection refused"
            raise httpx.ConnectError(msg, request=request)
        return httpx.Response(200, json={"written": 2})

    assert client_for(handler).post("/v1/runs/r/metrics", {}) == {"written": 2}
    assert len(attempts) == 3


def test_an_unreachable_server_is_named_after_the_retries() -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        msg = "connection refused"
        raise httpx.ConnectError(msg, request=request)

    with pytest.raises(ServerUnreachable) as caught:
        client_for(handler, attempts=4).get("/v1/me")
    assert URL in str(caught.value)
    assert "connection refused" in str(caught.value)
    assert len(attempts) == 4


def test_a_dropped_post_is_not_replayed_but_a_dropped_get_is() -> None:
    attempts: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        attempts.append(request.method)
        msg = "peer closed"
        raise httpx.RemoteProtocolError(msg, request=request)

    client = client_for(handler)
    with pytest.raises(ServerUnreachable):
        client.post("/v1/runs/r/metrics", {})
    assert attempts == ["POST"]
    with pytest.raises(ServerUnreachable):
        client.get("/v1/me")
    assert attempts == ["POST", "GET", "GET", "GET"]
