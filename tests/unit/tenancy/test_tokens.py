"""Every JWT attack the issue lists is refused, with a generic 401."""

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from phantom.kernel.errors import Unauthenticated
from phantom.tenancy.domain.errors import AuthenticationFailed
from phantom.tenancy.domain.tokens import (
    MAX_TOKEN_LENGTH,
    TokenKey,
    TokenKeyring,
    TokenPolicy,
    TokenVerifier,
    issue_token,
)
from tests.unit.tenancy.factories import (
    POLICY,
    SIGNING_SECRET,
    claims,
    hs256,
    keyring,
    rs256,
    rsa_public_pem,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
T = NOW.timestamp()


@pytest.fixture(scope="module")
def verifier() -> TokenVerifier:
    return TokenVerifier(keyring(), POLICY)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _forge(header: dict[str, Any], payload: dict[str, Any], key: bytes) -> str:
    signing_input = (
        f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
    )
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_b64(signature)}"


def _refused(verifier: TokenVerifier, token: object, reason: str) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        verifier.verify(token, NOW)
    assert caught.value.reason == reason
    assert caught.value.status == 401
    assert str(caught.value) == AuthenticationFailed.GENERIC_DETAIL


def test_a_valid_hs256_token_is_accepted(verifier: TokenVerifier) -> None:
    token = hs256(claims(sub="u1", tenant_id="t1", now=T, role="viewer"))
    verified = verifier.verify(token, NOW)
    assert (verified.subject, verified.tenant_id, verified.role) == (
        "u1",
        "t1",
        "viewer",
    )
    assert verified.scopes is None
    assert verified.kid == "platform"


def test_a_valid_rs256_token_is_accepted(verifier: TokenVerifier) -> None:
    token = rs256(claims(sub="u1", tenant_id="t1", now=T, scopes=["predict"]))
    assert verifier.verify(token, NOW).scopes == {"predict"}


def test_oauth_style_space_separated_scope_is_understood(
    verifier: TokenVerifier,
) -> None:
    token = hs256(claims(sub="u", tenant_id="t", now=T, scope="models:read predict"))
    assert verifier.verify(token, NOW).scopes == {"models:read", "predict"}


def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    payload = claims(sub="u", tenant_id="t", now=T)
    for kid in ("platform", "rsa-1"):
        header = _b64(json.dumps({"alg": "none", "typ": "JWT", "kid": kid}).encode())
        body = _b64(json.dumps(payload).encode())
        _refused(verifier, f"{header}.{body}.", "algorithm-mismatch")


