"""The composition root's tenancy wiring: secrets, token keys, interim audit sink."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import structlog

from phantom.audit.api import AuditActor, AuditDecision
from phantom.audit.recorder import SqlAuditRecorder
from phantom.bootstrap import (
    LoggingAuditRecorder,
    build,
    tenancy_secrets,
    token_verifier,
)
from phantom.kernel.errors import ConfigError
from phantom.kernel.settings import Settings
from phantom.tenancy.key_material import encode_secret
from tests.unit.tenancy.factories import claims, hs256, rs256, rsa_public_pem

PEPPER = encode_secret(b"p" * 32)
SECRET = encode_secret(b"s" * 32)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_the_shipped_contexts_are_all_default_contexts(
    tmp_path: Path,
) -> None:
    container = build(Settings(home=tmp_path))
    try:
        assert set(container.modules) == {
            "system",
            "tenancy",
            "audit",
            "training",
            "registry",
            "serving",
            "privacy",
            "monitoring",
        }
        assert container.serving is not None
        assert container.monitoring is not None
        assert container.privacy is not None
        assert container.deployments is not None
        assert container.tenancy is not None
        assert container.training is not None
        assert container.registry is not None
        assert isinstance(container.audit, SqlAuditRecorder)
        assert container.audit.scrub is not None  # audit details are scrubbed
        assert not (tmp_path / "analytics.duckdb").exists()  # opened on first use
    finally:
        container.close()


def test_without_the_tenancy_context_there_is_no_tenancy_service(
    tmp_path: Path,
) -> None:
    container = build(Settings(home=tmp_path, contexts=["system"]))
    try:
        assert container.tenancy is None
        assert not (tmp_path / "keys").exists()
    finally:
        container.close()


def test_secrets_come_from_settings_when_given(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path, api_key_pepper=PEPPER, jwt_hs256_secret=SECRET)
    secrets = tenancy_secrets(settings)
    assert (secrets.pepper, secrets.signing_secret) == (b"p" * 32, b"s" * 32)
    assert not (tmp_path / "keys").exists()


def test_missing_secrets_are_generated_once_into_the_home(tmp_path: Path) -> None:
    first = tenancy_secrets(Settings(home=tmp_path))
    again = tenancy_secrets(Settings(home=tmp_path))
    assert first == again
    mixed = tenancy_secrets(Settings(home=tmp_path, api_key_pepper=PEPPER))
    assert mixed.pepper == b"p" * 32
    assert mixed.signing_secret == first.signing_secret


def test_a_short_secret_in_settings_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="32 bytes"):
        tenancy_secrets(Settings(home=tmp_path, jwt_hs256_secret="c2hvcnQ"))


def test_the_verifier_holds_the_platform_key_and_the_configured_rs256_keys(
    tmp_path: Path,
) -> None:
    pem_file = tmp_path / "issuer.pem"
    pem_file.write_bytes(rsa_public_pem())
    settings = Settings(
        home=tmp_path,
        jwt_hs256_secret=SECRET,
        jwt_issuer="https://issuer.test",
        jwt_audience="api",
        jwt_rs256_public_keys={
            "text": rsa_public_pem().decode(),
            "file": str(pem_file),
        },
    )
    verifier = token_verifier(settings, tenancy_secrets(settings))
    base = claims(
        sub="u",
        tenant_id="t",
        now=NOW.timestamp(),
        iss="https://issuer.test",
        aud="api",
    )
    assert verifier.verify(hs256(base, secret=b"s" * 32), NOW).kid == "platform"
    assert verifier.verify(rs256(base, kid="text"), NOW).kid == "text"
    assert verifier.verify(rs256(base, kid="file"), NOW).kid == "file"


@pytest.mark.parametrize(
    "value", ["/no/such/key.pem", "-----BEGIN PUBLIC KEY-----\nnope\n"]
)
def test_an_unusable_rs256_key_is_a_config_error(tmp_path: Path, value: str) -> None:
    settings = Settings(home=tmp_path, jwt_rs256_public_keys={"bad": value})
    with pytest.raises(ConfigError, match="'bad'"):
        token_verifier(settings, tenancy_secrets(settings))


def test_an_rs256_key_may_not_take_the_platform_kid(tmp_path: Path) -> None:
    settings = Settings(
        home=tmp_path, jwt_rs256_public_keys={"platform": rsa_public_pem().decode()}
    )
    with pytest.raises(ConfigError, match="platform"):
        token_verifier(settings, tenancy_secrets(settings))


def test_the_interim_audit_sink_logs_each_decision() -> None:
    decision = AuditDecision(
        action="auth.denied",
        actor=AuditActor(kind="anonymous", id="anonymous", via="none"),
        result="denied",
        details={"reason": "missing"},
    )
    with structlog.testing.capture_logs() as logs:
        LoggingAuditRecorder().record("platform", decision)
        LoggingAuditRecorder().count("t1", "k1", "predict")
    assert logs[0]["event"] == "audit.decision"
    assert logs[0]["log_level"] == "warning"
    assert logs[0]["action"] == "auth.denied"
    assert logs[0]["audit_tenant_id"] == "platform"
    assert logs[1]["event"] == "audit.count"
