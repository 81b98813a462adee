"""Load a model file that is what the registry says it is, and nothing worse.

:func:`load_model` checks, in this order: the bytes' sha256 is the registered
one; :func:`~phantom.registry.formats.detect.refuse_unsafe` finds no pickle and
no untrusted skops type; the content is the declared format. Only then does a
loader run: skops with an explicit ``trusted`` list (a subset of
:data:`~phantom.registry.formats.detect.ALLOWED_TYPES`), ONNX Runtime on the CPU
provider, or LightGBM's own text parser.
"""

from __future__ import annotations

import hashlib
import hmac
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import skops.io as sio

from phantom.kernel.errors import InvalidField
from phantom.registry.formats.detect import (
    ALLOWED_TYPES,
    ModelFormat,
    refuse_unsafe,
    sniff_format,
    untrusted_types,
)
from phantom.registry.formats.errors import UnsafeModel

__all__ = ["LoadedModel", "Predictor", "load_model"]

Predictor = Callable[[npt.NDArray[Any]], npt.NDArray[Any]]
"""Rows in (one per sample), one prediction (or probability row) out per row."""

_ONNX_DTYPES: Final = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}
_LGBM_CLASSIFIERS: Final = ("binary", "multiclass", "multiclassova")


@dataclass(frozen=True, slots=True)
class LoadedModel:
    """A model ready to predict, whatever format it came from.

    Attributes:
        format: the file's format.
        input_names: the model's named inputs: the ONNX graph inputs, the
            feature names a scikit-learn model or LightGBM booster was fitted
            with; empty when the model does not know them.
        predict: labels (classification) or values (regression) per row.
        predict_proba: class probabilities per row, or ``None`` when the model
            has none.
        classes: the class labels in the probabilities' column order, when the
            model knows them.
        native: the loaded object itself (a scikit-learn estimator, an ONNX
            Runtime session, a LightGBM booster), for conversion.
    """

    format: ModelFormat
    input_names: tuple[str, ...]
    predict: Predictor
    predict_proba: Predictor | None
    classes: tuple[Any, ...] | None = None
    native: Any = None


def _load_skops(data: bytes, trusted: Sequence[str] | None) -> LoadedModel:
    needed = untrusted_types(data)
    chosen = list(needed if trusted is None else trusted)
    outside = sorted(t for t in chosen if t not in ALLOWED_TYPES)
    if outside:
        msg = f"the trusted types are not all allowed: {outside[:20]}"
        raise UnsafeModel(msg)
    missing = sorted(set(needed) - set(chosen))
    if missing:
        msg = f"the skops file needs types that were not trusted: {missing[:20]}"
        raise UnsafeModel(msg)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = sio.loads(data, trusted=chosen)
    names = getattr(model, "feature_names_in_", None)
    proba: Predictor | None = (
        model.predict_proba if hasattr(model, "predict_proba") else None
    )
    classes = getattr(model, "classes_", None)
    return LoadedModel(
        format=ModelFormat.SKOPS,
        input_names=tuple(str(n) for n in names) if names is not None else (),
        predict=model.predict,
        predict_proba=proba,
        classes=None if classes is None else tuple(np.asarray(classes).tolist()),
        native=model,
    )


def _load_onnx(data: bytes) -> LoadedModel:
    import onnxruntime as ort  # noqa: PLC0415 - a heavy import, only when serving ONNX

    options = ort.SessionOptions()
    options.log_severity_level = 3
    # One thread per call, no spinning: a server scores many small requests at
    # once, and ORT's default (a spinning pool as wide as the machine) makes
    # concurrent calls fight for the cores.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(
        data, sess_options=options, providers=["CPUExecutionProvider"]
    )
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise InvalidField("format", "only ONNX models with one input are served")
    name: str = inputs[0].name
    dtype = _ONNX_DTYPES.get(inputs[0].type, np.float32)
    outputs = session.get_outputs()

    def run(rows: npt.NDArray[Any]) -> list[Any]:
        result: list[Any] = session.run(None, {name: np.asarray(rows, dtype=dtype)})
        return result

    def predict(rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
        out = np.asarray(run(rows)[0])
        return out[:, 0] if out.ndim == 2 and out.shape[1] == 1 else out

    def proba(rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.asarray(run(rows)[1])

    has_proba = len(outputs) > 1 and outputs[1].type in _ONNX_DTYPES
    return LoadedModel(
        format=ModelFormat.ONNX,
        input_names=(name,),
        predict=predict,
        predict_proba=proba if has_proba else None,
        native=session,
    )


def _load_lightgbm(data: bytes) -> LoadedModel:
    import lightgbm as lgb  # noqa: PLC0415 - only when serving LightGBM

    try:
        booster = lgb.Booster(model_str=data.decode("utf-8"))
    except (UnicodeDecodeError, lgb.basic.LightGBMError) as exc:
        msg = "the LightGBM model text cannot be parsed"
        raise InvalidField("model", msg) from exc
    objective = str(booster.params.get("objective", "")).split(" ")[0]

    def raw(rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.asarray(booster.predict(np.asarray(rows, dtype=np.float64)))

    def proba(rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
        out = raw(rows)
        return np.column_stack([1.0 - out, out]) if out.ndim == 1 else out

    def labels(rows: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.asarray(np.argmax(proba(rows), axis=1))

    classifier = objective in _LGBM_CLASSIFIERS
    return LoadedModel(
        format=ModelFormat.LIGHTGBM,
        input_names=tuple(booster.feature_name()),
        predict=labels if classifier else raw,
        predict_proba=proba if classifier else None,
        native=booster,
    )


def load_model(
    data: bytes,
    fmt: ModelFormat,
    *,
    expected_sha256: str,
    trusted: Sequence[str] | None = None,
) -> LoadedModel:
    """Check ``data`` and load it as a model of format ``fmt``.

    Args:
        data: the model file's bytes, as read from the artifact store.
        fmt: the format the registry recorded for it.
        expected_sha256: the registered digest (lowercase hex).
        trusted: for skops, the types to trust (default: exactly those the file
            names, provided they are all in ``ALLOWED_TYPES``).

    Raises:
        UnsafeModel: the digest differs, the file is or contains a pickle, or a
            skops file names (or ``trusted`` lists) types not allowed.
        InvalidField: (``format``) the content is not ``fmt``, or ``fmt`` cannot
            be loaded here (XGBoost); (``model``) the file does not parse.
    """
    digest = hashlib.sha256(data).hexdigest()
    if not hmac.compare_digest(digest, expected_sha256.lower()):
        raise UnsafeModel("digest mismatch: the bytes are not the registered model")
    refuse_unsafe(data)
    actual = sniff_format(data)
    if actual != fmt:
        msg = f"the content is a {actual.value} model, not {fmt.value}"
        raise InvalidField("format", msg)
    if fmt is ModelFormat.SKOPS:
        return _load_skops(data, trusted)
    if fmt is ModelFormat.ONNX:
        return _load_onnx(data)
    if fmt is ModelFormat.LIGHTGBM:
        return _load_lightgbm(data)
    msg = f"loading {fmt.value} models is not supported yet"
    raise InvalidField("format", msg)
