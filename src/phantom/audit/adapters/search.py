"""The search query of the audit log: filters on indexed columns, keyset pages.

Every filter is ANDed with the tenant; each has an index starting with
``tenant_id``: time, actor, action (a prefix is a range, binary collation on both
backends), resource, result. The details text search is a case-insensitive
substring scan within the tenant's other filters.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Column, ColumnElement, Select, and_, func, select

from phantom.audit.adapters.tables import entries, to_us
from phantom.audit.domain.query import EntryQuery

__all__ = ["search_statement"]


def search_statement(
    tenant_id: str, query: EntryQuery, *, postgres: bool
) -> Select[Any]:
    """The page query of ``query`` over ``tenant_id``'s entries (one row extra)."""
    seq = entries.c.seq
    where: list[ColumnElement[bool]] = [entries.c.tenant_id == tenant_id]
    if query.after_seq is not None:
        where.append(
            seq < query.after_seq if query.newest_first else seq > query.after_seq
        )
    where.extend(_filters(query, postgres=postgres))
    return (
        select(*entries.c)
        .where(and_(*where))
        .order_by(seq.desc() if query.newest_first else seq)
        .limit(query.limit + 1)
    )


def _filters(query: EntryQuery, *, postgres: bool) -> list[ColumnElement[bool]]:
    c = entries.c
    where: list[ColumnElement[bool]] = []
    if query.since is not None:
        where.append(c.occurred_at_us >= to_us(query.since))
    if query.until is not None:
        where.append(c.occurred_at_us < to_us(query.until))
    for column, value in (
        (c.actor_id, query.actor_id),
        (c.resource_type, query.resource_type),
        (c.resource_id, query.resource_id),
        (c.result, query.result),
    ):
        if value is not None:
            where.append(column == value)
    if query.action:
        where.extend(_prefix(c.action, query.action))
    if query.text:
        find = func.strpos if postgres else func.instr
        where.append(find(func.lower(c.details), func.lower(query.text)) > 0)
    return where


def _prefix(column: Column[str], prefix: str) -> list[ColumnElement[bool]]:
    """``column`` starts with ``prefix``, as an index range (binary collation)."""
    last = ord(prefix[-1]) + 1
    if 0xD800 <= last <= 0xDFFF:  # skip the surrogates, which never occur in text
        last = 0xE000
    if last > 0x10FFFF:
        return [column >= prefix, func.substr(column, 1, len(prefix)) == prefix]
    return [column >= prefix, column < prefix[:-1] + chr(last)]
