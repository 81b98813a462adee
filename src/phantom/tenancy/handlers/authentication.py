"""Authentication: API keys and JWT bearer tokens → :class:`Principal`.

Every refusal raises :class:`AuthenticationFailed`, whose detail is the same
generic sentence whatever went wrong; the reason is logged here (event
``tenancy.auth.refused``) with identifiers that are safe to log, never a secret.
"""

from __future__ import annotations

from datetime import datetime

import structlog

from phantom.kernel.clock import Clock
from phantom.tenancy.domain.errors import AuthenticationFailed
from phantom.tenancy.domain.keys import (
    ApiKey,
    KeyHasher,
    ParsedKey,
    needs_touch,
    parse_key,
)
from phantom.tenancy.domain.principals import Principal, Via
from phantom.tenancy.domain.tenants import Tenant
from phantom.tenancy.domain.tokens import TokenClaims, TokenVerifier
from phantom.tenancy.domain.users import User
from phantom.tenancy.ports import TenancyUnitOfWork

__all__ = ["authenticate_key", "authenticate_token"]

log = structlog.get_logger(__name__)


def authenticate_key(
    plaintext: str,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
    hasher: KeyHasher,
) -> Principal:
    """The principal of an API key ``phk_<prefix>_<secret>``.

    Malformed keys are refused before any lookup. The secret is compared in
    constant time; only then are revocation, expiry and the user's and tenant's
    status looked at. ``last_used_at`` is updated at most once a minute per key.

    Raises:
        AuthenticationFailed: for every refusal (generic detail; ``reason`` logged).
    """
    now = clock.now()
    try:
        key, principal = _verify_key(parse_key(plaintext), uow, hasher, now)
    except AuthenticationFailed as exc:
        _log_refusal("api_key", exc)
        raise
    if needs_touch(key.last_used_at, now):
        with uow.transaction(key.tenant_id, write=True) as tx:
            if tx.repo.touch_key(key.tenant_id, key.id, now):
                tx.commit()
    return principal


def _verify_key(
    parsed: ParsedKey, uow: TenancyUnitOfWork, hasher: KeyHasher, now: datetime
) -> tuple[ApiKey, Principal]:
    with uow.transaction(None) as tx:
        tenant_id = tx.repo.find_key_tenant(parsed.prefix)
    if tenant_id is None:
        hasher.verify(parsed.secret, None)  # the same work as for a known prefix
        raise AuthenticationFailed("unknown-key", prefix=parsed.prefix)
    with uow.transaction(tenant_id) as tx:
        key = tx.repo.find_key_by_prefix(tenant_id, parsed.prefix)
        tenant = tx.repo.find_tenant(tenant_id)
        user = None if key is None else tx.repo.find_user(tenant_id, key.user_id)
    context = {"prefix": parsed.prefix, "tenant_id": tenant_id}
    if key is None or not hasher.verify(parsed.secret, key.secret_hash):
        raise AuthenticationFailed("wrong-secret", **context)
    reason = key.refusal(now) or _holder_refusal(tenant, user)
    if reason is not None or user is None:
        raise AuthenticationFailed(reason or "unknown-user", **context)
    principal = _principal(user, "api_key", key.scopes, key_id=key.id)
    return key, principal


def authenticate_token(
    token: str,
    *,
    uow: TenancyUnitOfWork,
    clock: Clock,
    verifier: TokenVerifier,
) -> Principal:
    """The principal of a JWT bearer token.

    The signature, issuer, audience and times are checked by ``verifier`` (keys
    pinned by ``kid``); then the ``tenant_id`` claim must name an active tenant,
    ``sub`` an enabled user of it, and a ``role`` claim, when present, the user's
    current role (a role change invalidates older tokens). Permissions come from
    the stored user, narrowed by the token's scopes; claims never add any.

    Raises:
        AuthenticationFailed: for every refusal (generic detail; ``reason`` logged).
    """
    try:
        claims = verifier.verify(token, clock.now())
        return _token_principal(claims, uow)
    except AuthenticationFailed as exc:
        _log_refusal("token", exc)
        raise


def _token_principal(claims: TokenClaims, uow: TenancyUnitOfWork) -> Principal:
    with uow.transaction(claims.tenant_id) as tx:
        tenant = tx.repo.find_tenant(claims.tenant_id)
        user = tx.repo.find_user(claims.tenant_id, claims.subject)
    context = {"kid": claims.kid, "tenant_id": claims.tenant_id[:64]}
    reason = _holder_refusal(tenant, user)
    if reason is not None or user is None:
        raise AuthenticationFailed(reason or "unknown-user", **context)
    if claims.role is not None and claims.role != user.role.value:
        raise AuthenticationFailed("stale-role", **context)
    return _principal(user, "token", claims.scopes)


def _holder_refusal(tenant: Tenant | None, user: User | None) -> str | None:
    if tenant is None:
        return "unknown-tenant"
    if not tenant.active:
        return "tenant-disabled"
    if user is None:
        return "unknown-user"
    if user.disabled:
        return "user-disabled"
    return None


def _principal(
    user: User, via: Via, scopes: frozenset[str] | None, key_id: str | None = None
) -> Principal:
    return Principal(
        tenant_id=user.tenant_id,
        role=user.role.value,
        permissions=user.permissions(scopes),
        via=via,
        user_id=user.id,
        key_id=key_id,
    )


def _log_refusal(via: Via, exc: AuthenticationFailed) -> None:
    log.warning("tenancy.auth.refused", via=via, reason=exc.reason, **exc.context)
