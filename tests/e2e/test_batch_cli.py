"""``phantom batch ...`` and ``client.batch_jobs`` against a real ``phantom up``.

The server's in-process worker runs the jobs; the CLI waits for them and saves
the Parquet output, which is compared with the scikit-learn model's own
predictions.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pyarrow.parquet as pq
import pytest
import skops.io as sio

from phantom.sdk import Client, ConflictError, NotFoundError
from tests.e2e.test_models_cli import (
    Server,
    as_json,
    cli,
    ok,
    one_error_line,
    running_server,
    skops_model,
)

pytestmark = pytest.mark.slow

FEATURES = [
    {"name": "f1", "type": "float"},
    {"name": "f2", "type": "float"},
    {"name": "f3", "type": "float"},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("batch-cli")) as running:
        yield running


@pytest.fixture(scope="module")
def scored(server: Server) -> np.ndarray:
    """Model ``batcher`` v1 in production, and a dataset ``to-score``; its rows."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(120, 3)).round(6)
    source = server.files / "to-score.csv"
    lines = ["id,f1,f2,f3"] + [
        f"{i},{a},{b},{c}" for i, (a, b, c) in enumerate(x.tolist())
    ]
    source.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with Client(server.url, server.key) as client:
        client.datasets.upload("to-score", source)
        run = client.runs.start("batch-cli", "batcher")
        path = skops_model(server.files / "batcher.skops")
        artifact = client.runs.log_artifact(run.run_id, path, path.name)
        client.models.register_artifact(
            "batcher", artifact.digest, signature=FEATURES, run_id=run.run_id
        )
        client.models.set_alias("batcher", "production", 1)
    return x


def test_the_cli_scores_a_dataset_and_saves_the_parquet(
    server: Server, scored: np.ndarray
) -> None:
    target = server.files / "scored.parquet"
    job = as_json(
        server,
        "batch",
        "submit",
        "batcher",
        "--dataset",
        "to-score",
        "--output",
        str(target),
    )
    assert job["status"] == "succeeded", job["error"]
    assert job["result"]["rows"] == len(scored)
    table = pq.read_table(target)
    path = server.files / "batcher.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))
    assert table.column("prediction").to_pylist() == model.predict(scored).tolist()

    listed = as_json(server, "batch", "list")
    assert job["job_id"] in [j["job_id"] for j in listed]
    shown = ok(server, "batch", "show", job["job_id"]).stdout
    assert "succeeded" in shown
    again = server.files / "again.parquet"
    ok(server, "batch", "download", job["job_id"], str(again))
    assert again.read_bytes() == target.read_bytes()


def test_the_sdk_submits_waits_and_downloads(
    server: Server, scored: np.ndarray
) -> None:
    with Client(server.url, server.key) as client:
        job = client.batch_jobs.submit("batcher", dataset="to-score", version=1)
        assert job.status == "queued"
        done = client.batch_jobs.wait(job.job_id, timeout=120, poll_s=0.2)
        assert done.status == "succeeded", done.error
        assert (done.model, done.version, done.rows) == ("batcher", 1, len(scored))
        saved = client.batch_jobs.download(job.job_id, server.files)
        assert saved.name == f"batch-{job.job_id}.parquet"
        assert pq.read_table(saved).num_rows == len(scored)
        assert job.job_id in [j.job_id for j in client.batch_jobs.list()]
        with pytest.raises(NotFoundError):
            client.batch_jobs.submit("no-such-model", dataset="to-score")


def test_a_failed_job_is_an_error_line_and_has_no_output(
    server: Server, scored: np.ndarray
) -> None:
    source = server.files / "narrow.csv"
    source.write_text("f1,f2\n1.0,2.0\n", encoding="utf-8")
    with Client(server.url, server.key) as client:
        client.datasets.upload("narrow", source)
    result = cli(server, "batch", "submit", "batcher", "--dataset", "narrow", "--wait")
    line = one_error_line(result)
    assert "failed" in line
    assert "'f3'" in line
    with Client(server.url, server.key) as client:
        failed = client.batch_jobs.list("failed")[0]
        with pytest.raises(ConflictError):
            client.batch_jobs.download(failed.job_id, server.files / "none.parquet")
