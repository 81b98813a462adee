"""The composition root: builds every adapter from settings, once.

Nothing is built at import. ``build(settings)`` opens a database per context, the
event stores, the bus, the cache, the artifact store, the tenancy service (with its
key material and token verifier) and the audit recorder; ``Container.migrate()``
brings the schemas up; the gateway and the CLI are the only callers.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import Final, Literal

import structlog
from sqlalchemy import make_url

from phantom.audit.api import AuditDecision, AuditRecorder
from phantom.audit.module import audit_module, checkpoint_keys
from phantom.audit.recorder import SqlAuditRecorder
from phantom.kernel.analytics import AnalyticsStore, open_analytics
from phantom.kernel.artifacts import ArtifactStore, file_root, open_artifacts
from phantom.kernel.bus import EventBus, open_bus
from phantom.kernel.cache import Cache, open_cache
from phantom.kernel.clock import Clock, SystemClock
from phantom.kernel.db.engine import Database, open_database
from phantom.kernel.db.migrate import migrate
from phantom.kernel.db.roles import DatabaseRoles
from phantom.kernel.db.uow import UnitOfWork
from phantom.kernel.errors import ConfigError, InvalidInput, NotFound
from phantom.kernel.events.inbox import Consumer
from phantom.kernel.events.relay import OutboxRelay
from phantom.kernel.events.sql import SqlEventStore
from phantom.kernel.module import Module
from phantom.kernel.secrets import decode_secret, load_or_create_secret
from phantom.kernel.settings import Settings
from phantom.monitoring.adapters.alerts_sql import SqlAlertStore
from phantom.monitoring.adapters.sql import SqlMonitoringStore
from phantom.monitoring.alerting.service import AlertService
from phantom.monitoring.alerting.webhooks import WebhookSender
from phantom.monitoring.feedback import FeedbackService
from phantom.monitoring.module import monitoring_module
from phantom.monitoring.service import MonitoringService
from phantom.privacy.adapters.ner import NerDetector, presidio_detector
from phantom.privacy.adapters.sql import SqlPrivacyStore
from phantom.privacy.keys import KEY_BYTES, MASTER_KEY_FILE, KeyRing
from phantom.privacy.module import privacy_module
from phantom.privacy.ner import NerStatus, ner_status
from phantom.privacy.service import PrivacyService
from phantom.registry.adapters.sql import SqlRegistryStore
from phantom.registry.module import registry_module
from phantom.registry.service import (
    Lineage,
    RegistryLimits,
    RegistryService,
    VersionFacts,
)
from phantom.serving.adapters.sql import SqlServingStore
from phantom.serving.module import serving_module
from phantom.serving.runtime.prediction_log import PredictionLog
from phantom.serving.saga import DeploySaga
from phantom.serving.service import ServingService
from phantom.tenancy.adapters.sql import SqlTenancyUnitOfWork
from phantom.tenancy.api import Permission, Principal, Role
from phantom.tenancy.domain.keys import MIN_PEPPER_BYTES
from phantom.tenancy.domain.tokens import (
    MIN_HS256_SECRET_BYTES,
    TokenKey,
    TokenKeyring,
    TokenPolicy,
    TokenVerifier,
    issue_token,
)
from phantom.tenancy.key_material import TenancySecrets
from phantom.tenancy.module import tenancy_module
from phantom.tenancy.service import TenancyService
from phantom.training.adapters.metric_spool import SpooledMetrics, drain_metric_spool
from phantom.training.adapters.sql import SqlTrainingStore
from phantom.training.batch import BatchScorer, Scores
from phantom.training.dataset_columns import DatasetColumnReader
from phantom.training.job_service import JobService
from phantom.training.module import training_module
from phantom.training.service import TrainingLimits, TrainingService
from phantom.training.worker import RegisterRequest, Worker, WorkerSettings

__all__ = [
    "Container",
    "LoggingAuditRecorder",
    "build",
    "job_service",
    "known_modules",
    "registry_service",
    "serving_services",
    "tenancy_secrets",
    "tenancy_service",
    "token_verifier",
    "training_service",
    "training_worker",
]

log = structlog.get_logger(__name__)


def known_modules() -> dict[str, Module]:
    """The contexts this build of Phantom ships, by name.

    ``system`` is the kernel's own database (dead letters of system consumers, and
    the events of platform-wide administration); the bounded contexts join it as
    they are built.
    """
    return {
        "system": Module(name="system"),
        "tenancy": tenancy_module(),
        "audit": audit_module(),
        "training": training_module(),
        "registry": registry_module(),
        "serving": serving_module(),
        "privacy": privacy_module(),
        "monitoring": monitoring_module(),
    }


class LoggingAuditRecorder:
    """The interim :class:`~phantom.audit.api.AuditRecorder`: decisions go to the log.

    Every ``record`` is one ``audit.decision`` log line (warning level for
    denials), every ``count`` one ``audit.count`` debug line. It keeps no chain:
    it stands in until the audit context's recorder is wired in :func:`build`
    (one line, marked there), so the gateway's code path is already the final one.
    Decisions carry no secrets (``AuditDecision`` forbids them), so logging them
    is safe.
    """

    def record(self, tenant_id: str, decision: AuditDecision) -> None:
        """Log ``decision`` as ``audit.decision`` for ``tenant_id``."""
        emit = log.warning if decision.result == "denied" else log.info
        emit(
            "audit.decision",
            audit_tenant_id=tenant_id,
            action=decision.action,
            result=decision.result,
            actor=decision.actor.model_dump(),
            resource=None
            if decision.resource is None
            else decision.resource.model_dump(),
            details=decision.details,
        )

    def count(
        self,
        tenant_id: str,
        key_id: str,
        action: str,
        result: Literal["allowed", "denied"] = "allowed",
    ) -> None:
        """Log one allowed (or throttled) call as ``audit.count``."""
        log.debug(
            "audit.count",
            audit_tenant_id=tenant_id,
            key_id=key_id,
            action=action,
            result=result,
        )


@dataclass
class Container:
    """Everything built from settings; the one place adapters are wired."""

    settings: Settings
    clock: Clock
    modules: dict[str, Module]
    databases: dict[str, Database]
    stores: dict[str, SqlEventStore]
    bus: EventBus
    cache: Cache
    artifacts: ArtifactStore
    """The content-addressed blob store (``settings.artifacts_url_for_home()``)."""
    consumers: dict[str, Consumer] = field(default_factory=dict)
    tenancy: TenancyService | None = None
    """The tenancy service; ``None`` when the deployment has no tenancy context."""
    audit: AuditRecorder = field(default_factory=LoggingAuditRecorder)
    """Where the gateway records access decisions (wired in :func:`build`)."""
    training: TrainingService | None = None
    """The training service; ``None`` when the deployment has no training context."""
    jobs: JobService | None = None
    """Training jobs (submit, read, cancel); with the training service."""
    registry: RegistryService | None = None
    """The registry service; ``None`` when the deployment has no registry context."""
    serving: ServingService | None = None
    """Online predictions; ``None`` without the serving and registry contexts."""
    deployments: DeploySaga | None = None
    privacy: PrivacyService | None = None
    """PII detection and anonymization; ``None`` without the privacy context."""
    monitoring: MonitoringService | None = None
    """Drift; ``None`` without the monitoring and registry contexts."""
    feedback: FeedbackService | None = None
    """Labels, performance and serving analytics; with the monitoring service."""
    alerts: AlertService | None = None
    """Alert rules and webhooks; with the monitoring service."""
    """The deploy saga; with the serving service."""
    _analytics: AnalyticsStore | None = field(default=None, repr=False)
    _analytics_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def analytics(self) -> AnalyticsStore:
        """The analytics store, opened on first use.

        It has one writer process (the server): commands that build a container
        but never write metrics must not take its file lock, so nothing opens it
        until something needs it. A process that is not the writer
        (``analytics_writer`` off: ``phantom worker``) gets the metric spool.
        """
        with self._analytics_lock:
            if self._analytics is None:
                if self.settings.analytics_writer or "training" not in self.databases:
                    url = self.settings.analytics_url_for_home()
                    self._analytics = open_analytics(url)
                else:  # hand points to the writer through the training database
                    self._analytics = SpooledMetrics(self.databases["training"])
            return self._analytics

    def drain_metric_spool(self) -> int:
        """Move metric points other processes spooled into the analytics store.

        Only the analytics writer drains; anywhere else, or without the training
        context, there is nothing to do.
        """
        if not self.settings.analytics_writer or "training" not in self.databases:
            return 0
        return drain_metric_spool(self.databases["training"], self.analytics())

    def database(self, context: str) -> Database:
        """Return ``context``'s database."""
        try:
            return self.databases[context]
        except KeyError:
            msg = f"context {context!r} is not part of this deployment"
            raise NotFound(msg) from None

    def uow(self, context: str, tenant_id: str | None) -> UnitOfWork:
        """Return a new unit of work on ``context``'s database for ``tenant_id``.

        ``None`` is for work on tables without tenant rows only: on PostgreSQL,
        row-level security shows and accepts no tenant rows without a tenant.
        """
        module = self.modules[context]
        return UnitOfWork(
            self.database(context),
            self.stores[context],
            module.projectors,
            tenant_id=tenant_id,
        )

    def relays(self) -> list[OutboxRelay]:
        """One outbox relay per context database."""
        return [
            OutboxRelay(db, self.stores[name], self.bus)
            for name, db in self.databases.items()
        ]

    def consumer(self, name: str) -> Consumer:
        """Return the consumer called ``name``."""
        try:
            return self.consumers[name]
        except KeyError:
            known = ", ".join(sorted(self.consumers)) or "none"
            msg = f"no consumer named {name!r}; known consumers: {known}"
            raise NotFound(msg) from None

    def migrate(self) -> None:
        """Apply every pending migration to every context database."""
        for name, db in self.databases.items():
            migrate(db, self.modules[name].migrations)

    def close(self) -> None:
        """Release connections held by the databases, the cache and the artifacts.

        The bus is asynchronous: close it with :meth:`aclose` instead when a loop
        is running, or ``asyncio.run(container.aclose())`` from synchronous code.
        """
        if self.serving is not None:
            self.serving.close()  # flushes the prediction log first
        if self.alerts is not None:
            self.alerts.close()  # webhook deliveries in flight finish first
        for db in self.databases.values():
            db.dispose()
        self.cache.close()
        self.artifacts.close()
        with self._analytics_lock:
            if self._analytics is not None:
                self._analytics.close()
                self._analytics = None

    async def aclose(self) -> None:
        """Close the bus, then everything :meth:`close` closes."""
        try:
            await self.bus.close()
        finally:
            self.close()