def test_algorithm_confusion_with_the_rsa_public_key_as_hmac_secret_is_refused(
    verifier: TokenVerifier,
) -> None:
    payload = claims(sub="u", tenant_id="t", now=T)
    token = _forge(
        {"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}, payload, rsa_public_pem()
    )
    _refused(verifier, token, "algorithm-mismatch")


def test_an_rs256_header_on_the_hs256_key_is_refused(verifier: TokenVerifier) -> None:
    token = rs256(claims(sub="u", tenant_id="t", now=T), kid="platform")
    _refused(verifier, token, "algorithm-mismatch")


def test_an_unknown_kid_is_refused(verifier: TokenVerifier) -> None:
    _refused(
        verifier, hs256(claims(sub="u", tenant_id="t", now=T), kid="old"), "unknown-kid"
    )


def test_a_missing_kid_is_refused(verifier: TokenVerifier) -> None:
    token = jwt.encode(
        claims(sub="u", tenant_id="t", now=T), SIGNING_SECRET, algorithm="HS256"
    )
    _refused(verifier, token, "missing-kid")


def test_a_token_signed_with_another_secret_is_refused(verifier: TokenVerifier) -> None:
    token = hs256(claims(sub="u", tenant_id="t", now=T), secret=b"x" * 32)
    _refused(verifier, token, "bad-signature")


def test_a_token_signed_by_another_rsa_key_is_refused(verifier: TokenVerifier) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(
        claims(sub="u", tenant_id="t", now=T),
        other,
        algorithm="RS256",
        headers={"kid": "rsa-1"},
    )
    _refused(verifier, token, "bad-signature")


def test_a_tampered_payload_is_refused(verifier: TokenVerifier) -> None:
    header, _, signature = hs256(claims(sub="u", tenant_id="t", now=T)).split(".")
    forged = _b64(json.dumps(claims(sub="u", tenant_id="other", now=T)).encode())
    _refused(verifier, f"{header}.{forged}.{signature}", "bad-signature")


def test_a_token_for_another_audience_is_refused(verifier: TokenVerifier) -> None:
    token = hs256(claims(sub="u", tenant_id="t", now=T, aud="someone-else"))
    _refused(verifier, token, "wrong-audience")


def test_a_token_from_another_issuer_is_refused(verifier: TokenVerifier) -> None:
    token = rs256(claims(sub="u", tenant_id="t", now=T, iss="https://evil.example"))
    _refused(verifier, token, "wrong-issuer")


@pytest.mark.parametrize("claim", ["exp", "iat", "iss", "aud", "sub"])
def test_a_token_missing_a_required_claim_is_refused(
    verifier: TokenVerifier, claim: str
) -> None:
    payload = claims(sub="u", tenant_id="t", now=T)
    del payload[claim]
    _refused(verifier, hs256(payload), "missing-claim")


def test_a_token_without_tenant_is_refused(verifier: TokenVerifier) -> None:
    payload = claims(sub="u", tenant_id="t", now=T)
    del payload["tenant_id"]
    _refused(verifier, hs256(payload), "invalid-claim")


def test_an_expired_token_is_refused(verifier: TokenVerifier) -> None:
    token = hs256(claims(sub="u", tenant_id="t", now=T - 3600, ttl=600))
    _refused(verifier, token, "expired")


def test_a_token_expired_within_the_leeway_is_accepted(verifier: TokenVerifier) -> None:
    token = hs256(claims(sub="u", tenant_id="t", now=T - 610, ttl=600))
    assert verifier.verify(token, NOW).subject == "u"


def test_a_token_not_yet_valid_is_refused(verifier: TokenVerifier) -> None:
    payload = claims(sub="u", tenant_id="t", now=T, nbf=int(T) + 600, ttl=3600)
    _refused(verifier, hs256(payload), "not-yet-valid")


def test_a_token_issued_in_the_future_is_refused(verifier: TokenVerifier) -> None:
    payload = claims(sub="u", tenant_id="t", now=T + 600)
    del payload["nbf"]
    _refused(verifier, hs256(payload), "issued-in-future")


@pytest.mark.parametrize("value", ["soon", True, None, [1]])
def test_non_numeric_times_are_refused(verifier: TokenVerifier, value: object) -> None:
    payload = claims(sub="u", tenant_id="t", now=T)
    payload["exp"] = value
    with pytest.raises(AuthenticationFailed):
        verifier.verify(hs256(payload), NOW)


def test_a_tenant_bound_key_cannot_sign_for_another_tenant() -> None:
    secret = b"tenant-a-secret-of-at-least-32-b"
    verifier = TokenVerifier(
        TokenKeyring([TokenKey.hs256("tenant-a", secret, tenant_id="a")]), POLICY
    )
    good = hs256(claims(sub="u", tenant_id="a", now=T), kid="tenant-a", secret=secret)
    assert verifier.verify(good, NOW).tenant_id == "a"
    bad = hs256(claims(sub="u", tenant_id="b", now=T), kid="tenant-a", secret=secret)
    _refused(verifier, bad, "tenant-key-mismatch")


def test_a_maximum_lifetime_is_enforced_when_configured() -> None:
    policy = TokenPolicy(
        POLICY.issuer, POLICY.audience, max_lifetime=timedelta(hours=1)
    )
    verifier = TokenVerifier(keyring(), policy)
    token = hs256(claims(sub="u", tenant_id="t", now=T, ttl=86_400))
    _refused(verifier, token, "lifetime-too-long")


@pytest.mark.parametrize(
    "token",
    [
        "",
        "abc",
        "a.b",
        "a.b.c",
        "...",
        "a.b.c.d",
        "é.é.é",
        "x" * (MAX_TOKEN_LENGTH + 1),
        None,
        7,
    ],
)
def test_malformed_tokens_are_refused(verifier: TokenVerifier, token: object) -> None:
    with pytest.raises(AuthenticationFailed):
        verifier.verify(token, NOW)


@given(st.text(max_size=300))
def test_arbitrary_text_raises_only_unauthenticated(text: str) -> None:
    verifier = TokenVerifier(keyring(), POLICY)
    with pytest.raises(Unauthenticated):
        verifier.verify(text, NOW)


@given(
    st.dictionaries(
        st.sampled_from(["alg", "kid", "typ", "crit", "jku", "x5u"]),
        st.one_of(
            st.text(max_size=10),
            st.integers(),
            st.none(),
            st.lists(st.text(max_size=3)),
        ),
    ),
    st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=8), st.integers())),
)
def test_arbitrary_headers_and_payloads_raise_only_unauthenticated(
    header: dict[str, Any], payload: dict[str, Any]
) -> None:
    verifier = TokenVerifier(keyring(), POLICY)
    token = _forge(header, payload, SIGNING_SECRET)
    with pytest.raises(Unauthenticated):
        verifier.verify(token, NOW)


def test_issued_tokens_verify() -> None:
    key = TokenKey.hs256("platform", SIGNING_SECRET)
    token = issue_token(
        key,
        POLICY,
        subject="u",
        tenant_id="t",
        now=NOW,
        ttl=timedelta(minutes=5),
        role="admin",
        scopes=["predict"],
    )
    verified = TokenVerifier(keyring(), POLICY).verify(token, NOW)
    assert (verified.role, verified.scopes) == ("admin", {"predict"})


def test_only_hs256_keys_issue_tokens() -> None:
    rsa_key = TokenKey.rs256("rsa-1", rsa_public_pem())
    with pytest.raises(ValueError, match="HS256"):
        issue_token(
            rsa_key, POLICY, subject="u", tenant_id="t", now=NOW, ttl=timedelta(1)
        )
    key = TokenKey.hs256("platform", SIGNING_SECRET)
    with pytest.raises(ValueError, match="positive"):
        issue_token(key, POLICY, subject="u", tenant_id="t", now=NOW, ttl=timedelta(0))


def test_weak_keys_are_refused_at_configuration() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        TokenKey.hs256("k", b"short")
    small = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    pem = small.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(ValueError, match="2048"):
        TokenKey.rs256("k", pem)
    with pytest.raises(ValueError, match="kid"):
        TokenKey.hs256("", SIGNING_SECRET)


def test_kids_are_unique_in_a_keyring() -> None:
    key = TokenKey.hs256("k", SIGNING_SECRET)
    with pytest.raises(ValueError, match="share"):
        TokenKeyring([key, key])


def test_key_material_never_shows_in_a_repr() -> None:
    assert SIGNING_SECRET.decode() not in repr(TokenKey.hs256("k", SIGNING_SECRET))


def test_the_real_clock_is_not_consulted() -> None:
    long_ago = datetime(2001, 1, 1, tzinfo=UTC)
    token = hs256(claims(sub="u", tenant_id="t", now=long_ago.timestamp()))
    verifier = TokenVerifier(keyring(), POLICY)
    assert verifier.verify(token, long_ago).subject == "u"
    assert time.time() > long_ago.timestamp() + 3600
