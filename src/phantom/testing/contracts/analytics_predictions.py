"""The prediction log's part of the analytics contract.

Mixed into :class:`~phantom.testing.contracts.analytics.AnalyticsStoreContract`:
logged predictions, their filters, feedback labels joined to them, and the
per-version roll-up every adapter computes alike.
"""

from __future__ import annotations

import pytest

from phantom.kernel.analytics import (
    AnalyticsStore,
    FeedbackRecord,
    PredictionRecord,
)
from phantom.kernel.errors import InvalidInput

__all__ = ["PredictionQueriesContract", "feedback", "prediction"]


def prediction(  # noqa: PLR0913 - a test-data builder reads best with keywords
    tenant_id: str,
    prediction_id: str,
    model: str,
    *,
    timestamp_us: int = 1_000,
    version: int = 1,
    route: str = "primary",
    latency_us: int = 250,
    rows: int = 1,
    status: str = "ok",
) -> PredictionRecord:
    """A logged prediction of ``model`` (for the contract's tests)."""
    return PredictionRecord(
        tenant_id=tenant_id,
        prediction_id=prediction_id,
        model=model,
        version=version,
        route=route,
        timestamp_us=timestamp_us,
        latency_us=latency_us,
        rows=rows,
        inputs='[{"x": 1.5}]',
        outputs='{"predictions": [1]}',
        status=status,
    )


def feedback(  # noqa: PLR0913 - a test-data builder reads best with keywords
    tenant_id: str,
    prediction_id: str,
    label: str,
    *,
    row: int = 0,
    timestamp_us: int = 5_000,
    model: str = "churn",
) -> FeedbackRecord:
    """A label for one row of a logged prediction of ``model``."""
    return FeedbackRecord(tenant_id, model, prediction_id, row, timestamp_us, label)


