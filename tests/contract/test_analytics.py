"""The analytics contract over ``duckdb://`` (memory and file), plus its specifics."""

from __future__ import annotations

from typing import TYPE_CHECKING

import duckdb
import pytest

from phantom.kernel.analytics import AnalyticsStore, open_analytics
from phantom.kernel.analytics.duckdb import (
    SCHEMA_VERSION,
    DuckdbAnalyticsStore,
    duckdb_path,
)
from phantom.kernel.errors import ConfigError, Unavailable
from phantom.testing.contracts.analytics import AnalyticsStoreContract, series

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
        open_analytics("clickhouse://127.0.0.1:8123/phantom")
    assert "duckdb://" in str(caught.value)


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
