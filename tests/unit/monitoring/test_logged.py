"""Logged predictions back into columns: records, arrays, and what does not fit."""

from __future__ import annotations

import json
import math

from phantom.monitoring.logged import PREDICTION, kinds_of, outputs_of, window_columns

SIGNATURE = [
    {"name": "age", "type": "integer"},
    {"name": "spend", "type": "float"},
    {"name": "plan", "type": "string"},
]


def pair(inputs: object, predictions: list[object]) -> tuple[str, str]:
    return json.dumps(inputs), json.dumps(
        {"predictions": predictions, "probabilities": None}
    )


def test_records_and_arrays_become_typed_columns() -> None:
    logged = [
        pair([{"age": 30, "spend": 9.5, "plan": "pro"}], [1]),
        pair([[41, None, "free"], [52, "x", "pro"]], [0, 1]),
    ]
    columns = window_columns(logged, SIGNATURE, prediction_kind="categorical")
    assert columns.rows == 3
    assert columns.skipped == 0
    assert columns.features["age"].tolist() == [30.0, 41.0, 52.0]
    spend = columns.features["spend"].tolist()
    assert spend[0] == 9.5
    assert math.isnan(spend[1])
    assert math.isnan(spend[2])  # a string where a number belongs: missing
    assert columns.features["plan"].tolist() == ["pro", "free", "pro"]
    assert columns.predictions[PREDICTION].tolist() == ["1", "0", "1"]


def test_requests_that_do_not_fit_are_skipped_and_counted() -> None:
    logged = [
        ("not json", json.dumps({"predictions": [1]})),
        pair([[1, 2]], [1]),  # too few values for the signature
        pair([{"age": 1, "spend": 2.0, "plan": "a"}], [1, 0]),  # answers != rows
        (json.dumps([{"age": 1}]), "{}"),  # outputs unreadable
        pair({"unscrubbed": "withheld"}, [1]),  # inputs withheld by the scrubber
        pair([{"age": 2, "spend": 3.0, "plan": "b"}], [0.25]),
    ]
    columns = window_columns(logged, SIGNATURE, prediction_kind="numeric")
    assert columns.skipped == 5
    assert columns.rows == 1
    assert columns.predictions[PREDICTION].tolist() == [0.25]


def test_kinds_follow_the_signature_types() -> None:
    assert kinds_of(SIGNATURE) == {
        "age": "numeric",
        "spend": "numeric",
        "plan": "categorical",
    }


def test_outputs_are_read_or_refused() -> None:
    assert outputs_of('{"predictions": [1], "probabilities": [[0.2, 0.8]]}') == (
        [1],
        [[0.2, 0.8]],
    )
    assert outputs_of('{"predictions": 1}') is None
    assert outputs_of("[") is None
