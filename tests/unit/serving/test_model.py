"""ServedModel over an ONNX copy: inputs read once, refusals become 422s."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from phantom.kernel.errors import InvalidInput
from phantom.registry.formats.convert import to_onnx
from phantom.registry.formats.detect import ModelFormat
from phantom.registry.formats.load import load_model
from phantom.serving.runtime.model import ServedModel


@pytest.fixture(scope="module")
def onnx_model() -> ServedModel:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(200, 4))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    estimator = LogisticRegression().fit(x, y)
    signature = [{"name": f"f{i}", "type": "float"} for i in range(4)]
    data = to_onnx(estimator, signature)
    assert data is not None
    loaded = load_model(
        data, ModelFormat.ONNX, expected_sha256=hashlib.sha256(data).hexdigest()
    )
    return ServedModel(
        tenant_id="t1",
        name="churn",
        version=1,
        digest="d1",
        signature=None,
        model=loaded,
        classes=(0, 1),
        size_bytes=len(data),
        onnx=True,
    )


def test_an_onnx_copy_scores_rows_with_probabilities(onnx_model: ServedModel) -> None:
    assert onnx_model.format == "onnx"
    outputs = onnx_model.run(np.zeros((3, 4)))
    assert outputs.predictions.shape == (3,)
    assert outputs.probabilities is not None
    np.testing.assert_allclose(outputs.probabilities.sum(axis=1), 1.0, rtol=1e-5)


def test_a_width_onnx_runtime_refuses_is_a_clear_invalid_input(
    onnx_model: ServedModel,
) -> None:
    with pytest.raises(InvalidInput, match="could not score these instances"):
        onnx_model.run(np.zeros((2, 3)))
    assert onnx_model.run(np.zeros((1, 4))).predictions.shape == (1,)
