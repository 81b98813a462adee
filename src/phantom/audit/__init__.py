"""Audit & compliance: the per-tenant, tamper-evident audit chain.

Every state change and every access decision of a tenant becomes an entry of that
tenant's hash chain (``audit.domain.chain`` documents the exact format). Signed
checkpoints, kept in their own table, anchor the chain so a truncated tail is
detected too. Other contexts and the gateway read it through :mod:`phantom.audit.api`.
"""

__all__: list[str] = []
