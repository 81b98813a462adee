"""Searching a tenant's audit entries: the filter and a page of results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Final

from phantom.audit.domain.entry import RESULTS, Entry
from phantom.kernel.errors import InvalidInput

__all__ = ["MAX_PAGE", "EntryQuery", "Page"]

MAX_PAGE: Final = 500
"""The most entries one page holds."""


@dataclass(frozen=True, slots=True)
class EntryQuery:
    """Which entries of a tenant to list; every filter is optional.

    Attributes:
        since: entries that occurred at or after this time.
        until: entries that occurred before this time.
        actor_id: entries by this principal.
        action: entries whose action starts with this (``auth.`` finds ``auth.*``).
        resource_type: entries about this kind of resource.
        resource_id: entries about this resource.
        result: entries that ended this way.
        text: entries whose details' JSON text contains this, ignoring case.
        after_seq: the cursor: entries past this ``seq`` in the page order.
        limit: the page size (1 to :data:`MAX_PAGE`).
        newest_first: page from the newest entry down instead of the oldest up.

    Raises:
        InvalidInput: ``limit`` is out of range, a time is naive, ``until`` is not
            after ``since``, or ``result`` is unknown.
    """

    since: datetime | None = None
    until: datetime | None = None
    actor_id: str | None = None
    action: str | None = None
    resource_type: str | None = None
    resource_id: str | None = None
    result: str | None = None
    text: str | None = None
    after_seq: int | None = None
    limit: int = 100
    newest_first: bool = False

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_PAGE:
            msg = f"limit must be between 1 and {MAX_PAGE}"
            raise InvalidInput(msg)
        for when in (self.since, self.until):
            if when is not None and when.utcoffset() is None:
                msg = "since and until must be timezone-aware"
                raise InvalidInput(msg)
        if self.since and self.until and self.until <= self.since:
            msg = "until must be after since"
            raise InvalidInput(msg)
        if self.result is not None and self.result not in RESULTS:
            msg = f"unknown result {self.result!r}; use one of {sorted(RESULTS)}"
            raise InvalidInput(msg)


@dataclass(frozen=True, slots=True)
class Page:
    """A page of entries and the cursor of the next page (``None`` on the last)."""

    entries: list[Entry]
    next_cursor: int | None
