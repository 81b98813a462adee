"""The canonical encoding is deterministic and stable, and entries link."""

from __future__ import annotations

import hashlib
import itertools
import json
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phantom.audit.domain import (
    ActorRef,
    ChainHead,
    EntryDraft,
    InvalidAuditEntry,
    ResourceRef,
    canonical,
    genesis_hash,
    link,
    seal,
)
from phantom.audit.domain.chain import format_timestamp
from phantom.kernel.context import Actor

from .chains import chain, draft

GOLDEN_DRAFT = EntryDraft(
    action="registry.ModelVersionRegistered",
    actor=ActorRef(kind="user", id="u-1", via="api_key"),
    occurred_at=datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC),
    result="success",
    resource=ResourceRef("model_version", "mv-1"),
    details={"name": "fraud", "version": 3, "é": ["x", 1.5, None, True]},
    id=uuid.UUID("01890000-0000-7000-8000-000000000001"),
)
GOLDEN_CANONICAL = (
    '{"action":"registry.ModelVersionRegistered",'
    '"actor":{"id":"u-1","kind":"user","via":"api_key"},'
    '"details":{"name":"fraud","version":3,"é":["x",1.5,null,true]},'
    '"id":"01890000-0000-7000-8000-000000000001",'
    '"occurred_at":"2026-01-02T03:04:05.678901Z",'
    '"prev_hash":"GENESIS",'
    '"resource":{"id":"mv-1","type":"model_version"},'
    '"result":"success","seq":1,"tenant_id":"acme"}'
)
GOLDEN_HASH = "d5620547d93baedab7b93d49d2a8c43f8feacc1d717e3d3fcb0f9f7e8aae7b79"
"""Computed with printf and sha256sum from the format in the chain docstring."""


def test_the_genesis_hash_is_sha256_of_a_fixed_prefix_and_the_tenant() -> None:
    expected = hashlib.sha256(b"phantom-audit-genesis:acme").hexdigest()
    assert genesis_hash("acme") == expected
    assert genesis_hash("acme") != genesis_hash("acme2")


def test_a_fixed_entry_has_a_golden_encoding_and_hash() -> None:
    genesis = genesis_hash("acme")
    (entry,) = seal("acme", ChainHead(0, genesis), [GOLDEN_DRAFT])
    assert canonical(entry).decode() == GOLDEN_CANONICAL.replace("GENESIS", genesis)
    assert entry.hash == hashlib.sha256(genesis.encode() + canonical(entry)).hexdigest()
    assert entry.hash == GOLDEN_HASH


def test_the_canonical_encoding_is_sorted_compact_json_of_every_field_but_hash() -> (
    None
):
    for entry in chain(8):
        as_dict = {
            "action": entry.action,
            "actor": {"kind": entry.actor.kind, "id": entry.actor.id, "via": "api_key"},
            "details": json.loads(entry.details_json),
            "id": str(entry.id),
            "occurred_at": format_timestamp(entry.occurred_at),
            "prev_hash": entry.prev_hash,
            "resource": None
            if entry.resource is None
            else {"type": entry.resource.type, "id": entry.resource.id},
            "result": entry.result,
            "seq": entry.seq,
            "tenant_id": entry.tenant_id,
        }
        expected = json.dumps(
            as_dict, sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        assert canonical(entry) == expected.encode()


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@given(
    details=st.dictionaries(st.text(max_size=8), json_values, max_size=4),
    action=st.text(min_size=1, max_size=30),
)
@settings(max_examples=100, deadline=None)
def test_the_encoding_is_deterministic_and_survives_a_json_round_trip(
    details: dict[str, object], action: str
) -> None:
    base = EntryDraft(
        action=action,
        actor=ActorRef("user", "u\n\"'\\", "token"),
        occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
        details=details,
        id=uuid.UUID(int=7),
    )
    (first,) = seal("t", ChainHead(0, genesis_hash("t")), [base])
    reparsed = EntryDraft(
        action=action,
        actor=base.actor,
        occurred_at=base.occurred_at,
        details=json.loads(first.details_json),
        id=base.id,
    )
    (second,) = seal("t", ChainHead(0, genesis_hash("t")), [reparsed])
    assert canonical(first) == canonical(second)
    assert first.hash == second.hash


def test_entries_of_a_batch_link_to_each_other_and_to_the_head() -> None:
    head = ChainHead(41, "a" * 64)
    entries = seal("t1", head, [draft(i) for i in range(5)])
    assert [e.seq for e in entries] == [42, 43, 44, 45, 46]
    assert entries[0].prev_hash == head.hash
    for before, after in itertools.pairwise(entries):
        assert after.prev_hash == before.hash
    for entry in entries:
        assert entry.hash == link(entry.prev_hash, canonical(entry))


def test_occurred_at_is_stored_in_utc_to_the_microsecond() -> None:
    when = datetime(2026, 5, 1, 14, 0, 0, 5, tzinfo=timezone(timedelta(hours=2)))
    base = draft(0)
    moved = EntryDraft(base.action, base.actor, when, id=base.id)
    (entry,) = seal("t", ChainHead(0, genesis_hash("t")), [moved])
    assert entry.occurred_at == when
    assert entry.occurred_at.utcoffset() == timedelta(0)
    assert format_timestamp(entry.occurred_at) == "2026-05-01T12:00:00.000005Z"


def test_an_actor_ref_is_made_from_a_kernel_actor() -> None:
    ref = ActorRef.of(Actor(kind="agent", id="retrainer", via="token"))
    assert ref == ActorRef("agent", "retrainer", "token")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"action": ""}, "action is empty"),
        ({"action": "x" * 201}, "longer than 200"),
        ({"result": "maybe"}, "unknown audit result"),
        ({"occurred_at": datetime(2026, 1, 1)}, "timezone-aware"),  # noqa: DTZ001
        ({"resource": ResourceRef("")}, "resource type is empty"),
        ({"actor": ActorRef("", "u", "x")}, "actor kind is empty"),
    ],
)
def test_a_draft_with_a_bad_field_is_refused(
    change: dict[str, object], message: str
) -> None:
    fields: dict[str, object] = {
        "action": "a.b",
        "actor": ActorRef("user", "u", "api_key"),
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
    }
    fields.update(change)
    with pytest.raises(InvalidAuditEntry, match=message):
        EntryDraft(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "details",
    [{"x": float("nan")}, {"x": object()}, {1: "int key"}, {"x": "\ud800"}],
)
def test_details_that_are_not_json_are_refused(details: dict[object, object]) -> None:
    bad = EntryDraft(
        "a.b",
        ActorRef("user", "u", "api_key"),
        datetime(2026, 1, 1, tzinfo=UTC),
        details=details,  # type: ignore[arg-type]
    )
    with pytest.raises(InvalidAuditEntry):
        seal("t", ChainHead(0, genesis_hash("t")), [bad])


def test_an_entry_reads_its_details_back() -> None:
    (entry,) = chain(1)
    assert entry.details == {"i": 0, "note": "entry 0"}
