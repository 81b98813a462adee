"""The SDK against a real ``phantom up``: datasets, tracking, artifacts, tenancy.

One server for the module (started like ``test_up.py`` does: a free port, a temp
``PHANTOM_HOME``), with two tenants made by the CLI beforehand: the owner of the
first from ``phantom admin init --json``, of the second from ``phantom tenants
create --json``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import phantom
from phantom.sdk import AuthError, Client, NotFoundError
from tests.e2e.test_up import ROOT, phantom_up, wait_for

pytestmark = pytest.mark.slow

CSV = b"age,plan,churned\n34,basic,0\n51,pro,1\n29,basic,0\n,pro,1\n"
POINTS_PER_THREAD = 10_000


@dataclass(frozen=True)
class Server:
    url: str
    key_a: str
    key_b: str


def cli(home: Path, *args: str) -> dict[str, object]:
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PHANTOM_")},
        "PYTHONPATH": os.pathsep.join([str(ROOT / "src"), str(ROOT)]),
        "PHANTOM_HOME": str(home),
        "PHANTOM_CONFIG": str(home / "no-such-phantom.toml"),
        "PHANTOM_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-m", "phantom", *args, "--json"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, object] = json.loads(done.stdout)
    return document


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("sdk-e2e")
    home = root / "home"
    key_a = str(cli(home, "admin", "init")["api_key"])
    other = cli(
        home, "tenants", "create", "Other Corp", "--owner-email", "o@other.test"
    )
    with phantom_up(home, root) as (base, process, log):
        wait_for(f"{base}/readyz", process, log)
        yield Server(base, key_a, str(other["api_key"]))


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with Client(server.url, server.key_a) as made:
        yield made


def test_a_tracked_run_reads_back_complete(client: Client, tmp_path: Path) -> None:
    source = tmp_path / "churn.csv"
    source.write_bytes(CSV)
    version = client.datasets.upload("churn", source, description="customers")
    assert (version.version, version.format, version.row_count) == (1, "csv", 4)
    assert client.datasets.get("churn").latest_version == 1
    copy = client.datasets.download("churn", 1, tmp_path / "copy.csv")
    assert copy.read_bytes() == CSV
    model = tmp_path / "model.bin"
    model.write_bytes(os.urandom(300_000))

    with phantom.start_run(
        "churn-model",
        name="sdk-e2e",
        params={"lr": 0.1},
        tags={"team": "ml"},
        client=client,
        dataset="churn",
    ) as run:
        assert phantom.active_run() is run
        run.log_params({"epochs": 20, "batch": 64})
        run.set_tags({"stage": "dev"})

        def train(key: str) -> None:
            for step in range(POINTS_PER_THREAD):
                run.log_metric(key, step / 1000)

        threads = [
            threading.Thread(target=train, args=(key,)) for key in ("loss", "acc")
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        run.log_artifact(str(model), name="models/model.bin")
    assert phantom.active_run() is None

    info = client.runs.get(run.id)
    assert info.status == "finished"
    assert info.ended_at is not None
    assert info.params == {"lr": "0.1", "epochs": "20", "batch": "64"}
    assert info.tags == {"team": "ml", "stage": "dev"}
    assert info.dataset_version == 1
    assert info.metrics == {"loss": 9.999, "acc": 9.999}
    for key in ("loss", "acc"):
        history = client.runs.metric_history(run.id, key)
        assert history.steps == list(range(POINTS_PER_THREAD))
        assert history.values == [s / 1000 for s in range(POINTS_PER_THREAD)]
        assert history.timestamps_us == sorted(history.timestamps_us)
    summaries = {s.key: s.count for s in client.runs.metrics(run.id)}
    assert summaries == {"loss": POINTS_PER_THREAD, "acc": POINTS_PER_THREAD}
    saved = client.runs.download_artifact(run.id, "models/model.bin", tmp_path)
    assert saved.read_bytes() == model.read_bytes()
    found = client.runs.search("churn-model", filter="params.lr = '0.1'")
    assert [r.run_id for r in found] == [run.id]


def test_an_exception_inside_start_run_leaves_it_failed(client: Client) -> None:
    def crash() -> str:
        with phantom.start_run("crashing", client=client) as run:
            run.log_metric("loss", 1.5)
            raise ZeroDivisionError(run.id)

    with pytest.raises(ZeroDivisionError) as caught:
        crash()
    run_id = str(caught.value)
    info = client.runs.get(run_id)
    assert info.status == "failed"
    assert info.metrics == {"loss": 1.5}  # flushed before it ended


def test_another_tenant_cannot_see_the_run(server: Server, client: Client) -> None:
    with phantom.start_run("private", client=client) as run:
        run.log_metric("loss", 0.5)
    with Client(server.url, server.key_b) as other:
        with pytest.raises(NotFoundError):
            other.runs.get(run.id)
        with pytest.raises(NotFoundError):
            other.runs.metric_history(run.id, "loss")
        with pytest.raises(NotFoundError):
            other.runs.update(run.id, tags={"x": "y"})
        assert run.id not in {r.run_id for r in other.runs.search(limit=None)}
    assert client.runs.get(run.id).tags == {}
    with (
        Client(server.url, "phk_aaaaaaaaaa_" + "A" * 43) as stranger,
        pytest.raises(AuthError) as caught,
    ):
        stranger.get("/v1/me")
    assert caught.value.status == 401
    assert caught.value.request_id
