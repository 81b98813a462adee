"""The ClickHouse analytics store's tables, roll-ups, migrations and retention.

Raw tables (``metric_points``, ``predictions``, ``feedback``) are ``MergeTree``:

* ``ORDER BY`` starts with ``tenant_id``, then what the queries filter on, so
  every read is a range of the primary index;
* a ``logged_at DateTime DEFAULT now()`` column (the server's clock at insert)
  drives ``PARTITION BY toYYYYMM(logged_at)`` and ``TTL logged_at + INTERVAL
  <retention_days> DAY`` with ``ttl_only_drop_parts``: whole monthly parts are
  dropped once their newest row has expired. Event times are the caller's, any
  signed 64-bit microsecond value (back-fills, 1970 in tests), so partitioning
  or expiring by them could put one batch into hundreds of partitions (refused
  past ``max_partitions_per_insert_block``, and no longer atomic) or drop a
  back-fill at its first merge. One insert, one partition, one part: atomic.

``predictions_hourly`` is an ``AggregatingMergeTree`` fed by the materialized
view ``predictions_hourly_mv`` on every insert into ``predictions``: per tenant,
model, version, route and hour of the prediction (UTC; times outside
1970..2106 are clamped to its ends), the requests, rows, errors, latency
quantile states (``quantilesState(0.5, 0.95, 0.99)``) and the first and last
times. Read it with ``sum``/``min``/``max`` and ``quantilesMerge(0.5, 0.95,
0.99)(latency)`` grouped by the key. It is not partitioned (it is small, and a
batch may span many hours) and expires by its hour.

``schema_version`` records each applied version. DDL is idempotent (``IF NOT
EXISTS``), so a version interrupted halfway is simply applied again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from phantom.kernel.analytics.clickhouse_session import columns
from phantom.kernel.errors import ConfigError

if TYPE_CHECKING:
    from phantom.kernel.analytics.clickhouse_session import ClickhouseSession

__all__ = [
    "ROLLUP_TABLE",
    "SCHEMA_VERSION",
    "TTL_COLUMNS",
    "migrate",
    "retention_ttl",
]

ROLLUP_TABLE: Final = "predictions_hourly"
"""The hourly roll-up of the prediction log (see the module docs)."""

TTL_COLUMNS: Final[dict[str, str]] = {
    "metric_points": "logged_at",
    "predictions": "logged_at",
    "feedback": "logged_at",
    ROLLUP_TABLE: "hour",
}
"""Each table with a TTL, and the time column it expires by."""

_RAW: Final = "ENGINE = MergeTree PARTITION BY toYYYYMM(logged_at)"
_RAW_SETTINGS: Final = "SETTINGS ttl_only_drop_parts = 1"

_VERSION_1: Final = (
    f"""
    CREATE TABLE IF NOT EXISTS metric_points (
        tenant_id LowCardinality(String),
        run_id String,
        key LowCardinality(String),
        step Int64,
        timestamp_us Int64 CODEC(Delta, ZSTD(1)),
        value Float64,
        logged_at DateTime DEFAULT now()
    )
    {_RAW}
    ORDER BY (tenant_id, run_id, key, step, timestamp_us)
    TTL {{ttl:metric_points}}
    {_RAW_SETTINGS}
    """,
    f"""
    CREATE TABLE IF NOT EXISTS predictions (
        tenant_id LowCardinality(String),
        prediction_id String,
        model LowCardinality(String),
        version Int64,
        route LowCardinality(String),
        timestamp_us Int64 CODEC(Delta, ZSTD(1)),
        latency_us Int64,
        rows Int64,
        inputs String CODEC(ZSTD(3)),
        outputs String CODEC(ZSTD(3)),
        status LowCardinality(String),
        logged_at DateTime DEFAULT now()
    )
    {_RAW}
    ORDER BY (tenant_id, model, timestamp_us)
    TTL {{ttl:predictions}}
    {_RAW_SETTINGS}
    """,
    f"""
    CREATE TABLE IF NOT EXISTS feedback (
        tenant_id LowCardinality(String),
        model LowCardinality(String),
        prediction_id String,
        row Int64,
        timestamp_us Int64,
        label String,
        logged_at DateTime DEFAULT now()
    )
    {_RAW}
    ORDER BY (tenant_id, model, prediction_id, row, timestamp_us)
    TTL {{ttl:feedback}}
    {_RAW_SETTINGS}
    """,
    f"""
    CREATE TABLE IF NOT EXISTS {ROLLUP_TABLE} (
        tenant_id LowCardinality(String),
        model LowCardinality(String),
        version Int64,
        route LowCardinality(String),
        hour DateTime('UTC'),
        requests SimpleAggregateFunction(sum, UInt64),
        rows SimpleAggregateFunction(sum, Int64),
        errors SimpleAggregateFunction(sum, UInt64),
        latency AggregateFunction(quantiles(0.5, 0.95, 0.99), Int64),
        first_us SimpleAggregateFunction(min, Int64),
        last_us SimpleAggregateFunction(max, Int64)
    )
    ENGINE = AggregatingMergeTree
    ORDER BY (tenant_id, model, version, route, hour)
    TTL {{ttl:{ROLLUP_TABLE}}}
    """,
    f"""
    CREATE MATERIALIZED VIEW IF NOT EXISTS {ROLLUP_TABLE}_mv TO {ROLLUP_TABLE} AS
    SELECT
        tenant_id,
        model,
        version,
        route,
        toStartOfHour(toDateTime(intDiv(timestamp_us, 1000000), 'UTC')) AS hour,
        count() AS requests,
        sum(rows) AS rows,
        countIf(status = 'error') AS errors,
        quantilesState(0.5, 0.95, 0.99)(latency_us) AS latency,
        min(timestamp_us) AS first_us,
        max(timestamp_us) AS last_us
    FROM predictions
    GROUP BY tenant_id, model, version, route, hour
    """,  # noqa: S608 - constant names
)

_MIGRATIONS: Final[tuple[tuple[str, ...], ...]] = (_VERSION_1,)
"""Schema changes; entry ``i`` brings the database to version ``i + 1``."""

SCHEMA_VERSION: Final = len(_MIGRATIONS)
"""The schema version this code writes."""

_VERSION_TABLE: Final = """
    CREATE TABLE IF NOT EXISTS schema_version (
        version UInt32,
        applied_at DateTime DEFAULT now()
    )
    ENGINE = ReplacingMergeTree
    ORDER BY version
