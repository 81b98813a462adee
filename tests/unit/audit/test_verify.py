"""Verification classifies every kind of tampering at the first affected entry."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from phantom.audit.domain import (
    ActorRef,
    ChainHead,
    Entry,
    ResourceRef,
    seal,
    sign_checkpoint,
    verify,
)

from .chains import T0, chain, draft, forged, rehash

TENANT = "t1"
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
SETTINGS = settings(max_examples=60, deadline=None)


def _kind_and_seq(entries: list[Entry], **kwargs: object) -> tuple[str, int]:
    report = verify(entries, TENANT, **kwargs)  # type: ignore[arg-type]
    assert not report.intact
    assert report.problem is not None
    return report.problem.kind, report.problem.seq


def _renumber(entries: list[Entry], by: int) -> list[Entry]:
    return [dataclasses.replace(e, seq=e.seq + by) for e in entries]


lengths = st.integers(min_value=2, max_value=25)


@given(n=st.integers(min_value=0, max_value=25))
@SETTINGS
def test_an_untouched_chain_verifies_intact(n: int) -> None:
    entries = chain(n)
    report = verify(entries, TENANT)
    assert report.intact
    assert report.problem is None
    assert (report.checked, report.last_seq) == (n, n)


_CHANGES = {
    "action": lambda e: dataclasses.replace(e, action=e.action + "!"),
    "actor": lambda e: dataclasses.replace(e, actor=ActorRef("user", "mallory", "x")),
    "resource": lambda e: dataclasses.replace(e, resource=ResourceRef("model", "zz")),
    "result": lambda e: dataclasses.replace(e, result="success!"),
    "details": lambda e: dataclasses.replace(e, details_json='{"i":-1}'),
    "occurred_at": lambda e: dataclasses.replace(
        e, occurred_at=e.occurred_at + timedelta(microseconds=1)
    ),
    "id": lambda e: dataclasses.replace(e, id=draft(999).id),
    "tenant_id": lambda e: dataclasses.replace(e, tenant_id="t2"),
}


@given(data=st.data(), n=lengths, field=st.sampled_from(sorted(_CHANGES)))
@SETTINGS
def test_a_changed_field_is_modified_at_that_entry(
    data: st.DataObject, n: int, field: str
) -> None:
    entries = chain(n)
    k = data.draw(st.integers(1, n))
    entries[k - 1] = _CHANGES[field](entries[k - 1])
    assert _kind_and_seq(entries) == ("modified", k)


@given(data=st.data(), n=lengths)
@SETTINGS
def test_a_changed_and_rehashed_entry_is_modified_at_that_entry(
    data: st.DataObject, n: int
) -> None:
    entries = chain(n + 1)  # the last entry must stay: see test_..._appended_...
    k = data.draw(st.integers(1, n - 1))
    entries[k - 1] = rehash(dataclasses.replace(entries[k - 1], action="forged"))
    assert _kind_and_seq(entries) == ("modified", k)


@given(data=st.data(), n=lengths, renumber=st.booleans())
@SETTINGS
def test_a_removed_entry_is_deleted_at_its_seq(
    data: st.DataObject, n: int, renumber: bool
) -> None:
    entries = chain(n)
    k = data.draw(st.integers(1, n - 1))
    rest = entries[k:]
    entries = entries[: k - 1] + (_renumber(rest, -1) if renumber else rest)
    assert _kind_and_seq(entries) == ("deleted", k)


@given(data=st.data(), n=lengths, by_seq=st.booleans())
@SETTINGS
def test_two_swapped_entries_are_reordered_at_the_first(
    data: st.DataObject, n: int, by_seq: bool
) -> None:
    entries = chain(n)
    i = data.draw(st.integers(1, n - 1))
    j = data.draw(st.integers(i + 1, n))
    a, b = entries[i - 1], entries[j - 1]
    if by_seq:  # exchange the seq numbers, then read back in seq order (as SQL does)
        a, b = dataclasses.replace(a, seq=j), dataclasses.replace(b, seq=i)
    entries[i - 1], entries[j - 1] = b, a
    assert _kind_and_seq(entries) == ("reordered", i)


@given(data=st.data(), n=lengths, linked=st.booleans(), after=st.booleans())
@SETTINGS
def test_a_forged_entry_with_a_duplicate_seq_is_inserted(
    data: st.DataObject, n: int, linked: bool, after: bool
) -> None:
    entries = chain(n)
    k = data.draw(st.integers(1, n))
    prev = entries[k - 2].hash if k > 1 else entries[0].prev_hash
    fake = forged(TENANT, k, prev, linked=linked)
    entries.insert(k if after else k - 1, fake)
    assert _kind_and_seq(entries) == ("inserted", k)


@given(data=st.data(), n=lengths, linked=st.booleans())
@SETTINGS
def test_a_forged_entry_with_the_rest_renumbered_is_inserted(
    data: st.DataObject, n: int, linked: bool
) -> None:
    entries = chain(n)
    k = data.draw(st.integers(1, n))
    prev = entries[k - 2].hash if k > 1 else entries[0].prev_hash
    fake = forged(TENANT, k, prev, linked=linked)
    entries = [*entries[: k - 1], fake, *_renumber(entries[k - 1 :], 1)]
    assert _kind_and_seq(entries) == ("inserted", k)


@given(n=lengths, self_consistent=st.booleans())
@SETTINGS
def test_a_forged_entry_appended_with_a_wrong_prev_hash_is_inserted(
    n: int, self_consistent: bool
) -> None:
    entries = chain(n)
    fake = forged(TENANT, n + 1, "0" * 64, linked=self_consistent)
    assert _kind_and_seq([*entries, fake]) == ("inserted", n + 1)


@given(data=st.data(), n=lengths)
@SETTINGS
def test_a_tail_cut_below_a_checkpoint_is_truncated(
    data: st.DataObject, n: int
) -> None:
    entries = chain(n)
    pinned = data.draw(st.integers(1, n))
    keep = data.draw(st.integers(0, pinned - 1))
    at = entries[pinned - 1]
    checkpoint = sign_checkpoint(TENANT, at.seq, at.hash, T0, KEY)
    found = _kind_and_seq(
        entries[:keep], checkpoints=[checkpoint], public_keys=[KEY.public_key()]
    )
    assert found == ("truncated", keep + 1)


@given(data=st.data(), n=lengths)
@SETTINGS
def test_a_tail_rewritten_past_a_checkpoint_is_truncated(
    data: st.DataObject, n: int
) -> None:
    entries = chain(n)
    first_pin = data.draw(st.integers(1, n - 1))
    second_pin = data.draw(st.integers(first_pin + 1, n))
    keep = data.draw(st.integers(first_pin, second_pin - 1))
    checkpoints = [
        sign_checkpoint(TENANT, e.seq, e.hash, T0, KEY)
        for e in (entries[first_pin - 1], entries[second_pin - 1])
    ]
    head = ChainHead(keep, entries[keep - 1].hash)
    regrown = entries[:keep] + seal(TENANT, head, [draft(500 + i) for i in range(n)])
    report = verify(regrown, TENANT, checkpoints, [KEY.public_key()])
    assert report.problem is not None
    assert (report.problem.kind, report.problem.seq) == ("truncated", first_pin + 1)
    assert report.checkpoint_seq == first_pin


def test_a_chain_reaching_its_checkpoints_verifies_intact() -> None:
    entries = chain(10)
    checkpoints = [sign_checkpoint(TENANT, e.seq, e.hash, T0, KEY) for e in entries]
    report = verify(entries, TENANT, checkpoints, [KEY.public_key()])
    assert report.intact
    assert report.checkpoint_seq == 10


def test_a_tampered_checkpoint_signature_is_a_bad_signature() -> None:
    entries = chain(5)
    good = sign_checkpoint(TENANT, 3, entries[2].hash, T0, KEY)
    bad = dataclasses.replace(good, signature=bytes(64))
    found = _kind_and_seq(entries, checkpoints=[bad], public_keys=[KEY.public_key()])
    assert found == ("bad_signature", 3)


@pytest.mark.parametrize(
    "change",
    [{"seq": 4}, {"hash": "0" * 64}, {"signed_at": T0 + timedelta(seconds=1)}],
)
def test_a_checkpoint_with_a_changed_field_is_a_bad_signature(
    change: dict[str, object],
) -> None:
    entries = chain(5)
    good = sign_checkpoint(TENANT, 3, entries[2].hash, T0, KEY)
    bad = dataclasses.replace(good, **change)  # type: ignore[arg-type]
    found = _kind_and_seq(entries, checkpoints=[bad], public_keys=[KEY.public_key()])
    assert found[0] == "bad_signature"


def test_another_tenants_checkpoint_is_a_bad_signature() -> None:
    theirs = chain(5, "t2")
    checkpoint = sign_checkpoint("t2", 3, theirs[2].hash, T0, KEY)
    moved = dataclasses.replace(checkpoint, tenant_id=TENANT)
    found = _kind_and_seq(chain(5), checkpoints=[moved], public_keys=[KEY.public_key()])
    assert found == ("bad_signature", 3)


def test_a_checkpoint_signed_by_an_unknown_key_is_reported() -> None:
    entries = chain(5)
    other = Ed25519PrivateKey.generate()
    checkpoint = sign_checkpoint(TENANT, 5, entries[4].hash, T0, other)
    found = _kind_and_seq(
        entries, checkpoints=[checkpoint], public_keys=[KEY.public_key()]
    )
    assert found == ("unknown_key", 5)
    assert verify(entries, TENANT, [checkpoint], [other.public_key()]).intact


def test_another_tenants_chain_does_not_verify_as_this_one() -> None:
    assert not verify(chain(3, "t2"), TENANT).intact


def test_a_problem_reports_what_was_accepted_before_it() -> None:
    entries = chain(10)
    del entries[6]
    report = verify(entries, TENANT)
    assert (report.checked, report.last_seq) == (6, 6)
    assert report.problem is not None
    assert "missing" in report.problem.detail
