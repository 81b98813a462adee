"""Verification: walk a chain once, in order, and name the first break.

:func:`verify` reads the entries once (O(n) time, O(1) memory besides the checkpoints),
in the order given (the SQL adapter streams them ordered by ``seq``). An entry is
*accepted* when its ``seq`` is the next one, its ``prev_hash`` is the hash of the last
accepted entry (the genesis hash at first) and its own fields hash to its ``hash``.
The first entry that is not accepted is classified from what links to what, looking
at the next entry and, when that is not enough, at the rest of the stream:

==============  =======================================================================
``inserted``    a ``seq`` appears twice; or the next entry links to the last accepted
                one, skipping this one; or this entry links two back (the previous one
                was slipped in and the rest renumbered); or an entry appended at the end
                does not link to the chain.
``reordered``   the expected ``seq`` shows up later; or the next entry links to the last
                accepted one and this one links to the next (two entries exchanged);
                or this entry links to an entry that comes later.
``deleted``     the expected ``seq`` is missing and never shows up; or this entry fits
                one ``seq`` later (a row was removed and the rest renumbered).
``modified``    this entry links correctly but its fields do not match its hash; or it
                hashes correctly but does not link (the one before was edited and
                re-hashed, reported at that one; for the last entry this reads as
                ``inserted``, which looks the same).
``truncated``   the chain ends before the newest signed checkpoint's ``seq``, or the
                entry at a checkpoint's ``seq`` does not have the signed hash (history
                after the last matching checkpoint was rewritten).
==============  =======================================================================

Checkpoints are checked first: one signed by a key that is not trusted is
``unknown_key``, one whose signature does not verify is ``bad_signature``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from phantom.audit.domain.chain import format_timestamp, genesis_hash, intrinsic_hash
from phantom.audit.domain.checkpoints import Checkpoint, checkpoint_fault, keys_by_id
from phantom.audit.domain.entry import Entry

__all__ = ["Problem", "ProblemKind", "VerifyReport", "verify"]

ProblemKind = Literal[
    "modified",
    "deleted",
    "inserted",
    "reordered",
    "truncated",
    "bad_signature",
    "unknown_key",
]


@dataclass(frozen=True, slots=True)
class Problem:
    """The first break found in a chain.

    Attributes:
        kind: what happened (see the module docstring).
        seq: the first affected entry (for checkpoint faults, the pinned seq).
        detail: a sentence for a human.
    """

    kind: ProblemKind
    seq: int
    detail: str


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of :func:`verify`.

    Attributes:
        intact: whether the whole chain verified.
        checked: how many entries were accepted before the first problem.
        last_seq: the ``seq`` of the last accepted entry (0 if none).
        problem: the first problem, or ``None`` when intact.
        checkpoint_seq: the highest checkpointed ``seq`` the chain was found to match.
    """

    intact: bool
    checked: int
    last_seq: int
    problem: Problem | None = None
    checkpoint_seq: int = 0


def verify(
    entries: Iterable[Entry],
    tenant_id: str,
    checkpoints: Iterable[Checkpoint] = (),
    public_keys: Iterable[Ed25519PublicKey] = (),
) -> VerifyReport:
    """Verify ``tenant_id``'s chain against its signed checkpoints.

    Args:
        entries: the chain, in ``seq`` order (consumed once).
        tenant_id: whose chain it is.
        checkpoints: the tenant's signed checkpoints.
        public_keys: the keys trusted to have signed them.

    Returns:
        The report; ``problem`` names the first break, if any.
    """
    pins = _trusted_pins(checkpoints, tenant_id, public_keys)
    if isinstance(pins, Problem):
        return VerifyReport(intact=False, checked=0, last_seq=0, problem=pins)
    walk = _Walk(tenant_id, pins)
    stream = _Lookahead(entries)
    for entry in stream:
        if not walk.accepts(entry):
            return walk.report(_classify(entry, stream, walk))
        problem = walk.advance(entry)
        if problem is not None:
            return walk.report(problem)
    return walk.report(walk.finish())


def _trusted_pins(
    checkpoints: Iterable[Checkpoint],
    tenant_id: str,
    public_keys: Iterable[Ed25519PublicKey],
) -> dict[int, set[str]] | Problem:
    """The signed hashes per seq, or the first checkpoint that cannot be trusted."""
    pins: dict[int, set[str]] = {}
    keys = keys_by_id(public_keys)
    for checkpoint in sorted(checkpoints, key=lambda c: c.seq):
        fault = checkpoint_fault(checkpoint, tenant_id, keys)
        if fault is not None:
            detail = _FAULTS[fault].format(
                seq=checkpoint.seq,
                key=checkpoint.key_id,
                at=format_timestamp(checkpoint.signed_at),
            )
            return Problem(fault, checkpoint.seq, detail)
        pins.setdefault(checkpoint.seq, set()).add(checkpoint.hash)
    return pins


_FAULTS: dict[str, str] = {
    "unknown_key": "the checkpoint of seq {seq} signed at {at} names key {key}, "
    "which is not trusted",
    "bad_signature": "the signature of the checkpoint of seq {seq} signed at {at} "
    "by key {key} does not verify",
}


