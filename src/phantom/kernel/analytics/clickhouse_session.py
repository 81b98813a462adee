"""The transport under the ClickHouse analytics store: one SQL, two engines.

The store writes its SQL and DDL once, in ClickHouse's dialect with server-side
query parameters (``{tenant:String}``), and runs it through a
:class:`ClickhouseSession`:
:class:`~phantom.kernel.analytics.clickhouse_client.ClickhouseClientSession`
talks to a server over HTTP(S) with ``clickhouse-connect``, and
:class:`~phantom.kernel.analytics.chdb_session.ChdbSession` to the embedded chDB
engine in this process. Results and batches travel as Arrow tables both ways, so
NaN, ±infinity, ``-0.0`` and 64-bit integers cross exactly, and no driver type
leaks into the store.

This module imports no driver; each session module imports its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final, Protocol

import pyarrow as pa

__all__ = [
    "ClickhouseSession",
    "Param",
    "Params",
    "TransportError",
    "bind_text",
    "columns",
    "rows",
]

Param = str | int | None | Sequence[str]
"""A query parameter's value: text, an integer, NULL, or an array of text."""

Params = Mapping[str, Param]
"""Query parameters by name, for the ``{name:Type}`` placeholders of the SQL."""


class TransportError(Exception):
    """A session's driver failed; the driver's exception is the ``__cause__``.

    Attributes:
        reachable: ``False`` when the engine or server could not be reached at
            all (network, TLS, timeouts), ``True`` when it answered with an error.
    """

    def __init__(self, message: str, *, reachable: bool = True) -> None:
        super().__init__(message)
        self.reachable = reachable


class ClickhouseSession(Protocol):
    """One connection to a ClickHouse engine, safe to share between threads.

    Every method raises :class:`TransportError` (chained from the driver's
    exception) when the driver fails, and nothing else of the driver's.
    """

    def use_database(self, name: str) -> None:
        """Make ``name`` the database unqualified table names refer to."""
        ...

    def command(self, sql: str, params: Params | None = None) -> None:
        """Run a statement that returns nothing (DDL, ``DELETE``, ``INSERT SELECT``)."""
        ...

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        """Run a ``SELECT`` and return its result as one Arrow table."""
        ...

    def insert(self, table: str, batch: pa.Table) -> None:
        """Insert ``batch`` (its column names are the table's) in one ``INSERT``.

        The batch is sent as a single Arrow record batch, which ClickHouse writes
        as one block: all of it lands, or none.
        """
        ...

    def close(self) -> None:
        """Release the connection; idempotent."""
        ...


def columns(table: pa.Table, count: int) -> list[list[Any]]:
    """Return the ``count`` columns of a query result as Python lists.

    An empty result may come back without a schema; it gives ``count`` empty lists.
    """
    if table.num_rows == 0:
        return [[] for _ in range(count)]
    return [column.to_pylist() for column in table.columns]


def rows(table: pa.Table) -> list[tuple[Any, ...]]:
    """Return a query result as a list of row tuples."""
    if table.num_rows == 0:
        return []
    return list(zip(*(column.to_pylist() for column in table.columns), strict=True))


_ESCAPES: Final = str.maketrans(
    {
        "\\": "\\\\",
        "'": "\\'",
        "\t": "\\t",
        "\n": "\\n",
        "\r": "\\r",
        "\b": "\\b",
        "\f": "\\f",
    }
)
_NULL: Final = "\\N"


def bind_text(value: Param) -> str:
    r"""Write a query parameter as ClickHouse parses it for ``{name:Type}``.

    ``None`` is ``\N`` (NULL), text is escaped, an array of text is a quoted
    list literal.

    Raises:
        TypeError: ``value`` is none of those.
    """
    if value is None:
        return _NULL
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, bool):
        msg = "a bool is not a query parameter"
        raise TypeError(msg)
    if isinstance(value, int):
        return str(value)
    return "[" + ",".join(f"'{item.translate(_ESCAPES)}'" for item in value) + "]"
