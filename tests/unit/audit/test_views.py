"""The query API's DTOs are built from domain entries and reports."""

from __future__ import annotations

import dataclasses

from phantom.audit.domain import Problem, VerifyReport
from phantom.audit.views import entry_view, verification_view

from .chains import chain


def test_an_entry_becomes_its_dto() -> None:
    entry = chain(2)[1]
    view = entry_view(entry)
    assert (view.seq, view.id, view.hash, view.prev_hash) == (
        2,
        entry.id,
        entry.hash,
        entry.prev_hash,
    )
    assert view.actor.model_dump() == {"kind": "user", "id": "u1", "via": "api_key"}
    assert view.resource is not None
    assert view.resource.model_dump() == {"type": "model", "id": "m1"}
    assert view.details == {"i": 1, "note": "entry 1"}


def test_details_that_no_longer_parse_are_shown_raw() -> None:
    broken = dataclasses.replace(chain(1)[0], details_json="{not json")
    assert entry_view(broken).details == {"unparsed": "{not json"}


def test_a_report_becomes_its_dto() -> None:
    report = VerifyReport(
        intact=False,
        checked=4,
        last_seq=4,
        problem=Problem("deleted", 5, "entry 5 is missing"),
        checkpoint_seq=3,
    )
    assert verification_view(report).model_dump() == {
        "intact": False,
        "checked": 4,
        "last_seq": 4,
        "checkpoint_seq": 3,
        "problem": {"kind": "deleted", "seq": 5, "detail": "entry 5 is missing"},
    }
