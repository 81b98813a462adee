"""The analytics contract: behaviour every :class:`AnalyticsStore` shows.

Subclass :class:`AnalyticsStoreContract` in a test module (its name must start
with ``Test``) and provide a ``store`` fixture: a fresh, empty store under test,
closed by the fixture afterwards. The read-side tests (``max_points``, latest
values, summaries) come from
:class:`~phantom.testing.contracts.analytics_queries.MetricQueriesContract`, the
prediction log's from
:class:`~phantom.testing.contracts.analytics_predictions.PredictionQueriesContract`.

Durability across a killed process and engine specifics (files, schema) belong to
the adapter's own tests.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import pytest

from phantom.kernel.analytics import (
    AnalyticsStore,
    MetricHistory,
    MetricPoint,
)
from phantom.kernel.errors import InvalidInput, Unavailable
from phantom.testing.contracts.analytics_predictions import (
    PredictionQueriesContract,
)
from phantom.testing.contracts.analytics_queries import (
    INF,
    NAN,
    MetricQueriesContract,
    point,
    same,
    series,
)

__all__ = ["BAD_POINT_FIELDS", "AnalyticsStoreContract", "point", "series"]

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

BAD_POINT_FIELDS: tuple[tuple[str, object], ...] = (
    ("tenant_id", ""),
    ("tenant_id", "t" * 65),
    ("tenant_id", 7),
    ("tenant_id", None),
    ("tenant_id", "a\x00b"),
    ("run_id", ""),
    ("run_id", "r" * 65),
    ("run_id", b"r1"),
    ("run_id", "\ud800"),
    ("key", ""),
    ("key", "k" * 251),
    ("key", "a\x00b"),
    ("key", "\udfff"),
    ("key", ["loss"]),
    ("step", -1),
    ("step", INT64_MAX + 1),
    ("step", True),
    ("step", 1.0),
    ("step", "1"),
    ("step", None),
    ("timestamp_us", INT64_MAX + 1),
    ("timestamp_us", INT64_MIN - 1),
    ("timestamp_us", False),
    ("timestamp_us", 1.5),
    ("value", True),
    ("value", "1.0"),
    ("value", None),
    ("value", 10**400),
    ("value", 1j),
)
"""A field of a point and a value it must not take."""


def _run_threads(count: int, work: Callable[[int], None]) -> list[BaseException]:
    start = threading.Barrier(count)
    errors: list[BaseException] = []

    def body(index: int) -> None:
        try:
            start.wait()
            work(index)
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    workers = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return errors


class AnalyticsStoreContract(MetricQueriesContract, PredictionQueriesContract):
    """Behaviour every analytics store adapter must show (see the module docs)."""

    # -- round trip --------------------------------------------------------------

    def test_history_returns_what_was_appended(self, store: AnalyticsStore) -> None:
        points = [point(0, 0.25), point(1, -3.5), point(2, 1e308), point(3, 5e-324)]
        assert store.append_metrics(points) == 4
        assert store.metric_history("t1", "r1", "loss") == MetricHistory(
            key="loss",
            steps=[0, 1, 2, 3],
            timestamps_us=[p.timestamp_us for p in points],
            values=[0.25, -3.5, 1e308, 5e-324],
        )

    def test_history_of_nothing_logged_is_empty(self, store: AnalyticsStore) -> None:
        store.append_metrics(series(3))
        for run_id, key in (("r1", "acc"), ("r2", "loss")):
            history = store.metric_history("t1", run_id, key)
            assert history == MetricHistory(key, [], [], [])
            assert len(history) == 0

    def test_an_empty_batch_writes_nothing(self, store: AnalyticsStore) -> None:
        assert store.append_metrics([]) == 0
        assert store.latest_metrics("t1", ["r1"]) == {}

    def test_history_is_ordered_by_step_then_timestamp_then_value(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(
            [
                point(2, 0.0, timestamp_us=1),
                point(1, 9.0, timestamp_us=7),
                point(1, NAN, timestamp_us=5),
                point(1, 4.0, timestamp_us=5),
                point(0, 1.0, timestamp_us=99),
            ]
        )
        store.append_metrics([point(1, -INF, timestamp_us=5)])
        history = store.metric_history("t1", "r1", "loss")
        assert history.steps == [0, 1, 1, 1, 1, 2]
        assert history.timestamps_us == [99, 5, 5, 5, 7, 1]
        assert history.values[:3] == [1.0, -INF, 4.0]
        assert math.isnan(history.values[3])
        assert history.values[4:] == [9.0, 0.0]

    def test_nan_infinities_and_negative_zero_are_stored_faithfully(
        self, store: AnalyticsStore
    ) -> None:
        values = [NAN, INF, -INF, -0.0, 0.0]
        store.append_metrics([point(i, v) for i, v in enumerate(values)])
        stored = store.metric_history("t1", "r1", "loss").values
        assert all(same(a, b) for a, b in zip(stored, values, strict=True)), stored

    def test_identical_points_are_all_kept(self, store: AnalyticsStore) -> None:
        store.append_metrics([point(1, 0.5), point(1, 0.5)])
        store.append_metrics([point(1, 0.5)])
        assert store.metric_history("t1", "r1", "loss").values == [0.5, 0.5, 0.5]

    def test_one_batch_may_span_tenants_runs_and_keys(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(
            [
                point(0, 1.0, tenant_id="a", run_id="r", key="k1"),
                point(0, 2.0, tenant_id="a", run_id="r", key="k2"),
                point(0, 3.0, tenant_id="a", run_id="s", key="k1"),
                point(0, 4.0, tenant_id="b", run_id="r", key="k1"),
            ]
        )
        assert store.latest_metrics("a", ["r", "s"]) == {
            "r": {"k1": 1.0, "k2": 2.0},
            "s": {"k1": 3.0},
        }
        assert store.latest_metrics("b", ["r", "s"]) == {"r": {"k1": 4.0}}

    def test_extreme_but_valid_fields_are_accepted(self, store: AnalyticsStore) -> None:
        tenant, run, key = "t" * 64, "r" * 64, "名" * 250
        store.append_metrics(
            [
                MetricPoint(tenant, run, key, 0, INT64_MIN, 1),
                MetricPoint(tenant, run, key, INT64_MAX, INT64_MAX, -(2**60)),
            ]
        )
        history = store.metric_history(tenant, run, key)
        assert history.steps == [0, INT64_MAX]
        assert history.timestamps_us == [INT64_MIN, INT64_MAX]
        assert history.values == [1.0, float(-(2**60))]
        assert all(type(v) is float for v in history.values)

    def test_plain_tuples_are_accepted_as_points(self, store: AnalyticsStore) -> None:
        store.append_metrics([("t1", "r1", "loss", 0, 1, 0.5)])  # type: ignore[list-item]
        assert store.metric_history("t1", "r1", "loss").values == [0.5]

    def test_a_large_batch_round_trips(self, store: AnalyticsStore) -> None:
        count = 100_000
        points = [
            MetricPoint("t1", "r1", "loss", count - i, i, i * 0.001)
            for i in range(count)
        ]
        assert store.append_metrics(points) == count
        history = store.metric_history("t1", "r1", "loss")
        assert history.steps == list(range(1, count + 1))
        assert history.timestamps_us == list(range(count - 1, -1, -1))
        assert history.values == [i * 0.001 for i in range(count - 1, -1, -1)]
        stats = store.metric_summary("t1", ["r1"])["r1"]["loss"]
        assert (stats.count, stats.last_step, stats.last) == (count, count, 0.0)

    # -- tenants and deletion ----------------------------------------------------

    def test_a_tenant_never_sees_another_tenants_points(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(series(5, tenant_id="a", run_id="shared"))
        store.append_metrics([point(0, 42.0, tenant_id="b", run_id="b-run")])
        assert store.metric_history("b", "shared", "loss") == MetricHistory(
            "loss", [], [], []
        )
        assert store.latest_metrics("b", ["shared"]) == {}
        assert store.metric_summary("b", ["shared"]) == {}
        assert store.delete_run("b", "shared") == 0
        assert len(store.metric_history("a", "shared", "loss")) == 5
        assert store.latest_metrics("a", ["b-run"]) == {}

    def test_the_same_run_id_in_two_tenants_stays_apart(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(
            [point(0, 1.0, tenant_id="a"), point(0, 2.0, tenant_id="b")]
        )
        assert store.metric_history("a", "r1", "loss").values == [1.0]
        assert store.metric_history("b", "r1", "loss").values == [2.0]
        assert store.delete_run("a", "r1") == 1
        assert store.metric_history("b", "r1", "loss").values == [2.0]

    def test_delete_run_removes_every_point_of_that_run_only(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(series(4, key="loss") + series(3, key="acc"))
        store.append_metrics(series(2, run_id="r2"))
        assert store.delete_run("t1", "r1") == 7
        assert store.latest_metrics("t1", ["r1", "r2"]) == {"r2": {"loss": 0.5}}
        assert store.delete_run("t1", "r1") == 0
        store.append_metrics(series(1))
        assert store.metric_history("t1", "r1", "loss").steps == [0]

    # -- validation --------------------------------------------------------------

    @pytest.mark.parametrize(("field", "bad"), BAD_POINT_FIELDS)
    def test_a_bad_point_is_refused_naming_field_and_index_and_nothing_is_written(
        self, store: AnalyticsStore, field: str, bad: object
    ) -> None:
        good = point(0, 1.0)
        wrong = good._replace(**{field: bad})  # type: ignore[arg-type]
        with pytest.raises(InvalidInput) as caught:
            store.append_metrics([good, good, wrong, good])
        assert f"points[2].{field}" in caught.value.detail
        errors = caught.value.extra["errors"]
        assert isinstance(errors, list)
        assert errors[0]["loc"] == ["points", 2, field]
        assert store.latest_metrics("t1", ["r1"]) == {}

    @pytest.mark.parametrize(
        "bad", [{"step": 1}, ("t1", "r1", "loss", 1, 1), "abcdef", 3]
    )
    def test_something_else_than_a_point_is_refused(
        self, store: AnalyticsStore, bad: object
    ) -> None:
        with pytest.raises(InvalidInput, match=r"points\[1\]"):
            store.append_metrics([point(0, 1.0), bad])  # type: ignore[list-item]
        assert store.latest_metrics("t1", ["r1"]) == {}

    @pytest.mark.parametrize("batch", ["points", b"x", None, 42])
    def test_a_batch_must_be_a_sequence(
        self, store: AnalyticsStore, batch: object
    ) -> None:
        with pytest.raises(InvalidInput, match="points"):
            store.append_metrics(batch)  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("field", "bad"),
        [("tenant_id", ""), ("tenant_id", "x" * 65), ("run_id", None), ("key", "")],
    )
    def test_reads_and_deletes_check_their_arguments(
        self, store: AnalyticsStore, field: str, bad: object
    ) -> None:
        args: dict[str, object] = {"tenant_id": "t1", "run_id": "r1", "key": "loss"}
        args[field] = bad
        with pytest.raises(InvalidInput, match=field):
            store.metric_history(**args)  # type: ignore[arg-type]
        if field != "key":
            del args["key"]
            with pytest.raises(InvalidInput, match=field):
                store.delete_run(**args)  # type: ignore[arg-type]
        if field == "tenant_id":
            with pytest.raises(InvalidInput, match=field):
                store.latest_metrics(bad, ["r1"])  # type: ignore[arg-type]
            with pytest.raises(InvalidInput, match=field):
                store.metric_summary(bad, ["r1"])  # type: ignore[arg-type]

    # -- concurrency -------------------------------------------------------------

    def test_threads_appending_at_once_lose_nothing(
        self, store: AnalyticsStore
    ) -> None:
        threads, batches, size = 8, 10, 200

        def work(index: int) -> None:
            for batch in range(batches):
                first = (index * batches + batch) * size
                store.append_metrics(
                    [point(first + i, float(index)) for i in range(size)]
                )
                store.latest_metrics("t1", ["r1"])

        assert _run_threads(threads, work) == []
        history = store.metric_history("t1", "r1", "loss")
        assert history.steps == list(range(threads * batches * size))

    def test_threads_reading_while_others_delete_and_append_see_whole_batches(
        self, store: AnalyticsStore
    ) -> None:
        size = 500
        seen: list[int] = []

        def work(index: int) -> None:
            for round_ in range(10):
                if index == 0:
                    store.append_metrics(series(size))
                elif index == 1 and round_ % 3 == 0:
                    store.delete_run("t1", "r1")
                else:
                    seen.append(len(store.metric_history("t1", "r1", "loss")))

        assert _run_threads(4, work) == []
        assert all(count % size == 0 for count in seen), seen

    # -- lifecycle ---------------------------------------------------------------

    def test_ping_succeeds_on_a_live_store(self, store: AnalyticsStore) -> None:
        store.ping()

    def test_close_is_idempotent_and_the_closed_store_is_unavailable(
        self, store: AnalyticsStore
    ) -> None:
        store.append_metrics(series(2))
        store.close()
        store.close()
        calls: list[Callable[[], object]] = [
            store.ping,
            lambda: store.append_metrics(series(1)),
            lambda: store.append_metrics([]),
            lambda: store.metric_history("t1", "r1", "loss"),
            lambda: store.latest_metrics("t1", ["r1"]),
            lambda: store.latest_metrics("t1", []),
            lambda: store.metric_summary("t1", ["r1"]),
            lambda: store.delete_run("t1", "r1"),
            lambda: store.recent_predictions("t1", "churn"),
            lambda: store.labelled_predictions("t1", "churn"),
            lambda: store.serving_stats("t1"),
        ]
        for call in calls:
            with pytest.raises(Unavailable):
                call()
