"""The typed resources: what they send, and how they read the answers."""

from __future__ import annotations

import hashlib
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from phantom.sdk import Client, Metric, ServerUnreachable, ValidationError
from phantom.sdk.wire import encode_points, to_us
from tests.unit.sdk.fake import KEY, NOW, URL, FakeServer, client_for, run_body

VERSION = {
    "dataset_id": "d1",
    "name": "churn",
    "version": 1,
    "digest": "0" * 64,
    "size_bytes": 12,
    "format": "csv",
    "row_count": 2,
    "columns": [{"name": "a", "type": "integer"}],
    "source": "upload",
    "created_by": "u1",
    "created_at": NOW,
    "a_member_from_a_newer_server": True,
}


def test_an_upload_streams_the_file_with_its_length(tmp_path: Path) -> None:
    data = b"a,b\n" + b"1,2\n" * 600_000  # 2.4 MB: three 1 MiB chunks
    source = tmp_path / "churn.csv"
    source.write_bytes(data)
    seen: dict[str, Any] = {}

    class Recording(httpx.BaseTransport):
        """Reads the body chunk by chunk, as the network would (no ``read()``)."""

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            seen["chunks"] = list(request.stream)  # type: ignore[arg-type]
            seen["request"] = request
            return httpx.Response(201, json=VERSION)

    client = Client(URL, KEY, transport=Recording())
    version = client.datasets.upload("churn", source, description="d")
    request: httpx.Request = seen["request"]
    assert version.version == 1
    assert len(seen["chunks"]) == 3
    assert b"".join(seen["chunks"]) == data
    assert request.headers["content-length"] == str(len(data))
    assert "transfer-encoding" not in request.headers
    assert request.headers["content-type"] == "text/csv"
    assert request.url.params["format"] == "csv"
    assert request.url.params["description"] == "d"
    assert request.url.path == "/v1/datasets/churn/versions"


def test_an_upload_of_bytes_leaves_the_format_to_the_server() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json=VERSION)

    client_for(handler).datasets.upload("my data/x", b"a\n1\n")
    assert "format" not in seen[0].url.params
    assert seen[0].url.raw_path.startswith(b"/v1/datasets/my%20data%2Fx/versions")


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    client = client_for(lambda _: httpx.Response(500))
    with pytest.raises(ValidationError, match="cannot read"):
        client.datasets.upload("x", tmp_path / "nope.csv")


def test_a_download_checks_the_digest_and_is_atomic(tmp_path: Path) -> None:
    content = b"a,b\n1,2\n"
    digest = hashlib.sha256(content).hexdigest()
    etag = {"etag": f'"{digest}"', "content-type": "text/csv"}
    client = client_for(lambda _: httpx.Response(200, content=content, headers=etag))
    saved = client.datasets.download("churn", 1, tmp_path)
    assert saved == tmp_path / "churn-v1.csv"
    assert saved.read_bytes() == content

    bad = {"etag": '"' + "f" * 64 + '"'}
    corrupt = client_for(lambda _: httpx.Response(200, content=content, headers=bad))
    with pytest.raises(ServerUnreachable, match="SHA-256"):
        corrupt.datasets.download("churn", 1, tmp_path / "other.csv")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["churn-v1.csv"]


def test_search_follows_the_pages_up_to_the_limit() -> None:
    pages = {
        None: {"items": [run_body("r1"), run_body("r2")], "next_after": "r2"},
        "r2": {"items": [run_body("r3"), run_body("r4")], "next_after": "r4"},
        "r4": {"items": [run_body("r5")], "next_after": None},
    }
    seen: list[httpx.QueryParams] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.params)
        return httpx.Response(200, json=pages[request.url.params.get("after")])

    client = client_for(handler)
    runs = client.runs.search("churn", filter="metrics.acc > 0.9", limit=None)
    assert [r.run_id for r in runs] == ["r1", "r2", "r3", "r4", "r5"]
    assert seen[0]["experiment"] == "churn"
    assert seen[0]["filter"] == "metrics.acc > 0.9"
    assert seen[0]["limit"] == "500"
    seen.clear()
    assert len(client.runs.search(limit=3)) == 3
    assert [p["limit"] for p in seen] == ["3", "1"]


