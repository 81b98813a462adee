"""Instances against a signature: records or arrays in, a matrix or a named 422 out."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from phantom.kernel.errors import InvalidInput
from phantom.serving.domain.signature import (
    MAX_INSTANCES,
    InvalidInstances,
    Signature,
    check_signature,
)

FEATURES = [
    {"name": "f1", "type": "float"},
    {"name": "f2", "type": "float"},
    {"name": "f3", "type": "integer"},
]
SIGNATURE = Signature.of(FEATURES)
MIXED = Signature.of(
    [
        {"name": "age", "type": "integer"},
        {"name": "plan", "type": "string"},
        {"name": "active", "type": "boolean"},
    ]
)


def refused(signature: Signature, instances: object) -> dict[str, Any]:
    """The single error of the 422 ``instances`` get, checked for consistency."""
    with pytest.raises(InvalidInstances) as caught:
        signature.matrix(instances)
    error = caught.value
    assert error.status == 422
    assert error.code == "invalid-instances"
    errors = error.extra["errors"]
    assert isinstance(errors, list)
    assert len(errors) == 1
    first: dict[str, Any] = errors[0]
    assert first["type"] == "value_error"
    assert first["msg"] in error.detail  # the detail is "<path>: <message>"
    return first


def test_records_and_arrays_give_the_same_matrix_in_signature_order() -> None:
    arrays = SIGNATURE.matrix([[0.5, 0.1, 2], [-1.0, 0.0, -1]])
    records = SIGNATURE.matrix(
        [{"f3": 2, "f2": 0.1, "f1": 0.5}, {"f1": -1.0, "f3": -1, "f2": 0.0}]
    )
    assert arrays.dtype == np.float64
    assert arrays.shape == (2, 3)
    np.testing.assert_array_equal(arrays, [[0.5, 0.1, 2.0], [-1.0, 0.0, -1.0]])
    np.testing.assert_array_equal(records, arrays)


def test_a_missing_feature_names_the_instance_and_the_feature() -> None:
    error = refused(
        SIGNATURE, [{"f1": 1.0, "f2": 2.0, "f3": 1}, {"f1": 1.0, "f2": 2.0}]
    )
    assert error["loc"] == ["instances", 1, "f3"]
    assert error["msg"] == "missing feature 'f3'"


def test_an_extra_feature_names_the_instance_and_the_feature() -> None:
    error = refused(SIGNATURE, [{"f1": 1.0, "f2": 2.0, "f3": 1, "churned": 0}])
    assert error["loc"] == ["instances", 0, "churned"]
    assert "unknown feature 'churned'" in error["msg"]


@pytest.mark.parametrize(
    "instances",
    [
        [[0.0, 0.0, 0], [1.0, "a", 1]],
        [{"f1": 0.0, "f2": 0.0, "f3": 0}, {"f1": 1.0, "f2": "a", "f3": 1}],
    ],
    ids=["arrays", "records"],
)
def test_a_mistyped_feature_names_the_instance_and_the_feature(
    instances: list[Any],
) -> None:
    error = refused(SIGNATURE, instances)
    assert error["loc"] == ["instances", 1, "f2"]
    assert error["msg"] == "feature 'f2' must be a number, not string"


def test_a_boolean_is_not_a_number() -> None:
    error = refused(SIGNATURE, [[True, 0.0, 1]])
    assert error["loc"] == ["instances", 0, "f1"]
    assert error["msg"] == "feature 'f1' must be a number, not boolean"
    error = refused(SIGNATURE, [{"f1": 0.0, "f2": 0.0, "f3": False}])
    assert error["loc"] == ["instances", 0, "f3"]


@pytest.mark.parametrize("value", [0.5, 2.25, -1.5])
def test_an_integer_feature_refuses_a_fraction(value: float) -> None:
    error = refused(SIGNATURE, [[1.0, 2.0, 3], [1.0, 2.0, value]])
    assert error["loc"] == ["instances", 1, "f3"]
    assert error["msg"] == "feature 'f3' must be a whole number"


def test_an_integer_feature_takes_a_whole_float() -> None:
    matrix = SIGNATURE.matrix([[1.0, 2.0, 3.0], [1.5, 2.5, -4]])
    np.testing.assert_array_equal(matrix[:, 2], [3.0, -4.0])


def test_null_is_nan_for_numeric_features() -> None:
    arrays = SIGNATURE.matrix([[None, 1.0, 2], [1.0, None, None]])
    records = SIGNATURE.matrix(
        [{"f1": None, "f2": 1.0, "f3": 2}, {"f1": 1.0, "f2": None, "f3": None}]
    )
    for matrix in (arrays, records):
        assert matrix.dtype == np.float64
        assert math.isnan(matrix[0, 0])
        assert math.isnan(matrix[1, 1])
        assert math.isnan(matrix[1, 2])
        assert matrix[0, 1:].tolist() == [1.0, 2.0]
    mixed_types = SIGNATURE.matrix([[None, 1, 2.0]])  # the per-value path
    assert math.isnan(mixed_types[0, 0])


def test_null_in_a_mixed_signature_is_nan_or_none() -> None:
    matrix = MIXED.matrix([{"age": None, "plan": None, "active": None}])
    assert matrix.dtype == object
    assert math.isnan(matrix[0, 0])
    assert matrix[0, 1] is None
    assert matrix[0, 2] is None


def test_a_mixed_signature_keeps_strings_and_booleans() -> None:
    arrays = MIXED.matrix([[30, "pro", True], [41, "free", False]])
    records = MIXED.matrix(
        [
            {"plan": "pro", "age": 30, "active": True},
            {"active": False, "age": 41, "plan": "free"},
        ]
    )
    assert arrays.dtype == object
    assert arrays.tolist() == [[30.0, "pro", True], [41.0, "free", False]]
    assert records.tolist() == arrays.tolist()


@pytest.mark.parametrize(
    ("row", "feature", "message"),
    [
        ([30, 7, True], "plan", "feature 'plan' must be a string, not number"),
        (
            [30, "pro", "yes"],
            "active",
            "feature 'active' must be a boolean, not string",
        ),
        ([30, "pro", 1], "active", "feature 'active' must be a boolean, not number"),
        (["30", "pro", True], "age", "feature 'age' must be a number, not string"),
        ([[30], "pro", True], "age", "feature 'age' must be a number, not array"),
    ],
)
def test_a_mixed_signature_names_a_mistyped_value(
    row: list[Any], feature: str, message: str
) -> None:
    error = refused(MIXED, [row])
    assert error["loc"] == ["instances", 0, feature]
    assert error["msg"] == message


def test_more_than_ten_thousand_instances_are_refused() -> None:
    assert len(SIGNATURE.matrix([[0.0, 0.0, 0]] * MAX_INSTANCES)) == MAX_INSTANCES
    error = refused(SIGNATURE, [[0.0, 0.0, 0]] * (MAX_INSTANCES + 1))
    assert error["loc"] == ["instances"]
    assert "at most 10000 instances" in error["msg"]


@pytest.mark.parametrize("instances", [[], {}, "rows", None, {"f1": 1.0}])
def test_instances_must_be_a_non_empty_list(instances: object) -> None:
    error = refused(SIGNATURE, instances)
    assert error["loc"] == ["instances"]


def test_the_field_name_is_used_in_the_location() -> None:
    with pytest.raises(InvalidInstances) as caught:
        SIGNATURE.matrix([[1.0, 2.0]], field="inputs")
    assert caught.value.extra["errors"] == [
        {
            "loc": ["inputs", 0],
            "msg": "has 2 values; the signature has 3 features",
            "type": "value_error",
        }
    ]
    assert caught.value.detail.startswith("inputs[0]: ")


@pytest.mark.parametrize(
    ("instances", "loc"),
    [
        ([[1.0, 2.0, 3], [1.0, 2.0, 3, 4]], ["instances", 1]),
        ([[1.0, 2.0, 3], {"f1": 1.0, "f2": 2.0, "f3": 3}], ["instances", 1]),
        ([{"f1": 1.0, "f2": 2.0, "f3": 3}, [1.0, 2.0, 3]], ["instances", 1]),
        ([{"f1": 1.0, "f2": 2.0, "f3": 3}, "row"], ["instances", 1]),
        (["row"], ["instances", 0]),
    ],
)
def test_instances_of_the_wrong_shape_name_the_instance(
    instances: list[Any], loc: list[Any]
) -> None:
    assert refused(SIGNATURE, instances)["loc"] == loc


def test_a_non_finite_number_is_refused() -> None:
    error = refused(SIGNATURE, [[math.inf, 0.0, 1]])
    assert error["loc"] == ["instances", 0, "f1"]
    assert error["msg"] == "feature 'f1' must be a finite number"


@pytest.mark.parametrize(
    "instances",
    [
        [[10**400, 0.0, 1]],  # an integer beyond any float (JSON allows it)
        [[10**400, 0.0, 1.5]],
        [[math.inf, None, 1]],  # the fast path with a null beside it
        [[math.nan, 0.0, 1]],  # a NaN token: only null means missing
    ],
    ids=["huge-int", "huge-int-with-floats", "inf-beside-null", "nan-token"],
)
def test_a_number_no_float_can_hold_is_refused_by_name(instances: list[Any]) -> None:
    error = refused(SIGNATURE, instances)
    assert error["loc"] == ["instances", 0, "f1"]
    assert error["msg"] == "feature 'f1' must be a finite number"


def test_the_signature_itself_is_checked() -> None:
    assert check_signature(FEATURES) == FEATURES
    for bad in (
        [],
        None,
        "f1",
        [{"name": "f1"}],
        [{"name": "f1", "type": "decimal"}],
        [{"name": "", "type": "float"}],
        [{"name": "f1", "type": "float"}, {"name": "f1", "type": "integer"}],
        ["f1"],
    ):
        with pytest.raises(InvalidInput):
            Signature.of(bad)


def test_describe_and_numeric() -> None:
    assert SIGNATURE.numeric
    assert not MIXED.numeric
    assert SIGNATURE.describe() == FEATURES
    assert SIGNATURE.names == ("f1", "f2", "f3")
