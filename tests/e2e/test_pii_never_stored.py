"""Personal data sent in prediction inputs never reaches storage unscrubbed.

A model with string features (an e-mail and a free-text note) is deployed and
sent predictions full of e-mails, card numbers, phone numbers and SSNs, plus a
refused request carrying them in an unknown feature. Then every place Phantom
writes is scanned for the raw values: the analytics database (every column of the
prediction log), every relational database (every row of every table, and the
SQLite files' bytes, write-ahead logs included) and everything the process wrote
to stdout and stderr. With scrubbing turned off the same scan finds them, so the
scan itself is shown to work.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder
from sqlalchemy import MetaData, select

from tests.e2e.world import World, open_world
from tests.support import assert_problem, wait_until

SIGNATURE = [
    {"name": "amount", "type": "float"},
    {"name": "email", "type": "string"},
    {"name": "note", "type": "string"},
]
SECRETS = [
    "grace.hopper@navy.example",
    "4111111111111111",
    "+14155552671",
    "078-05-1120",
]


def model() -> Pipeline:
    rng = np.random.default_rng(3)
    rows = [
        [float(rng.normal()), f"user{i % 5}@corp.example", f"note {i % 3}"]
        for i in range(60)
    ]
    y = [i % 2 for i in range(60)]
    encode = ColumnTransformer(
        [
            ("amount", "passthrough", [0]),
            ("text", OneHotEncoder(handle_unknown="ignore"), [1, 2]),
        ]
    )
    return Pipeline([("encode", encode), ("fit", LogisticRegression())]).fit(
        np.asarray(rows, dtype=object), y
    )


def instances() -> list[dict[str, Any]]:
    email, card, phone, ssn = SECRETS
    return [
        {"amount": 1.5, "email": email, "note": f"card {card}, call {phone}"},
        {"amount": -0.5, "email": "someone@corp.example", "note": f"ssn {ssn}"},
    ]


def deploy(world: World) -> None:
    key = world.owner_a
    created = world.call(
        "POST",
        "/v1/models/pii/versions",
        key=key,
        content=sio.dumps(model()),
        headers={"content-type": "application/octet-stream"},
        params={"signature": json.dumps(SIGNATURE)},
    )
    assert created.status_code == 201, created.text
    done = world.call(
        "POST", "/v1/deployments", key=key, json={"model": "pii", "version": 1}
    )
    assert done.status_code == 201, done.text


def send(world: World) -> None:
    for _ in range(5):
        answer = world.call(
            "POST",
            "/v1/models/pii/predict",
            key=world.owner_a,
            json={"instances": instances()},
        )
        assert answer.status_code == 200, answer.text
    refused = world.call(
        "POST",
        "/v1/models/pii/predict",
        key=world.owner_a,
        json={"instances": [{**instances()[0], "contact": SECRETS[0]}]},
    )
    assert_problem(refused, 422)


def analytics_text(world: World) -> str:
    store: Any = world.container.analytics()
    with store._session("scan") as cursor:
        rows = cursor.execute("SELECT * FROM predictions").fetchall()
    assert rows
    return "\n".join(str(row) for row in rows)


def relational_text(world: World) -> str:
    parts: list[str] = []
    for db in world.container.databases.values():
        with db.system_engine.connect() as conn:
            metadata = MetaData(schema=db.schema)
            metadata.reflect(conn)
            for table in metadata.tables.values():
                parts.extend(str(row) for row in conn.execute(select(table)))
    return "\n".join(parts)


def file_bytes(home: Path) -> bytes:
    return b"".join(
        path.read_bytes()
        for path in home.rglob("*")
        if path.is_file() and "analytics.duckdb" not in path.name
    )


def found(world: World, home: Path, output: str) -> dict[str, list[str]]:
    """Which raw values appear where."""
    world.container.serving.prediction_log.flush()  # type: ignore[union-attr]
    places = {
        "analytics": analytics_text(world),
        "relational": relational_text(world),
        "files": file_bytes(home).decode("latin-1"),
        "output": output,
    }
    return {
        place: [value for value in SECRETS if value in text]
        for place, text in places.items()
    }


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("PHANTOM_") and not name.startswith("PHANTOM_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PHANTOM_CONFIG", str(tmp_path / "no-such-phantom.toml"))
    return tmp_path / "home"


def test_no_raw_personal_data_anywhere_after_predictions(
    clean_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with open_world(clean_env, platform_admin_a=False) as world:
        deploy(world)
        send(world)
        analytics = world.container.analytics()
        tenant = world.a.tenant.id
        assert wait_until(
            lambda: len(analytics.recent_predictions(tenant, "pii", limit=100)) >= 6,
            timeout=10,
            step=0.1,
        )
        captured = capfd.readouterr()
        where = found(world, clean_env, captured.out + captured.err)
        logged = analytics.recent_predictions(tenant, "pii", limit=100)
        assert {r.status for r in logged} == {"ok", "error"}
        assert "<EMAIL>" in logged[0].inputs
    assert where == {"analytics": [], "relational": [], "files": [], "output": []}


def test_the_scan_finds_them_when_scrubbing_is_off(
    clean_env: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    with open_world(
        clean_env, platform_admin_a=False, scrub_prediction_log=False
    ) as world:
        deploy(world)
        send(world)
        analytics = world.container.analytics()
        tenant = world.a.tenant.id
        assert wait_until(
            lambda: len(analytics.recent_predictions(tenant, "pii", limit=100)) >= 6,
            timeout=10,
            step=0.1,
        )
        captured = capfd.readouterr()
        where = found(world, clean_env, captured.out + captured.err)
    assert where["analytics"] == SECRETS