def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    modules: Sequence[Module] | None = None,
) -> Container:
    """Build the container for ``settings``.

    Args:
        settings: the configuration.
        clock: the time source (the system clock by default).
        modules: the modules to run instead of the shipped ones (tests).
    """
    available = {m.name: m for m in modules} if modules is not None else known_modules()
    unknown = [name for name in settings.contexts if name not in available]
    if unknown and modules is None:
        ships = ", ".join(sorted(available))
        msg = f"unknown contexts {unknown}; this build ships: {ships}"
        raise ConfigError(msg)
    chosen = (
        {name: available[name] for name in settings.contexts if name in available}
        if modules is None
        else available
    )
    roles = DatabaseRoles(settings.database_app_role, settings.database_system_role)
    databases = {
        name: open_database(name, settings.database_url_for(name), roles=roles)
        for name in chosen
    }
    stores = {
        name: SqlEventStore(db.dialect, db.schema) for name, db in databases.items()
    }
    the_clock = clock or SystemClock()
    container = Container(
        settings=settings,
        clock=the_clock,
        modules=chosen,
        databases=databases,
        stores=stores,
        bus=open_bus(settings.bus_url),
        cache=open_cache(settings.cache_url, max_entries=settings.cache_max_entries),
        artifacts=open_artifacts(settings.artifacts_url_for_home(), home=settings.home),
        audit=SqlAuditRecorder(
            databases["audit"], checkpoint_keys(settings.home / "keys"), clock=the_clock
        )
        if "audit" in databases
        else LoggingAuditRecorder(),
    )
    for name, module in chosen.items():
        for spec in module.consumers:
            container.consumers[spec.name] = Consumer(
                spec.name,
                databases[name],
                spec.effect,
                max_attempts=settings.max_delivery_attempts,
                clock=the_clock,
            )
    _wire_services(container)
    for module in chosen.values():
        if module.bind is not None:
            module.bind(container)
    log.debug("bootstrap.built", contexts=sorted(chosen))
    return container


