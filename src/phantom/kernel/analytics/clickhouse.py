"""``clickhouse://``, ``clickhouses://``, ``chdb://``: analytics on ClickHouse.

::

    open_analytics("clickhouse://phantom:secret@ch.internal:8123/phantom")
    open_analytics("clickhouses://phantom:secret@ch.example.com/phantom?retention_days=90")
    open_analytics("chdb://.phantom/analytics.chdb")     # embedded, one process
    open_analytics("chdb://:memory:")                     # private (tests)

The production adapter: a ClickHouse server, shared by every API process, with
``MergeTree`` tables, a TTL of ``retention_days`` (default 365) and an hourly
roll-up of the prediction log (:mod:`~phantom.kernel.analytics.clickhouse_schema`).
The same SQL also runs on chDB, ClickHouse's engine embedded in this process, so
the contract, the schema and its roll-ups are tested here without a server; only
the transport (:mod:`~phantom.kernel.analytics.clickhouse_session`) differs. URL
details are in :mod:`~phantom.kernel.analytics.clickhouse_url`.

**Semantics.** A batch is checked whole (:mod:`~phantom.kernel.analytics.checks`)
and sent as one Arrow record batch in one ``INSERT``, which ClickHouse writes as
one part: all or nothing, visible at once. Acknowledged inserts are on the
server's disk (ClickHouse's own durability: no fsync unless the server is set up
for it). :meth:`ClickhouseAnalyticsStore.delete_run` counts, then deletes with a
lightweight ``DELETE`` (rows vanish from reads at once, space is reclaimed by
merges); counts and deletes are serialised within one store, not across
processes. Driver failures are :class:`Unavailable`; the store is usable again
when the server is.

**Threads.** The HTTP client is shared and sends each query on its own; chDB's
connection is used under a lock.
"""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING, Final

import pyarrow as pa

from phantom.kernel.analytics.checks import (
    check_id,
    check_key,
    check_max_points,
    check_points,
    check_run_ids,
)
from phantom.kernel.analytics.clickhouse_predictions import ClickhousePredictions
from phantom.kernel.analytics.clickhouse_schema import migrate
from phantom.kernel.analytics.clickhouse_session import (
    TransportError,
    columns,
    rows,
)
from phantom.kernel.analytics.clickhouse_url import parse_clickhouse_url
from phantom.kernel.analytics.port import (
    MetricHistory,
    MetricStats,
    sampled_positions,
)
from phantom.kernel.errors import ConfigError, Unavailable

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

    from phantom.kernel.analytics.clickhouse_session import ClickhouseSession
    from phantom.kernel.analytics.clickhouse_url import ClickhouseTarget
    from phantom.kernel.analytics.port import MetricPoint

__all__ = ["ClickhouseAnalyticsStore", "open_clickhouse_store"]

_CLOSE_WAIT_S: Final = 30.0
_LATEST_ORDER: Final = "(step, timestamp_us, isNaN(value), value)"
_HISTORY: Final = """
    SELECT step, timestamp_us, value FROM metric_points
    WHERE tenant_id = {tenant:String} AND run_id = {run:String} AND key = {key:String}
    ORDER BY step, timestamp_us, value
"""
_LATEST: Final = f"""
    SELECT run_id, key, argMax(value, {_LATEST_ORDER}) AS latest
    FROM metric_points
    WHERE tenant_id = {{tenant:String}} AND run_id IN {{runs:Array(String)}}
    GROUP BY run_id, key
"""  # noqa: S608 - constant fragments
_SUMMARY: Final = f"""
    SELECT
        run_id,
        key,
        argMax(value, {_LATEST_ORDER}) AS latest,
        minIfOrNull(value, NOT isNaN(value)) AS lowest,
        maxIfOrNull(value, NOT isNaN(value)) AS highest,
        count() AS points,
        max(step) AS last_step
    FROM metric_points
    WHERE tenant_id = {{tenant:String}} AND run_id IN {{runs:Array(String)}}
    GROUP BY run_id, key
"""  # noqa: S608 - constant fragments
_DATABASE_EXISTS: Final = (
    "SELECT count() AS found FROM system.databases WHERE name = {name:String}"
)
_RUN_FILTER: Final = "tenant_id = {tenant:String} AND run_id = {run:String}"
_COUNT_RUN: Final = f"SELECT count() AS points FROM metric_points WHERE {_RUN_FILTER}"  # noqa: S608
_DELETE_RUN: Final = (
    f"DELETE FROM metric_points WHERE {_RUN_FILTER} SETTINGS mutations_sync = 2"  # noqa: S608
)


