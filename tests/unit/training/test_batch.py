"""Scoring a dataset file into Parquet, chunk by chunk, with a stand-in model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from phantom.kernel.errors import InvalidField, InvalidInput
from phantom.training.batch import BatchScorer, Scores, score_file
from phantom.training.jobs.spec import parse_spec


def scorer(
    features: tuple[str, ...] = ("a", "b"),
    *,
    proba: bool = True,
    seen: list[list[list[Any]]] | None = None,
) -> BatchScorer:
    def score(rows: list[list[Any]]) -> Scores:
        if seen is not None:
            seen.append(rows)
        for index, row in enumerate(rows):
            if any(isinstance(v, str) for v in row):
                raise InvalidInput(
                    "rows[...]: bad",
                    errors=[
                        {
                            "loc": ["rows", index, features[0]],
                            "msg": f"feature {features[0]!r} must be a number",
                        }
                    ],
                )
        total = np.array([sum(v or 0 for v in row) for row in rows], dtype=float)
        labels = (total > 0).astype(int)
        probabilities = np.column_stack([1 - labels, labels]) if proba else None
        return labels, probabilities

    return BatchScorer("m", 3, features, ("no", "yes"), score)


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_every_row_is_scored_in_chunks_with_progress(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},{i - 5},x{i}" for i in range(11))
    data = write_csv(tmp_path / "d.csv", f"a,b,c\n{rows}\n")
    seen: list[list[list[Any]]] = []
    progress: list[tuple[int, int]] = []
    out = tmp_path / "o.parquet"

    def on_chunk(done: int, total: int) -> bool:
        progress.append((done, total))
        return True

    output = score_file(
        data, "csv", scorer(seen=seen), out, chunk_rows=4, on_chunk=on_chunk
    )

    assert output.rows == 11
    assert not output.stopped
    assert [len(chunk) for chunk in seen] == [4, 4, 3]
    assert progress == [(0, 11), (4, 11), (8, 11), (11, 11)]
    table = pq.read_table(out)
    assert table.column_names == ["a", "b", "prediction", "proba_no", "proba_yes"]
    assert output.columns == table.column_names
    assert table.column("prediction").to_pylist() == [
        int(2 * i - 5 > 0) for i in range(11)
    ]


def test_missing_values_are_none_and_types_kept(tmp_path: Path) -> None:
    data = tmp_path / "d.parquet"
    pq.write_table(pa.table({"a": [1.5, float("nan"), None], "b": [1, 2, 3]}), data)
    seen: list[list[list[Any]]] = []
    score_file(data, "parquet", scorer(seen=seen), tmp_path / "o.parquet")
    assert seen == [[[1.5, 1], [None, 2], [None, 3]]]


def test_a_missing_feature_column_is_named(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", "a,c\n1,2\n")
    with pytest.raises(InvalidInput) as caught:
        score_file(data, "csv", scorer(("a", "b", "z")), tmp_path / "o.parquet")
    assert caught.value.detail == (
        "the dataset has no column for the model's features 'b', 'z'"
    )


def test_a_bad_row_is_named_by_its_dataset_row(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", "a,b\n1,2\n3,4\n5,6\nx,8\n")
    with pytest.raises(InvalidInput) as caught:
        score_file(data, "csv", scorer(), tmp_path / "o.parquet", chunk_rows=2)
    # a is text everywhere once x is in it: the first row of the file fails
    assert caught.value.detail == "row 1 of the dataset: feature 'a' must be a number"


def test_an_empty_dataset_is_refused(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", "a,b\n")
    with pytest.raises(InvalidInput, match="no rows"):
        score_file(data, "csv", scorer(), tmp_path / "o.parquet")


def test_on_chunk_false_stops(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", "a,b\n1,2\n3,4\n5,6\n")
    output = score_file(
        data,
        "csv",
        scorer(),
        tmp_path / "o.parquet",
        chunk_rows=1,
        on_chunk=lambda done, _total: done < 2,
    )
    assert (output.rows, output.stopped) == (2, True)


def test_output_names_never_shadow_a_feature(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", "prediction,proba_yes\n1,2\n")
    out = tmp_path / "o.parquet"
    score_file(data, "csv", scorer(("prediction", "proba_yes")), out)
    assert pq.read_table(out).column_names == [
        "prediction",
        "proba_yes",
        "_prediction",
        "proba_no",
        "_proba_yes",
    ]


def test_without_probabilities_only_the_prediction_is_added(tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", "a,b\n1,2\n")
    out = tmp_path / "o.parquet"
    score_file(data, "csv", scorer(proba=False), out)
    assert pq.read_table(out).column_names == ["a", "b", "prediction"]


# -- the spec ----------------------------------------------------------------


def test_a_batch_spec_defaults_to_the_production_alias() -> None:
    spec = parse_spec(json.dumps({"kind": "batch", "model": "m", "dataset": "d"}))
    assert (spec.kind, spec.model, spec.alias, spec.version) == (
        "batch",
        "m",
        "production",
        None,
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"dataset": None}, "dataset: required for kind batch"),
        ({"model": None}, "model: required for kind batch"),
        ({"estimator": "ridge"}, "estimator: not for kind batch"),
        ({"register_as": "x"}, "register_as: not for kind batch"),
        ({"params": {"alpha": 1}}, "params: only for kind search"),
        ({"version": 2, "alias": "a"}, "alias: give a version or an alias"),
        ({"model": "a b"}, "model: a model name"),
        ({"version": 0}, "version"),
    ],
)
def test_a_batch_spec_is_checked(fields: dict[str, Any], expected: str) -> None:
    document = {"kind": "batch", "model": "m", "dataset": "d", **fields}
    document = {k: v for k, v in document.items() if v is not None}
    with pytest.raises(InvalidInput) as caught:
        parse_spec(json.dumps(document))
    assert caught.value.detail.startswith(expected)


@pytest.mark.parametrize("field", ["model", "alias", "version"])
def test_batch_fields_are_refused_elsewhere(field: str) -> None:
    document = {
        "dataset": "d",
        "target": "y",
        "task": "regression",
        "estimator": "ridge",
        field: 1 if field == "version" else "x",
    }
    with pytest.raises(InvalidField, match=f"^{field}: only for kind batch"):
        parse_spec(json.dumps(document))
