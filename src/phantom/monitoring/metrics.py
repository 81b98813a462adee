"""Drift and performance as Prometheus gauges, so an existing Grafana charts them.

Read at each scrape from what this process last computed: the latest drift report
of each model version (recorded, scheduled or on demand) and the latest
performance of each model (from feedback, and the label-free estimate)::

    phantom_drift_share{tenant_id, model, version}
    phantom_drift_dataset_drifted{tenant_id, model, version}          0 or 1
    phantom_drift_value{tenant_id, model, version, column, statistic}
    phantom_drift_column_drifted{tenant_id, model, version, column}   0 or 1
    phantom_model_performance{tenant_id, model, metric, source}       labels|estimate
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from phantom.monitoring.feedback import FeedbackService
from phantom.monitoring.service import MonitoringService

__all__ = ["MonitoringCollector"]


class MonitoringCollector(Collector):
    """Reads the services' latest reports and performances at each scrape."""

    def __init__(
        self, monitoring: MonitoringService, feedback: FeedbackService
    ) -> None:
        self._monitoring = monitoring
        self._feedback = feedback

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The current gauges."""
        keys = ["tenant_id", "model", "version"]
        share = GaugeMetricFamily(
            "phantom_drift_share",
            "Share of features drifted in the latest report",
            labels=keys,
        )
        dataset = GaugeMetricFamily(
            "phantom_drift_dataset_drifted",
            "Whether the latest report found the dataset drifted",
            labels=keys,
        )
        value = GaugeMetricFamily(
            "phantom_drift_value",
            "Each column's drift statistic in the latest report",
            labels=[*keys, "column", "statistic"],
        )
        drifted = GaugeMetricFamily(
            "phantom_drift_column_drifted",
            "Whether each column drifted in the latest report",
            labels=[*keys, "column"],
        )
        for (tenant_id, model, version), report in list(
            self._monitoring.latest.items()
        ):
            labels = [tenant_id, model, str(version)]
            if math.isfinite(report.drift_share):
                share.add_metric(labels, report.drift_share)
            dataset.add_metric(labels, float(report.dataset_drifted))
            for column in (*report.features, *report.predictions):
                if math.isfinite(column.value):
                    value.add_metric(
                        [*labels, column.name, column.statistic], column.value
                    )
                drifted.add_metric([*labels, column.name], float(column.drifted))
        yield from (share, dataset, value, drifted)
        performance = GaugeMetricFamily(
            "phantom_model_performance",
            "The latest performance of each model, from labels or estimated",
            labels=["tenant_id", "model", "metric", "source"],
        )
        for (tenant_id, model), found in list(self._feedback.latest.items()):
            for metric, number in found.metrics.items():
                performance.add_metric([tenant_id, model, metric, "labels"], number)
            for metric, number in found.estimated.items():
                performance.add_metric([tenant_id, model, metric, "estimate"], number)
        yield performance
