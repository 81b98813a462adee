"""A model version ready to answer: its checked signature and a timed predictor.

:class:`ServedModel` wraps whatever the registry loaded (a scikit-learn estimator,
an ONNX Runtime session, a LightGBM booster) behind one call,
:meth:`ServedModel.run`, that takes the signature's matrix and returns labels
and class probabilities. It keeps a moving average of its own call time, which
the micro-batcher uses to decide whether a request runs inline (a fast model:
the hop to a thread would cost more than the call) or joins a batch. The cost
is measured once, by :meth:`ServedModel.calibrate` on the loading thread: timing
calls later, on a busy server, would mostly measure waits for the GIL.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from phantom.kernel.errors import InvalidInput
from phantom.serving.domain.signature import InvalidInstances, Signature
from phantom.serving.ports import ServableModel

__all__ = ["Outputs", "ServedModel", "derive_signature"]

_CALIBRATION_ROWS: Final = 64
_CALIBRATION_REPEATS: Final = 5


@dataclass(frozen=True, slots=True)
class Outputs:
    """A model's answer for some rows: labels (or values) and probabilities."""

    predictions: npt.NDArray[Any]
    probabilities: npt.NDArray[Any] | None

    def rows(self, start: int, stop: int) -> Outputs:
        """The answer for rows ``start:stop``."""
        proba = self.probabilities
        return Outputs(
            self.predictions[start:stop], None if proba is None else proba[start:stop]
        )


def _best_us(
    run: Callable[[npt.NDArray[Any]], Outputs], rows: npt.NDArray[Any], repeats: int
) -> float:
    best = math.inf
    for _ in range(max(repeats, 1)):
        started = time.perf_counter_ns()
        run(rows)
        best = min(best, (time.perf_counter_ns() - started) / 1_000)
    return best


def _finite(values: npt.NDArray[Any]) -> bool:
    """Whether numeric ``values`` hold no NaN or infinity (labels may be text)."""
    return values.dtype.kind not in "fc" or bool(np.isfinite(values).all())


def derive_signature(model: ServableModel) -> Signature | None:
    """A signature for a version registered without one, from the model itself.

    A scikit-learn model fitted on named columns or a LightGBM booster knows its
    feature names (all taken as numbers); a model that knows only its width
    gets ``x0 .. x{n-1}``. ``None`` when the model says nothing.
    """
    fmt = str(getattr(model.format, "value", model.format))
    if fmt != "onnx" and model.input_names:
        names: list[str] = list(model.input_names)
    else:
        width = _width(model)
        if width is None:
            return None
        names = [f"x{i}" for i in range(width)]
    return Signature.of([{"name": name, "type": "float"} for name in names])


def _width(model: ServableModel) -> int | None:
    native = model.native
    width = getattr(native, "n_features_in_", None)
    if isinstance(width, int):
        return width
    get_inputs = getattr(native, "get_inputs", None)
    if callable(get_inputs):
        shape = get_inputs()[0].shape
        if len(shape) == 2 and isinstance(shape[1], int):
            return shape[1]
    num_feature = getattr(native, "num_feature", None)
    if callable(num_feature):
        return int(num_feature())
    return None


