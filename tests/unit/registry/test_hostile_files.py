"""Pickles in every disguise are refused, and none of them ever runs."""

from __future__ import annotations

import functools
import hashlib
import io
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import skops.io as sio
from sklearn.linear_model import LogisticRegression

from phantom.registry.formats.detect import ModelFormat, detect_format, refuse_unsafe
from phantom.registry.formats.errors import UnsafeModel
from phantom.registry.formats.load import load_model
from tests.unit.registry.hostile import (
    COMPRESSORS,
    evil_pickle,
    npy_with_objects,
    text_pickles,
    zipped,
)

Build = Callable[[Path], bytes]


def _skops_bytes() -> bytes:
    model = LogisticRegression().fit(
        np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return bytes(sio.dumps(model))


def _joblib(compress: object) -> Build:
    def build(canary: Path) -> bytes:
        joblib = pytest.importorskip("joblib")
        from tests.unit.registry.hostile import Evil

        buffer = io.BytesIO()
        joblib.dump(Evil(canary), buffer, compress=compress)
        return buffer.getvalue()

    return build


def _cloudpickle(canary: Path) -> bytes:
    cloudpickle = pytest.importorskip("cloudpickle")
    from tests.unit.registry.hostile import Evil

    return bytes(cloudpickle.dumps(Evil(canary)))


def _protocol(canary: Path, protocol: int) -> bytes:
    return evil_pickle(canary, protocol)


def _text(canary: Path, name: str) -> bytes:
    return text_pickles(canary)[name]


def _compressed(canary: Path, compress: Callable[[bytes], bytes]) -> bytes:
    return compress(evil_pickle(canary))


def _cases() -> Iterator[tuple[str, Build]]:
    for protocol in range(6):
        yield f"pickle-p{protocol}", functools.partial(_protocol, protocol=protocol)
    for name in ("dict-p0", "os-system", "builtin-open", "builtins-open"):
        yield f"text-{name}", functools.partial(_text, name=name)
    for name, compress in COMPRESSORS.items():
        yield f"joblib-like-{name}", functools.partial(_compressed, compress=compress)
    yield "joblib-plain", _joblib(0)
    for method in ("zlib", "gzip", "bz2", "lzma", "xz"):
        yield f"joblib-{method}", _joblib((method, 3))
    yield "cloudpickle", _cloudpickle
    yield "npy-object", npy_with_objects
    yield "zip-data.pkl", lambda c: zipped({"data.pkl": evil_pickle(c)})
    yield (
        "zip-torch-style",
        lambda c: zipped(
            {"archive/data.pkl": evil_pickle(c, 2), "archive/version": b"3\n"}
        ),
    )
    yield "zip-disguised", lambda c: zipped({"weights.bin": evil_pickle(c)})
    yield "zip-npz-object", lambda c: zipped({"arr_0.npy": npy_with_objects(c)})
    yield (
        "zip-compressed-member",
        lambda c: zipped({"weights.bin": COMPRESSORS["gzip"](evil_pickle(c))}),
    )
    yield (
        "zip-in-zip",
        lambda c: zipped({"model.dat": zipped({"weights.bin": evil_pickle(c)})}),
    )
    yield "skops-with-pickle", lambda c: _skops_plus({"extra.bin": evil_pickle(c)})
    yield (
        "skops-with-zip-pickle",
        lambda c: _skops_plus({"inner": zipped({"x": evil_pickle(c, 0)})}),
    )


def _skops_plus(extra: dict[str, bytes]) -> bytes:
    import zipfile

    buffer = io.BytesIO(_skops_bytes())
    with zipfile.ZipFile(buffer, "a") as archive:
        for name, data in extra.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CASES = dict(_cases())


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "CANARY"
    yield path
    assert not path.exists(), "a hostile file was executed"


@pytest.mark.parametrize("case", sorted(CASES))
def test_refuse_unsafe_rejects_pickle(case: str, canary: Path) -> None:
    data = CASES[case](canary)
    with pytest.raises(UnsafeModel) as info:
        refuse_unsafe(data)
    assert info.value.status == 422
    assert info.value.code == "unsafe-model"
    assert not canary.exists()


@pytest.mark.parametrize("case", sorted(CASES))
def test_detect_format_never_claims_a_safe_format_for_pickle(
    case: str, canary: Path
) -> None:
    data = CASES[case](canary)
    with pytest.raises(UnsafeModel):
        detect_format(data)
    assert not canary.exists()


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("fmt", list(ModelFormat))
def test_load_model_refuses_pickle(case: str, fmt: ModelFormat, canary: Path) -> None:
    data = CASES[case](canary)
    with pytest.raises(UnsafeModel):
        load_model(data, fmt, expected_sha256=hashlib.sha256(data).hexdigest())
    assert not canary.exists()


@pytest.mark.parametrize("suffix", [".onnx", ".skops", ".txt", ".json", ""])
@pytest.mark.parametrize("protocol", range(6))
def test_refuse_unsafe_rejects_pickle_files_whatever_their_extension(
    tmp_path: Path, canary: Path, suffix: str, protocol: int
) -> None:
    path = tmp_path / f"model{suffix}"
    path.write_bytes(evil_pickle(canary, protocol))
    with pytest.raises(UnsafeModel):
        refuse_unsafe(path)
    with pytest.raises(UnsafeModel):
        detect_format(path)
    assert not canary.exists()


def test_refuse_unsafe_rejects_zip_nested_two_levels(canary: Path) -> None:
    data = zipped({"a.zip": zipped({"b.zip": zipped({"c.txt": b"hello"})})})
    with pytest.raises(UnsafeModel, match="nested"):
        refuse_unsafe(data)
    assert not canary.exists()
