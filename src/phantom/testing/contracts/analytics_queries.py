"""The read side of the analytics contract: sampling, latest values, summaries.

Part of :class:`~phantom.testing.contracts.analytics.AnalyticsStoreContract`;
see that module for how to use it.
"""

from __future__ import annotations

import math

import pytest

from phantom.kernel.analytics import AnalyticsStore, MetricPoint, MetricStats
from phantom.kernel.analytics.port import sampled_positions
from phantom.kernel.errors import InvalidInput

__all__ = ["MetricQueriesContract", "point", "series"]

NAN = float("nan")
INF = float("inf")


def point(  # noqa: PLR0913 - a test-data builder reads best with keywords
    step: int,
    value: float,
    *,
    timestamp_us: int | None = None,
    tenant_id: str = "t1",
    run_id: str = "r1",
    key: str = "loss",
) -> MetricPoint:
    """Build a point; its timestamp defaults to ``1_700_000_000_000_000 + step``."""
    stamp = 1_700_000_000_000_000 + step if timestamp_us is None else timestamp_us
    return MetricPoint(tenant_id, run_id, key, step, stamp, value)


def series(
    count: int, *, tenant_id: str = "t1", run_id: str = "r1", key: str = "loss"
) -> list[MetricPoint]:
    """Return ``count`` points at steps ``0..count-1`` with value ``step / 2``."""
    return [
        point(step, step / 2, tenant_id=tenant_id, run_id=run_id, key=key)
        for step in range(count)
    ]


def same(left: float, right: float) -> bool:
    """Whether two floats are the same value (NaN equals NaN, ``-0.0`` is not 0)."""
    if math.isnan(left) or math.isnan(right):
        return math.isnan(left) and math.isnan(right)
    return left == right and math.copysign(1, left) == math.copysign(1, right)


def same_stats(left: MetricStats, right: MetricStats) -> bool:
    """Whether two summaries are equal, NaN equal to NaN."""
    return (
        same(left.last, right.last)
        and same(left.min, right.min)
        and same(left.max, right.max)
        and (left.count, left.last_step) == (right.count, right.last_step)
    )


