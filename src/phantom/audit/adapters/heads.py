"""Every tenant's chain head and newest checkpoint, read across tenants.

Checkpointing and platform-wide verification need the list of chains without
scanning the entries table: the tenants are found with a *skip scan* (a recursive
query that jumps from one ``tenant_id`` to the next along the primary-key index),
and each head is one index probe. The cost grows with the number of tenants, not
of entries, so it can run every minute.

Run it on the system engine: on PostgreSQL the system role may read both audit
tables across tenants (ADR 0008); the app role would see one tenant at most.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from sqlalchemy import Connection, text

__all__ = ["ChainState", "chain_states"]

_STATES: Final = text("""
WITH RECURSIVE
with_entries(tenant_id) AS (
  SELECT min(tenant_id) FROM audit_entries
  UNION ALL
  SELECT (SELECT min(e.tenant_id) FROM audit_entries e
          WHERE e.tenant_id > with_entries.tenant_id)
  FROM with_entries WHERE with_entries.tenant_id IS NOT NULL
),
with_checkpoints(tenant_id) AS (
  SELECT min(tenant_id) FROM audit_checkpoints
  UNION ALL
  SELECT (SELECT min(c.tenant_id) FROM audit_checkpoints c
          WHERE c.tenant_id > with_checkpoints.tenant_id)
  FROM with_checkpoints WHERE with_checkpoints.tenant_id IS NOT NULL
)
SELECT u.tenant_id,
  (SELECT max(e.seq) FROM audit_entries e WHERE e.tenant_id = u.tenant_id),
  (SELECT max(c.seq) FROM audit_checkpoints c
    WHERE c.tenant_id = u.tenant_id AND c.key_id = :key_id)
FROM (
  SELECT tenant_id FROM with_entries WHERE tenant_id IS NOT NULL
  UNION
  SELECT tenant_id FROM with_checkpoints WHERE tenant_id IS NOT NULL
) u
""")
"""The skip scans of both tables, then one index probe per tenant for each head."""


@dataclass(frozen=True, slots=True)
class ChainState:
    """Where a tenant's chain stands.

    Attributes:
        tenant_id: the chain's tenant.
        head_seq: its last entry's ``seq`` (0 when it has none left).
        signed_seq: the newest ``seq`` the given key signed (0 when none).
    """

    tenant_id: str
    head_seq: int
    signed_seq: int

    @property
    def changed(self) -> bool:
        """Whether the chain grew past its newest checkpoint by that key."""
        return self.head_seq > self.signed_seq


def chain_states(conn: Connection, key_id: str) -> list[ChainState]:
    """Every tenant with entries or checkpoints, ordered by tenant id (one query).

    A tenant whose entries were all deleted still appears (through its
    checkpoints, with ``head_seq`` 0), so a platform-wide verification reports it.

    Args:
        conn: a connection that can read every tenant's rows (the system engine).
        key_id: the signing key whose checkpoints count for ``signed_seq``.
    """
    rows = conn.execute(_STATES, {"key_id": key_id}).all()
    states = [
        ChainState(str(tenant), int(head or 0), int(signed or 0))
        for tenant, head, signed in rows
    ]
    return sorted(states, key=lambda state: state.tenant_id)