"""
_CURRENT: Final = "SELECT max(version) AS current FROM schema_version"
_RECORD: Final = "INSERT INTO schema_version (version) SELECT {version:UInt32}"
_ENGINES: Final = """
    SELECT name, engine_full FROM system.tables
    WHERE database = currentDatabase() AND has({names:Array(String)}, name)
"""


def retention_ttl(table: str, days: int) -> str:
    """Return the TTL expression of ``table`` for a retention of ``days``."""
    return f"{TTL_COLUMNS[table]} + INTERVAL {int(days)} DAY"


def migrate(session: ClickhouseSession, where: str, retention_days: int) -> None:
    """Create or upgrade the schema in the session's database, then its TTLs.

    Raises:
        ConfigError: the database was written by a newer Phantom.
        TransportError: a statement failed.
    """
    session.command(_VERSION_TABLE)
    (found,) = columns(session.query(_CURRENT), 1)
    current = int(found[0]) if found else 0
    if current > SCHEMA_VERSION:
        msg = (
            f"the analytics store {where} has schema version {current}, newer "
            f"than this Phantom's {SCHEMA_VERSION}; upgrade Phantom"
        )
        raise ConfigError(msg)
    for version in range(current + 1, SCHEMA_VERSION + 1):
        for statement in _MIGRATIONS[version - 1]:
            session.command(_with_ttls(statement, retention_days))
        session.command(_RECORD, {"version": version})
    _apply_retention(session, retention_days)


def _with_ttls(statement: str, days: int) -> str:
    for table in TTL_COLUMNS:
        statement = statement.replace(f"{{ttl:{table}}}", retention_ttl(table, days))
    return statement


def _apply_retention(session: ClickhouseSession, days: int) -> None:
    """Change each table's TTL to ``days`` where it says otherwise.

    ClickHouse prints ``INTERVAL n DAY`` as ``toIntervalDay(n)`` in
    ``engine_full``; a table that shows another interval is altered (its existing
    parts are re-checked against the new TTL in the background).
    """
    result = session.query(_ENGINES, {"names": list(TTL_COLUMNS)})
    names, engines = columns(result, 2)
    wanted = f"toIntervalDay({int(days)})"
    for name, engine in zip(names, engines, strict=True):
        if wanted not in engine:
            session.command(
                f"ALTER TABLE {name} MODIFY TTL {retention_ttl(name, days)}"
            )
