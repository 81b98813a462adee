"""Serialise a fitted model with skops, never pickle, and prove it loads back.

A skops file lists the types it needs; loading refuses any type not named in
``trusted``. :func:`dump_model` records that exact list
(``skops.io.get_untrusted_types``), loads the bytes back with it, and checks that
the loaded model predicts what the fitted one does on a sample of rows, so a
model that would not survive the trip fails the job instead of the deployment.
LightGBM and XGBoost estimators inside a pipeline round-trip this way too (their
boosters serialise to their own model text inside the skops file).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import numpy.typing as npt
import skops.io as sio

from phantom.kernel.errors import PhantomError

__all__ = ["ModelFile", "ModelRoundTripError", "dump_model", "load_model"]

SAMPLE_ROWS: Final = 200


class ModelRoundTripError(PhantomError):
    """The serialised model did not load back, or predicted differently."""

    code = "model-round-trip"
    title = "The model could not be serialised safely"


@dataclass(frozen=True, slots=True)
class ModelFile:
    """A serialised model: its bytes, its format, the types loading must trust."""

    data: bytes
    format: Literal["skops"]
    trusted_types: list[str]


def load_model(data: bytes, trusted_types: list[str]) -> Any:  # noqa: ANN401
    """Load a skops model, trusting exactly ``trusted_types`` beyond skops' own."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return sio.loads(data, trusted=trusted_types)


def _same(a: npt.NDArray[Any], b: npt.NDArray[Any]) -> bool:
    if a.dtype.kind == "f":
        return bool(np.allclose(a, b, rtol=1e-9, atol=0.0, equal_nan=True))
    return bool(np.array_equal(a, b))


def dump_model(model: Any, sample: npt.NDArray[Any]) -> ModelFile:  # noqa: ANN401
    """Serialise ``model`` and check the copy predicts like it on ``sample``.

    Raises:
        ModelRoundTripError: skops could not write or read it back faithfully.
    """
    rows = sample[:SAMPLE_ROWS]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            data = sio.dumps(model)
            trusted = sorted(sio.get_untrusted_types(data=data))
        loaded = load_model(data, trusted)
        faithful = _same(
            np.asarray(model.predict(rows)), np.asarray(loaded.predict(rows))
        )
    except Exception as exc:
        msg = f"skops could not round-trip the model: {type(exc).__name__}: {exc}"
        raise ModelRoundTripError(msg[:1_000]) from exc
    if not faithful:
        raise ModelRoundTripError("the model predicts differently once reloaded")
    return ModelFile(data=data, format="skops", trusted_types=trusted)