class MetricQueriesContract:
    """``max_points``, :meth:`latest_metrics` and :meth:`metric_summary`."""

    @pytest.fixture
    def store(self) -> AnalyticsStore:
        """The store under test; subclasses must override this fixture."""
        msg = f"{type(self).__name__} must provide a 'store' fixture"
        raise NotImplementedError(msg)

    # -- max_points --------------------------------------------------------------

    @pytest.mark.parametrize(("count", "most"), [(101, 5), (1000, 7), (10, 9)])
    def test_max_points_samples_evenly_keeping_the_first_and_last(
        self, store: AnalyticsStore, count: int, most: int
    ) -> None:
        store.append_metrics(series(count))
        history = store.metric_history("t1", "r1", "loss", max_points=most)
        expected = sampled_positions(count, most)
        assert len(expected) == most
        assert history.steps == expected  # step i sits at position i
        assert history.values == [step / 2 for step in expected]
        assert history.steps[0] == 0
        assert history.steps[-1] == count - 1

    def test_max_points_of_at_least_the_length_returns_every_point(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(series(10))
        for most in (10, 11, 1_000_000):
            history = store.metric_history("t1", "r1", "loss", max_points=most)
            assert history.steps == list(range(10))

    def test_max_points_of_one_returns_the_last_point(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(series(10))
        history = store.metric_history("t1", "r1", "loss", max_points=1)
        assert history.steps == [9]
        assert history.values == [4.5]

    @pytest.mark.parametrize("most", [0, -1, True, 1.5, "3"])
    def test_max_points_must_be_a_positive_int(
        self, store: AnalyticsStore, most: object
    ) -> None:
        with pytest.raises(InvalidInput, match="max_points"):
            store.metric_history("t1", "r1", "loss", max_points=most)  # type: ignore[arg-type]

    # -- latest_metrics ----------------------------------------------------------

    def test_latest_is_the_value_at_the_highest_step_whatever_the_order(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics([point(5, 0.5), point(9, 0.9), point(7, 0.7)])
        store.append_metrics([point(8, 0.8, timestamp_us=2_000_000_000_000_000)])
        assert store.latest_metrics("t1", ["r1"]) == {"r1": {"loss": 0.9}}

    def test_latest_ties_on_step_go_to_the_latest_timestamp(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(
            [point(3, 0.3, timestamp_us=20), point(3, 0.1, timestamp_us=30)]
        )
        store.append_metrics([point(3, 0.9, timestamp_us=10)])
        assert store.latest_metrics("t1", ["r1"]) == {"r1": {"loss": 0.1}}

    def test_latest_ties_on_step_and_timestamp_go_to_the_largest_value_nan_first(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(
            [point(3, 0.2, timestamp_us=5), point(3, 0.7, timestamp_us=5)]
        )
        assert store.latest_metrics("t1", ["r1"]) == {"r1": {"loss": 0.7}}
        store.append_metrics(
            [point(3, NAN, timestamp_us=5), point(3, INF, timestamp_us=5)]
        )
        latest = store.latest_metrics("t1", ["r1"])
        assert math.isnan(latest["r1"]["loss"])

    def test_latest_covers_every_key_of_every_run_asked_for(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(
            [
                point(1, 0.5, run_id="a", key="loss"),
                point(2, 0.4, run_id="a", key="loss"),
                point(2, 0.8, run_id="a", key="acc"),
                point(1, -INF, run_id="b", key="loss"),
                point(1, 1.0, run_id="c", key="loss"),
            ]
        )
        latest = store.latest_metrics("t1", ["a", "b", "nothing", "a"])
        assert latest == {"a": {"loss": 0.4, "acc": 0.8}, "b": {"loss": -INF}}

    def test_latest_of_no_runs_is_empty(self, store: AnalyticsStore) -> None:
        store.append_metrics(series(3))
        assert store.latest_metrics("t1", []) == {}
        assert store.metric_summary("t1", []) == {}

    @pytest.mark.parametrize("run_ids", ["r1", b"r1", None, 7, ["r1", ""], ["x" * 65]])
    def test_run_id_lists_are_checked(
        self, store: AnalyticsStore, run_ids: object
    ) -> None:
        with pytest.raises(InvalidInput, match="run_ids"):
            store.latest_metrics("t1", run_ids)  # type: ignore[arg-type]
        with pytest.raises(InvalidInput, match="run_ids"):
            store.metric_summary("t1", run_ids)  # type: ignore[arg-type]

    # -- metric_summary ----------------------------------------------------------

    def test_summary_gives_last_min_max_count_and_last_step(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(
            [point(0, 3.0), point(4, -1.5), point(2, 8.0), point(4, 2.0)]
        )
        stats = store.metric_summary("t1", ["r1"])["r1"]["loss"]
        assert stats == MetricStats(last=2.0, min=-1.5, max=8.0, count=4, last_step=4)

    def test_summary_min_and_max_leave_nan_out_but_count_it(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(
            [point(0, 1.0), point(1, NAN), point(2, -INF), point(3, NAN)]
        )
        stats = store.metric_summary("t1", ["r1"])["r1"]["loss"]
        expected = MetricStats(last=NAN, min=-INF, max=1.0, count=4, last_step=3)
        assert same_stats(stats, expected), stats

    def test_summary_of_only_nan_values_has_nan_min_and_max(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics([point(0, NAN), point(1, NAN)])
        stats = store.metric_summary("t1", ["r1"])["r1"]["loss"]
        expected = MetricStats(last=NAN, min=NAN, max=NAN, count=2, last_step=1)
        assert same_stats(stats, expected), stats

    def test_summary_last_agrees_with_latest_metrics(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(
            [
                point(3, 0.1, timestamp_us=9, run_id="a"),
                point(3, 0.2, timestamp_us=9, run_id="a"),
                point(1, 5.0, run_id="a", key="acc"),
                point(2, 0.3, run_id="b"),
            ]
        )
        summary = store.metric_summary("t1", ["a", "b", "missing"])
        latest = store.latest_metrics("t1", ["a", "b", "missing"])
        assert {
            run: {k: s.last for k, s in keys.items()} for run, keys in summary.items()
        } == latest
        assert summary["a"]["loss"].count == 2
        assert set(summary) == {"a", "b"}