def _wire_services(container: Container) -> None:
    """Build each deployed context's services, in dependency order."""
    databases, settings = container.databases, container.settings
    if "tenancy" in databases:
        container.tenancy = tenancy_service(container)
    if "privacy" in databases:  # first: serving's log and the audit scrub with it
        container.privacy = privacy_service(container)
        if settings.scrub_audit_details and isinstance(
            container.audit, SqlAuditRecorder
        ):
            container.audit.scrub = container.privacy.scrub_record
    if "registry" in databases:
        container.registry = registry_service(container)
    if "serving" in databases and container.registry is not None:
        container.serving, container.deployments = serving_services(container)
    if "training" in databases:  # after serving: batch jobs score with it
        container.training = training_service(container)
        container.jobs = job_service(container)
    if "monitoring" in databases and container.registry is not None:
        container.monitoring, container.feedback = monitoring_services(container)
        container.alerts = alert_service(container)


def monitoring_services(
    container: Container,
) -> tuple[MonitoringService, FeedbackService]:
    """Drift over the registry, the training datasets and serving's scorer.

    Raises:
        ConfigError: the container has no registry service.
    """
    if container.registry is None:
        msg = "monitoring needs the registry context"
        raise ConfigError(msg)
    training, serving = container.training, container.serving
    monitoring = MonitoringService(
        store=SqlMonitoringStore(
            container.database("monitoring"), container.stores["monitoring"]
        ),
        analytics=container.analytics,
        artifacts=container.artifacts,
        models=container.registry,
        clock=container.clock,
        datasets=None
        if training is None
        else DatasetColumnReader(training.store, container.artifacts),
        scorer=None if serving is None else partial(_score_rows, serving),
    )
    feedback = FeedbackService(
        analytics=container.analytics, models=container.registry, clock=container.clock
    )
    return monitoring, feedback


