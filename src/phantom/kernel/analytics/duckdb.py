"""``duckdb://``: the analytics store in an embedded DuckDB database.

URL: ``duckdb://PATH``. Everything after ``duckdb://`` is the file's path, taken
literally (no query string, no percent-decoding): ``duckdb://.phantom/analytics.duckdb``
is relative to the working directory, ``duckdb:///srv/phantom/analytics.duckdb`` is
absolute, and ``duckdb://:memory:`` is a private in-memory database (tests). The
file and its parent directories are created on open, with the schema.

**One writer process.** DuckDB lets a single process open a database file for
writing, so only the API server opens it: workers, jobs and the SDK send their
points to the server over HTTP and never open the file themselves. A second
process that tries gets :class:`Unavailable`.

**Threads.** The store holds one DuckDB connection and lends its cursors (each a
connection of its own on the same database; a connection is not thread-safe) to
one call at a time. Reads run in parallel; appends and deletes are serialised by a
lock, as DuckDB commits one writer at a time anyway and concurrent deletes of the
same rows would conflict.

**Speed and durability.** A batch is checked and turned into columns (NumPy
arrays), then written by one ``INSERT ... SELECT`` over them: one statement, one
transaction, committed to DuckDB's write-ahead log before
:meth:`DuckdbAnalyticsStore.append_metrics` returns, so a killed process loses
nothing acknowledged. Histories are read by one query fetched as NumPy columns.
The table has no index: points arrive clustered by run and time, so DuckDB's
per-row-group min/max statistics skip most of the table.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Final

import duckdb
import numpy as np

from phantom.kernel.analytics.checks import (
    check_id,
    check_key,
    check_max_points,
    check_points,
    check_run_ids,
)
from phantom.kernel.analytics.duckdb_predictions import (
    PREDICTION_MIGRATIONS,
    DuckdbPredictions,
)
from phantom.kernel.analytics.port import (
    MetricHistory,
    MetricStats,
    sampled_positions,
)
from phantom.kernel.errors import ConfigError, Unavailable

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from phantom.kernel.analytics.checks import MetricColumns
    from phantom.kernel.analytics.port import MetricPoint

__all__ = ["MEMORY", "SCHEMA_VERSION", "DuckdbAnalyticsStore", "duckdb_path"]

MEMORY: Final = ":memory:"
"""The path of a private in-memory database."""

_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (
    (
        """
        CREATE TABLE IF NOT EXISTS metric_points (
            tenant_id VARCHAR NOT NULL,
            run_id VARCHAR NOT NULL,
            key VARCHAR NOT NULL,
            step BIGINT NOT NULL,
            timestamp_us BIGINT NOT NULL,
            value DOUBLE NOT NULL
        )
        """,
    ),
    *PREDICTION_MIGRATIONS,
)
"""Schema changes; entry ``i`` brings the database to version ``i + 1``."""

SCHEMA_VERSION: Final = len(_MIGRATIONS)
"""The schema version this code writes."""

_CLOSE_WAIT_S: Final = 30.0
_BATCH_VIEW: Final = "phantom_metric_batch"
_INSERT: Final = """
    INSERT INTO metric_points
    SELECT
        tenant_id,
        run_id,
        key,
        step,
        timestamp_us,
        CASE WHEN value_is_nan THEN 'NaN'::DOUBLE ELSE value END
    FROM phantom_metric_batch
"""
_HISTORY: Final = """
    SELECT step, timestamp_us, value FROM metric_points
    WHERE tenant_id = $tenant AND run_id = $run AND key = $key
    ORDER BY step, timestamp_us, value
"""
_LATEST: Final = """
    SELECT run_id, key, arg_max(value, (step, timestamp_us, value))
    FROM metric_points
    WHERE tenant_id = $tenant AND run_id IN (SELECT unnest($runs::VARCHAR[]))
    GROUP BY run_id, key
"""
_SUMMARY: Final = """
    SELECT
        run_id,
        key,
        arg_max(value, (step, timestamp_us, value)),
        min(value) FILTER (WHERE NOT isnan(value)),
        max(value) FILTER (WHERE NOT isnan(value)),
        count(*),
        max(step)
    FROM metric_points
    WHERE tenant_id = $tenant AND run_id IN (SELECT unnest($runs::VARCHAR[]))
    GROUP BY run_id, key
"""
_DELETE_RUN: Final = """
    DELETE FROM metric_points WHERE tenant_id = $tenant AND run_id = $run