def open_clickhouse_store(url: str) -> ClickhouseAnalyticsStore:
    """Open the ClickHouse or chDB analytics store that ``url`` names.

    Raises:
        ConfigError: the URL is malformed, the driver is not installed, the
            schema cannot be created, or the database is of a newer Phantom.
        Unavailable: the server cannot be reached.
    """
    target = parse_clickhouse_url(url)
    try:
        if target.transport == "chdb":
            from phantom.kernel.analytics.chdb_session import (  # noqa: PLC0415
                ChdbSession,
            )

            session: ClickhouseSession = ChdbSession.open(target.path)
        else:
            from phantom.kernel.analytics.clickhouse_client import (  # noqa: PLC0415
                ClickhouseClientSession,
            )

            session = ClickhouseClientSession.open(target)
    except ImportError as exc:
        msg = (
            f"the analytics store {target.display} needs the ClickHouse drivers: "
            "pip install 'phantom-ml[clickhouse]'"
        )
        raise ConfigError(msg) from exc
    except TransportError as exc:
        raise _open_error(target, exc) from exc
    return ClickhouseAnalyticsStore(session, target)


def _open_error(target: ClickhouseTarget, exc: TransportError) -> Exception:
    if not exc.reachable:
        return Unavailable(f"cannot reach the analytics store {target.display}: {exc}")
    return ConfigError(f"cannot open the analytics store {target.display}: {exc}")


def _ensure_database(session: ClickhouseSession, name: str) -> None:
    """Create database ``name`` unless it exists (a user may lack the grant)."""
    found = session.query(_DATABASE_EXISTS, {"name": name})
    (counted,) = columns(found, 1)
    if not counted or not counted[0]:
        session.command(f"CREATE DATABASE IF NOT EXISTS `{name}`")


