"""JWT bearer tokens: pinned keys by ``kid``, strict claims, an injectable clock.

Verification never trusts the token's header to choose how it is checked: the
``kid`` picks a configured :class:`TokenKey`, and that key's one algorithm is the
only one accepted (RFC 8725 §2.1). So ``alg: none``, an HS256 token "signed" with
an RS256 public key (algorithm confusion) and unknown ``kid`` values are refused.
Issuer and audience are required and checked; ``exp`` and ``iat`` are required,
``nbf`` is honoured when present, all against the injected clock with a small
leeway. A key may be bound to one tenant: it then verifies only that tenant's
tokens. PyJWT does the signature work; nothing here does I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from phantom.tenancy.domain.errors import AuthenticationFailed

__all__ = [
    "DEFAULT_LEEWAY",
    "MAX_TOKEN_LENGTH",
    "MIN_HS256_SECRET_BYTES",
    "MIN_RSA_BITS",
    "TokenAlgorithm",
    "TokenClaims",
    "TokenKey",
    "TokenKeyring",
    "TokenPolicy",
    "TokenVerifier",
    "issue_token",
]

TokenAlgorithm = Literal["HS256", "RS256"]
MIN_HS256_SECRET_BYTES: Final = 32
MIN_RSA_BITS: Final = 2048
MAX_TOKEN_LENGTH: Final = 8192
DEFAULT_LEEWAY: Final = timedelta(seconds=30)
_MAX_ID: Final = 64
_MAX_SCOPES: Final = 64
_REQUIRED: Final = ["exp", "iat", "iss", "aud", "sub"]
_DECODE_OPTIONS: Final[Any] = {
    "require": _REQUIRED,
    # Times are checked against the injected clock in _check_times.
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
}
_REASONS: Final[tuple[tuple[type[jwt.PyJWTError], str], ...]] = (
    (jwt.InvalidSignatureError, "bad-signature"),
    (jwt.InvalidAudienceError, "wrong-audience"),
    (jwt.InvalidIssuerError, "wrong-issuer"),
    (jwt.MissingRequiredClaimError, "missing-claim"),
    (jwt.InvalidAlgorithmError, "algorithm-mismatch"),
)


@dataclass(frozen=True, slots=True)
class TokenKey:
    """A verification key, pinned to one algorithm.

    Build with :meth:`hs256` or :meth:`rs256`, which check the material.

    Attributes:
        kid: the key id tokens name in their header.
        algorithm: the only algorithm this key verifies.
        material: the HS256 secret or the RS256 public key.
        tenant_id: when set, the key only verifies tokens of this tenant.
    """

    kid: str
    algorithm: TokenAlgorithm
    material: bytes | RSAPublicKey = field(repr=False)
    tenant_id: str | None = None

    @classmethod
    def hs256(
        cls, kid: str, secret: bytes, *, tenant_id: str | None = None
    ) -> TokenKey:
        """An HS256 key; the shared ``secret`` must have at least 32 bytes."""
        if len(secret) < MIN_HS256_SECRET_BYTES:
            msg = f"an HS256 secret needs at least {MIN_HS256_SECRET_BYTES} bytes"
            raise ValueError(msg)
        return cls(_kid(kid), "HS256", bytes(secret), tenant_id)

    @classmethod
    def rs256(
        cls, kid: str, public_key_pem: bytes | str, *, tenant_id: str | None = None
    ) -> TokenKey:
        """An RS256 key from a PEM public key of at least 2048 bits."""
        pem = (
            public_key_pem.encode()
            if isinstance(public_key_pem, str)
            else public_key_pem
        )
        key = load_pem_public_key(pem)
        if not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_BITS:
            msg = f"an RS256 key must be an RSA public key of {MIN_RSA_BITS}+ bits"
            raise ValueError(msg)
        return cls(_kid(kid), "RS256", key, tenant_id)


def _kid(kid: str) -> str:
    if not kid or len(kid) > _MAX_ID or not kid.isascii() or not kid.isprintable():
        msg = f"a kid must be 1 to {_MAX_ID} printable ASCII characters"
        raise ValueError(msg)
    return kid


class TokenKeyring:
    """The verification keys, by ``kid``."""

    __slots__ = ("_keys",)

    def __init__(self, keys: Iterable[TokenKey]) -> None:
        self._keys: dict[str, TokenKey] = {}
        for key in keys:
            if key.kid in self._keys:
                msg = f"two token keys share the kid {key.kid!r}"
                raise ValueError(msg)
            self._keys[key.kid] = key

    def find(self, kid: str) -> TokenKey | None:
        """The key called ``kid``, if configured."""
        return self._keys.get(kid)

    def __len__(self) -> int:
        return len(self._keys)


@dataclass(frozen=True, slots=True)
class TokenPolicy:
    """What every accepted token must say.

    Attributes:
        issuer: the required ``iss``.
        audience: the required ``aud`` (or one of the token's audiences).
        leeway: clock skew tolerated on ``exp``, ``nbf`` and ``iat``.
        max_lifetime: when set, ``exp - iat`` may not exceed it.
    """

    issuer: str
    audience: str
    leeway: timedelta = DEFAULT_LEEWAY
    max_lifetime: timedelta | None = None


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """The claims of a verified token."""

    subject: str
    tenant_id: str
    role: str | None
    scopes: frozenset[str] | None
    kid: str
    expires_at: float


class TokenVerifier:
    """Verifies bearer tokens against a keyring and a policy."""

    __slots__ = ("_keyring", "_policy")

    def __init__(self, keyring: TokenKeyring, policy: TokenPolicy) -> None:
        self._keyring = keyring
        self._policy = policy

    def verify(self, token: object, now: datetime) -> TokenClaims:
        """Return the claims of ``token`` if it is valid at ``now``.

        Raises:
            AuthenticationFailed: for every refusal; ``reason`` says which.
        """
        if (
            not isinstance(token, str)
            or len(token) > MAX_TOKEN_LENGTH
            or not token.isascii()
            or token.count(".") != 2
        ):
            raise AuthenticationFailed("malformed-token")
        key = self._key_for(token)
        try:
            payload: dict[str, Any] = jwt.decode(
                token,
                key.material,
                algorithms=[key.algorithm],
                audience=self._policy.audience,
                issuer=self._policy.issuer,
                options=_DECODE_OPTIONS,
            )
        except jwt.PyJWTError as exc:
            reason = next(
                (r for t, r in _REASONS if isinstance(exc, t)), "invalid-token"
            )
            raise AuthenticationFailed(reason, kid=key.kid) from None
        self._check_times(payload, now, key.kid)
        return _claims(payload, key)

    def _key_for(self, token: str) -> TokenKey:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthenticationFailed("malformed-token") from None
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise AuthenticationFailed("missing-kid")
        key = self._keyring.find(kid)
        if key is None:
            raise AuthenticationFailed("unknown-kid", kid=kid[:_MAX_ID])
        if header.get("alg") != key.algorithm:
            raise AuthenticationFailed("algorithm-mismatch", kid=key.kid)
        return key

    def _check_times(self, payload: Mapping[str, Any], now: datetime, kid: str) -> None:
        leeway = self._policy.leeway.total_seconds()
        at = now.timestamp()
        exp, iat = _time(payload, "exp", kid), _time(payload, "iat", kid)
        nbf = _time(payload, "nbf", kid) if "nbf" in payload else None
        if exp <= at - leeway:
            raise AuthenticationFailed("expired", kid=kid)
        if nbf is not None and nbf > at + leeway:
            raise AuthenticationFailed("not-yet-valid", kid=kid)
        if iat > at + leeway:
            raise AuthenticationFailed("issued-in-future", kid=kid)
        limit = self._policy.max_lifetime
        if limit is not None and exp - iat > limit.total_seconds():
            raise AuthenticationFailed("lifetime-too-long", kid=kid)


def _time(payload: Mapping[str, Any], claim: str, kid: str) -> float:
    value = payload.get(claim)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise AuthenticationFailed("invalid-claim", kid=kid, claim=claim)
    if not math.isfinite(value):
        raise AuthenticationFailed("invalid-claim", kid=kid, claim=claim)
    return float(value)


def _identifier(payload: Mapping[str, Any], claim: str, kid: str) -> str:
    value = payload.get(claim)
    if not isinstance(value, str) or not 1 <= len(value) <= _MAX_ID:
        raise AuthenticationFailed("invalid-claim", kid=kid, claim=claim)
    return value


def _scopes(payload: Mapping[str, Any], kid: str) -> frozenset[str] | None:
    listed, spaced = payload.get("scopes"), payload.get("scope")
    if listed is None and spaced is None:
        return None
    if listed is not None and spaced is not None:
        raise AuthenticationFailed("invalid-claim", kid=kid, claim="scopes")
    values = spaced.split() if isinstance(spaced, str) else listed
    if (
        not isinstance(values, list)
        or len(values) > _MAX_SCOPES
        or not all(isinstance(v, str) and len(v) <= _MAX_ID for v in values)
    ):
        raise AuthenticationFailed("invalid-claim", kid=kid, claim="scopes")
    return frozenset(values)


def _claims(payload: Mapping[str, Any], key: TokenKey) -> TokenClaims:
    tenant_id = _identifier(payload, "tenant_id", key.kid)
    if key.tenant_id is not None and tenant_id != key.tenant_id:
        raise AuthenticationFailed("tenant-key-mismatch", kid=key.kid)
    role = payload.get("role")
    if role is not None and (not isinstance(role, str) or len(role) > _MAX_ID):
        raise AuthenticationFailed("invalid-claim", kid=key.kid, claim="role")
    return TokenClaims(
        subject=_identifier(payload, "sub", key.kid),
        tenant_id=tenant_id,
        role=role,
        scopes=_scopes(payload, key.kid),
        kid=key.kid,
        expires_at=_time(payload, "exp", key.kid),
    )


def issue_token(  # noqa: PLR0913 - the standard claims, all keyword-only
    key: TokenKey,
    policy: TokenPolicy,
    *,
    subject: str,
    tenant_id: str,
    now: datetime,
    ttl: timedelta,
    role: str | None = None,
    scopes: Iterable[str] | None = None,
) -> str:
    """Sign an HS256 token for ``subject`` of ``tenant_id`` valid for ``ttl``.

    Raises:
        ValueError: ``key`` is not an HS256 key or ``ttl`` is not positive.
    """
    if key.algorithm != "HS256" or not isinstance(key.material, bytes):
        msg = "Phantom signs tokens with HS256 keys only"
        raise ValueError(msg)
    if ttl <= timedelta(0):
        msg = "a token's ttl must be positive"
        raise ValueError(msg)
    issued = int(now.timestamp())
    claims: dict[str, Any] = {
        "iss": policy.issuer,
        "aud": policy.audience,
        "sub": subject,
        "tenant_id": tenant_id,
        "iat": issued,
        "nbf": issued,
        "exp": issued + int(ttl.total_seconds()),
    }
    if role is not None:
        claims["role"] = role
    if scopes is not None:
        claims["scopes"] = sorted(scopes)
    return jwt.encode(claims, key.material, algorithm="HS256", headers={"kid": key.kid})