def test_log_metrics_sends_at_most_10000_points_a_request() -> None:
    server = FakeServer()
    client = client_for(server.handler)
    run = client.runs.start("exp")
    points = [Metric("loss", i / 3, step=i) for i in range(25_000)]
    assert client.runs.log_metrics(run.run_id, points) == 25_000
    assert server.batches == [10_000, 10_000, 5_000]
    sent = server.points[run.run_id]
    assert sent[7] == {"key": "loss", "value": 7 / 3, "step": 7}


def test_points_may_be_mappings_and_carry_timestamps_and_nan() -> None:
    server = FakeServer()
    client = client_for(server.handler)
    run = client.runs.start("exp")
    at = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
    points: list[Metric | dict[str, object]] = [
        {"key": "a/b", "value": math.nan, "step": 1, "timestamp": at},
        Metric("c", math.inf),
        Metric("c", -math.inf, 2),
    ]
    client.runs.log_metrics(run.run_id, points)
    raw = server.requests[-1].content
    assert b'"value":NaN' in raw
    assert b'"value":Infinity' in raw
    assert b'"value":-Infinity' in raw
    assert b'"timestamp":"2026-01-02T03:04:05.678901Z"' in raw
    with pytest.raises(ValidationError, match="metrics\\[0\\]"):
        client.runs.log_metrics(run.run_id, [{"key": "x", "valu": 1}])
    with pytest.raises(ValidationError, match="step"):
        client.runs.log_metrics(run.run_id, [Metric("x", 1.0, step=-1)])


def test_encoded_points_are_the_json_the_server_expects() -> None:
    stamp = to_us(datetime(2026, 11, 23, 23, 59, 59, 999999, tzinfo=UTC))
    body = encode_points(
        [('lo"ss', 0.1, 0, stamp), ('lo"ss', 1e300, 1, stamp + 1), ("k", 2.0, 3, None)]
    )
    assert json.loads(body) == {
        "metrics": [
            {
                "key": 'lo"ss',
                "value": 0.1,
                "step": 0,
                "timestamp": "2026-11-23T23:59:59.999999Z",
            },
            {
                "key": 'lo"ss',
                "value": 1e300,
                "step": 1,
                "timestamp": "2026-11-24T00:00:00.000000Z",
            },
            {"key": "k", "value": 2.0, "step": 3},
        ]
    }


def test_metric_history_is_columnar_and_keeps_nan() -> None:
    body = b'{"key":"loss","steps":[0,1],"timestamps_us":[5,6],"values":[NaN,0.5]}'
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=body)

    history = client_for(handler).runs.metric_history("r1", "train/loss", 100)
    assert history.steps == [0, 1]
    assert history.timestamps_us == [5, 6]
    assert math.isnan(history.values[0])
    assert history.values[1] == 0.5
    assert len(history) == 2
    assert seen[0].url.raw_path == b"/v1/runs/r1/metrics/train%2Floss?max_points=100"


def test_an_artifact_is_put_under_its_name(tmp_path: Path) -> None:
    source = tmp_path / "model.onnx"
    source.write_bytes(b"\x00onnx")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        request.read()
        seen.append(request)
        return httpx.Response(
            201,
            json={
                "name": "models/m.onnx",
                "digest": "0" * 64,
                "size_bytes": 5,
                "media_type": "application/octet-stream",
                "created_at": NOW,
            },
        )

    client = client_for(handler)
    artifact = client.runs.log_artifact("r1", source, name="models/m.onnx")
    assert artifact.size_bytes == 5
    assert seen[0].method == "PUT"
    assert seen[0].url.path == "/v1/runs/r1/artifacts/models/m.onnx"
    assert seen[0].content == b"\x00onnx"