class ClickhouseAnalyticsStore(ClickhousePredictions):
    """The analytics store on ClickHouse or chDB (see the module docs).

    Args:
        session: an open session; the store closes it.
        target: the parsed URL; with no database (``chdb://:memory:``) the store
            makes a private one and drops it on close.

    Raises:
        ConfigError: the schema cannot be created, or is of a newer Phantom.
        Unavailable: the engine cannot be reached.
    """

    def __init__(self, session: ClickhouseSession, target: ClickhouseTarget) -> None:
        self._session = session
        self._where = target.display
        self._private = target.database is None
        self.database = target.database or f"phantom_{uuid.uuid4().hex}"
        self._state = threading.Condition()
        self._busy = 0
        self._closed = False
        self._write_lock = threading.Lock()
        try:
            _ensure_database(session, self.database)
            session.use_database(self.database)
            migrate(session, self._where, target.retention_days)
        except TransportError as exc:
            self._release()
            raise _open_error(target, exc) from exc
        except BaseException:
            self._release()
            raise

    def append_metrics(self, points: Sequence[MetricPoint]) -> int:
        """Append one batch atomically; return how many points were written."""
        checked = check_points(points)
        count = len(checked.steps)
        with self._call("append metrics") as session:
            if count:
                batch = pa.table(
                    {
                        "tenant_id": pa.array(checked.tenant_ids, pa.string()),
                        "run_id": pa.array(checked.run_ids, pa.string()),
                        "key": pa.array(checked.keys, pa.string()),
                        "step": pa.array(checked.steps, pa.int64()),
                        "timestamp_us": pa.array(checked.timestamps_us, pa.int64()),
                        "value": pa.array(checked.values, pa.float64()),
                    }
                )
                session.insert("metric_points", batch)
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
        with self._call("read a metric history") as session:
            found = session.query(_HISTORY, params)
        if most is not None and found.num_rows > most:
            keep = sampled_positions(found.num_rows, most)
            found = found.take(pa.array(keep, pa.int64()))
        steps, stamps, values = columns(found, 3)
        return MetricHistory(
            key=params["key"], steps=steps, timestamps_us=stamps, values=values
        )

    def latest_metrics(
        self, tenant_id: str, run_ids: Sequence[str]
    ) -> dict[str, dict[str, float]]:
        """Return ``run_id -> key -> latest value`` (see ``AnalyticsStore``)."""
        tenant = check_id("tenant_id", tenant_id)
        runs = check_run_ids(run_ids)
        with self._call("read latest metrics") as session:
            if not runs:
                return {}
            found = session.query(_LATEST, {"tenant": tenant, "runs": runs})
        latest: dict[str, dict[str, float]] = {}
        for run_id, key, value in rows(found):
            latest.setdefault(run_id, {})[key] = value
        return latest

    def metric_summary(
        self, tenant_id: str, run_ids: Sequence[str]
    ) -> dict[str, dict[str, MetricStats]]:
        """Return ``run_id -> key -> stats`` (see ``AnalyticsStore``)."""
        tenant = check_id("tenant_id", tenant_id)
        runs = check_run_ids(run_ids)
        with self._call("summarise metrics") as session:
            if not runs:
                return {}
            found = session.query(_SUMMARY, {"tenant": tenant, "runs": runs})
        summary: dict[str, dict[str, MetricStats]] = {}
        for run_id, key, last, low, high, count, last_step in rows(found):
            summary.setdefault(run_id, {})[key] = MetricStats(
                last=last,
                min=float("nan") if low is None else low,
                max=float("nan") if high is None else high,
                count=int(count),
                last_step=int(last_step),
            )
        return summary

    def delete_run(self, tenant_id: str, run_id: str) -> int:
        """Delete the tenant's run; return how many points went."""
        params = {
            "tenant": check_id("tenant_id", tenant_id),
            "run": check_id("run_id", run_id),
        }
        with self._call("delete a run") as session, self._write_lock:
            (counted,) = columns(session.query(_COUNT_RUN, params), 1)
            count = int(counted[0]) if counted else 0
            if count:
                session.command(_DELETE_RUN, params)
        return count

    def ping(self) -> None:
        """Raise :class:`Unavailable` unless the store answers a query."""
        with self._call("ping") as session:
            session.query("SELECT 1 AS one")

    def close(self) -> None:
        """Wait for calls in flight (up to 30 s), then release the store.

        A private (``chdb://:memory:``) store's database is dropped.
        """
        with self._state:
            if self._closed:
                return
            self._closed = True
            self._state.wait_for(lambda: self._busy == 0, timeout=_CLOSE_WAIT_S)
        self._release()

    def _release(self) -> None:
        if self._private:
            with suppress(TransportError):
                self._session.command(f"DROP DATABASE IF EXISTS `{self.database}` SYNC")
        with suppress(TransportError):
            self._session.close()

    @contextmanager
    def _call(self, action: str) -> Iterator[ClickhouseSession]:
        """Lend the session for one call; driver errors become :class:`Unavailable`."""
        with self._state:
            if self._closed:
                msg = f"analytics store at {self._where} is closed ({action})"
                raise Unavailable(msg)
            self._busy += 1
        try:
            yield self._session
        except TransportError as exc:
            msg = f"analytics store at {self._where} failed ({action})"
            raise Unavailable(msg) from exc
        finally:
            with self._state:
                self._busy -= 1
                self._state.notify_all()