class _Walk:
    """The state of the walk: where the accepted part of the chain ends."""

    __slots__ = ("before", "checked", "head", "last_pin", "pins", "tenant_id")

    def __init__(self, tenant_id: str, pins: dict[int, set[str]]) -> None:
        self.tenant_id = tenant_id
        self.pins = pins
        self.head = genesis_hash(tenant_id)
        self.before: str | None = None
        self.checked = 0
        self.last_pin = 0

    @property
    def expected(self) -> int:
        return self.checked + 1

    def accepts(self, entry: Entry) -> bool:
        return (
            entry.seq == self.checked + 1
            and entry.prev_hash == self.head
            and entry.tenant_id == self.tenant_id
            and intrinsic_hash(entry) == entry.hash
        )

    def advance(self, entry: Entry) -> Problem | None:
        pinned = self.pins.get(entry.seq)
        if pinned is not None:
            if pinned != {entry.hash}:
                return Problem(
                    "truncated",
                    self.last_pin + 1,
                    f"entry {entry.seq} does not have the hash its signed checkpoint "
                    f"pins: the chain after entry {self.last_pin} was rewritten",
                )
            self.last_pin = entry.seq
        self.before, self.head = self.head, entry.hash
        self.checked += 1
        return None

    def finish(self) -> Problem | None:
        newest = max(self.pins, default=0)
        if newest <= self.checked:
            return None
        return Problem(
            "truncated",
            self.checked + 1,
            f"the chain ends at entry {self.checked} but a signed checkpoint pins "
            f"entry {newest}: entries {self.checked + 1} to {newest} are gone",
        )

    def report(self, problem: Problem | None) -> VerifyReport:
        return VerifyReport(
            intact=problem is None,
            checked=self.checked,
            last_seq=self.checked,
            problem=problem,
            checkpoint_seq=self.last_pin,
        )


class _Lookahead(Iterator[Entry]):
    """An iterator that can peek at its next item."""

    def __init__(self, items: Iterable[Entry]) -> None:
        self._items = iter(items)
        self._next: list[Entry] = []

    def __next__(self) -> Entry:
        if self._next:
            return self._next.pop()
        return next(self._items)

    def peek(self) -> Entry | None:
        if not self._next:
            item = next(self._items, None)
            if item is None:
                return None
            self._next.append(item)
        return self._next[0]


def _classify(entry: Entry, rest: _Lookahead, walk: _Walk) -> Problem:
    """Name the break at ``entry``, the first entry the walk did not accept."""
    if entry.seq < walk.expected:
        return Problem("inserted", entry.seq, f"entry {entry.seq} appears twice")
    if entry.seq > walk.expected:
        return _gap(entry, rest, walk)
    following = rest.peek()
    return _linked_nearby(entry, following, walk) or _unlinked(
        entry, following, rest, walk
    )


def _linked_nearby(
    entry: Entry, following: Entry | None, walk: _Walk
) -> Problem | None:
    """Classify from how ``entry`` and the one after it link to the accepted head."""
    expected = walk.expected
    if following is not None and following.seq == expected:
        return Problem("inserted", expected, f"entry {expected} appears twice")
    if following is not None and following.prev_hash == walk.head:
        if entry.prev_hash == following.hash:
            detail = f"entries {expected} and {following.seq} were exchanged"
            return Problem("reordered", expected, detail)
        detail = f"entry {expected} is not part of the chain: entry {following.seq} "
        return Problem("inserted", expected, detail + f"links to entry {expected - 1}")
    if entry.prev_hash == walk.head:
        detail = f"entry {expected} does not match its hash: a field was changed"
        return Problem("modified", expected, detail)
    if walk.before is not None and entry.prev_hash == walk.before:
        detail = f"entry {expected - 1} is not part of the chain: entry {expected} "
        return Problem("inserted", expected - 1, detail + f"links to {expected - 2}")
    return None


def _gap(entry: Entry, rest: _Lookahead, walk: _Walk) -> Problem:
    expected = walk.expected
    if entry.prev_hash == walk.head and intrinsic_hash(entry) != entry.hash:
        detail = f"entry {expected} was renumbered to {entry.seq}"
        return Problem("modified", expected, detail)
    if any(later.seq == expected for later in rest):
        detail = f"entry {expected} comes after entry {entry.seq}"
        return Problem("reordered", expected, detail)
    missing = f"entry {expected} is" if entry.seq == expected + 1 else "entries are"
    detail = f"{missing} missing: the chain jumps from {expected - 1} to {entry.seq}"
    return Problem("deleted", expected, detail)


def _unlinked(
    entry: Entry, following: Entry | None, rest: _Lookahead, walk: _Walk
) -> Problem:
    """Classify an entry at the right ``seq`` that does not link to the chain."""
    expected = walk.expected
    if any(later.hash == entry.prev_hash for later in rest):
        detail = f"entry {expected} belongs after an entry that now comes later"
        return Problem("reordered", expected, detail)
    if intrinsic_hash(dataclasses.replace(entry, seq=entry.seq + 1)) == entry.hash:
        detail = f"entry {expected} is missing and the entries after it renumbered"
        return Problem("deleted", expected, detail)
    if following is None:
        detail = f"entry {expected}, the last, does not link to entry {expected - 1}"
        return Problem("inserted", expected, detail)
    if intrinsic_hash(entry) == entry.hash and expected > 1:
        detail = (
            f"entry {expected} does not link to entry {expected - 1}: entry "
            f"{expected - 1} was changed and its hash recomputed"
        )
        return Problem("modified", expected - 1, detail)
    detail = f"entry {expected} does not link to entry {expected - 1}"
    return Problem("modified", expected, detail)