def alert_service(container: Container) -> AlertService:
    """Alert rules over the monitoring store, signing webhooks with a home key.

    Raises:
        ConfigError: a ``webhook_allowed_networks`` entry is not a network, or
            the key file is too readable.
    """
    if container.feedback is None:
        msg = "alerts need the monitoring services"
        raise ConfigError(msg)
    settings = container.settings
    try:
        allowed = [
            ipaddress.ip_network(n, strict=False)
            for n in settings.webhook_allowed_networks
        ]
    except ValueError as exc:
        msg = f"webhook_allowed_networks: {exc}"
        raise ConfigError(msg) from None
    db = container.database("monitoring")
    return AlertService(
        store=SqlAlertStore(db),
        reports=SqlMonitoringStore(db, container.stores["monitoring"]),
        feedback=container.feedback,
        sender=WebhookSender(allowed=allowed),
        signing_key=load_or_create_secret(
            settings.home / "keys" / "monitoring-webhook-key", "webhook signing key"
        ),
        clock=container.clock,
    )


def _score_rows(
    serving: ServingService,
    tenant_id: str,
    model: str,
    version: int,
    rows: list[list[object]],
) -> Scores:
    """Predictions (and probabilities) of ``rows`` by a version, for monitoring."""
    return _batch_scorer(serving, tenant_id, model, version).score(rows)


