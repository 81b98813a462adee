"""The analytics contract over each adapter, plus each adapter's specifics.

``duckdb://`` (memory and file); ClickHouse's SQL on chDB (``chdb://:memory:``,
through the chDB session and through clickhouse-connect's chDB backend, which
runs the HTTP session's code), and on a server when
``PHANTOM_TEST_CLICKHOUSE_URL`` names one (``clickhouse://user:pass@host:8123/db``;
each test gets a database of its own, dropped afterwards).
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import duckdb
import pytest

from phantom.kernel.analytics import AnalyticsStore, open_analytics
from phantom.kernel.analytics.clickhouse import ClickhouseAnalyticsStore
from phantom.kernel.analytics.clickhouse_schema import SCHEMA_VERSION as CH_SCHEMA
from phantom.kernel.analytics.clickhouse_schema import TTL_COLUMNS
from phantom.kernel.analytics.clickhouse_session import TransportError, rows
from phantom.kernel.analytics.clickhouse_url import parse_clickhouse_url
from phantom.kernel.analytics.duckdb import (
    SCHEMA_VERSION,
    DuckdbAnalyticsStore,
    duckdb_path,
)
from phantom.kernel.errors import ConfigError, Unavailable
from phantom.testing.contracts.analytics import AnalyticsStoreContract, point, series
from phantom.testing.contracts.analytics_predictions import prediction
from phantom.testing.services import services_required

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


class TestDuckdbMemoryAnalytics(AnalyticsStoreContract):
    @pytest.fixture
    def store(self) -> Iterator[AnalyticsStore]:
        store = open_analytics("duckdb://:memory:")
        yield store
        store.close()


class TestDuckdbFileAnalytics(AnalyticsStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[AnalyticsStore]:
        store = open_analytics(f"duckdb://{tmp_path}/a.duckdb")
        yield store
        store.close()


def test_open_analytics_builds_the_duckdb_adapter() -> None:
    store = open_analytics("duckdb://:memory:")
    try:
        assert isinstance(store, DuckdbAnalyticsStore)
    finally:
        store.close()


def test_unknown_scheme_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        open_analytics("cassandra://127.0.0.1:9042/phantom")
    for scheme in ("duckdb://", "clickhouse://", "clickhouses://", "chdb://"):
        assert scheme in str(caught.value)


@pytest.mark.parametrize("url", ["duckdb://", "sqlite:///a.db"])
def test_a_url_without_a_duckdb_path_is_a_config_error(url: str) -> None:
    with pytest.raises(ConfigError):
        duckdb_path(url)


def test_duckdb_url_paths_are_relative_absolute_or_memory() -> None:
    assert duckdb_path("duckdb://.phantom/analytics.duckdb") == (
        ".phantom/analytics.duckdb"
    )
    assert duckdb_path("duckdb:///srv/p/a.duckdb") == "/srv/p/a.duckdb"
    assert duckdb_path("duckdb://:memory:") == ":memory:"


def test_memory_stores_are_private_to_each_other() -> None:
    first = open_analytics("duckdb://:memory:")
    second = open_analytics("duckdb://:memory:")
    try:
        first.append_metrics(series(3))
        assert second.latest_metrics("t1", ["r1"]) == {}
    finally:
        first.close()
        second.close()


def test_the_file_and_its_directories_are_created_and_points_survive_reopening(
    tmp_path: Path,
) -> None:
    url = f"duckdb://{tmp_path}/deep/er/a.duckdb"
    store = open_analytics(url)
    store.append_metrics(series(10))
    store.close()
    assert (tmp_path / "deep" / "er" / "a.duckdb").is_file()
    again = open_analytics(url)
    try:
        assert again.metric_history("t1", "r1", "loss").steps == list(range(10))
    finally:
        again.close()


def test_the_schema_version_is_recorded_once(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    for _ in range(2):
        open_analytics(f"duckdb://{path}").close()
    con = duckdb.connect(str(path))
    try:
        rows = con.execute("SELECT version FROM schema_version").fetchall()
        tables = {
            name
            for (name,) in con.execute(
                "SELECT table_name FROM information_schema.tables"
            ).fetchall()
        }
    finally:
        con.close()
    assert sorted(rows) == [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    assert {"schema_version", "metric_points", "predictions"} <= tables


def test_a_newer_schema_version_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "a.duckdb"
    open_analytics(f"duckdb://{path}").close()
    con = duckdb.connect(str(path))
    con.execute("INSERT INTO schema_version VALUES (99, now()::TIMESTAMP)")
    con.close()
    with pytest.raises(ConfigError, match="upgrade Phantom"):
        open_analytics(f"duckdb://{path}")


@pytest.mark.parametrize("content", [b"", b"not a database at all\n" * 500])
def test_a_file_that_is_not_a_duckdb_database_is_a_config_error(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "a.duckdb"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match="not a usable DuckDB database"):
        open_analytics(f"duckdb://{path}")
    assert path.read_bytes() == content


def test_a_directory_or_an_uncreatable_path_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        open_analytics(f"duckdb://{tmp_path}")
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot create the directory"):
        open_analytics(f"duckdb://{tmp_path}/file/a.duckdb")


def test_a_driver_failure_during_a_call_is_unavailable(tmp_path: Path) -> None:
    store = DuckdbAnalyticsStore(str(tmp_path / "a.duckdb"))
    try:
        store.append_metrics(series(2))
        store._con.execute("DROP TABLE metric_points")
        with pytest.raises(Unavailable, match="read a metric history") as caught:
            store.metric_history("t1", "r1", "loss")
        assert isinstance(caught.value.__cause__, duckdb.Error)
        store.ping()  # the store is still usable for what does not need the table
    finally:
        store.close()


# -- ClickHouse (server and chDB) ----------------------------------------------

_HOUR_US = 3_600_000_000
_ROLLUP = """
    SELECT model, version, route, toUnixTimestamp(hour) AS hour_s,
           sum(requests) AS n, sum(rows) AS r, sum(errors) AS e,
           quantilesMerge(0.5, 0.95, 0.99)(latency) AS q,
           min(first_us) AS f, max(last_us) AS l
    FROM predictions_hourly WHERE tenant_id = {tenant:String}
    GROUP BY model, version, route, hour ORDER BY hour, version
