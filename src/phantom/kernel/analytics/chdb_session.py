"""A :class:`~phantom.kernel.analytics.clickhouse_session.ClickhouseSession` over chDB.

chDB is ClickHouse's engine as a Python extension: the same SQL, DDL, table
engines and TTLs as a server, in this process, with its data in a directory.

Two facts of chDB shape this module:

* **One engine per process, bound to one data directory.** Any number of
  connections to that directory may be open; opening another directory while
  one is open fails (a configuration error), and so does opening one that
  another process holds (unreachable, like a server that is down). The engine
  stops when its last connection closes (``:memory:`` data goes with it). Stores
  opened on the same directory share the engine and keep apart by database.
* **Query parameters travel as text** in ClickHouse's escaped format (the server
  does the same over HTTP), as
  :func:`~phantom.kernel.analytics.clickhouse_session.bind_text` writes them.

The connection is used under a lock: a streaming ``INSERT`` must not overlap
another statement on it, and the engine runs each query on its own threads.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import chdb
import pyarrow as pa

from phantom.kernel.analytics.clickhouse_session import TransportError, bind_text
from phantom.kernel.analytics.clickhouse_url import MEMORY

if TYPE_CHECKING:
    from phantom.kernel.analytics.clickhouse_session import Params

__all__ = ["ChdbSession"]

_OTHER_DIRECTORY: Final = "already initialized with path"
"""What chDB says when this process's engine is bound to another directory."""


class ChdbSession:
    """A chDB connection shared by threads under a lock (see the module docs).

    Use :meth:`open`; the constructor takes an open ``chdb`` connection.
    """

    def __init__(self, connection: Any, where: str) -> None:  # noqa: ANN401 - chdb's
        self._con = connection
        self._where = where
        self._lock = threading.Lock()

    @classmethod
    def open(cls, path: str) -> ChdbSession:
        """Connect to the engine on ``path`` (a directory, or ``:memory:``).

        Raises:
            TransportError: the engine cannot start there, or this process's
                engine is bound to another directory.
        """
        where = path
        try:
            if path != MEMORY:
                directory = Path(path)
                directory.parent.mkdir(parents=True, exist_ok=True)
                where = str(directory.resolve())  # chDB compares paths literally
            connection = chdb.connect(where)
        except OSError as exc:
            msg = f"cannot create the directory of the chDB store {path!r}: {exc}"
            raise TransportError(msg) from exc
        except RuntimeError as exc:
            if _OTHER_DIRECTORY in str(exc):
                msg = (
                    f"chDB cannot open {path!r}: this process has another chDB "
                    f"data directory open, and a process hosts one at a time ({exc})"
                )
                raise TransportError(msg) from exc
            msg = (
                f"chDB cannot open {path!r}: another process may have it open "
                f"(one process per data directory), or it is not a chDB one ({exc})"
            )
            raise TransportError(msg, reachable=False) from exc
        return cls(connection, where)

    def use_database(self, name: str) -> None:
        """Make ``name`` this connection's current database."""
        self.command(f"USE `{name}`")

    def command(self, sql: str, params: Params | None = None) -> None:
        """Run a statement, discarding any result."""
        self._run(sql, params, "CSV")

    def query(self, sql: str, params: Params | None = None) -> pa.Table:
        """Run a query and return its result as an Arrow table."""
        result = self._run(sql, params, "Arrow")
        data = result.bytes()
        if not data:
            return pa.table({})
        return pa.ipc.open_file(pa.BufferReader(data)).read_all()

    def insert(self, table: str, batch: pa.Table) -> None:
        """Insert ``batch`` as one Arrow record batch in one streaming ``INSERT``."""
        names = ", ".join(batch.column_names)
        statement = f"INSERT INTO {table} ({names})"
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, batch.schema) as writer:
            writer.write_table(batch.combine_chunks(), max_chunksize=None)
        payload = sink.getvalue().to_pybytes()
        with self._lock:
            con = self._connection()
            try:
                with con.send_insert(statement, "ArrowStream") as inserter:
                    inserter.append(payload)
                    inserter.finish()
            except RuntimeError as exc:
                msg = f"chDB at {self._where} failed to insert into {table}: {exc}"
                raise TransportError(msg) from exc

    def close(self) -> None:
        """Close the connection; the engine stops with its last connection."""
        with self._lock:
            con, self._con = self._con, None
        if con is not None:
            try:
                con.close()
            except RuntimeError as exc:
                msg = f"chDB at {self._where} failed to close: {exc}"
                raise TransportError(msg) from exc

    def _run(self, sql: str, params: Params | None, fmt: str) -> Any:  # noqa: ANN401
        bound = {name: bind_text(value) for name, value in (params or {}).items()}
        with self._lock:
            con = self._connection()
            try:
                return con.query(sql, fmt, params=bound)
            except RuntimeError as exc:  # chdb's ChdbError is a RuntimeError
                msg = f"chDB at {self._where} failed: {exc}"
                raise TransportError(msg) from exc

    def _connection(self) -> Any:  # noqa: ANN401 - chdb's connection
        if self._con is None:
            msg = f"the chDB connection to {self._where} is closed"
            raise TransportError(msg)
        return self._con
