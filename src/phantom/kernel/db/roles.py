"""The PostgreSQL roles the application runs as (ADR 0010).

The URL in ``PHANTOM_DATABASE_URL`` connects as the owner of the schemas (it runs
the migrations). Requests run as the *app* role, which row-level security confines
to one tenant per transaction; cross-tenant kernel readers (the outbox relay,
dead-letter listing) run as the *system* role. Both are plain names validated here,
so they can be spliced into DDL and connection options safely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from phantom.kernel.errors import ConfigError

__all__ = [
    "DEFAULT_APP_ROLE",
    "DEFAULT_SYSTEM_ROLE",
    "DatabaseRoles",
    "role_name_error",
]

DEFAULT_APP_ROLE: Final = "phantom_app"
"""The role requests run as (``PHANTOM_DATABASE_APP_ROLE``)."""

DEFAULT_SYSTEM_ROLE: Final = "phantom_system"
"""The role cross-tenant kernel readers run as (``PHANTOM_DATABASE_SYSTEM_ROLE``)."""

_ROLE_NAME = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_RESERVED = frozenset(
    {"public", "none", "current_user", "current_role", "session_user", "all"}
)


def role_name_error(name: str) -> str | None:
    """Say why ``name`` cannot be a role name, or return ``None`` when it can.

    A role name is a lower-case SQL identifier of at most 63 characters (letters,
    digits, ``_``), not reserved by PostgreSQL (``pg_*``, ``public``, ``none``,
    ``current_user``...). Nothing else is accepted, so the name never needs more
    than ordinary identifier quoting wherever it is used.
    """
    if not _ROLE_NAME.fullmatch(name):
        return (
            f"role name {name!r} must be a lower-case identifier "
            "(a-z, 0-9, _; at most 63 characters; not starting with a digit)"
        )
    if name.startswith("pg_") or name in _RESERVED:
        return f"role name {name!r} is reserved by PostgreSQL"
    return None


@dataclass(frozen=True, slots=True)
class DatabaseRoles:
    """The two non-owner roles of a PostgreSQL deployment.

    Attributes:
        app: the role requests run as; row-level security applies to it.
        system: the role of cross-tenant kernel readers; it sees only what a
            ``TO system`` policy opens to it.

    Raises:
        ConfigError: a name is not a valid role name, or both names are the same.
    """

    app: str = DEFAULT_APP_ROLE
    system: str = DEFAULT_SYSTEM_ROLE

    def __post_init__(self) -> None:
        for name in (self.app, self.system):
            problem = role_name_error(name)
            if problem is not None:
                raise ConfigError(problem)
        if self.app == self.system:
            msg = f"the app and system roles must differ (both are {self.app!r})"
            raise ConfigError(msg)
