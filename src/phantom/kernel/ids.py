"""Identifiers: UUIDv7 (RFC 9562), time-ordered and monotonic within a process."""

from __future__ import annotations

import os
import threading
import time
import uuid

__all__ = ["new_id", "uuid7", "uuid7_time_ms"]

_lock = threading.Lock()
_last_ms = 0
_last_counter = 0


def uuid7() -> uuid.UUID:
    """Return a new UUIDv7.

    The 48-bit millisecond timestamp is followed by a 12-bit counter (RFC 9562
    method 1) so ids made in the same millisecond by one process still sort in
    creation order; the remaining 62 bits are random.
    """
    global _last_ms, _last_counter  # noqa: PLW0603 - process-wide monotonic state
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _last_counter = int.from_bytes(os.urandom(2), "big") & 0x3FF
        else:
            _last_counter += 1
            if _last_counter > 0xFFF:
                _last_ms += 1
                _last_counter = 0
        ms, counter = _last_ms, _last_counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | rand
    return uuid.UUID(int=value)


def new_id() -> uuid.UUID:
    """Return a new identifier (a UUIDv7)."""
    return uuid7()


def uuid7_time_ms(value: uuid.UUID) -> int:
    """Return the Unix time in milliseconds embedded in a UUIDv7."""
    return value.int >> 80
