"""The monitoring service: reference profiles, drift reports and drift policies.

* **Reference profile** of a version, built once and kept in the artifact store:
  from its training dataset (the registry's lineage), with the model's own
  outputs on those rows as the baseline of prediction drift; a version with no
  dataset (an uploaded file) takes its first ``min_traffic_rows`` logged rows.
* **Drift report** over a window of the version's logged, answered requests
  (default: the last 24 hours), under the model's policy; each report is a
  ``monitoring.DriftReported`` event kept in the history, and one whose features
  or outputs crossed their thresholds is also ``monitoring.DriftDetected``.
* :meth:`MonitoringService.run_scheduled` reports on every profiled version with
  traffic since its last report; the gateway runs it every ``drift_interval_s``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final, Literal

import numpy as np
import structlog

from phantom.kernel.analytics import AnalyticsStore
from phantom.kernel.artifacts import ArtifactStore
from phantom.kernel.clock import Clock
from phantom.kernel.errors import InvalidField, InvalidInput, NotFound
from phantom.kernel.events.envelope import new_envelope
from phantom.kernel.ids import uuid7
from phantom.monitoring.adapters.sql import ProfileRow, ReportRow, SqlMonitoringStore
from phantom.monitoring.domain import (
    DEFAULT_POLICY,
    DriftPolicy,
    DriftReport,
    ReferenceProfile,
    build_profile,
    compare,
    profile_window,
)
from phantom.monitoring.domain.columns import Kind
from phantom.monitoring.events import (
    DriftDetected,
    DriftPolicySet,
    DriftReported,
    MonitoringEvent,
    ReferenceProfiled,
)
from phantom.monitoring.logged import PREDICTION, kinds_of, window_columns
from phantom.monitoring.ports import DatasetColumns, ModelVersions, RowScorer
from phantom.monitoring.windows import window
from phantom.registry.api import ModelVersionInfo
from phantom.tenancy.api import (
    Permission,
    Principal,
    internal_principal,
    require_permission,
)

__all__ = ["DEFAULT_WINDOW", "DriftView", "MonitoringService"]

DEFAULT_WINDOW: Final = timedelta(hours=24)
MAX_REFERENCE_ROWS: Final = 200_000
MAX_WINDOW_REQUESTS: Final = 100_000
_ACTS: Final = (Permission.MONITORING_READ, Permission.MONITORING_WRITE)
"""What the service's own work (schedules, profiles) may do in a tenant."""
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DriftView:
    """A drift report and what it covered."""

    report_id: str | None
    model: str
    version: int
    since_us: int
    until_us: int
    profile: ProfileRow
    report: DriftReport
    skipped: int


