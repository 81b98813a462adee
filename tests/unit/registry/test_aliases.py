"""Alias names, when a move changes anything, and which version was live when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from phantom.kernel.errors import Conflict, InvalidField
from phantom.registry.domain.aliases import (
    AliasSpan,
    check_alias,
    check_assignable,
    needs_move,
    version_at,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize("name", ["production", "staging", "champion", "a", "ab-2"])
def test_stages_and_lowercase_custom_names_are_aliases(name: str) -> None:
    assert check_alias(name) == name


@pytest.mark.parametrize(
    "name", ["", "Production", "1st", "-x", "a_b", "a" * 41, "prod uction", "é"]
)
def test_other_names_are_refused(name: str) -> None:
    with pytest.raises(InvalidField):
        check_alias(name)


def test_an_archived_version_cannot_take_an_alias() -> None:
    check_assignable(1, "ready")
    with pytest.raises(Conflict):
        check_assignable(1, "archived")


def test_setting_an_alias_to_its_current_version_changes_nothing() -> None:
    assert not needs_move(2, 2)
    assert needs_move(None, 2)
    assert needs_move(1, 2)


def test_the_version_at_a_time_is_the_span_covering_it() -> None:
    history = [
        AliasSpan(version=1, valid_from=at(0), valid_to=at(10)),
        AliasSpan(version=2, valid_from=at(10), valid_to=at(20)),
        AliasSpan(version=3, valid_from=at(30)),
    ]
    assert version_at(history, at(-1)) is None
    assert version_at(history, at(0)) == 1
    assert version_at(history, at(9.5)) == 1
    assert version_at(history, at(10)) == 2  # valid_to is exclusive
    assert version_at(history, at(25)) is None  # removed between 20 and 30
    assert version_at(history, at(1000)) == 3


def test_spans_set_and_ended_in_one_instant_cover_nothing() -> None:
    history = [
        AliasSpan(version=1, valid_from=at(0), valid_to=at(0)),
        AliasSpan(version=2, valid_from=at(0)),
    ]
    assert version_at(history, at(0)) == 2
