"""Real models are recognised, load back faithfully, and convert to ONNX."""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pytest
import skops.io as sio
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from phantom.kernel.errors import InvalidField
from phantom.registry.formats.convert import to_onnx
from phantom.registry.formats.detect import (
    ALLOWED_TYPES,
    ModelFormat,
    UnknownModelFormat,
    detect_format,
    refuse_unsafe,
)
from phantom.registry.formats.errors import UnsafeModel
from phantom.registry.formats.load import load_model

RNG = np.random.default_rng(7)
X = RNG.normal(size=(80, 3))
Y_CLASS = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
Y_VALUE = X @ np.array([1.5, -2.0, 0.5])
SIGNATURE: list[dict[str, object]] = [
    {"name": f"f{i}", "type": "float", "min": float(X[:, i].min()), "max": 1.0}
    for i in range(3)
]


class Custom:
    """A class skops will never be allowed to construct."""

    def predict(self, rows: Any) -> Any:
        return rows


def _dumps(model: object) -> bytes:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(sio.dumps(model))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _numeric_pipeline(model: object) -> Pipeline:
    numeric = Pipeline([("impute", SimpleImputer()), ("scale", StandardScaler())])
    pre = ColumnTransformer([("numeric", numeric, [0, 1, 2])], sparse_threshold=0.0)
    return Pipeline([("pre", pre), ("model", model)])


def _string_pipeline() -> tuple[Pipeline, np.ndarray]:
    rows = np.empty((80, 2), dtype=object)
    rows[:, 0] = X[:, 0]
    rows[:, 1] = np.where(X[:, 1] > 0, "up", "down")
    pre = ColumnTransformer(
        [
            ("numeric", StandardScaler(), [0]),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), [1]),
        ],
        sparse_threshold=0.0,
    )
    pipeline = Pipeline([("pre", pre), ("model", LogisticRegression())])
    return pipeline.fit(rows, Y_CLASS), rows


@pytest.fixture(scope="module")
def logistic() -> LogisticRegression:
    return LogisticRegression().fit(X, Y_CLASS)


@pytest.fixture(scope="module")
def forest() -> Pipeline:
    model = RandomForestClassifier(n_estimators=5, random_state=0)
    return _numeric_pipeline(model).fit(X, Y_CLASS)


@pytest.fixture(scope="module")
def booster() -> lgb.Booster:
    model = lgb.LGBMClassifier(n_estimators=5, verbose=-1, n_jobs=1)
    return model.fit(X, Y_CLASS).booster_


@pytest.mark.parametrize("fixture", ["logistic", "forest"])
def test_skops_model_round_trips(fixture: str, request: pytest.FixtureRequest) -> None:
    model = request.getfixturevalue(fixture)
    data = _dumps(model)
    assert detect_format(data) is ModelFormat.SKOPS
    loaded = load_model(data, ModelFormat.SKOPS, expected_sha256=_sha(data))
    assert loaded.format is ModelFormat.SKOPS
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    assert loaded.predict_proba is not None
    np.testing.assert_allclose(loaded.predict_proba(X), model.predict_proba(X))


def test_skops_file_on_disk_is_detected(tmp_path: Path, forest: Pipeline) -> None:
    path = tmp_path / "model.bin"
    path.write_bytes(_dumps(forest))
    assert detect_format(path) is ModelFormat.SKOPS


def test_string_one_hot_pipeline_round_trips_as_skops() -> None:
    pipeline, rows = _string_pipeline()
    data = _dumps(pipeline)
    loaded = load_model(data, ModelFormat.SKOPS, expected_sha256=_sha(data))
    np.testing.assert_array_equal(loaded.predict(rows), pipeline.predict(rows))


def test_lightgbm_text_round_trips(booster: lgb.Booster) -> None:
    data = booster.model_to_string().encode()
    assert detect_format(data) is ModelFormat.LIGHTGBM
    loaded = load_model(data, ModelFormat.LIGHTGBM, expected_sha256=_sha(data))
    assert loaded.predict_proba is not None
    np.testing.assert_allclose(loaded.predict_proba(X)[:, 1], booster.predict(X))
    np.testing.assert_array_equal(
        loaded.predict(X), np.asarray(booster.predict(X)) > 0.5
    )
    assert len(loaded.input_names) == 3


def test_lightgbm_regression_predicts_values() -> None:
    model = lgb.LGBMRegressor(n_estimators=5, verbose=-1, n_jobs=1).fit(X, Y_VALUE)
    data = model.booster_.model_to_string().encode()
    loaded = load_model(data, ModelFormat.LIGHTGBM, expected_sha256=_sha(data))
    np.testing.assert_allclose(loaded.predict(X), model.predict(X))
    assert loaded.predict_proba is None


