"""The run filter language: parsing, matching, ordering."""

from __future__ import annotations

import pytest

from phantom.kernel.errors import InvalidField
from phantom.training.domain.search import RunFacts, parse_filter, parse_order


def facts(**metrics: float) -> RunFacts:
    return RunFacts(
        params={"model": "lgbm", "depth": "10", "note": "a and b"},
        metrics=metrics,
        tags={"team": "vision", "my tag": "x"},
        attributes={"status": "finished", "name": "r1"},
    )


def matches(text: str, run: RunFacts) -> bool:
    return all(clause.matches(run) for clause in parse_filter(text))


def test_clauses_over_every_scope() -> None:
    run = facts(acc=0.93)
    assert matches("metrics.acc > 0.9", run)
    assert not matches("metrics.acc > 0.95", run)
    assert matches("params.model = 'lgbm' AND tags.team != \"nlp\"", run)
    assert matches("attributes.status = 'finished' and attr.name = 'r1'", run)
    assert matches("tags.`my tag` = 'x'", run)
    assert matches("params.note = 'a and b'", run)


def test_params_compare_numerically_when_both_sides_are_numbers() -> None:
    run = facts()
    assert matches("params.depth > 9", run)  # "10" > "9" as strings is False
    assert not matches("params.depth < 9", run)


def test_a_missing_key_never_matches() -> None:
    assert not matches("metrics.loss < 1", facts(acc=0.5))
    assert not matches("params.absent != 'x'", facts())


@pytest.mark.parametrize(
    "text",
    [
        "metrics.acc >> 1",
        "metrics.acc > 'high'",
        "nonsense.acc > 1",
        "attributes.owner = 'me'",
        "metrics.acc > 1 or metrics.acc < 0",
        "metrics.acc > 1 and",
        "x" * 2001,
    ],
)
def test_bad_filters_name_the_problem(text: str) -> None:
    with pytest.raises(InvalidField) as caught:
        parse_filter(text)
    assert caught.value.field == "filter"


def test_empty_filter_is_no_clause() -> None:
    assert parse_filter(None) == []
    assert parse_filter("   ") == []


def test_order_puts_missing_values_last() -> None:
    order = parse_order("metrics.acc desc")
    assert order is not None
    runs = [facts(acc=0.5), facts(), facts(acc=0.9)]
    ranked = sorted(runs, key=order.sort_key)
    assert [r.metrics.get("acc") for r in ranked] == [0.9, 0.5, None]
    with pytest.raises(InvalidField):
        parse_order("metrics.acc sideways")