@dataclass(slots=True)
class ServedModel:
    """One tenant's model version, loaded and ready.

    Attributes:
        tenant_id: whose model it is.
        name: the model's name.
        version: the version number.
        digest: the registered bytes' digest (what the cache is keyed by).
        signature: the checked input signature (``None``: arrays of numbers,
            unchecked width).
        model: the loaded model (the ONNX copy when ``onnx``).
        classes: the class labels of the probability columns, if known.
        size_bytes: the bytes it was loaded from (the cache's size estimate).
        onnx: whether the ONNX copy is served instead of the original.
        base_us: one row's call time, in microseconds (from :meth:`calibrate`).
        row_us: each further row's added time, in microseconds.
        calibrated: whether :meth:`calibrate` has measured the two.
        calls: calls answered.
    """

    tenant_id: str
    name: str
    version: int
    digest: str
    signature: Signature | None
    model: ServableModel
    classes: tuple[Any, ...] | None
    size_bytes: int
    onnx: bool = False
    base_us: float = 0.0
    row_us: float = 0.0
    calibrated: bool = False
    calls: int = field(default=0)
    format: str = field(init=False, default="")
    _onnx_input: tuple[str, type[np.floating[Any]]] | None = field(
        init=False, default=None, repr=False
    )

    def __post_init__(self) -> None:
        # The served file's format (``onnx`` for a converted copy), and an ONNX
        # session's input name and dtype, read once rather than on every call.
        self.format = str(getattr(self.model.format, "value", self.model.format))
        if self.format == "onnx":
            first = self.model.native.get_inputs()[0]
            dtype = np.float64 if first.type == "tensor(double)" else np.float32
            self._onnx_input = (first.name, dtype)

    def matrix(self, instances: object, *, field: str = "instances") -> Any:  # noqa: ANN401 - numpy matrix or frame
        """The model's input for ``instances`` (see :meth:`Signature.matrix`).

        Raises:
            InvalidInstances: the instances do not fit the signature.
        """
        if self.signature is not None:
            return self.signature.matrix(instances, field=field)
        if not isinstance(instances, list) or not instances:
            raise InvalidInstances([field], "must be a non-empty list of instances")
        try:
            matrix = np.asarray(instances, dtype=np.float64)
        except (TypeError, ValueError):
            msg = "must be arrays of numbers (this version has no signature)"
            raise InvalidInstances([field], msg) from None
        if matrix.ndim != 2:
            raise InvalidInstances([field], "must be a list of arrays of numbers")
        return matrix

    def run(self, matrix: npt.NDArray[Any]) -> Outputs:
        """Labels and probabilities for the rows of ``matrix``.

        Raises:
            InvalidInput: the model refused the input (wrong width, for example).
        """
        rows = self._input(matrix)
        try:
            if self.format == "onnx":
                labels, proba = self._run_onnx(rows)
            else:
                labels = np.asarray(self.model.predict(rows))
                proba_fn = self.model.predict_proba
                proba = None if proba_fn is None else np.asarray(proba_fn(rows))
        except (ValueError, TypeError) as exc:
            msg = f"the model could not score these instances: {str(exc)[:300]}"
            raise InvalidInput(msg) from exc
        if not (_finite(labels) and (proba is None or _finite(proba))):
            msg = (
                "the model could not score these instances: it answered with a "
                "missing value (does it accept nulls?)"
            )
            raise InvalidInput(msg)
        self.calls += 1
        return Outputs(labels, proba)

    def _run_onnx(
        self, rows: npt.NDArray[Any]
    ) -> tuple[npt.NDArray[Any], npt.NDArray[Any] | None]:
        """Labels and probabilities from one session run (not one run each)."""
        assert self._onnx_input is not None  # noqa: S101 - set for every ONNX model
        name, dtype = self._onnx_input
        try:
            outputs = self.model.native.run(None, {name: np.asarray(rows, dtype=dtype)})
        except Exception as exc:  # ONNX Runtime's refusals derive from Exception only
            raise ValueError(str(exc).rsplit(" : ", 1)[-1]) from exc
        labels = np.asarray(outputs[0])
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        has_proba = self.model.predict_proba is not None and len(outputs) > 1
        return labels, np.asarray(outputs[1]) if has_proba else None

    def _input(self, matrix: npt.NDArray[Any]) -> npt.NDArray[Any]:
        # Phantom's pipelines select columns by position, so a mixed-type model
        # takes the object matrix as it is; an ONNX copy takes float32.
        return np.asarray(matrix, dtype=np.float32) if self.onnx else matrix

    def calibrate(self, repeats: int = _CALIBRATION_REPEATS) -> None:
        """Measure one row's cost and each further row's (the best of ``repeats``)."""
        one, many = self.sample(), self.sample(_CALIBRATION_ROWS)
        self.base_us = _best_us(self.run, one, repeats)
        wide_us = _best_us(self.run, many, repeats)
        self.row_us = max(0.0, (wide_us - self.base_us) / (_CALIBRATION_ROWS - 1))
        self.calibrated = True

    def estimate_us(self, rows: int) -> float:
        """The expected time of a call on ``rows`` rows, in microseconds."""
        return self.base_us + self.row_us * max(rows - 1, 0)

    def sample(self, rows: int = 1) -> npt.NDArray[Any]:
        """Rows of the signature's shape (zeros, empty strings, false) to warm up."""
        if self.signature is None:
            width = _width(self.model) or 1
            return np.zeros((rows, width))
        defaults = {"integer": 0, "float": 0.0, "boolean": False, "string": ""}
        row = {
            n: defaults[t]
            for n, t in zip(self.signature.names, self.signature.types, strict=True)
        }
        return np.asarray(self.signature.matrix([row] * rows))