"""


def duckdb_path(url: str) -> str:
    """Return the database path of a ``duckdb://`` URL (:data:`MEMORY` or a file).

    Raises:
        ConfigError: the URL is not ``duckdb://`` or names no path.
    """
    scheme, sep, path = url.partition("://")
    if not sep or scheme.split("+", 1)[0].lower() != "duckdb":
        msg = f"not a duckdb:// URL: {url!r}"
        raise ConfigError(msg)
    if not path:
        msg = f"duckdb URL {url!r} names no file (use duckdb://{MEMORY} for memory)"
        raise ConfigError(msg)
    return path


class DuckdbAnalyticsStore(DuckdbPredictions):
    """The analytics store on an embedded DuckDB database (see the module docs).

    Args:
        path: the database file, created with its parent directories if missing,
            or :data:`MEMORY`.

    Raises:
        ConfigError: the file is not a DuckDB database, cannot be created or read,
            or was written by a newer Phantom.
        Unavailable: another process has the file open.
    """

    def __init__(self, path: str) -> None:
        self._where = path
        self._con = _connect(path)
        try:
            _migrate(self._con, path)
        except BaseException:
            self._con.close()
            raise
        self._state = threading.Condition()
        self._idle: list[duckdb.DuckDBPyConnection] = []
        self._busy = 0
        self._closed = False
        self._write_lock = threading.Lock()

    def append_metrics(self, points: Sequence[MetricPoint]) -> int:
        """Append one batch atomically; return how many points were written."""
        columns = check_points(points)
        with self._session("append metrics") as cursor:
            count = len(columns.steps)
            if count:
                batch = _as_arrays(columns)
                with self._write_lock:
                    cursor.register(_BATCH_VIEW, batch)
                    try:
                        cursor.execute(_INSERT)
                    finally:
                        cursor.unregister(_BATCH_VIEW)
        return count

    def metric_history(
        self,
        tenant_id: str,
        run_id: str,
        key: str,
        *,
        max_points: int | None = None,
    ) -> MetricHistory:
        """Return one metric of one run in order (see ``AnalyticsStore``)."""
        params = {
            "tenant": check_id("tenant_id", tenant_id),
            "run": check_id("run_id", run_id),
            "key": check_key(key),
        }
        most = check_max_points(max_points)
        with self._session("read a metric history") as cursor:
            found = cursor.execute(_HISTORY, params).fetchnumpy()
        steps, stamps, values = found["step"], found["timestamp_us"], found["value"]
        if most is not None and len(steps) > most:
            keep = np.asarray(sampled_positions(len(steps), most), dtype=np.int64)
            steps, stamps, values = steps[keep], stamps[keep], values[keep]
        return MetricHistory(
            key=params["key"],
            steps=steps.tolist(),
            timestamps_us=stamps.tolist(),
            values=values.tolist(),
        )

    def latest_metrics(
        self, tenant_id: str, run_ids: Sequence[str]
    ) -> dict[str, dict[str, float]]:
        """Return ``run_id -> key -> latest value`` (see ``AnalyticsStore``)."""
        params = {"tenant": check_id("tenant_id", tenant_id)}
        runs = check_run_ids(run_ids)
        with self._session("read latest metrics") as cursor:
            if not runs:
                return {}
            rows = cursor.execute(_LATEST, {**params, "runs": runs}).fetchall()
        latest: dict[str, dict[str, float]] = {}
        for run_id, key, value in rows:
            latest.setdefault(run_id, {})[key] = value
        return latest

    def metric_summary(
        self, tenant_id: str, run_ids: Sequence[str]
    ) -> dict[str, dict[str, MetricStats]]:
        """Return ``run_id -> key -> stats`` (see ``AnalyticsStore``)."""
        params = {"tenant": check_id("tenant_id", tenant_id)}
        runs = check_run_ids(run_ids)
        with self._session("summarise metrics") as cursor:
            if not runs:
                return {}
            rows = cursor.execute(_SUMMARY, {**params, "runs": runs}).fetchall()
        summary: dict[str, dict[str, MetricStats]] = {}
        for run_id, key, last, low, high, count, last_step in rows:
            summary.setdefault(run_id, {})[key] = MetricStats(
                last=last,
                min=_nan_if_none(low),
                max=_nan_if_none(high),
                count=count,
                last_step=last_step,
            )
        return summary

    def delete_run(self, tenant_id: str, run_id: str) -> int:
        """Delete the tenant's run; return how many points went."""
        params = {
            "tenant": check_id("tenant_id", tenant_id),
            "run": check_id("run_id", run_id),
        }
        with self._session("delete a run") as cursor, self._write_lock:
            row = cursor.execute(_DELETE_RUN, params).fetchone()
        return int(row[0]) if row else 0

    def ping(self) -> None:
        """Raise :class:`Unavailable` unless the store answers a query."""
        with self._session("ping") as cursor:
            cursor.execute("SELECT 1").fetchall()

    def close(self) -> None:
        """Wait for calls in flight (up to 30 s), then release the database."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            self._state.wait_for(lambda: self._busy == 0, timeout=_CLOSE_WAIT_S)
            idle, self._idle = self._idle, []
        for cursor in idle:
            _close_quietly(cursor)
        _close_quietly(self._con)

    @contextmanager
    def _session(self, action: str) -> Iterator[duckdb.DuckDBPyConnection]:
        """Lend a cursor for one call; DuckDB errors become :class:`Unavailable`."""
        cursor = self._borrow(action)
        reusable = True
        try:
            yield cursor
        except duckdb.Error as exc:
            reusable = False
            msg = f"analytics store at {self._where} failed ({action})"
            raise Unavailable(msg) from exc
        finally:
            self._give_back(cursor, reusable=reusable)

    def _borrow(self, action: str) -> duckdb.DuckDBPyConnection:
        with self._state:
            if self._closed:
                msg = f"analytics store at {self._where} is closed ({action})"
                raise Unavailable(msg)
            if self._idle:
                cursor = self._idle.pop()
            else:
                try:
                    cursor = self._con.cursor()
                except duckdb.Error as exc:
                    msg = f"analytics store at {self._where} failed ({action})"
                    raise Unavailable(msg) from exc
            self._busy += 1
            return cursor

    def _give_back(self, cursor: duckdb.DuckDBPyConnection, *, reusable: bool) -> None:
        with self._state:
            self._busy -= 1
            keep = reusable and not self._closed
            if keep:
                self._idle.append(cursor)
            self._state.notify_all()
        if not keep:
            _close_quietly(cursor)


def _connect(path: str) -> duckdb.DuckDBPyConnection:
    if path != MEMORY:
        try:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            msg = f"cannot create the directory of the analytics store {path!r}: {exc}"
            raise ConfigError(msg) from exc
    try:
        return duckdb.connect(path)
    except duckdb.Error as exc:
        if isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower():
            msg = (
                f"the analytics store {path!r} is open in another process; only one "
                "process (the API server) may open it, others send points over HTTP"
            )
            raise Unavailable(msg) from exc
        msg = f"the analytics store {path!r} is not a usable DuckDB database: {exc}"
        raise ConfigError(msg) from exc


def _migrate(con: duckdb.DuckDBPyConnection, where: str) -> None:
    """Create or upgrade the schema, recording each version in ``schema_version``."""
    try:
        con.execute(
            "CREATE TABLE IF NOT EXISTS schema_version ("
            "version INTEGER PRIMARY KEY, applied_at TIMESTAMP NOT NULL)"
        )
        row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        current = int(row.fetchall()[0][0])
        if current > SCHEMA_VERSION:
            msg = (
                f"the analytics store {where!r} has schema version {current}, newer "
                f"than this Phantom's {SCHEMA_VERSION}; upgrade Phantom"
            )
            raise ConfigError(msg)
        for version in range(current + 1, SCHEMA_VERSION + 1):
            con.execute("BEGIN TRANSACTION")
            try:
                for statement in _MIGRATIONS[version - 1]:
                    con.execute(statement)
                con.execute(
                    "INSERT INTO schema_version VALUES ($1, now()::TIMESTAMP)",
                    [version],
                )
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
    except duckdb.Error as exc:
        msg = f"cannot create the schema of the analytics store {where!r}: {exc}"
        raise ConfigError(msg) from exc


def _as_arrays(columns: MetricColumns) -> dict[str, np.ndarray]:
    """Turn checked columns into the NumPy arrays DuckDB scans in one pass.

    DuckDB reads NaN in a NumPy float array as NULL (the pandas convention), so
    NaN travels as a flag beside a placeholder value and the INSERT restores it.
    """
    values = np.array(columns.values, dtype=np.float64)
    is_nan = np.isnan(values)
    return {
        "tenant_id": np.array(columns.tenant_ids, dtype=object),
        "run_id": np.array(columns.run_ids, dtype=object),
        "key": np.array(columns.keys, dtype=object),
        "step": np.array(columns.steps, dtype=np.int64),
        "timestamp_us": np.array(columns.timestamps_us, dtype=np.int64),
        "value": np.where(is_nan, 0.0, values),
        "value_is_nan": is_nan,
    }


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else value


def _close_quietly(con: duckdb.DuckDBPyConnection) -> None:
    with suppress(duckdb.Error):
        con.close()
