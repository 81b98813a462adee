"""The URLs of the ClickHouse analytics store, parsed and checked before any I/O.

::

    clickhouse://USER:PASSWORD@HOST:8123/DATABASE?retention_days=365   # HTTP
    clickhouses://USER:PASSWORD@HOST:8443/DATABASE                     # HTTPS
    chdb://PATH?retention_days=90&database=phantom                     # embedded
    chdb://:memory:                                                    # private

* **Server** (``clickhouse://``, ``clickhouse+http://``; ``clickhouses://``,
  ``clickhouse+https://`` for TLS): the host is required; the port defaults to
  8123 (HTTP) or 8443 (HTTPS), the user to ``default``, the password to none
  (user and password are percent-decoded), the database to ``phantom`` (created
  if missing).
* **Embedded** (``chdb://``): everything between ``chdb://`` and ``?`` is the
  engine's data directory, taken literally like ``duckdb://`` paths (relative
  unless it starts with ``/``); ``:memory:`` is a private store in a database of
  its own, dropped on close. The database defaults to ``phantom``
  (``?database=`` chooses another).
* ``retention_days`` (both; 1 to 36,500, default 365): how long a metric point,
  prediction or label is kept after it was *logged* (the ClickHouse TTL); the
  hourly prediction roll-ups are kept as long after their hour.

Every problem of a URL is reported at once in one :class:`ConfigError`, and the
password is never echoed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import parse_qsl, unquote, urlsplit

from phantom.kernel.errors import ConfigError

__all__ = [
    "DEFAULT_DATABASE",
    "DEFAULT_RETENTION_DAYS",
    "MAX_RETENTION_DAYS",
    "MEMORY",
    "ClickhouseTarget",
    "parse_clickhouse_url",
]

MEMORY: Final = ":memory:"
"""The chDB path of a private, in-memory store."""

DEFAULT_DATABASE: Final = "phantom"
"""The database the tables live in when the URL names none."""

DEFAULT_RETENTION_DAYS: Final = 365
"""How long rows are kept when the URL does not say (``retention_days``)."""

MAX_RETENTION_DAYS: Final = 36_500
"""The longest retention accepted, in days (about a century)."""

Transport = Literal["http", "https", "chdb"]

_SCHEMES: Final[dict[str, Transport]] = {
    "clickhouse": "http",
    "clickhouse+http": "http",
    "clickhouses": "https",
    "clickhouse+https": "https",
    "chdb": "chdb",
}
_DEFAULT_PORTS: Final = {"http": 8123, "https": 8443}
_DATABASE_NAME: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SERVER_OPTIONS: Final = frozenset({"retention_days"})
_CHDB_OPTIONS: Final = frozenset({"retention_days", "database"})


@dataclass(frozen=True, slots=True)
class ClickhouseTarget:
    """Where a ClickHouse analytics store lives, as its URL says.

    Attributes:
        transport: ``http`` or ``https`` for a server, ``chdb`` for the embedded
            engine.
        host: the server's host (empty for chDB).
        port: the server's HTTP port (0 for chDB).
        username: the server user (empty for chDB).
        password: the server password (empty for chDB).
        database: the database holding the tables; ``None`` for a chDB memory
            store, which makes a private one.
        path: the chDB data directory or :data:`MEMORY` (empty for a server).
        retention_days: the TTL of logged rows, in days.
    """

    transport: Transport
    host: str
    port: int
    username: str
    password: str
    database: str | None
    path: str
    retention_days: int

    @property
    def display(self) -> str:
        """The URL without credentials, for messages and logs."""
        if self.transport == "chdb":
            return f"chdb://{self.path}"
        scheme = "clickhouses" if self.transport == "https" else "clickhouse"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}/{self.database}"


def parse_clickhouse_url(url: str) -> ClickhouseTarget:
    """Parse a ``clickhouse://``, ``clickhouses://`` or ``chdb://`` URL.

    Args:
        url: the store's URL (see the module docs).

    Returns:
        The checked target.

    Raises:
        ConfigError: the URL is not one of those, or is malformed; the message
            lists every problem found.
    """
    scheme, sep, rest = url.partition("://")
    transport = _SCHEMES.get(scheme.lower()) if sep else None
    if transport is None:
        known = ", ".join(f"{name}://" for name in _SCHEMES)
        msg = f"not a ClickHouse analytics URL (expected one of {known})"
        raise ConfigError(msg)
    problems: list[str] = []
    target: ClickhouseTarget | None
    if transport == "chdb":
        target = _chdb_target(rest, problems)
    else:
        target = _server_target(transport, url, problems)
    if problems:
        shown = target.display if target is not None else f"{scheme}://…"
        msg = f"invalid analytics store URL {shown}: " + "; ".join(problems)
        raise ConfigError(msg)
    assert target is not None  # noqa: S101 - no problem means a target was built
    return target


def _chdb_target(rest: str, problems: list[str]) -> ClickhouseTarget:
    path, _, query = rest.partition("?")
    options = _options(query, _CHDB_OPTIONS, problems)
    if not path:
        problems.append(f"it names no data directory (use chdb://{MEMORY})")
    database = options.get("database")
    if database is not None:
        _check_database(database, problems)
    elif path != MEMORY:
        database = DEFAULT_DATABASE
    return ClickhouseTarget(
        transport="chdb",
        host="",
        port=0,
        username="",
        password="",
        database=database,
        path=path,
        retention_days=_retention(options, problems),
    )


def _server_target(
    transport: Transport, url: str, problems: list[str]
) -> ClickhouseTarget | None:
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # e.g. an unbalanced "[" in the host
        problems.append(f"it cannot be parsed ({exc})")
        return None
    options = _options(parts.query, _SERVER_OPTIONS, problems)
    host = parts.hostname or ""
    if not host:
        problems.append("it names no host")
    try:
        port = parts.port or _DEFAULT_PORTS[transport]
    except ValueError:
        problems.append("the port must be a number from 1 to 65535")
        port = _DEFAULT_PORTS[transport]
    database = parts.path.strip("/") or DEFAULT_DATABASE
    _check_database(database, problems)
    if parts.fragment:
        problems.append("it must not have a #fragment")
    return ClickhouseTarget(
        transport=transport,
        host=host,
        port=port,
        username=unquote(parts.username) if parts.username else "default",
        password=unquote(parts.password) if parts.password else "",
        database=database,
        path="",
        retention_days=_retention(options, problems),
    )


def _options(query: str, known: frozenset[str], problems: list[str]) -> dict[str, str]:
    options: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name not in known:
            allowed = ", ".join(sorted(known))
            problems.append(f"unknown parameter {name!r} (known: {allowed})")
        elif name in options:
            problems.append(f"parameter {name!r} is given twice")
        else:
            options[name] = value
    return options


def _retention(options: dict[str, str], problems: list[str]) -> int:
    raw = options.get("retention_days")
    if raw is None:
        return DEFAULT_RETENTION_DAYS
    digits = (
        raw.isascii() and raw.isdigit() and len(raw) <= len(str(MAX_RETENTION_DAYS))
    )
    if digits and 1 <= int(raw) <= MAX_RETENTION_DAYS:
        return int(raw)
    problems.append(
        f"retention_days must be a whole number of days from 1 to {MAX_RETENTION_DAYS}"
    )
    return DEFAULT_RETENTION_DAYS


def _check_database(name: str, problems: list[str]) -> None:
    if not _DATABASE_NAME.fullmatch(name):
        problems.append(
            "the database name must be 1 to 63 letters, digits or underscores, "
            "not starting with a digit"
        )
