"""Settings from the environment (``PHANTOM_*``) and ``phantom.toml``.

Every backend is a URL. Nothing is read at import: call :func:`load_settings`.
Precedence, highest first: keyword arguments, environment variables, ``phantom.toml``
in the working directory (or the file named by ``PHANTOM_CONFIG``), defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from phantom.kernel.db.roles import (
    DEFAULT_APP_ROLE,
    DEFAULT_SYSTEM_ROLE,
    role_name_error,
)

__all__ = ["Settings", "load_settings"]


class Settings(BaseSettings):
    """Phantom's configuration.

    Attributes:
        home: where embedded data lives (``PHANTOM_HOME``, default ``./.phantom``).
        database_url: the default database for every context; ``None`` means one
            SQLite file per context under ``home/db/``. A PostgreSQL URL gives each
            context its own schema in that database.
        database_urls: per-context overrides, from ``PHANTOM_<CONTEXT>_DATABASE_URL``.
            On PostgreSQL these URLs connect as the schemas' owner (migrations).
        database_app_role: the PostgreSQL role requests run as (row-level security
            applies to it); created by the migrations if missing.
        database_system_role: the PostgreSQL role of cross-tenant kernel readers
            (outbox relay, dead-letter listing); created if missing.
        bus_url: ``memory://`` (default) or ``nats://host:port``.
        cache_url: ``memory://`` (default) or ``redis://host:port/db``.
        artifacts_url: where blobs go: ``file:///abs/path`` or
            ``s3://bucket/prefix[?endpoint_url=...]``; ``None`` (the default) means
            ``home/artifacts`` (see :meth:`artifacts_url_for_home`).
        artifact_quota_bytes: each tenant's artifact storage quota (default 10 GiB).
        analytics_url: the analytics store: ``duckdb://PATH`` (one writer process,
            the API server), ``clickhouse://user:pw@host:8123/db`` (or
            ``clickhouses://``) for a server, ``chdb://PATH`` for embedded
            ClickHouse (extra ``clickhouse``; ``?retention_days=`` sets the TTL);
            ``None`` (the default) means ``home/analytics.duckdb`` (see
            :meth:`analytics_url_for_home`).
        max_body_bytes: the largest request body the gateway accepts.
        max_upload_bytes: the largest file a route taking one (a dataset, an
            artifact) accepts.
        dataset_import_roots: server directories platform administrators may
            register datasets from by path; empty (the default) turns that off.
        executor: where training trials run: ``local`` (default), ``ray`` (a
            local Ray instance) or ``ray://host:port``.
        in_process_workers: training workers the API server runs in threads
            (``phantom up``: 1); ``phantom worker`` runs more elsewhere.
        model_cache_bytes: the serving model cache's budget, estimated from the
            loaded models' file sizes (least recently used models go first).
        prediction_log_sample_rate: the share of predictions logged to the
            analytics store (0 to 1).
        prediction_log_capacity: predictions waiting to be logged; past it,
            predictions are dropped from the log (and counted), never waited for.
        analytics_writer: whether this process writes the analytics store (the
            API server: yes); ``phantom worker`` hands its metric points to the
            server through the training database instead.
        worker_lease_s: how long a job's lease lasts without a heartbeat.
        public_url: where jobs (and other processes) reach this deployment's
            API; ``None`` means ``http://HOST:PORT`` (loopback for a wildcard).
        max_running_jobs_per_tenant: a tenant's concurrent jobs.
        log_json: JSON log lines (``True``), human-readable ones (``False``), or
            JSON unless stderr is a terminal (``None``, the default).
        contexts: the contexts a plain ``build``/``phantom up`` runs.
        api_key_pepper: the server-side key of API key hashes (URL-safe base64,
            32+ bytes); ``None`` reads or creates ``home/keys`` (ADR 0009).
        jwt_issuer: the ``iss`` every bearer token must carry.
        jwt_audience: the ``aud`` every bearer token must carry.
        jwt_hs256_secret: the platform's HS256 token secret (``kid`` ``platform``,
            URL-safe base64, 32+ bytes); ``None`` reads or creates ``home/keys``.
        jwt_rs256_public_keys: external issuers' RS256 public keys by ``kid``, each
            a PEM text or the path of a PEM file.
        auth_cache_ttl_s: how long a verified credential is reused without a
            database lookup (at most 1 s, so a revocation takes effect within a
            second; 0 turns the cache off).
        rate_limit_per_second: each tenant's sustained request rate at the
            gateway (token bucket refill; 0 turns rate limiting off).
        rate_limit_burst: each tenant's bucket size (requests allowed at once).
        cors_origins: origins allowed to call the API from a browser; empty (the
            default) turns CORS off.
        idempotency_ttl_s: how long a response to a POST with an
            ``Idempotency-Key`` is kept for replay.
        audit_denials_per_second: denials recorded one by one per tenant and
            second; more in the same second are counted instead (ADR 0011).
        privacy_master_key: wraps each tenant's privacy data key (URL-safe
            base64, 32+ bytes); ``None`` reads or creates ``home/keys``. Every
            server of a deployment must share it (ADR 0020).
        scrub_prediction_log: anonymize prediction inputs by the tenant's privacy
            policy before they are logged (on by default).
        scrub_audit_details: anonymize free-text details of audit entries the
            same way (on by default).
        drift_interval_s: how often the server reports drift on every profiled
            model version with new traffic (0 turns the schedule off).
        alert_interval_s: how often every tenant's alert rules are evaluated
            (0 turns it off).
        webhook_allowed_networks: networks (CIDR) alert webhooks may reach
            besides the public internet, e.g. ``["10.1.2.0/24"]`` for an
            internal receiver; loopback, link-local and private ranges are
            refused otherwise.
    """

    model_config = SettingsConfigDict(
        env_prefix="PHANTOM_",
        extra="ignore",
        toml_file="phantom.toml",
        validate_default=True,
    )

    home: Path = Path(".phantom")
    database_url: str | None = None
    database_urls: dict[str, str] = Field(default_factory=dict)
    database_app_role: str = DEFAULT_APP_ROLE
    database_system_role: str = DEFAULT_SYSTEM_ROLE
    bus_url: str = "memory://"
    cache_url: str = "memory://"
    cache_max_entries: int = Field(default=10_000, ge=1)
    artifacts_url: str | None = None
    artifact_quota_bytes: int = Field(default=10 * 1024**3, ge=0)
    analytics_url: str | None = None
    environment: str = "development"
    log_level: str = "INFO"
    log_json: bool | None = None
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=1_048_576, ge=1)
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1)
    dataset_import_roots: list[Path] = Field(default_factory=list)
    executor: str = "local"
    in_process_workers: int = Field(default=1, ge=0, le=16)
    analytics_writer: bool = True
    worker_lease_s: float = Field(default=30.0, ge=1.0)
    public_url: str | None = None
    max_running_jobs_per_tenant: int = Field(default=2, ge=1)
    relay_interval_s: float = Field(default=0.2, gt=0)
    model_cache_bytes: int = Field(default=2 * 1024**3, ge=1)
    prediction_log_sample_rate: float = Field(default=1.0, ge=0.0, le=1.0)
    prediction_log_capacity: int = Field(default=10_000, ge=1)
    max_delivery_attempts: int = Field(default=5, ge=1)
    contexts: list[str] = Field(
        default_factory=lambda: [
            "system",
            "tenancy",
            "audit",
            "training",
            "registry",
            "serving",
            "privacy",
            "monitoring",
        ]
    )
    api_key_pepper: SecretStr | None = None
    jwt_issuer: str = Field(default="phantom", min_length=1)
    jwt_audience: str = Field(default="phantom-api", min_length=1)
    jwt_hs256_secret: SecretStr | None = None
    jwt_rs256_public_keys: dict[str, str] = Field(default_factory=dict)
    auth_cache_ttl_s: float = Field(default=1.0, ge=0, le=1.0)
    rate_limit_per_second: float = Field(default=50.0, ge=0)
    rate_limit_burst: int = Field(default=100, ge=1)
    cors_origins: list[str] = Field(default_factory=list)
    idempotency_ttl_s: int = Field(default=86_400, ge=1)
    audit_denials_per_second: int = Field(default=20, ge=1)
    privacy_master_key: SecretStr | None = None
    scrub_prediction_log: bool = True
    scrub_audit_details: bool = True
    drift_interval_s: float = Field(default=3600.0, ge=0)
    alert_interval_s: float = Field(default=60.0, ge=0)
    webhook_allowed_networks: list[str] = Field(default_factory=list)

    @field_validator("contexts")
    @classmethod
    def _contexts_are_identifiers(cls, value: list[str]) -> list[str]:
        for name in value:
            if not name.isidentifier() or not name.islower():
                msg = f"context name {name!r} must be a lower-case identifier"
                raise ValueError(msg)
        return value

    @field_validator("database_app_role", "database_system_role")
    @classmethod
    def _roles_are_identifiers(cls, value: str) -> str:
        problem = role_name_error(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _roles_differ(self) -> Settings:
        if self.database_app_role == self.database_system_role:
            msg = "database_app_role and database_system_role must differ"
            raise ValueError(msg)
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Read keyword arguments, then the environment, then ``phantom.toml``."""
        del dotenv_settings
        toml_path = os.environ.get("PHANTOM_CONFIG", "phantom.toml")
        toml = TomlConfigSettingsSource(settings_cls, toml_file=toml_path)
        return (init_settings, env_settings, toml, file_secret_settings)

    def database_url_for(self, context: str) -> str:
        """Return ``context``'s database URL (override, shared URL or SQLite file)."""
        override = self.database_urls.get(context) or os.environ.get(
            f"PHANTOM_{context.upper()}_DATABASE_URL"
        )
        if override:
            return override
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'db' / f'{context}.sqlite').as_posix()}"

    def artifacts_url_for_home(self) -> str:
        """Return the artifact store URL: ``artifacts_url`` or ``home/artifacts``.

        The default is an absolute ``file:///`` URL, so it does not change meaning
        when the working directory does.
        """
        if self.artifacts_url:
            return self.artifacts_url
        return (self.home / "artifacts").absolute().as_uri()

    def api_url(self) -> str:
        """Where this deployment's API answers: ``public_url`` or host and port."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        if host in {"", "0.0.0.0"}:  # noqa: S104 - recognising, not binding
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def analytics_url_for_home(self) -> str:
        """Return the analytics store URL: ``analytics_url`` or the embedded file.

        The default, ``duckdb://`` + the absolute path of ``home/analytics.duckdb``,
        does not change meaning when the working directory does.
        """
        if self.analytics_url:
            return self.analytics_url
        return f"duckdb://{(self.home / 'analytics.duckdb').absolute().as_posix()}"


def load_settings(**overrides: Any) -> Settings:  # noqa: ANN401 - pydantic validates
    """Build settings from the environment, ``phantom.toml`` and ``overrides``."""
    return Settings(**overrides)
