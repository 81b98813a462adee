"""The time window a monitoring read covers, from optional bounds.

Reports, performance and analytics default to the last 24 hours through now
(inclusive: ``until`` is one microsecond past now, as bounds are half-open).
"""

from __future__ import annotations

from typing import Final

from phantom.kernel.clock import Clock
from phantom.kernel.errors import InvalidField
from phantom.kernel.events.sql import to_us

__all__ = ["DEFAULT_WINDOW_US", "window"]

DEFAULT_WINDOW_US: Final = 24 * 3600 * 1_000_000
"""The default window: the last 24 hours, in microseconds."""


def window(
    clock: Clock,
    since_us: int | None,
    until_us: int | None,
    *,
    length_us: int = DEFAULT_WINDOW_US,
) -> tuple[int, int]:
    """``[since, until)`` in microseconds; a missing bound takes its default.

    Raises:
        InvalidField: the start is not before the end.
    """
    until = to_us(clock.now()) + 1 if until_us is None else until_us
    since = until - length_us if since_us is None else since_us
    if since >= until:
        raise InvalidField("since", "the window's start must come before its end")
    return since, until
