"""A :class:`~phantom.kernel.analytics.clickhouse_session.ClickhouseSession` over HTTP.

``clickhouse-connect`` talks to a ClickHouse server over HTTP(S). Its client is
shared by every thread: it pools HTTP connections and, with no session id (which
the server would lock to one query at a time), sends each query on its own.
Parameters are bound by the server (``{name:Type}``); results and batches travel
in Arrow format.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

import clickhouse_connect
from clickhouse_connect.driver.exceptions import ClickHouseError, OperationalError

from phantom.kernel.analytics.clickhouse_session import TransportError

if TYPE_CHECKING:
    import pyarrow as pa
    from clickhouse_connect.driver.client import Client

    from phantom.kernel.analytics.clickhouse_session import Params
    from phantom.kernel.analytics.clickhouse_url import ClickhouseTarget

__all__ = ["ClickhouseClientSession"]

_CONNECT_TIMEOUT_S: Final = 10
_SEND_RECEIVE_TIMEOUT_S: Final = 300


class ClickhouseClientSession:
    """A ``clickhouse-connect`` client as a session (see the module docs).

    Use :meth:`open` for a server; the constructor wraps any client (tests wrap
    ``clickhouse-connect``'s own chDB backend with it).
    """

    def __init__(self, client: Client, where: str) -> None:
        self._client = client
        self._where = where

    @classmethod
    def open(cls, target: ClickhouseTarget) -> ClickhouseClientSession:
        """Connect to the server ``target`` names and check that it answers.

        Raises:
            TransportError: the server cannot be reached (``reachable`` false) or
                refuses the connection (authentication, for instance).
        """
        try:
            client = clickhouse_connect.get_client(
                host=target.host,
                port=target.port,
                username=target.username,
                password=target.password,
                secure=target.transport == "https",
                autogenerate_session_id=False,
                connect_timeout=_CONNECT_TIMEOUT_S,
                send_receive_timeout=_SEND_RECEIVE_TIMEOUT_S,
            )
        except ClickHouseError as exc:
            raise _transport_error(target.display, "connect", exc) from exc
        return cls(client, target.display)

    def use_database(self, name: str) -> None:
        """Send ``name`` as the database of every later request."""
        self._client.database = name

    def command(self, sql: str, params: Params | None = None) -> None:
        """Run a statement, discarding any result."""
        try:
            self._client.command(sql, parameters=dict(params or {}))
        except ClickHouseError as exc:
            raise _transport_error(self._where, "run a statement", exc) from exc

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        """Run a query and return its result as an Arrow table."""
        try:
            return self._client.query_arrow(
                sql, parameters=dict(params or {}), use_strings=True
            )
        except ClickHouseError as exc:
            raise _transport_error(self._where, "query", exc) from exc

    def insert(self, table: str, batch: pa.Table) -> None:
        """Insert ``batch`` as one Arrow record batch in one ``INSERT``."""
        try:
            self._client.insert_arrow(table, batch.combine_chunks())
        except ClickHouseError as exc:
            raise _transport_error(self._where, f"insert into {table}", exc) from exc

    def close(self) -> None:
        """Close the client's connections; idempotent."""
        try:
            self._client.close()
        except ClickHouseError as exc:
            raise _transport_error(self._where, "close", exc) from exc


def _transport_error(where: str, action: str, exc: ClickHouseError) -> TransportError:
    reachable = not isinstance(exc, OperationalError)
    return TransportError(
        f"ClickHouse at {where} failed to {action}: {exc}", reachable=reachable
    )