"""
_TABLES = """
    SELECT name, engine_full FROM system.tables
    WHERE database = currentDatabase() ORDER BY name
"""


def _engines(store: ClickhouseAnalyticsStore) -> dict[str, str]:
    return dict(rows(store._session.query(_TABLES)))


class ClickhouseSpecifics:
    """What the ClickHouse adapter adds to the contract, on any of its engines."""

    def test_ids_with_quotes_backslashes_and_control_characters_round_trip(
        self, store: ClickhouseAnalyticsStore
    ) -> None:
        tenant, run, key = "t'1\\", "r\t1\n'", "k\\'\r\b\f名"
        store.append_metrics([point(0, 1.0, tenant_id=tenant, run_id=run, key=key)])
        store.append_metrics([point(0, 2.0, tenant_id="t'1", run_id=run, key=key)])
        assert store.metric_history(tenant, run, key).values == [1.0]
        assert store.latest_metrics(tenant, [run, "r1"]) == {run: {key: 1.0}}
        assert store.delete_run(tenant, run) == 1
        assert store.latest_metrics("t'1", [run]) == {run: {key: 2.0}}

    def test_every_insert_of_predictions_feeds_the_hourly_rollup(
        self, store: ClickhouseAnalyticsStore
    ) -> None:
        hour = int(time.time()) // 3600 * _HOUR_US
        records = [
            prediction("t1", f"p{i}", "churn", timestamp_us=hour + i, latency_us=i)
            for i in range(1, 101)
        ]
        records += [
            prediction("t1", "e", "churn", timestamp_us=hour + _HOUR_US, rows=3),
            prediction("t1", "c", "churn", timestamp_us=hour + 5, version=2),
            prediction("t2", "x", "churn", timestamp_us=hour),
        ]
        records[100] = records[100]._replace(status="error")
        store.append_predictions(records[:40])
        store.append_predictions(records[40:])
        found = rows(store._session.query(_ROLLUP, {"tenant": "t1"}))
        hour_s = hour // 1_000_000
        assert [row[:7] for row in found] == [
            ("churn", 1, "primary", hour_s, 100, 100, 0),
            ("churn", 2, "primary", hour_s, 1, 1, 0),
            ("churn", 1, "primary", hour_s + 3600, 1, 3, 1),
        ]
        p50, p95, p99 = found[0][7]  # quantile states: estimates
        assert 45 <= p50 <= 55
        assert 90 <= p95 <= 100
        assert 95 <= p99 <= 100
        assert found[0][8:] == (hour + 1, hour + 100)

    def test_tables_are_partitioned_and_expire_by_the_retention(
        self, store: ClickhouseAnalyticsStore
    ) -> None:
        engines = _engines(store)
        for table in ("metric_points", "predictions", "feedback"):
            assert engines[table].startswith("MergeTree PARTITION BY toYYYYMM(")
            assert "TTL logged_at + toIntervalDay(365)" in engines[table]
            assert "ORDER BY (tenant_id," in engines[table]
        assert engines["predictions_hourly"].startswith("AggregatingMergeTree")
        assert "TTL hour + toIntervalDay(365)" in engines["predictions_hourly"]
        assert "predictions_hourly_mv" in engines

    def test_a_driver_failure_during_a_call_is_unavailable(
        self, store: ClickhouseAnalyticsStore
    ) -> None:
        store.append_metrics(series(2))
        store._session.command("DROP TABLE metric_points")
        with pytest.raises(Unavailable, match="read a metric history") as caught:
            store.metric_history("t1", "r1", "loss")
        assert isinstance(caught.value.__cause__, TransportError)
        store.ping()  # the store is still usable for what does not need the table


@pytest.fixture(scope="class")
def chdb_engine() -> Iterator[None]:
    """Keep chDB's in-memory engine up for a whole class of tests.

    chDB stops its engine when its last connection closes; one connection held
    here spares each test the restart. Stores still open their own connection and
    keep apart in a private database each.
    """
    chdb = pytest.importorskip("chdb")
    anchor = chdb.connect(":memory:")
    yield
    anchor.close()


@pytest.mark.usefixtures("chdb_engine")
class TestChdbAnalyticsStore(AnalyticsStoreContract, ClickhouseSpecifics):
    @pytest.fixture
    def store(self) -> Iterator[AnalyticsStore]:
        store = open_analytics("chdb://:memory:")
        yield store
        store.close()


@pytest.mark.usefixtures("chdb_engine")
class TestClickhouseClientOverChdbAnalyticsStore(
    AnalyticsStoreContract, ClickhouseSpecifics
):
    """The server session's code, on clickhouse-connect's own chDB backend."""

    @pytest.fixture
    def store(self) -> Iterator[AnalyticsStore]:
        clickhouse_connect = pytest.importorskip("clickhouse_connect")
        from phantom.kernel.analytics.clickhouse_client import ClickhouseClientSession

        try:
            client = clickhouse_connect.get_client(interface="chdb", path=":memory:")
        except Exception as exc:  # an older clickhouse-connect: no chDB backend
            pytest.skip(f"clickhouse-connect cannot use chDB: {exc}")
        session = ClickhouseClientSession(client, "chdb://:memory: (http session)")
        target = parse_clickhouse_url("chdb://:memory:")
        store = ClickhouseAnalyticsStore(session, target)
        yield store
        store.close()


def _clickhouse_test_url(database: str) -> str:
    """``PHANTOM_TEST_CLICKHOUSE_URL`` with its database replaced by ``database``."""
    base = urlsplit(os.environ["PHANTOM_TEST_CLICKHOUSE_URL"])
    return urlunsplit(base._replace(path=f"/{database}"))


class TestClickhouseServerAnalyticsStore(AnalyticsStoreContract, ClickhouseSpecifics):
    @pytest.fixture
    def store(self) -> Iterator[AnalyticsStore]:
        if not os.environ.get("PHANTOM_TEST_CLICKHOUSE_URL"):
            pytest.skip("no ClickHouse server: PHANTOM_TEST_CLICKHOUSE_URL is not set")
        pytest.importorskip("clickhouse_connect")
        from phantom.kernel.analytics.clickhouse_client import ClickhouseClientSession

        url = _clickhouse_test_url(f"phantom_test_{uuid.uuid4().hex}")
        try:
            store = open_analytics(url)
        except Unavailable as exc:
            reason = f"ClickHouse unreachable: {exc}"
            if services_required():
                pytest.fail(f"{reason} (PHANTOM_TEST_SERVICES=required)")
            pytest.skip(reason)
        try:
            yield store
        finally:
            store.close()
            target = parse_clickhouse_url(url)
            admin = ClickhouseClientSession.open(target)
            try:
                admin.command(f"DROP DATABASE IF EXISTS `{target.database}`")
            finally:
                admin.close()


def test_open_analytics_builds_the_clickhouse_adapter_for_chdb() -> None:
    pytest.importorskip("chdb")
    store = open_analytics("chdb://:memory:")
    try:
        assert isinstance(store, ClickhouseAnalyticsStore)
    finally:
        store.close()


def test_chdb_memory_stores_are_private_to_each_other() -> None:
    pytest.importorskip("chdb")
    first = open_analytics("chdb://:memory:")
    second = open_analytics("chdb://:memory:")
    try:
        first.append_metrics(series(3))
        assert second.latest_metrics("t1", ["r1"]) == {}
    finally:
        first.close()
        second.close()


def test_a_chdb_directory_is_created_and_points_survive_reopening(
    tmp_path: Path,
) -> None:
    pytest.importorskip("chdb")
    url = f"chdb://{tmp_path}/deep/er/analytics"
    store = open_analytics(url)
    store.append_metrics(series(10))
    store.close()
    assert (tmp_path / "deep" / "er" / "analytics").is_dir()
    again = open_analytics(url)
    try:
        assert again.metric_history("t1", "r1", "loss").steps == list(range(10))
    finally:
        again.close()


def test_retention_days_sets_every_ttl_and_reopening_changes_it(
    tmp_path: Path,
) -> None:
    pytest.importorskip("chdb")
    url = f"chdb://{tmp_path}/a?retention_days=30"
    store = open_analytics(url)
    assert isinstance(store, ClickhouseAnalyticsStore)
    try:
        engines = _engines(store)
        assert all("toIntervalDay(30)" in engines[table] for table in TTL_COLUMNS), (
            engines
        )
    finally:
        store.close()
    store = open_analytics(url.replace("30", "7"))
    assert isinstance(store, ClickhouseAnalyticsStore)
    try:
        engines = _engines(store)
        assert all("toIntervalDay(7)" in engines[table] for table in TTL_COLUMNS)
    finally:
        store.close()


def test_the_clickhouse_schema_version_is_recorded_once_and_a_newer_refused(
    tmp_path: Path,
) -> None:
    pytest.importorskip("chdb")
    url = f"chdb://{tmp_path}/a?database=analytics"
    for _ in range(2):
        open_analytics(url).close()
    store = open_analytics(url)
    assert isinstance(store, ClickhouseAnalyticsStore)
    try:
        assert store.database == "analytics"
        found = store._session.query("SELECT version FROM schema_version FINAL")
        assert rows(found) == [(v,) for v in range(1, CH_SCHEMA + 1)]
        store._session.command("INSERT INTO schema_version (version) VALUES (99)")
    finally:
        store.close()
    with pytest.raises(ConfigError, match="upgrade Phantom"):
        open_analytics(url)


def test_a_second_chdb_directory_in_one_process_is_a_config_error(
    tmp_path: Path,
) -> None:
    pytest.importorskip("chdb")
    store = open_analytics(f"chdb://{tmp_path}/one")
    try:
        with pytest.raises(ConfigError, match="another chDB data directory open"):
            open_analytics(f"chdb://{tmp_path}/two")
        store.ping()
    finally:
        store.close()


def test_a_missing_driver_is_a_config_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "chdb", None)
    monkeypatch.delitem(
        sys.modules, "phantom.kernel.analytics.chdb_session", raising=False
    )
    with pytest.raises(ConfigError, match=r"phantom-ml\[clickhouse\]"):
        open_analytics("chdb://:memory:")


def test_an_unreachable_clickhouse_server_is_unavailable() -> None:
    pytest.importorskip("clickhouse_connect")
    with pytest.raises(Unavailable, match="cannot reach") as caught:
        open_analytics("clickhouse://phantom:s3cret@127.0.0.1:1/phantom")
    assert "s3cret" not in str(caught.value)


def test_a_bad_clickhouse_url_is_a_config_error_before_any_connection() -> None:
    with pytest.raises(ConfigError, match="retention_days"):
        open_analytics("clickhouse://127.0.0.1:1/phantom?retention_days=forever")
