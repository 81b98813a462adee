"""Convert a numeric scikit-learn model to ONNX, and prove the copy is faithful.

:func:`to_onnx` converts with ``skl2onnx`` when every feature in the signature
is numeric: one float32 input named ``input`` of shape ``[None, n_features]``,
class probabilities as a plain tensor (no ZipMap). It then runs the ONNX model
on sample rows drawn from the signature's ranges and keeps it only if it gives
the same labels (classification) or values within 1e-4 (regression) as the
original. Anything else (string or boolean features, an estimator skl2onnx
does not know, a mismatch) gives ``None``, with the reason logged at debug level:
converting is an optimisation, never a requirement.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import structlog

__all__ = ["INPUT_NAME", "to_onnx"]

INPUT_NAME: Final = "input"
SAMPLE_ROWS: Final = 64
_NUMERIC: Final = frozenset({"integer", "float"})
_TOLERANCE: Final = 1e-4
log = structlog.get_logger(__name__)


def _bound(entry: Mapping[str, object], key: str, default: float) -> float:
    value = entry.get(key)
    if isinstance(value, int | float) and np.isfinite(value):
        return float(value)
    return default


def _sample(signature: Sequence[Mapping[str, object]]) -> npt.NDArray[np.float32]:
    rng = np.random.default_rng(0)
    columns = []
    for entry in signature:
        low = _bound(entry, "min", 0.0)
        high = max(_bound(entry, "max", 1.0), low)
        column = rng.uniform(low, high, SAMPLE_ROWS)
        if entry.get("type") == "integer":
            column = np.round(column)
        columns.append(column)
    return np.column_stack(columns).astype(np.float32)


def _convert(model: Any, n_features: int) -> bytes:  # noqa: ANN401 - any sklearn model
    from skl2onnx import convert_sklearn  # noqa: PLC0415 - heavy, only when converting
    from skl2onnx.common.data_types import FloatTensorType  # noqa: PLC0415
    from sklearn.base import is_classifier  # noqa: PLC0415

    final = model.steps[-1][1] if hasattr(model, "steps") else model
    options = {id(final): {"zipmap": False}} if is_classifier(final) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        proto = convert_sklearn(
            model,
            initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
            options=options,
        )
    data: bytes = proto.SerializeToString()
    return data


def _faithful(model: Any, data: bytes, rows: npt.NDArray[np.float32]) -> bool:  # noqa: ANN401
    import onnxruntime as ort  # noqa: PLC0415 - heavy, only when converting
    from sklearn.base import is_classifier  # noqa: PLC0415

    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    got = np.asarray(session.run(None, {INPUT_NAME: rows})[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = np.asarray(model.predict(rows.astype(np.float64)))
    if is_classifier(model):
        return bool(np.array_equal(got.ravel(), want.ravel()))
    return got.size == want.size and bool(
        np.allclose(
            got.ravel().astype(np.float64),
            want.ravel().astype(np.float64),
            rtol=_TOLERANCE,
            atol=_TOLERANCE,
        )
    )


def to_onnx(model: Any, signature: Sequence[Mapping[str, object]]) -> bytes | None:  # noqa: ANN401 - any sklearn model
    """The ONNX bytes of the fitted scikit-learn ``model``, or ``None``.

    Args:
        model: a fitted estimator or pipeline taking the features in order.
        signature: the model's input signature, one ``{name, type, min, max}``
            per feature (as training records it).

    Returns:
        A serialised ``ModelProto`` whose predictions were checked against
        ``model``'s on sample rows, or ``None`` when the model cannot be
        converted faithfully.
    """
    kinds = [entry.get("type") for entry in signature]
    if not kinds or any(kind not in _NUMERIC for kind in kinds):
        log.debug("registry.onnx.skipped", reason="features are not all numeric")
        return None
    try:
        data = _convert(model, len(kinds))
        faithful = _faithful(model, data, _sample(signature))
    except Exception as exc:  # noqa: BLE001 - skl2onnx fails in many ways; all mean "no"
        reason = f"{type(exc).__name__}: {exc}"[:500]
        log.debug("registry.onnx.skipped", reason=reason)
        return None
    if not faithful:
        log.debug("registry.onnx.skipped", reason="converted predictions differ")
        return None
    return data
