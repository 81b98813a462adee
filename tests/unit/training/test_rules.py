"""Training rules: names, params, tags, run lifecycle, artifact names."""

from __future__ import annotations

import pytest

from phantom.kernel.errors import Conflict, InvalidField
from phantom.training.domain.rules import (
    MAX_PARAMS,
    check_artifact_name,
    check_end,
    check_name,
    check_params,
    check_tags,
    merge_params,
)


def test_names_are_trimmed_and_hostile_ones_refused() -> None:
    assert check_name("name", "  churn  ") == "churn"
    for bad in ("", "   ", "x" * 101, "a\u202eb", "a\x00b", 3):
        with pytest.raises(InvalidField):
            check_name("name", bad)


def test_params_keep_mlflow_limits() -> None:
    assert check_params({"alpha": "0.1", "model/depth": "3"}) == {
        "alpha": "0.1",
        "model/depth": "3",
    }
    with pytest.raises(InvalidField, match=r"params\.alpha"):
        check_params({"alpha": "x" * 6001})
    with pytest.raises(InvalidField):
        check_params({"bad\nkey": "1"})
    with pytest.raises(InvalidField):
        check_params({"alpha": 1})
    with pytest.raises(InvalidField):
        check_params({f"k{i}": "v" for i in range(MAX_PARAMS + 1)})
    assert check_tags({"note": "y" * 8000}) == {"note": "y" * 8000}
    with pytest.raises(InvalidField):
        check_tags({"note": "y" * 8001})


def test_a_logged_param_never_changes() -> None:
    assert merge_params({"a": "1"}, {"a": "1", "b": "2"}) == {"b": "2"}
    with pytest.raises(Conflict, match="a"):
        merge_params({"a": "1"}, {"a": "2"})


def test_a_run_ends_once() -> None:
    assert check_end("running", "finished") is True
    assert check_end("finished", "finished") is False
    with pytest.raises(Conflict):
        check_end("finished", "failed")
    with pytest.raises(InvalidField):
        check_end("running", "running")


@pytest.mark.parametrize(
    "name",
    [
        "../escape",
        "a/../../b",
        "/etc/passwd",
        "a//b",
        "./x",
        "a\\b",
        "a\x00b",
        "x\n",
        "",
        "n" * 256,
    ],
)
def test_path_like_artifact_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidField):
        check_artifact_name(name)


def test_plain_and_nested_artifact_names_pass() -> None:
    for name in ("model.skops", "plots/roc.png", "%2e%2e%2fliteral", "ünï"):
        assert check_artifact_name(name) == name
