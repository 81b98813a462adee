"""What a model file is, told by its content, and whether it is safe to load.

:func:`refuse_unsafe` raises :class:`UnsafeModel` when the bytes are, or contain,
a pickle (raw, joblib-compressed, an object ``.npy``, a member of a zip or of a
zip inside it), or a skops file naming types outside :data:`ALLOWED_TYPES`.
:func:`detect_format` runs it first, then recognises the format by content only:
the file name and extension are never consulted. Nothing here unpickles,
imports a named type or runs a model; every read is bounded.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import warnings
import zipfile
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import IO, Final

import skops.io as sio

from phantom.registry.formats.archives import archive_reason
from phantom.registry.formats.errors import UnknownModelFormat, UnsafeModel
from phantom.registry.formats.onnx_checks import onnx_model
from phantom.registry.formats.pickles import pickle_reason

__all__ = [
    "ALLOWED_TYPES",
    "ModelFormat",
    "UnknownModelFormat",
    "UnsafeModel",
    "detect_format",
    "refuse_unsafe",
    "sniff_format",
    "untrusted_types",
]

HEAD_BYTES: Final = 2 * 1024 * 1024
_SCHEMA: Final = "schema.json"
_SCHEMA_MAX_BYTES: Final = 64 * 1024 * 1024
_XGB_JSON: Final = re.compile(rb'\A\s*\{\s*"learner"\s*:\s*\{')
_UBJ_LENGTHS: Final = {b"i": 1, b"U": 1, b"I": 2, b"l": 4, b"L": 8}

ALLOWED_TYPES: Final = frozenset(
    {
        # What skops does not trust by default in the models phantom.training
        # produces (sklearn estimators and pipelines it trusts itself).
        "collections.OrderedDict",
        "lightgbm.basic.Booster",
        "lightgbm.sklearn.LGBMClassifier",
        "lightgbm.sklearn.LGBMRegressor",
        "xgboost.core.Booster",
        "xgboost.sklearn.XGBClassifier",
        "xgboost.sklearn.XGBRegressor",
        "numpy.dtype",
        "numpy.bool",
        "numpy.bool_",
        "numpy.float32",
        "numpy.float64",
        "numpy.int32",
        "numpy.int64",
        "numpy.str_",
        "scipy.sparse._csc.csc_matrix",
        "scipy.sparse._csr.csr_matrix",
        "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
        "sklearn.metrics._dist_metrics.EuclideanDistance64",
        "sklearn.neighbors._ball_tree.BallTree",
        "sklearn.neighbors._kd_tree.KDTree",
        "sklearn.tree._tree.Tree",
    }
)
"""Types a skops file may name beyond those skops trusts on its own."""


class ModelFormat(StrEnum):
    """A model file format Phantom can load without running the file's code."""

    SKOPS = "skops"
    ONNX = "onnx"
    LIGHTGBM = "lightgbm"
    XGBOOST_JSON = "xgboost_json"
    XGBOOST_UBJ = "xgboost_ubj"


@contextlib.contextmanager
def _opened(data: bytes | Path) -> Iterator[IO[bytes]]:
    if isinstance(data, Path):
        with data.open("rb") as file:
            yield file
    else:
        yield io.BytesIO(data)


def untrusted_types(data: bytes | Path) -> list[str]:
    """The types a skops file names that skops does not trust by default.

    Raises:
        UnsafeModel: the schema cannot be read.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if isinstance(data, Path):
                return sorted(sio.get_untrusted_types(file=data))
            return sorted(sio.get_untrusted_types(data=data))
    except Exception as exc:  # noqa: BLE001 - a hostile schema may fail in any way
        msg = f"the skops schema cannot be read ({type(exc).__name__})"
        raise UnsafeModel(msg) from None


def _skops_schema(source: IO[bytes]) -> dict[str, object] | None:
    """The skops ``schema.json`` of a zip archive, or ``None`` if it has none."""
    source.seek(0)
    if not zipfile.is_zipfile(source):
        return None
    source.seek(0)
    with zipfile.ZipFile(source) as archive:
        try:
            info = archive.getinfo(_SCHEMA)
        except KeyError:
            return None
        if info.file_size > _SCHEMA_MAX_BYTES:
            raise UnsafeModel("the skops schema is larger than the limit")
        with archive.open(info) as member:
            raw = member.read(_SCHEMA_MAX_BYTES + 1)
    try:
        schema = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    if not isinstance(schema, dict) or "protocol" not in schema:
        return None
    return schema


def refuse_unsafe(data: bytes | Path) -> None:
    """Raise unless the file is free of pickles and of untrusted skops types.

    Raises:
        UnsafeModel: the file is, or contains, a pickle (see the module
            docstring); an archive is too large, too nested or unreadable to
            inspect; or a skops file names types outside :data:`ALLOWED_TYPES`.
    """
    with _opened(data) as source:
        reason = pickle_reason(source.read(HEAD_BYTES))
        if reason is not None:
            msg = f"the file is {reason}; pickles are never loaded"
            raise UnsafeModel(msg)
        source.seek(0)
        if not zipfile.is_zipfile(source):
            return
        reason = archive_reason(source, where="archive")
        if reason is not None:
            msg = f"refused: {reason}"
            raise UnsafeModel(msg)
        is_skops = _skops_schema(source) is not None
    if is_skops:
        outside = [t for t in untrusted_types(data) if t not in ALLOWED_TYPES]
        if outside:
            msg = f"the skops file names types that are not allowed: {outside[:20]}"
            raise UnsafeModel(msg)


def _ubjson_learner(head: bytes) -> bool:
    size = _UBJ_LENGTHS.get(head[1:2])
    if head[:1] != b"{" or size is None:
        return False
    length = int.from_bytes(head[2 : 2 + size], "big", signed=True)
    key_end = 2 + size + length
    return (
        head[2 + size : key_end] == b"learner" and head[key_end : key_end + 1] == b"{"
    )


def sniff_format(data: bytes | Path) -> ModelFormat:
    """The format of ``data`` by content, WITHOUT :func:`refuse_unsafe`.

    For callers that have just run :func:`refuse_unsafe` on the same bytes;
    everyone else calls :func:`detect_format`.

    Raises:
        UnsafeModel: an ONNX model that reads external files.
        UnknownModelFormat: the content is none of :class:`ModelFormat`.
    """
    with _opened(data) as source:
        head = source.read(HEAD_BYTES)
        if head.startswith(b"tree\nversion="):
            return ModelFormat.LIGHTGBM
        if _XGB_JSON.match(head):
            return ModelFormat.XGBOOST_JSON
        if _ubjson_learner(head):
            return ModelFormat.XGBOOST_UBJ
        if _skops_schema(source) is not None:
            return ModelFormat.SKOPS
    if head[:1] == b"\x08":  # ModelProto field 1 (ir_version), a varint
        raw = data.read_bytes() if isinstance(data, Path) else data
        if onnx_model(raw) is not None:
            return ModelFormat.ONNX
    raise UnknownModelFormat(
        "not a skops, ONNX, LightGBM text or XGBoost JSON/UBJSON model file"
    )


def detect_format(data: bytes | Path) -> ModelFormat:
    """The format of the model file ``data``, from its content alone.

    Raises:
        UnsafeModel: as :func:`refuse_unsafe` (checked first).
        UnknownModelFormat: the content is none of :class:`ModelFormat`.
    """
    refuse_unsafe(data)
    return sniff_format(data)