class MonitoringService:
    """Profiles, drift and policies (see the module docstring)."""

    def __init__(  # noqa: PLR0913 - the service's collaborators
        self,
        *,
        store: SqlMonitoringStore,
        analytics: Callable[[], AnalyticsStore],
        artifacts: ArtifactStore,
        models: ModelVersions,
        clock: Clock,
        datasets: DatasetColumns | None = None,
        scorer: RowScorer | None = None,
        min_traffic_rows: int = 1_000,
    ) -> None:
        self.store = store
        self.analytics = analytics
        self.artifacts = artifacts
        self.models = models
        self.clock = clock
        self.datasets = datasets
        self.scorer = scorer
        self.min_traffic_rows = min_traffic_rows
        self._profiles: dict[str, ReferenceProfile] = {}
        self.latest: dict[tuple[str, str, int], DriftReport] = {}
        """The latest report of each version this process computed (gauges)."""
        self._lock = threading.Lock()

    # -- reading ------------------------------------------------------------------

    def drift(  # noqa: PLR0913 - a window's coordinates, keyword-only
        self,
        principal: Principal,
        model: str,
        *,
        version: int | None = None,
        since_us: int | None = None,
        until_us: int | None = None,
        record: bool = False,
    ) -> DriftView:
        """A drift report of ``model`` (the production version by default).

        With ``record``, the report joins the history as ``DriftReported`` (and
        ``DriftDetected`` when something crossed), which needs
        ``monitoring:write``.

        Raises:
            NotFound: no such model or version in the caller's tenant.
            InvalidInput: no reference yet (no dataset and too little traffic).
        """
        require_permission(
            principal,
            Permission.MONITORING_WRITE if record else Permission.MONITORING_READ,
        )
        info = self.models.resolve(principal.tenant_id, model, version=version)
        since, until = window(self.clock, since_us, until_us)
        view = self._report(principal.tenant_id, info, since, until)
        self.latest[(principal.tenant_id, view.model, view.version)] = view.report
        return self._record(principal, view) if record else view

    def history(
        self, principal: Principal, model: str, *, version: int | None, limit: int
    ) -> list[ReportRow]:
        """The model's stored drift reports, newest first."""
        require_permission(principal, Permission.MONITORING_READ)
        self.models.resolve(principal.tenant_id, model)  # 404 for unknown models
        return self.store.reports(
            principal.tenant_id, model, version=version, limit=limit
        )

    def policy(self, principal: Principal, model: str) -> DriftPolicy:
        """The model's drift policy (the default until one is set)."""
        require_permission(principal, Permission.MONITORING_READ)
        self.models.resolve(principal.tenant_id, model)
        return self._policy(principal.tenant_id, model)

    def set_policy(
        self, principal: Principal, model: str, document: dict[str, Any]
    ) -> DriftPolicy:
        """Replace the model's drift policy.

        Raises:
            InvalidPolicy: the document is not a drift policy (422).
        """
        require_permission(principal, Permission.MONITORING_WRITE)
        self.models.resolve(principal.tenant_id, model)
        unknown = sorted(set(document) - set(DEFAULT_POLICY.to_dict()))
        if unknown:
            raise InvalidField(unknown[0], "not a field of a drift policy")
        policy = DriftPolicy.from_dict(document)
        event = DriftPolicySet(model=model, policy=policy.to_dict())
        self._append(principal, model, event)
        return policy

    # -- the scheduled run --------------------------------------------------------

    def run_scheduled(self, length: timedelta = DEFAULT_WINDOW) -> int:
        """Report on every profiled version with new traffic; how many reports."""
        done = 0
        since, until = window(self.clock, None, None, length_us=_us(length))
        for tenant_id, model, version in self.store.profiled():
            try:
                latest = self.store.reports(tenant_id, model, version=version, limit=1)
                fresh_since = max(since, latest[0].until_us if latest else 0)
                fresh = self.analytics().recent_predictions(
                    tenant_id, model, version=version, since_us=fresh_since, limit=1
                )
                if not fresh:
                    continue
                info = self.models.resolve(tenant_id, model, version=version)
                view = self._report(tenant_id, info, since, until)
                self.latest[(tenant_id, model, version)] = view.report
                self._record(internal_principal(tenant_id, *_ACTS), view)
                done += 1
            except Exception:
                log.warning(
                    "monitoring.scheduled.failed",
                    tenant_id=tenant_id,
                    model=model,
                    version=version,
                    exc_info=True,
                )
        return done

    # -- internals ----------------------------------------------------------------

    def _report(
        self, tenant_id: str, info: ModelVersionInfo, since: int, until: int
    ) -> DriftView:
        if not info.signature:
            msg = f"{info.name} v{info.version} has no signature to monitor"
            raise InvalidInput(msg)
        row, profile = self.reference(tenant_id, info)
        records = self.analytics().recent_predictions(
            tenant_id,
            info.name,
            version=info.version,
            since_us=since,
            until_us=until,
            status="ok",
            limit=MAX_WINDOW_REQUESTS,
        )
        columns = window_columns(
            ((r.inputs, r.outputs) for r in records if r.route != "shadow"),
            info.signature,
            prediction_kind=_prediction_kind(profile),
        )
        predictions = columns.predictions if profile.names_of("prediction") else None
        window = profile_window(profile, columns.features, predictions)
        report = compare(profile, window, self._policy(tenant_id, info.name))
        return DriftView(
            None, info.name, info.version, since, until, row, report, columns.skipped
        )

    def _record(self, principal: Principal, view: DriftView) -> DriftView:
        report_id = str(uuid7())
        report = view.report
        drifted = [*report.drifted_features(), *report.drifted_predictions()]
        events: list[MonitoringEvent] = [
            DriftReported(
                report_id=report_id,
                model=view.model,
                version=view.version,
                since_us=view.since_us,
                until_us=view.until_us,
                rows=report.current_rows,
                dataset_drifted=report.dataset_drifted,
                drift_share=_finite(report.drift_share),
                drifted=drifted,
                report=json.loads(json.dumps(report.to_dict(), default=_plain)),
            )
        ]
        if drifted:
            crossed = [report.column(name).to_dict() for name in drifted]
            events.append(
                DriftDetected(
                    report_id=report_id,
                    model=view.model,
                    version=view.version,
                    since_us=view.since_us,
                    until_us=view.until_us,
                    dataset_drifted=report.dataset_drifted,
                    columns=json.loads(json.dumps(crossed, default=_plain)),
                )
            )
        self._append(principal, view.model, *events)
        return DriftView(
            report_id,
            view.model,
            view.version,
            view.since_us,
            view.until_us,
            view.profile,
            report,
            view.skipped,
        )

    def reference(
        self, tenant_id: str, info: ModelVersionInfo
    ) -> tuple[ProfileRow, ReferenceProfile]:
        """The version's reference profile, built and stored on first use.

        Raises:
            InvalidInput: no dataset and fewer than ``min_traffic_rows`` logged.
        """
        row = self.store.profile(tenant_id, info.name, info.version)
        if row is None:
            row = self._build(tenant_id, info)
        key = f"{tenant_id}/{row.digest}"
        cached = self._profiles.get(key)
        if cached is None:
            blob = self.artifacts.read_bytes(tenant_id, row.digest)
            cached = ReferenceProfile.from_bytes(blob)
            with self._lock:
                if len(self._profiles) > 256:
                    self._profiles.clear()
                self._profiles[key] = cached
        return row, cached

    def _build(self, tenant_id: str, info: ModelVersionInfo) -> ProfileRow:
        names = [str(f["name"]) for f in info.signature]
        kinds = kinds_of(info.signature)
        if (
            self.datasets is not None
            and info.dataset_id is not None
            and info.dataset_version is not None
        ):
            features = self.datasets.dataset_columns(
                tenant_id,
                info.dataset_id,
                info.dataset_version,
                names,
                max_rows=MAX_REFERENCE_ROWS,
            )
            predictions = self._score(tenant_id, info, features, names)
            source: Literal["dataset", "traffic"] = "dataset"
        else:
            features, predictions = self._traffic(tenant_id, info)
            source = "traffic"
        output_kind = _kind(predictions)
        profile = build_profile(
            {n: _typed(features[n], kinds[n]) for n in names},
            predictions=None
            if predictions is None
            else {n: _typed(v, output_kind) for n, v in predictions.items()},
            kinds={**kinds, **dict.fromkeys(predictions or {}, output_kind)},
        )
        digest = self.artifacts.put(tenant_id, profile.to_bytes()).digest
        event = ReferenceProfiled(
            model=info.name,
            version=info.version,
            digest=digest,
            source=source,
            rows=profile.rows,
            features=names,
        )
        self._append(internal_principal(tenant_id, *_ACTS), info.name, event)
        built = self.store.profile(tenant_id, info.name, info.version)
        if built is None:  # pragma: no cover - just projected
            raise NotFound("the reference profile vanished")
        return built

    def _score(
        self,
        tenant_id: str,
        info: ModelVersionInfo,
        features: dict[str, Any],
        names: list[str],
    ) -> dict[str, Any] | None:
        if self.scorer is None:
            return None
        rows = np.column_stack([features[n] for n in names]).tolist()
        try:
            labels, _ = self.scorer(tenant_id, info.name, info.version, rows)
        except Exception:
            log.warning("monitoring.reference.unscored", model=info.name, exc_info=True)
            return None
        return {PREDICTION: np.asarray(labels)}

    def _traffic(
        self, tenant_id: str, info: ModelVersionInfo
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        records = self.analytics().recent_predictions(
            tenant_id,
            info.name,
            version=info.version,
            status="ok",
            limit=MAX_WINDOW_REQUESTS,
        )
        columns = window_columns(
            ((r.inputs, r.outputs) for r in reversed(records)),
            info.signature,
            prediction_kind="categorical",
        )
        if columns.rows < self.min_traffic_rows:
            msg = (
                f"{info.name} v{info.version} has no training dataset to profile and "
                f"{columns.rows} of the {self.min_traffic_rows} logged rows a "
                "reference from traffic needs"
            )
            raise InvalidInput(msg)
        return columns.features, columns.predictions

    def _policy(self, tenant_id: str, model: str) -> DriftPolicy:
        document = self.store.policy(tenant_id, model)
        return DEFAULT_POLICY if document is None else DriftPolicy.from_dict(document)

    def _append(
        self, principal: Principal, model: str, *events: MonitoringEvent
    ) -> None:
        envelopes = [
            new_envelope(
                event.event_type(),
                tenant_id=principal.tenant_id,
                stream_id=f"model-{model}",
                data=event.to_data(),
                actor=principal.actor(),
                schema_version=event.SCHEMA_VERSION,
                occurred_at=self.clock.now(),
            )
            for event in events
        ]
        self.store.append(principal.tenant_id, envelopes)


def _us(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1_000_000)


def _prediction_kind(profile: ReferenceProfile) -> str:
    if PREDICTION not in profile.names_of("prediction"):
        return "categorical"
    return profile.kinds[profile.names.index(PREDICTION)]


def _kind(predictions: dict[str, Any] | None) -> Kind:
    if not predictions:
        return "categorical"
    values = predictions[PREDICTION]
    if values.dtype.kind == "f" and not np.all(np.equal(np.mod(values, 1), 0)):
        return "numeric"
    return "categorical"


def _typed(values: Any, kind: str) -> Any:  # noqa: ANN401 - a numpy column
    if kind == "numeric":
        return np.asarray(values, dtype=np.float64)
    return np.asarray([str(v) for v in values], dtype=object)


def _finite(value: float) -> float:
    return value if np.isfinite(value) else 0.0


def _plain(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)
