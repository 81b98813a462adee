"""Online predictions: resolve the version, load it once, score, log, answer.

:class:`ServingService` is built by the composition root. ``predict`` picks the
version that answers (a pinned ``version``, else the alias's: ``production``
by default, with its canary share and shadow), finds it in the
:class:`~phantom.serving.runtime.cache.ModelCache` (loading it once on a miss,
off the event loop), checks the instances against the signature, scores them
(inline or micro-batched), offers the request to the prediction log and
answers. Alias resolutions are cached for ``route_ttl_s`` (1 s) and dropped at
once when this process moves an alias or sees an ``AliasMoved`` event.

Every call acts for one tenant: a model name is looked up in the caller's
tenant only, and the cache is keyed by ``(tenant, digest)``.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Any, Final

import structlog

from phantom.kernel.clock import Clock
from phantom.kernel.errors import InvalidField
from phantom.kernel.events.sql import to_us
from phantom.kernel.ids import uuid7
from phantom.registry.api import ModelVersionInfo
from phantom.serving.adapters.sql import SqlServingStore
from phantom.serving.domain.routing import Traffic, choose
from phantom.serving.domain.signature import Signature
from phantom.serving.ports import ModelSource
from phantom.serving.runtime.batching import MicroBatcher, score
from phantom.serving.runtime.cache import CacheKey, ModelCache
from phantom.serving.runtime.model import Outputs, ServedModel, derive_signature
from phantom.serving.runtime.prediction_log import LogEntry, PredictionLog
from phantom.tenancy.api import Permission, Principal, require_permission

__all__ = ["DEFAULT_ALIAS", "Choice", "ServingService"]

DEFAULT_ALIAS: Final = "production"
ROUTE_TTL_S: Final = 1.0
MAX_ROUTES: Final = 10_000
"""The most alias resolutions remembered at once (each lives ``ROUTE_TTL_S``)."""
log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Route:
    """An alias's versions as resolved at ``expires - ttl``."""

    expires: float
    primary: ModelVersionInfo
    canary: ModelVersionInfo | None
    canary_percent: int
    shadow: ModelVersionInfo | None

    def traffic(self) -> Traffic:
        return Traffic(
            version=self.primary.version,
            canary_version=None if self.canary is None else self.canary.version,
            canary_percent=self.canary_percent,
            shadow_version=None if self.shadow is None else self.shadow.version,
        )


@dataclass(frozen=True, slots=True)
class Choice:
    """The version that answers a request, how it was routed, and its shadow."""

    info: ModelVersionInfo
    route: str
    shadow: ModelVersionInfo | None = None


