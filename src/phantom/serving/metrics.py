"""Serving's Prometheus collector: requests, the model cache, the prediction log."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Final

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from phantom.serving.service import ServingService

__all__ = ["ServingCollector"]

_COUNTERS: Final = {
    "requests": ("phantom_predictions", "Prediction requests answered or refused"),
    "errors": ("phantom_prediction_errors", "Prediction requests that failed"),
    "cache_hits": ("phantom_model_cache_hits", "Model cache hits"),
    "cache_misses": ("phantom_model_cache_misses", "Model cache misses"),
    "cache_loads": ("phantom_model_cache_loads", "Models loaded into the cache"),
    "cache_evictions": ("phantom_model_cache_evictions", "Models evicted"),
    "log_offered": ("phantom_prediction_log_offered", "Predictions offered to the log"),
    "log_sampled_out": (
        "phantom_prediction_log_sampled_out",
        "Predictions left out of the log by sampling",
    ),
    "log_dropped": (
        "phantom_prediction_log_dropped",
        "Predictions dropped from the log because its queue was full",
    ),
    "log_written": ("phantom_prediction_log_written", "Predictions logged"),
    "log_failed": (
        "phantom_prediction_log_failed",
        "Predictions the analytics store refused",
    ),
    "log_unscrubbed": (
        "phantom_prediction_log_unscrubbed",
        "Predictions logged without their inputs because scrubbing failed",
    ),
}
_GAUGES: Final = {
    "cache_bytes": ("phantom_model_cache_bytes", "Estimated bytes of loaded models"),
    "cache_entries": ("phantom_model_cache_entries", "Models loaded"),
    "log_pending": (
        "phantom_prediction_log_pending",
        "Predictions waiting to be logged",
    ),
}


class ServingCollector(Collector):
    """Reads :meth:`ServingService.stats` at each scrape."""

    def __init__(self, serving: ServingService) -> None:
        self._serving = serving

    def collect(self) -> Iterator[Metric]:
        """The current counters and gauges."""
        stats = self._serving.stats()
        for key, (name, doc) in _COUNTERS.items():
            yield CounterMetricFamily(name, doc, value=stats[key])
        for key, (name, doc) in _GAUGES.items():
            yield GaugeMetricFamily(name, doc, value=stats[key])