def training_service(container: Container) -> TrainingService:
    """The training service on ``container``'s training database and stores.

    Raises:
        NotFound: the container has no training database.
    """
    settings = container.settings
    return TrainingService(
        store=SqlTrainingStore(
            container.database("training"), container.stores["training"]
        ),
        artifacts=container.artifacts,
        analytics=container.analytics,
        clock=container.clock,
        metrics_readable=settings.analytics_writer,
        limits=TrainingLimits(
            max_upload_bytes=settings.max_upload_bytes,
            storage_quota_bytes=settings.artifact_quota_bytes,
            import_roots=tuple(settings.dataset_import_roots),
        ),
    )


def job_service(container: Container) -> JobService:
    """Training jobs over the container's training service (batch jobs: serving).

    Raises:
        NotFound: the container has no training service.
    """
    if container.training is None:
        msg = "context 'training' is not part of this deployment"
        raise NotFound(msg)
    return JobService(
        store=container.training.store,
        training=container.training,
        clock=container.clock,
        resolve_model=None
        if container.serving is None
        else partial(_resolve_batch_model, container.serving),
    )


def privacy_service(container: Container) -> PrivacyService:
    """The privacy service: its tables, and tenant keys under the master key.

    The master key comes from ``settings.privacy_master_key``, else from (or is
    created in) ``settings.home / "keys" / "privacy-master-key"``.

    Raises:
        NotFound: the container has no privacy database.
        ConfigError: the master key is malformed, short, or its file too readable.
    """
    settings = container.settings
    given = settings.privacy_master_key
    master = (
        decode_secret("privacy master key", given.get_secret_value(), KEY_BYTES)
        if given is not None
        else load_or_create_secret(
            settings.home / "keys" / MASTER_KEY_FILE, "privacy master key"
        )
    )
    store = SqlPrivacyStore(
        container.database("privacy"), container.stores["privacy"], container.clock
    )
    ner, detector = _ner()
    return PrivacyService(
        store=store,
        keyring=KeyRing(master, store),
        clock=container.clock,
        ner=ner,
        ner_detector=detector,
    )


def _ner() -> tuple[NerStatus, NerDetector | None]:
    """Named-entity detection when Presidio and a spaCy model are installed."""
    status = ner_status()
    if not status.enabled or status.model is None:
        return status, None
    try:
        return status, presidio_detector(status.model)
    except (ImportError, OSError, ValueError) as exc:
        reason = f"off: {status.model} failed to load ({str(exc)[:200]})"
        return NerStatus(enabled=False, model=None, reason=reason), None


def registry_service(container: Container) -> RegistryService:
    """The registry service on ``container``'s registry database and stores.

    Raises:
        NotFound: the container has no registry database.
    """
    settings = container.settings
    return RegistryService(
        store=SqlRegistryStore(
            container.database("registry"), container.stores["registry"]
        ),
        artifacts=container.artifacts,
        clock=container.clock,
        limits=RegistryLimits(
            max_upload_bytes=settings.max_upload_bytes,
            storage_quota_bytes=settings.artifact_quota_bytes,
        ),
    )


def serving_services(container: Container) -> tuple[ServingService, DeploySaga]:
    """The serving service and the deploy saga, over the registry.

    Raises:
        NotFound: the container has no serving database.
        ConfigError: the container has no registry service.
    """
    if container.registry is None:
        msg = "serving needs the registry context"
        raise ConfigError(msg)
    settings = container.settings
    store = SqlServingStore(container.database("serving"), container.stores["serving"])
    serving = ServingService(
        store=store,
        models=container.registry,
        clock=container.clock,
        cache_budget_bytes=settings.model_cache_bytes,
        prediction_log=PredictionLog(
            container.analytics,
            capacity=settings.prediction_log_capacity,
            sample_rate=settings.prediction_log_sample_rate,
            scrub=container.privacy.scrub_record
            if container.privacy is not None and settings.scrub_prediction_log
            else None,
        ),
    )
    saga = DeploySaga(
        store=store,
        models=container.registry,
        serving=serving,
        artifacts=container.artifacts,
        audit=container.audit,
        clock=container.clock,
        storage_quota_bytes=settings.artifact_quota_bytes,
    )
    return serving, saga