class ServingService:
    """Online serving (see the module docstring)."""

    def __init__(  # noqa: PLR0913 - the service's collaborators
        self,
        *,
        store: SqlServingStore,
        models: ModelSource,
        clock: Clock,
        cache_budget_bytes: int,
        prediction_log: PredictionLog,
        route_ttl_s: float = ROUTE_TTL_S,
    ) -> None:
        self.store = store
        self.models = models
        self.clock = clock
        self.cache = ModelCache(cache_budget_bytes, on_evict=self._evicted)
        self.prediction_log = prediction_log
        self.route_ttl_s = route_ttl_s
        self._routes: dict[tuple[str, str, str], _Route] = {}
        self._batchers: dict[CacheKey, MicroBatcher] = {}
        self._batchers_lock = threading.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self.requests = 0
        self.errors = 0

    # -- resolution ----------------------------------------------------------

    def _resolve_route(self, tenant_id: str, name: str, alias: str) -> _Route:
        primary = self.models.resolve(tenant_id, name, alias=alias)
        with self.store.read(tenant_id) as tx:
            settings = tx.traffic(name, alias)
        canary_version = settings["canary_version"]
        shadow_version = settings["shadow_version"]
        canary = (
            None
            if canary_version is None or canary_version == primary.version
            else self.models.resolve(tenant_id, name, version=canary_version)
        )
        shadow = (
            None
            if shadow_version is None
            else self.models.resolve(tenant_id, name, version=shadow_version)
        )
        return _Route(
            expires=time.monotonic() + self.route_ttl_s,
            primary=primary,
            canary=canary,
            canary_percent=settings["canary_percent"] or 0 if canary else 0,
            shadow=shadow,
        )

    def route(self, tenant_id: str, name: str, alias: str) -> _Route:
        """The alias's versions, from the cache while fresh."""
        key = (tenant_id, name, alias)
        found = self._routes.get(key)
        if found is None or found.expires < time.monotonic():
            found = self._resolve_route(tenant_id, name, alias)
            self._routes.pop(key, None)  # re-insert: the dict's order is by age
            self._routes[key] = found
            if len(self._routes) > MAX_ROUTES:
                self._evict_routes()
        return found

    def _evict_routes(self) -> None:
        """Drop expired resolutions, then the oldest until under the bound."""
        now = time.monotonic()
        for key, route in list(self._routes.items()):
            if route.expires < now:
                self._routes.pop(key, None)
        while len(self._routes) > MAX_ROUTES:
            self._routes.pop(next(iter(self._routes)), None)

    def invalidate(self, tenant_id: str, name: str | None = None) -> None:
        """Forget cached alias resolutions of ``tenant_id`` (one model, or all)."""
        for key in list(self._routes):
            if key[0] == tenant_id and (name is None or key[1] == name):
                self._routes.pop(key, None)

    def choose(
        self,
        tenant_id: str,
        name: str,
        *,
        version: int | None = None,
        alias: str | None = None,
        key: str | None = None,
    ) -> Choice:
        """The version answering one request (a pinned version skips the routing).

        Raises:
            NotFound: no such model, version or alias in the tenant.
            InvalidField: both ``version`` and ``alias`` are given.
        """
        if version is not None:
            if alias is not None:
                raise InvalidField("alias", "give a version or an alias, not both")
            info = self.models.resolve(tenant_id, name, version=version)
            return Choice(info, "primary")
        found = self.route(tenant_id, name, alias or DEFAULT_ALIAS)
        number, route = choose(found.traffic(), key)
        info = (
            found.canary
            if route == "canary" and found.canary is not None
            else found.primary
        )
        if info.version != number:  # pragma: no cover - choose() picks from these
            info = found.primary
        return Choice(info, route, found.shadow)

    # -- loading -------------------------------------------------------------

    def load(self, tenant_id: str, info: ModelVersionInfo) -> ServedModel:
        """Load ``info`` for serving (its ONNX copy when one was made), warmed."""
        with self.store.read(tenant_id) as tx:
            conversion = tx.conversion(info.name, info.version)
        if conversion is not None and conversion.source_digest == info.digest:
            model = self.models.load(tenant_id, conversion.onnx_digest, "onnx")
            classes = None if conversion.classes is None else tuple(conversion.classes)
            onnx = True
        else:
            model = self.models.load(tenant_id, info.digest, info.format)
            classes, onnx = model.classes, False
        signature = (
            Signature.of(info.signature) if info.signature else derive_signature(model)
        )
        served = ServedModel(
            tenant_id=tenant_id,
            name=info.name,
            version=info.version,
            digest=info.digest,
            signature=signature,
            model=model,
            classes=classes,
            size_bytes=max(info.size_bytes, 1),
            onnx=onnx,
        )
        served.run(served.sample())  # the first call pays for lazy setup
        served.calibrate()
        log.info(
            "serving.model.loaded",
            tenant_id=tenant_id,
            model=info.name,
            version=info.version,
            format=served.format,
            one_row_us=round(served.base_us, 1),
            per_row_us=round(served.row_us, 2),
        )
        return served

    def served(self, tenant_id: str, info: ModelVersionInfo) -> ServedModel:
        """``info`` from the cache, loading it on a miss (blocking)."""
        return self.cache.get(
            (tenant_id, info.digest), lambda: self.load(tenant_id, info)
        )

    def warm(
        self, tenant_id: str, info: ModelVersionInfo, *, reload: bool = False
    ) -> ServedModel:
        """Load ``info`` into the cache now (``reload``: even if it is there)."""
        if reload:
            self.cache.evict((tenant_id, info.digest))
        return self.served(tenant_id, info)

    def preload(self, tenant_id: str, name: str, version: int) -> None:
        """Load ``name`` ``version`` into the cache in the background."""

        def load() -> None:
            try:
                info = self.models.resolve(tenant_id, name, version=version)
                self.served(tenant_id, info)
            except Exception:
                log.warning(
                    "serving.preload.failed",
                    tenant_id=tenant_id,
                    model=name,
                    version=version,
                    exc_info=True,
                )

        threading.Thread(target=load, name="serving-preload", daemon=True).start()

    async def _served_async(
        self, tenant_id: str, info: ModelVersionInfo
    ) -> ServedModel:
        found = self.cache.peek((tenant_id, info.digest))
        if found is not None:
            return found
        return await asyncio.to_thread(self.served, tenant_id, info)

    def _batcher(self, served: ServedModel) -> MicroBatcher:
        key = (served.tenant_id, served.digest)
        found = self._batchers.get(key)
        if found is not None and found.model is served:
            return found
        with self._batchers_lock:
            found = self._batchers.get(key)
            if found is None or found.model is not served:
                if found is not None:
                    found.close()
                found = MicroBatcher(served)
                self._batchers[key] = found
            return found

    def _evicted(self, key: CacheKey, served: ServedModel) -> None:
        with self._batchers_lock:
            found = self._batchers.get(key)
            if found is not None and found.model is served:
                self._batchers.pop(key, None)
                found.close()

    # -- predicting ----------------------------------------------------------

    async def predict(  # noqa: PLR0913 - a request's parts
        self,
        principal: Principal,
        name: str,
        instances: object,
        *,
        version: int | None = None,
        alias: str | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        """Score ``instances`` with the version the request routes to.

        Returns:
            ``{model, version, prediction_id, predictions, probabilities,
            classes}`` (the :class:`~phantom.serving.api.PredictionResult` shape).

        Raises:
            Forbidden: the caller lacks ``predict``.
            NotFound: no such model, version or alias in the caller's tenant.
            InvalidInstances: the instances do not fit the signature (422).
        """
        require_permission(principal, Permission.PREDICT)
        started = time.perf_counter_ns()
        tenant_id = principal.tenant_id
        self.requests += 1
        choice: Choice | None = None
        try:
            choice = await self._choose_async(tenant_id, name, version, alias, key)
            served = await self._served_async(tenant_id, choice.info)
            matrix = served.matrix(instances)
            outputs = await score(served, self._batcher(served), matrix)
        except Exception as exc:
            self.errors += 1
            if choice is not None:
                self._log_refusal(tenant_id, choice, instances, exc, started)
            raise
        prediction_id = str(uuid7())
        answer = _answer(served, prediction_id, outputs)
        latency_us = (time.perf_counter_ns() - started) // 1_000
        self.prediction_log.offer(
            LogEntry(
                tenant_id=tenant_id,
                prediction_id=prediction_id,
                model=name,
                version=served.version,
                route=choice.route,
                timestamp_us=to_us(self.clock.now()),
                latency_us=latency_us,
                rows=len(matrix),
                inputs=instances,
                outputs={
                    "predictions": answer["predictions"],
                    "probabilities": answer["probabilities"],
                },
            )
        )
        if choice.shadow is not None and choice.shadow.digest != served.digest:
            self._spawn(
                self._shadow(tenant_id, choice.shadow, prediction_id, instances)
            )
        return answer

    def _log_refusal(
        self,
        tenant_id: str,
        choice: Choice,
        instances: object,
        exc: Exception,
        started_ns: int,
    ) -> None:
        """Log a request the chosen version could not answer (``status=error``)."""
        self.prediction_log.offer(
            LogEntry(
                tenant_id=tenant_id,
                prediction_id=str(uuid7()),
                model=choice.info.name,
                version=choice.info.version,
                route=choice.route,
                timestamp_us=to_us(self.clock.now()),
                latency_us=(time.perf_counter_ns() - started_ns) // 1_000,
                rows=max(len(instances), 1) if isinstance(instances, list) else 1,
                inputs=instances,
                outputs={"error": getattr(exc, "code", type(exc).__name__)},
                status="error",
            )
        )

    async def _choose_async(
        self,
        tenant_id: str,
        name: str,
        version: int | None,
        alias: str | None,
        key: str | None,
    ) -> Choice:
        if version is None:
            found = self._routes.get((tenant_id, name, alias or DEFAULT_ALIAS))
            if found is not None and found.expires >= time.monotonic():
                return self.choose(tenant_id, name, alias=alias, key=key)
        return await asyncio.to_thread(
            self.choose, tenant_id, name, version=version, alias=alias, key=key
        )

    def _spawn(self, work: Any) -> None:  # noqa: ANN401 - a coroutine
        task = asyncio.get_running_loop().create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _shadow(
        self,
        tenant_id: str,
        info: ModelVersionInfo,
        prediction_id: str,
        instances: object,
    ) -> None:
        """Score the shadow version and log it; its answer is never returned."""
        started = time.perf_counter_ns()
        try:
            served = await self._served_async(tenant_id, info)
            matrix = served.matrix(instances)
            outputs = await score(served, self._batcher(served), matrix)
        except Exception:
            log.warning(
                "serving.shadow.failed",
                tenant_id=tenant_id,
                model=info.name,
                version=info.version,
                exc_info=True,
            )
            return
        answer = _answer(served, prediction_id, outputs)
        self.prediction_log.offer(
            LogEntry(
                tenant_id=tenant_id,
                prediction_id=prediction_id,
                model=info.name,
                version=info.version,
                route="shadow",
                timestamp_us=to_us(self.clock.now()),
                latency_us=(time.perf_counter_ns() - started) // 1_000,
                rows=len(matrix),
                inputs=instances,
                outputs={
                    "predictions": answer["predictions"],
                    "probabilities": answer["probabilities"],
                },
            )
        )

    # -- metadata (Open Inference Protocol v2) --------------------------------

    def describe(
        self, principal: Principal, name: str, version: int | None = None
    ) -> tuple[ModelVersionInfo, ServedModel]:
        """The version (default: the ``production`` alias's) and its loaded model.

        Raises:
            Forbidden: the caller lacks ``predict``.
            NotFound: no such model or version (or no production alias).
        """
        require_permission(principal, Permission.PREDICT)
        info = (
            self.models.resolve(principal.tenant_id, name, version=version)
            if version is not None
            else self.route(principal.tenant_id, name, DEFAULT_ALIAS).primary
        )
        return info, self.served(principal.tenant_id, info)

    async def aclose(self) -> None:
        """Wait for shadow scoring, stop the batchers, flush the prediction log."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        self.close()

    def close(self) -> None:
        """Stop the batchers and flush the prediction log."""
        with self._batchers_lock:
            for batcher in self._batchers.values():
                batcher.close()
            self._batchers.clear()
        self.prediction_log.close()

    def stats(self) -> dict[str, int]:
        """Counters for ``/metrics``."""
        cache, plog = self.cache.stats, self.prediction_log.stats
        return {
            "requests": self.requests,
            "errors": self.errors,
            "cache_hits": cache.hits,
            "cache_misses": cache.misses,
            "cache_loads": cache.loads,
            "cache_evictions": cache.evictions,
            "cache_bytes": self.cache.used_bytes,
            "cache_entries": len(self.cache),
            "log_offered": plog.offered,
            "log_sampled_out": plog.sampled_out,
            "log_dropped": plog.dropped,
            "log_written": plog.written,
            "log_failed": plog.failed,
            "log_unscrubbed": plog.unscrubbed,
            "log_pending": self.prediction_log.pending,
        }


def _answer(
    served: ServedModel, prediction_id: str, outputs: Outputs
) -> dict[str, Any]:
    proba = outputs.probabilities
    return {
        "model": served.name,
        "version": served.version,
        "prediction_id": prediction_id,
        "predictions": outputs.predictions.tolist(),
        "probabilities": None if proba is None else proba.tolist(),
        "classes": None if served.classes is None else list(served.classes),
    }
