"""Builders shared by the tenancy unit and integration tests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from phantom.kernel.clock import Clock
from phantom.tenancy.api import CreatedTenant, Principal, system_principal
from phantom.tenancy.commands import CreateTenant, CreateUser
from phantom.tenancy.domain.keys import KeyHasher
from phantom.tenancy.domain.tokens import (
    TokenKey,
    TokenKeyring,
    TokenPolicy,
    TokenVerifier,
)
from phantom.tenancy.ports import TenancyUnitOfWork
from phantom.tenancy.service import TenancyService

PEPPER = b"pepper-for-tests-only-32-bytes!!"
SIGNING_SECRET = b"hs256-secret-for-tests-32-bytes!"
POLICY = TokenPolicy(issuer="https://phantom.test", audience="phantom-api")
_RSA: list[rsa.RSAPrivateKey] = []


def rsa_private_key() -> rsa.RSAPrivateKey:
    """One 2048-bit RSA key per test session (generating one takes a while)."""
    if not _RSA:
        _RSA.append(rsa.generate_private_key(public_exponent=65537, key_size=2048))
    return _RSA[0]


def rsa_public_pem() -> bytes:
    return (
        rsa_private_key()
        .public_key()
        .public_bytes(
            serialization.Encoding.PEM,
            serialization.PublicFormat.SubjectPublicKeyInfo,
        )
    )


def keyring() -> TokenKeyring:
    return TokenKeyring(
        [
            TokenKey.hs256("platform", SIGNING_SECRET),
            TokenKey.rs256("rsa-1", rsa_public_pem()),
        ]
    )


def make_service(uow: TenancyUnitOfWork, clock: Clock) -> TenancyService:
    return TenancyService(
        uow=uow,
        clock=clock,
        hasher=KeyHasher(PEPPER),
        verifier=TokenVerifier(keyring(), POLICY),
    )


def new_tenant(  # noqa: PLR0913
    service: TenancyService,
    slug: str = "acme",
    *,
    max_users: int | None = None,
    max_api_keys: int | None = None,
    platform_admin: bool = False,
    email: str = "owner@acme.example",
) -> CreatedTenant:
    return service.create_tenant(
        CreateTenant(
            name=slug.title(),
            slug=slug,
            owner_email=email,
            max_users=max_users,
            max_api_keys=max_api_keys,
            owner_is_platform_admin=platform_admin,
        ),
        system_principal(),
    )


def owner_of(service: TenancyService, created: CreatedTenant) -> Principal:
    return service.authenticate_key(created.owner_key.plaintext.get_secret_value())


def add_user(
    service: TenancyService, actor: Principal, email: str, role: str = "viewer"
) -> str:
    return service.create_user(CreateUser(email=email, role=role), actor).id


def claims(  # noqa: PLR0913
    *,
    sub: str,
    tenant_id: str,
    now: float,
    ttl: float = 300,
    iss: str = POLICY.issuer,
    aud: str = POLICY.audience,
    **extra: Any,
) -> dict[str, Any]:
    base: dict[str, Any] = {
        "sub": sub,
        "tenant_id": tenant_id,
        "iss": iss,
        "aud": aud,
        "iat": int(now),
        "nbf": int(now),
        "exp": int(now + ttl),
    }
    base.update(extra)
    return base


def hs256(
    payload: Mapping[str, Any], *, kid: str = "platform", secret: bytes = SIGNING_SECRET
) -> str:
    return jwt.encode(dict(payload), secret, algorithm="HS256", headers={"kid": kid})


def rs256(payload: Mapping[str, Any], *, kid: str = "rsa-1") -> str:
    return jwt.encode(
        dict(payload), rsa_private_key(), algorithm="RS256", headers={"kid": kid}
    )


__all__ = [
    "PEPPER",
    "POLICY",
    "SIGNING_SECRET",
    "add_user",
    "claims",
    "hs256",
    "keyring",
    "make_service",
    "new_tenant",
    "owner_of",
    "rs256",
    "rsa_private_key",
    "rsa_public_pem",
]