@pytest.mark.parametrize("fmt", [ModelFormat.SKOPS, ModelFormat.LIGHTGBM])
def test_flipped_byte_is_refused_as_digest_mismatch(
    fmt: ModelFormat, forest: Pipeline, booster: lgb.Booster
) -> None:
    good = (
        _dumps(forest)
        if fmt is ModelFormat.SKOPS
        else booster.model_to_string().encode()
    )
    bad = bytearray(good)
    bad[len(bad) // 2] ^= 0x01
    with pytest.raises(UnsafeModel, match="digest mismatch"):
        load_model(bytes(bad), fmt, expected_sha256=_sha(good))


def test_skops_with_custom_class_is_refused() -> None:
    data = _dumps(Custom())
    with pytest.raises(UnsafeModel, match="Custom"):
        refuse_unsafe(data)
    with pytest.raises(UnsafeModel):
        load_model(data, ModelFormat.SKOPS, expected_sha256=_sha(data))


def test_trusted_types_outside_the_allow_list_are_refused(forest: Pipeline) -> None:
    data = _dumps(forest)
    with pytest.raises(UnsafeModel, match=r"builtins\.eval"):
        load_model(
            data,
            ModelFormat.SKOPS,
            expected_sha256=_sha(data),
            trusted=["builtins.eval", "sklearn.tree._tree.Tree"],
        )


def test_trusted_types_missing_a_needed_one_are_refused(forest: Pipeline) -> None:
    data = _dumps(forest)
    with pytest.raises(UnsafeModel, match="not trusted"):
        load_model(data, ModelFormat.SKOPS, expected_sha256=_sha(data), trusted=[])


def test_declared_format_must_match_the_content(booster: lgb.Booster) -> None:
    data = booster.model_to_string().encode()
    with pytest.raises(InvalidField, match="lightgbm"):
        load_model(data, ModelFormat.ONNX, expected_sha256=_sha(data))


def test_numeric_pipeline_converts_to_faithful_onnx(forest: Pipeline) -> None:
    onnx_bytes = to_onnx(forest, SIGNATURE)
    assert onnx_bytes is not None
    assert detect_format(onnx_bytes) is ModelFormat.ONNX
    loaded = load_model(onnx_bytes, ModelFormat.ONNX, expected_sha256=_sha(onnx_bytes))
    assert loaded.input_names == ("input",)
    rows = X.astype(np.float32)
    np.testing.assert_array_equal(loaded.predict(rows), forest.predict(rows))
    assert loaded.predict_proba is not None
    np.testing.assert_allclose(
        loaded.predict_proba(rows), forest.predict_proba(rows), atol=1e-5
    )


def test_numeric_regressor_converts_to_faithful_onnx() -> None:
    model = _numeric_pipeline(RandomForestRegressor(n_estimators=5, random_state=0))
    model.fit(X, Y_VALUE)
    onnx_bytes = to_onnx(model, SIGNATURE)
    assert onnx_bytes is not None
    loaded = load_model(onnx_bytes, ModelFormat.ONNX, expected_sha256=_sha(onnx_bytes))
    rows = X.astype(np.float32)
    np.testing.assert_allclose(loaded.predict(rows), model.predict(rows), atol=1e-4)
    assert loaded.predict_proba is None


def test_string_one_hot_pipeline_does_not_convert() -> None:
    pipeline, _ = _string_pipeline()
    signature: list[dict[str, object]] = [
        {"name": "x", "type": "float", "min": -1.0, "max": 1.0},
        {"name": "direction", "type": "string", "categories": ["down", "up"]},
    ]
    assert to_onnx(pipeline, signature) is None


def test_unsupported_estimator_does_not_convert() -> None:
    assert to_onnx(Custom(), SIGNATURE) is None


def test_xgboost_json_and_ubjson_are_detected_from_synthetic_bytes() -> None:
    as_json = b'{"learner": {"attributes": {}}, "version": [2, 1, 0]}'
    key = b"learner"
    as_ubj = b"{L" + len(key).to_bytes(8, "big") + key + b"{}" + b"}"
    assert detect_format(as_json) is ModelFormat.XGBOOST_JSON
    assert detect_format(as_ubj) is ModelFormat.XGBOOST_UBJ
    short = b"{i" + bytes([len(key)]) + key + b"{}}"
    assert detect_format(short) is ModelFormat.XGBOOST_UBJ
    with pytest.raises(InvalidField, match="not supported"):
        load_model(as_json, ModelFormat.XGBOOST_JSON, expected_sha256=_sha(as_json))


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world", b'{"a": 1}', b"\x08\x07garbage", bytes(range(256)) * 8],
)
def test_unknown_content_is_not_a_model(data: bytes) -> None:
    refuse_unsafe(data)
    with pytest.raises(UnknownModelFormat):
        detect_format(data)


def test_allow_list_covers_what_training_produces(booster: lgb.Booster) -> None:
    model = _numeric_pipeline(lgb.LGBMClassifier(n_estimators=3, verbose=-1))
    data = _dumps(model.fit(X, Y_CLASS))
    needed = sio.get_untrusted_types(data=data)
    assert set(needed) <= ALLOWED_TYPES
    refuse_unsafe(data)