def training_worker(container: Container) -> Worker | None:
    """A training worker on ``container`` (``None`` without the training context)."""
    if container.training is None:
        return None
    settings = container.settings
    return Worker(
        service=container.training,
        store=container.training.store,
        artifacts=container.artifacts,
        clock=container.clock,
        settings=WorkerSettings(
            lease_s=settings.worker_lease_s,
            max_running_per_tenant=settings.max_running_jobs_per_tenant,
            executor=settings.executor,
            hidden_paths=_private_paths(container),
            api_url=settings.api_url(),
            issue_token=job_token_issuer(container),
            register_model=None
            if container.registry is None
            else partial(_register_job_model, container.registry),
            load_scorer=None
            if container.serving is None
            else partial(_batch_scorer, container.serving),
        ),
    )


def _resolve_batch_model(
    serving: ServingService,
    tenant_id: str,
    model: str,
    version: int | None,
    alias: str | None,
) -> int:
    """The version of ``model`` a batch job pins: ``version``, or ``alias``'s now.

    Raises:
        NotFound: no such model, version or alias in the tenant.
    """
    return serving.models.resolve(
        tenant_id, model, version=version, alias=alias
    ).version


def _batch_scorer(
    serving: ServingService, tenant_id: str, model: str, version: int
) -> BatchScorer:
    """``version`` of ``model``, loaded by serving (its cache) for a batch job.

    Rows are checked against the version's signature as an online request is.

    Raises:
        NotFound: the version is gone.
        InvalidInput: the version has no signature, so no feature names to
            find the dataset's columns by.
    """
    info = serving.models.resolve(tenant_id, model, version=version)
    served = serving.served(tenant_id, info)
    signature = served.signature
    if signature is None:
        msg = (
            f"{model} v{version} has no signature naming its features; a batch "
            "job finds them among the dataset's columns by name"
        )
        raise InvalidInput(msg)

    def score(rows: list[list[object]]) -> Scores:
        outputs = served.run(served.matrix(rows, field="rows"))
        return outputs.predictions, outputs.probabilities

    return BatchScorer(
        model=info.name,
        version=info.version,
        features=signature.names,
        classes=served.classes,
        score=score,
    )


def _register_job_model(registry: RegistryService, request: RegisterRequest) -> int:
    """Register a training job's best model; the new version's number.

    It acts as the job's submitter, as a service principal allowed to read and
    write models only (like the job's own training principal, which may not).
    A version of the model already registered by the same job with the same
    file is returned instead of a second one (a job re-run after its worker
    lost the lease between registering and recording the outcome).
    """
    principal = Principal(
        tenant_id=request.tenant_id,
        role=Role.SERVICE.value,
        permissions=frozenset(
            {Permission.MODELS_READ.value, Permission.MODELS_WRITE.value}
        ),
        via="internal",
        user_id=request.user_id,
    )
    with contextlib.suppress(NotFound):
        for known in registry.list_versions(principal, request.name):
            if known.job_id == request.job_id and known.digest == request.digest:
                return known.version
    facts = VersionFacts(
        description=request.description,
        signature=request.signature,
        metrics=request.metrics,
        params=request.params,
        declared_format=request.model_format,
        lineage=Lineage(
            dataset_id=request.dataset_id,
            dataset_version=request.dataset_version,
            run_id=request.run_id,
            job_id=request.job_id,
        ),
    )
    created = registry.register_artifact(principal, request.name, request.digest, facts)
    return created.version


JOB_TOKEN_SCOPES: Final = ("runs:read", "runs:write", "datasets:read", "jobs:read")
"""What an entry-point job's token may do (narrowing its submitter's role)."""


