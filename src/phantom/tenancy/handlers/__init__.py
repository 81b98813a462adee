"""Command handlers of the tenancy context: plain functions, one per command.

Each takes the command, the acting :class:`~phantom.tenancy.api.Principal` and its
dependencies as keywords (a :class:`~phantom.tenancy.ports.TenancyUnitOfWork`, a
clock, and the key hasher or token verifier where needed). Every write appends
events to the tenant's stream at the version read under the tenant lock, and the
inline projector updates the read model in the same transaction.

The read side (``get_tenant``, ``list_users``, ``list_keys``, ``list_tenants``)
lives in :mod:`phantom.tenancy.views`.
"""

from phantom.tenancy.handlers.authentication import (
    authenticate_key,
    authenticate_token,
)
from phantom.tenancy.handlers.keys import create_key, revoke_key
from phantom.tenancy.handlers.tenants import create_tenant, update_tenant
from phantom.tenancy.handlers.users import create_user, delete_user, update_user

__all__ = [
    "authenticate_key",
    "authenticate_token",
    "create_key",
    "create_tenant",
    "create_user",
    "delete_user",
    "revoke_key",
    "update_tenant",
    "update_user",
]
