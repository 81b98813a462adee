"""Pooled PostgreSQL connections that died while idle are replaced, not handed out."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import text

from phantom.kernel.db import engine as engine_module
from phantom.kernel.db.engine import open_database

pytestmark = pytest.mark.postgres


def test_a_connection_killed_while_idle_is_replaced_on_checkout(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = open_database("poolcheck", postgres_url)
    try:
        with db.engine.connect() as conn:
            pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        monkeypatch.setattr(engine_module, "_IDLE_PING_AFTER_S", 0.0)
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() != pid
    finally:
        db.dispose()
