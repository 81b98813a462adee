"""The gateway end to end: health, errors as problem+json, limits, ids, events."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from phantom import __version__
from phantom.bootstrap import Container
from phantom.gateway import create_app
from phantom.gateway.policy import PUBLIC
from phantom.kernel.errors import ConfigError
from phantom.kernel.events.envelope import new_envelope
from phantom.kernel.logging import configure_logging
from phantom.kernel.settings import Settings
from tests.support import (
    assert_problem,
    build_notes_container,
    call,
    running,
)
from tests.support.notes import NOTE_WRITTEN, NOTES_POLICY, counter_value

UUID_RE = re.compile(
    r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
)
MIB = 1024 * 1024


async def _requests(app: FastAPI, *requests: tuple[str, str]) -> list[httpx.Response]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        return [
            await asyncio.wait_for(client.request(method, url), timeout=30)
            for method, url in requests
        ]


def _write_note(
    app: FastAPI, tenant: str = "t1", text: str = "hello"
) -> dict[str, Any]:
    response = call(app, "POST", "/v1/notes", json={"tenant_id": tenant, "text": text})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# --- health ------------------------------------------------------------------


def test_healthz_answers_ok(app: FastAPI) -> None:
    response = call(app, "GET", "/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_is_ready_when_every_dependency_answers(app: FastAPI) -> None:
    response = call(app, "GET", "/readyz")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "status": "ready",
        "checks": {
            "database:system": "ok",
            "database:tenancy": "ok",
            "database:audit": "ok",
            "database:training": "ok",
            "database:registry": "ok",
            "database:serving": "ok",
            "database:privacy": "ok",
            "database:monitoring": "ok",
            "database:notes": "ok",
            "bus": "ok",
            "cache": "ok",
            "analytics": "ok",
        },
    }


def test_readyz_is_503_problem_when_a_database_is_unreachable(home: Path) -> None:
    closed_port = "postgresql://phantom:s3cret-pw@127.0.0.1:1/phantom"
    settings = Settings(home=home, database_urls={"notes": closed_port})
    container = build_notes_container(settings, migrate=False)
    try:
        app = create_app(settings, container=container, extra_policy=NOTES_POLICY)
        response = call(app, "GET", "/readyz")
    finally:
        container.close()
    body = assert_problem(response, 503)
    assert body["code"] == "unavailable"
    assert body["checks"]["database:system"] == "ok"
    assert body["checks"]["database:notes"] != "ok"
    assert "notes" in body["checks"]["database:notes"]
    assert "database:notes" in body["detail"]
    assert "s3cret" not in response.text


def test_metrics_count_requests_by_method_route_template_and_status(
    app: FastAPI,
) -> None:
    responses = asyncio.run(
        _requests(
            app,
            ("GET", "/healthz"),
            ("GET", "/v1/notes/abc?tenant_id=t1"),
            ("GET", "/v1/notes/def?tenant_id=t1"),
            ("GET", "/no/such/route"),
            ("GET", "/metrics"),
        )
    )
    metrics = responses[-1]
    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    text = metrics.text
    assert (
        'phantom_http_requests_total{method="GET",route="/healthz",status="200"} 1.0'
        in text
    )
    note_route = 'route="/v1/notes/{note_id}",status="404"} 2.0'
    assert f'phantom_http_requests_total{{method="GET",{note_route}' in text
    assert 'route="<unmatched>",status="404"' in text
    assert "phantom_http_request_duration_seconds_bucket" in text


def test_apps_built_side_by_side_keep_their_own_metrics(
    settings: Settings, container: Container
) -> None:
    first = create_app(settings, container=container, extra_policy=NOTES_POLICY)
    second = create_app(settings, container=container, extra_policy=NOTES_POLICY)
    call(first, "GET", "/healthz")
    text = call(second, "GET", "/metrics").text
    assert 'route="/healthz"' not in text


# --- OpenAPI -----------------------------------------------------------------


def test_openapi_describes_the_api_and_its_problem_responses(app: FastAPI) -> None:
    response = call(app, "GET", "/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["info"]["title"] == "Phantom ML"
    assert spec["info"]["version"] == __version__
    assert {"/healthz", "/readyz", "/v1/notes", "/v1/notes/{note_id}"} <= set(
        spec["paths"]
    )
    get_note = spec["paths"]["/v1/notes/{note_id}"]["get"]["responses"]
    assert "application/problem+json" in get_note["404"]["content"]
    validation = get_note["422"]["content"]["application/problem+json"]["schema"]
    assert validation["$ref"].endswith("/ValidationProblem")
    assert "default" in get_note
    assert {"Problem", "ValidationProblem"} <= set(spec["components"]["schemas"])
    docs = call(app, "GET", "/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


# --- errors ------------------------------------------------------------------


def test_unknown_route_is_a_404_problem(app: FastAPI) -> None:
    body = assert_problem(call(app, "GET", "/v2/nothing/here"), 404)
    assert body["title"] == "Not found"
    assert body["instance"] == "/v2/nothing/here"


def test_wrong_method_is_a_405_problem(app: FastAPI) -> None:
    response = call(app, "DELETE", "/healthz")
    body = assert_problem(response, 405)
    assert body["title"] == "Method not allowed"
    assert "GET" in response.headers["allow"]
    assert "DELETE" in body["detail"]


def test_malformed_json_is_a_400_problem(app: FastAPI) -> None:
    response = call(
        app,
        "POST",
        "/v1/notes",
        content=b'{"tenant_id": "t1", "text": ',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 400)
    assert "not valid JSON" in body["detail"]


def test_wrong_types_are_a_422_problem_listing_the_errors(app: FastAPI) -> None:
    huge = "x" * 200_000
    response = call(
        app, "POST", "/v1/notes", json={"tenant_id": 5, "text": huge, "n": [1]}
    )
    body = assert_problem(response, 422)
    assert body["code"] == "invalid-input"
    assert body["errors"], body
    for error in body["errors"]:
        assert set(error) == {"loc", "msg", "type"}
    locs = [error["loc"] for error in body["errors"]]
    assert ["body", "tenant_id"] in locs
    assert ["body", "text"] in locs
    assert huge[:1000] not in response.text
    assert len(response.content) < 4000


def test_missing_note_and_other_tenants_note_are_404_problems(app: FastAPI) -> None:
    note = _write_note(app, tenant="t1")
    missing = call(app, "GET", f"/v1/notes/{uuid.uuid4()}?tenant_id=t1")
    assert assert_problem(missing, 404)["code"] == "note-not-found"
    foreign = call(app, "GET", f"/v1/notes/{note['id']}?tenant_id=t2")
    assert assert_problem(foreign, 404)["code"] == "note-not-found"


def test_body_over_the_limit_with_content_length_is_a_413_problem(
    app: FastAPI,
) -> None:
    response = call(
        app,
        "POST",
        "/v1/notes",
        content=b"x" * (10 * MIB),
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 413)
    assert body["code"] == "payload-too-large"


def test_chunked_body_over_the_limit_is_a_413_problem_read_only_in_part(
    app: FastAPI,
) -> None:
    sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal sent
        for _ in range(160):  # 10 MiB in 64 KiB chunks
            sent += 64 * 1024
            yield b"x" * (64 * 1024)

    response = call(
        app,
        "POST",
        "/v1/notes",
        content=chunks(),
        headers={"content-type": "application/json"},
    )
    assert "content-length" not in response.request.headers
    body = assert_problem(response, 413)
    assert body["code"] == "payload-too-large"
    assert sent <= 2 * MIB  # the limit is 1 MiB: the rest was never pulled


def test_hostile_request_id_is_replaced_and_a_good_one_echoed(app: FastAPI) -> None:
    for hostile in ("a b", "x" * 129, "<script>", "../../etc/passwd;rm"):
        response = call(app, "GET", "/healthz", headers={"x-request-id": hostile})
        assert response.headers["x-request-id"] != hostile
        assert UUID_RE.fullmatch(response.headers["x-request-id"])
    good = "req-42_abc.DEF"
    response = call(app, "GET", "/nowhere", headers={"x-request-id": good})
    assert response.headers["x-request-id"] == good
    assert assert_problem(response, 404)["request_id"] == good


def test_unexpected_exception_is_a_500_problem_without_internals(
    settings: Settings, container: Container
) -> None:
    def explode() -> None:
        msg = "secret internals at /srv/db password=hunter2"
        raise RuntimeError(msg)

    policy = {**NOTES_POLICY, ("GET", "/explode"): PUBLIC}
    app = create_app(settings, container=container, extra_policy=policy)
    app.add_api_route("/explode", explode)
    response = call(app, "GET", "/explode")
    body = assert_problem(response, 500)
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert body["instance"] == "/explode"


def test_create_app_refuses_a_container_together_with_only(
    settings: Settings, container: Container
) -> None:
    with pytest.raises(ConfigError):
        create_app(settings, container=container, only=["notes"])


# --- events ------------------------------------------------------------------


def test_a_note_is_readable_right_after_it_is_written(app: FastAPI) -> None:
    note = _write_note(app, text="inline projection")
    assert note["version"] == 1
    response = call(app, "GET", f"/v1/notes/{note['id']}?tenant_id=t1")
    assert response.status_code == 200
    assert response.json() == note


def test_a_stale_expected_version_is_a_409_problem(app: FastAPI) -> None:
    note = _write_note(app)
    url = f"/v1/notes/{note['id']}"
    update = {"tenant_id": "t1", "text": "second", "expected_version": 1}
    first = call(app, "PUT", url, json=update)
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2
    stale = call(app, "PUT", url, json={**update, "text": "third"})
    assert assert_problem(stale, 409)["code"] == "version-conflict"
    now = call(app, "GET", f"{url}?tenant_id=t1").json()
    assert (now["text"], now["version"]) == ("second", 2)


async def _eventually(probe: Callable[[], int], wanted: int, within: float) -> int:
    deadline = asyncio.get_running_loop().time() + within
    value = await asyncio.to_thread(probe)
    while value < wanted and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.02)
        value = await asyncio.to_thread(probe)
    return value


def test_relay_and_consumer_run_in_the_lifespan(
    app: FastAPI, container: Container
) -> None:
    notes_db = container.database("notes")

    async def scenario() -> tuple[int, int]:
        async with running(app) as client:
            note = {"tenant_id": "t1", "text": "x"}
            response = await client.post("/v1/notes", json=note)
            assert response.status_code == 201
            first = await _eventually(lambda: counter_value(notes_db), 1, within=10)
            # several relay rounds later, the effect is still applied exactly once
            later = await _eventually(lambda: counter_value(notes_db), 2, within=0.3)
        return first, later

    assert asyncio.run(scenario()) == (1, 1)


def test_events_stored_before_start_reach_the_consumer_after_start(
    app: FastAPI, container: Container
) -> None:
    envelope = new_envelope(
        NOTE_WRITTEN,
        tenant_id="t1",
        stream_id="note-early",
        data={"id": "early", "text": "written while the server was down"},
    )
    with container.uow("notes", "t1") as uow:
        uow.append([envelope], expected_version=0)
        uow.commit()
    notes_db = container.database("notes")

    async def scenario() -> int:
        async with running(app):
            return await _eventually(lambda: counter_value(notes_db), 1, within=10)

    assert asyncio.run(scenario()) == 1


def test_an_app_built_from_settings_serves_only_the_named_contexts(
    settings: Settings,
) -> None:
    async def scenario() -> dict[str, str]:
        async with running(create_app(settings, only=["system"])) as client:
            checks: dict[str, str] = (await client.get("/readyz")).json()["checks"]
            return checks

    assert set(asyncio.run(scenario())) == {"database:system", "bus", "cache"}


# --- logging -----------------------------------------------------------------


def test_log_lines_carry_request_and_trace_ids(
    app: FastAPI,
    settings: Settings,
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(settings)
    configure_logging(settings)  # idempotent: still one line per event
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    headers = {
        "x-request-id": "rid-1",
        "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
    }
    assert call(app, "GET", "/v1/notes/x?tenant_id=t1", headers=headers).is_error
    logging.getLogger("uvicorn.error").warning("outside %s", "any request")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    access = [line for line in lines if line.get("event") == "http.request"]
    assert len(access) == 1
    assert access[0]["request_id"] == "rid-1"
    assert access[0]["trace_id"] == trace_id
    assert access[0]["status"] == 404
    stdlib = [line for line in lines if line.get("logger") == "uvicorn.error"]
    assert stdlib == [stdlib[0]]
    assert stdlib[0]["event"] == "outside any request"
    assert "request_id" not in stdlib[0]


def test_logged_exceptions_never_carry_local_variables(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import json as _json

    import structlog

    from phantom.kernel.logging import configure_logging
    from phantom.kernel.settings import Settings

    configure_logging(Settings(log_json=True, log_level="INFO"))
    secret = "phk_secretprefix_dont-log-me"  # a local that must not reach the log

    def fail(key: str) -> None:
        msg = f"boom ({len(key)})"
        raise RuntimeError(msg)

    try:
        fail(secret)
    except RuntimeError:
        structlog.get_logger("test").exception("test.failed")
    line = capsys.readouterr().err.strip().splitlines()[-1]
    assert secret not in line
    assert "locals" not in _json.loads(line)["exception"][0]["frames"][-1]
