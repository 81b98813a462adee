"""Handlers: create and revoke API keys."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from pydantic import SecretStr

from phantom.kernel.clock import Clock
from phantom.kernel.ids import uuid7
from phantom.tenancy.api import ApiKeyInfo, CreatedApiKey
from phantom.tenancy.commands import CreateApiKey, RevokeApiKey
from phantom.tenancy.domain.errors import ApiKeyNotFound, InvalidField, PermissionDenied
from phantom.tenancy.domain.keys import (
    ApiKey,
    KeyHasher,
    generate_key,
    validate_expiry,
    validate_key_name,
)
from phantom.tenancy.domain.principals import Principal, require, target_tenant
from phantom.tenancy.domain.quotas import MAX_API_KEYS, QuotaRefusal, check_quota
from phantom.tenancy.domain.roles import Permission, can_grant, parse_scopes
from phantom.tenancy.domain.users import User
from phantom.tenancy.events import ApiKeyCreated, ApiKeyRevoked
from phantom.tenancy.handlers._shared import (
    envelopes,
    loaded_user,
    locked_tenant,
    refuse,
)
from phantom.tenancy.ports import TenancyTransaction, TenancyUnitOfWork
from phantom.tenancy.presenters import key_info

__all__ = ["create_key", "revoke_key"]

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _KeyRequest:
    tenant_id: str
    user_id: str
    name: str
    scopes: frozenset[str] | None
    expires_at: datetime | None


def _request(cmd: CreateApiKey, actor: Principal, now: datetime) -> _KeyRequest:
    user_id = cmd.user_id or actor.user_id
    if user_id is None:
        raise InvalidField("user_id", "name the user the key acts as")
    return _KeyRequest(
        tenant_id=target_tenant(actor, cmd.tenant_id),
        user_id=user_id,
        name=validate_key_name(cmd.name),
        scopes=parse_scopes(cmd.scopes),
        expires_at=validate_expiry(cmd.expires_at, now),
    )


def create_key(
    cmd: CreateApiKey,
    actor: Principal,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
    hasher: KeyHasher,
) -> CreatedApiKey:
    """Create an API key; its plaintext is in the result, once, and nowhere else.

    The key acts as its user with the user's permissions at each use, narrowed
    by ``scopes``. Nobody creates a key holding more than they hold themselves.
    The ``max_api_keys`` quota (active keys) is checked under the tenant lock.

    Raises:
        PermissionDenied: no ``keys:write``, or the key would hold more than the actor.
        UserNotFound: no such user in the tenant.
        InvalidField: a bad name, scope or expiry, a disabled user, or scopes
            the user does not hold.
        QuotaReached: the tenant's ``max_api_keys`` is reached.
    """
    require(actor, Permission.KEYS_WRITE)
    now = clock.now()
    request = _request(cmd, actor, now)
    with uow.transaction(request.tenant_id, write=True) as tx:
        result = _add_key(tx, request, actor, now, hasher)
    if isinstance(result, QuotaRefusal):
        raise refuse(
            result, "keys.create", actor, request.tenant_id, uow=uow, clock=clock
        )
    stored, plaintext = result
    log.info(
        "tenancy.key.created",
        tenant_id=stored.tenant_id,
        key_id=stored.id,
        prefix=stored.prefix,
    )
    return CreatedApiKey(key=key_info(stored), plaintext=SecretStr(plaintext))


def _ensure_may_mint(
    actor: Principal, user: User, scopes: frozenset[str] | None
) -> None:
    if user.disabled:
        raise InvalidField("user_id", "the user is disabled")
    if scopes is not None and not scopes <= user.permissions():
        raise InvalidField("scopes", "the user does not hold every one of these")
    if not can_grant(actor.permissions, user.permissions(scopes)):
        msg = "a key cannot hold permissions its creator does not; narrow its scopes"
        raise PermissionDenied(msg)


def _add_key(
    tx: TenancyTransaction,
    request: _KeyRequest,
    actor: Principal,
    now: datetime,
    hasher: KeyHasher,
) -> tuple[ApiKey, str] | QuotaRefusal:
    tenant = locked_tenant(tx, request.tenant_id)
    user = loaded_user(tx.repo, request.tenant_id, request.user_id)
    _ensure_may_mint(actor, user, request.scopes)
    refusal = check_quota(
        MAX_API_KEYS,
        limit=tenant.quotas.max_api_keys,
        current=tx.repo.count_active_keys(request.tenant_id, now),
    )
    if refusal is not None:
        return refusal
    key, key_id = generate_key(), str(uuid7())
    event = ApiKeyCreated(
        key_id=key_id,
        user_id=user.id,
        prefix=key.prefix,
        name=request.name,
        scopes=None if request.scopes is None else sorted(request.scopes),
        expires_at=request.expires_at,
    )
    tx.append(
        envelopes(tenant.id, actor, now, [event]), expected_version=tenant.version
    )
    tx.repo.set_key_secret_hash(tenant.id, key_id, hasher.hash(key.secret))
    stored = tx.repo.find_key(tenant.id, key_id)
    if stored is None:  # pragma: no cover - the projector inserts it
        msg = "the tenancy projection did not record the new key"
        raise RuntimeError(msg)
    tx.commit()
    return stored, key.plaintext


def revoke_key(
    cmd: RevokeApiKey,
    actor: Principal,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
) -> ApiKeyInfo:
    """Revoke an API key: it fails from the next authentication on.

    Revoking an already revoked key changes nothing and appends nothing.

    Raises:
        PermissionDenied: no ``keys:write``.
        ApiKeyNotFound: no such key in the tenant (another tenant's id included).
    """
    require(actor, Permission.KEYS_WRITE)
    tenant_id = target_tenant(actor, cmd.tenant_id)
    now = clock.now()
    with uow.transaction(tenant_id, write=True) as tx:
        tenant = locked_tenant(tx, tenant_id)
        key = tx.repo.find_key(tenant_id, cmd.key_id)
        if key is None:
            raise ApiKeyNotFound("no such API key in this tenant")
        revoking = key.revoked_at is None
        if revoking:
            event = ApiKeyRevoked(key_id=key.id, user_id=key.user_id)
            tx.append(
                envelopes(tenant_id, actor, now, [event]),
                expected_version=tenant.version,
            )
            key = tx.repo.find_key(tenant_id, cmd.key_id) or key
        tx.commit()
    if revoking:
        log.info("tenancy.key.revoked", tenant_id=tenant_id, key_id=key.id)
    return key_info(key)