def job_token_issuer(container: Container) -> Callable[[str, str, float], str] | None:
    """Signs entry-point jobs' API tokens with the platform key (``None``: no tenancy).

    A token names the job's submitter in its tenant, is scoped to
    :data:`JOB_TOKEN_SCOPES` and lives as long as the job may.
    """
    if container.tenancy is None:
        return None
    settings = container.settings
    key = tenancy_secrets(settings).platform_token_key()
    policy = TokenPolicy(issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    clock = container.clock

    def issue(user_id: str, tenant_id: str, ttl_s: float) -> str:
        return issue_token(
            key,
            policy,
            subject=user_id,
            tenant_id=tenant_id,
            now=clock.now(),
            ttl=timedelta(seconds=ttl_s),
            scopes=JOB_TOKEN_SCOPES,
        )

    return issue


def _private_paths(container: Container) -> tuple[Path, ...]:
    """The platform's own files, which training jobs must not see."""
    settings = container.settings
    paths = [settings.home]
    url = settings.artifacts_url_for_home()
    if url.startswith("file:"):
        paths.append(file_root(url, home=settings.home))
    for db in container.databases.values():
        if db.dialect == "sqlite":
            name = make_url(db.url).database
            if name and name != ":memory:":
                paths.append(Path(name).parent)
    return tuple(paths)


def tenancy_service(container: Container) -> TenancyService:
    """The tenancy service on ``container``'s tenancy database.

    Raises:
        NotFound: the container has no tenancy database.
        ConfigError: the key material or a token key is unusable.
    """
    settings = container.settings
    secrets = tenancy_secrets(settings)
    return TenancyService(
        uow=SqlTenancyUnitOfWork(
            container.database("tenancy"), container.stores["tenancy"]
        ),
        clock=container.clock,
        hasher=secrets.hasher(),
        verifier=token_verifier(settings, secrets),
    )


def tenancy_secrets(settings: Settings) -> TenancySecrets:
    """The API key pepper and platform token secret: from settings, else files.

    Values given in settings win; a missing one is read from (or generated into)
    ``settings.home / "keys"`` (ADR 0009). Nothing has a default value.

    Raises:
        ConfigError: a value or file is malformed, too short or too readable.
    """
    pepper, signing = settings.api_key_pepper, settings.jwt_hs256_secret
    if pepper is not None and signing is not None:
        return TenancySecrets.from_values(
            pepper=pepper.get_secret_value(), signing_secret=signing.get_secret_value()
        )
    loaded = TenancySecrets.load(settings.home / "keys")
    if pepper is not None:
        text = pepper.get_secret_value()
        loaded = replace(
            loaded, pepper=decode_secret("API key pepper", text, MIN_PEPPER_BYTES)
        )
    if signing is not None:
        value = signing.get_secret_value()
        loaded = replace(
            loaded,
            signing_secret=decode_secret(
                "token signing secret", value, MIN_HS256_SECRET_BYTES
            ),
        )
    return loaded


def _pem(kid: str, value: str) -> str:
    if value.lstrip().startswith("-----BEGIN"):
        return value
    try:
        return Path(value).expanduser().read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"the RS256 public key {kid!r} is neither PEM text nor a readable file"
        raise ConfigError(msg) from exc


def _rs256_keys(keys: Mapping[str, str]) -> list[TokenKey]:
    found = []
    for kid, value in sorted(keys.items()):
        try:
            found.append(TokenKey.rs256(kid, _pem(kid, value)))
        except ValueError as exc:
            msg = f"the RS256 public key {kid!r} is unusable: {exc}"
            raise ConfigError(msg) from None
    return found


def token_verifier(settings: Settings, secrets: TenancySecrets) -> TokenVerifier:
    """The bearer-token verifier: the platform HS256 key plus configured RS256 keys.

    Raises:
        ConfigError: an RS256 key is unreadable, not RSA, too short, or reuses
            the ``platform`` kid.
    """
    try:
        keyring = TokenKeyring(
            [
                secrets.platform_token_key(),
                *_rs256_keys(settings.jwt_rs256_public_keys),
            ]
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    policy = TokenPolicy(issuer=settings.jwt_issuer, audience=settings.jwt_audience)
    return TokenVerifier(keyring, policy)