class PredictionQueriesContract:
    """Prediction log, feedback and roll-up behaviour (``store`` fixture)."""

    def test_predictions_round_trip_newest_first_per_tenant_and_model(
        self, store: AnalyticsStore
    ) -> None:
        records = [
            prediction("t1", f"p{i}", "churn", timestamp_us=1_000 + i) for i in range(5)
        ]
        records.append(prediction("t2", "other", "churn", timestamp_us=9_999))
        records.append(prediction("t1", "else", "fraud", timestamp_us=9_999))
        assert store.append_predictions(records) == len(records)
        found = store.recent_predictions("t1", "churn", limit=3)
        assert [r.prediction_id for r in found] == ["p4", "p3", "p2"]
        assert found[0] == records[4]
        assert [r.prediction_id for r in store.recent_predictions("t2", "churn")] == [
            "other"
        ]
        assert store.recent_predictions("t3", "churn") == []

    def test_a_bad_prediction_record_is_refused_and_nothing_is_written(
        self, store: AnalyticsStore
    ) -> None:
        good = prediction("t1", "p1", "churn")
        bad = good._replace(route="sideways")
        with pytest.raises(InvalidInput) as caught:
            store.append_predictions([good, bad])
        assert "route" in str(caught.value.extra)
        for change in ({"rows": 0}, {"status": "maybe"}, {"version": 0}):
            with pytest.raises(InvalidInput):
                store.append_predictions([good._replace(**change)])
        assert store.recent_predictions("t1", "churn") == []

    def test_windows_filter_by_version_time_and_status(
        self, store: AnalyticsStore
    ) -> None:
        store.append_predictions(
            [
                prediction("t1", "a", "churn", timestamp_us=100, version=1),
                prediction("t1", "b", "churn", timestamp_us=200, version=2),
                prediction("t1", "c", "churn", timestamp_us=300, version=2),
                prediction("t1", "d", "churn", timestamp_us=400, status="error"),
            ]
        )

        def ids(**filters: object) -> list[str]:
            found = store.recent_predictions("t1", "churn", **filters)  # type: ignore[arg-type]
            return [record.prediction_id for record in found]

        assert ids() == ["d", "c", "b", "a"]
        assert ids(version=2) == ["c", "b"]
        assert ids(since_us=200, until_us=400) == ["c", "b"]
        assert ids(status="ok") == ["c", "b", "a"]
        assert ids(status="error") == ["d"]
        assert ids(limit=1) == ["d"]

    @pytest.mark.parametrize(
        "filters",
        [
            {"limit": 0},
            {"limit": True},
            {"version": 0},
            {"since_us": 1.5},
            {"status": "fine"},
        ],
    )
    def test_window_filters_are_checked(
        self, store: AnalyticsStore, filters: dict[str, object]
    ) -> None:
        with pytest.raises(InvalidInput):
            store.recent_predictions("t1", "churn", **filters)  # type: ignore[arg-type]

    def test_labels_join_their_rows_latest_label_wins_other_tenants_never(
        self, store: AnalyticsStore
    ) -> None:
        store.append_predictions(
            [
                prediction("t1", "p1", "churn", timestamp_us=100, rows=2),
                prediction("t1", "p2", "churn", timestamp_us=200, route="canary"),
                prediction("t1", "p3", "churn", timestamp_us=300, route="shadow"),
                prediction("t1", "p4", "churn", timestamp_us=400, status="error"),
                prediction("t2", "p5", "churn", timestamp_us=500),
            ]
        )
        assert (
            store.append_feedback(
                [
                    feedback("t1", "p1", "0", row=0, timestamp_us=10),
                    feedback("t1", "p1", "1", row=0, timestamp_us=20),  # a correction
                    feedback("t1", "p1", "1", row=1),
                    feedback("t1", "p1", "1", row=2),  # no such row: never joined
                    feedback("t1", "p2", '"yes"'),
                    feedback("t1", "p3", "1"),  # a shadow: never answered anyone
                    feedback("t1", "p4", "1"),  # an error: nothing to compare
                    feedback("t2", "p1", "0"),  # another tenant's label of p1
                    feedback("t1", "p9", "1"),  # not logged (sampled out)
                ]
            )
            == 9
        )
        found = store.labelled_predictions("t1", "churn")
        assert [(r.prediction_id, r.row, r.label, r.route) for r in found] == [
            ("p2", 0, '"yes"', "canary"),
            ("p1", 0, "1", "primary"),
            ("p1", 1, "1", "primary"),
        ]
        assert found[0].outputs == '{"predictions": [1]}'
        assert store.labelled_predictions("t1", "churn", since_us=150) == found[:1]
        assert store.labelled_predictions("t2", "churn") == []

    def test_a_bad_feedback_record_is_refused_and_nothing_is_written(
        self, store: AnalyticsStore
    ) -> None:
        store.append_predictions([prediction("t1", "p1", "churn")])
        good = feedback("t1", "p1", "1")
        for change in ({"row": -1}, {"label": "x" * 1_001}, {"prediction_id": ""}):
            with pytest.raises(InvalidInput):
                store.append_feedback([good, good._replace(**change)])
        with pytest.raises(InvalidInput):
            store.append_feedback([("t1", "churn", "p1", 0, 1, "1")])  # type: ignore[list-item]
        assert store.labelled_predictions("t1", "churn") == []

    def test_serving_stats_roll_up_per_model_version_and_route(
        self, store: AnalyticsStore
    ) -> None:
        records = [
            prediction("t1", f"p{i}", "churn", timestamp_us=1_000 + i, latency_us=i)
            for i in range(1, 101)
        ]
        records += [
            prediction("t1", "e1", "churn", timestamp_us=5, status="error", rows=3),
            prediction("t1", "c1", "churn", version=2, route="canary", latency_us=7),
            prediction("t1", "f1", "fraud"),
            prediction("t2", "x1", "churn", latency_us=10**6),
        ]
        store.append_predictions(records)
        stats = store.serving_stats("t1", model="churn")
        assert [(s.model, s.version, s.route) for s in stats] == [
            ("churn", 1, "primary"),
            ("churn", 2, "canary"),
        ]
        primary = stats[0]
        assert (primary.requests, primary.rows, primary.errors) == (101, 103, 1)
        assert 45 <= primary.latency_p50_us <= 55
        assert 94 <= primary.latency_p95_us <= 97
        assert 98 <= primary.latency_p99_us <= 100
        assert (primary.first_us, primary.last_us) == (5, 1_100)
        assert stats[1].requests == 1
        assert stats[1].latency_p99_us == 7
        assert {s.model for s in store.serving_stats("t1")} == {"churn", "fraud"}
        assert (
            store.serving_stats("t1", since_us=1_050, until_us=1_060)[0].requests == 10
        )
        assert store.serving_stats("t3") == []
