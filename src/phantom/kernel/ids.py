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
_RANDOM_MASK = (1 << 62) - 1
_ENTROPY_BYTES = 4090
_entropy = b""
_entropy_at = _ENTROPY_BYTES


def uuid7() -> uuid.UUID:
    """Return a new UUIDv7.

    The 48-bit millisecond timestamp is followed by a 12-bit counter (RFC 9562
    method 1) so ids made in the same millisecond by one process still sort in
    creation order; the remaining 62 bits are random.
    """
    global _last_ms, _last_counter  # noqa: PLW0603 - process-wide monotonic state
    global _entropy, _entropy_at  # noqa: PLW0603
    with _lock:
        if _entropy_at >= _ENTROPY_BYTES:  # one getrandom call per 409 ids
            _entropy, _entropy_at = os.urandom(_ENTROPY_BYTES), 0
        entropy = int.from_bytes(_entropy[_entropy_at : _entropy_at + 10], "big")
        _entropy_at += 10
        now_ms = time.time_ns() // 1_000_000
        if now_ms > _last_ms:
            _last_ms = now_ms
            _last_counter = (entropy >> 62) & 0x3FF
        else:
            _last_counter += 1
            if _last_counter > 0xFFF:
                _last_ms += 1
                _last_counter = 0
        ms, counter = _last_ms, _last_counter
    value = (ms << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62)
    return _from_int(value | (entropy & _RANDOM_MASK))


def _from_int(value: int) -> uuid.UUID:
    # ``uuid.UUID(int=...)`` re-validates the range and version on every call; ids
    # are made once per event on the append path, so build the immutable object
    # directly, as ``UUID.__setstate__`` does.
    made = object.__new__(uuid.UUID)
    object.__setattr__(made, "int", value)
    object.__setattr__(made, "is_safe", uuid.SafeUUID.unknown)
    return made


def new_id() -> uuid.UUID:
    """Return a new identifier (a UUIDv7)."""
    return uuid7()


def uuid7_time_ms(value: uuid.UUID) -> int:
    """Return the Unix time in milliseconds embedded in a UUIDv7."""
    return value.int >> 80


def _forget_entropy() -> None:
    """In a forked child: drop the parent's random bytes and its (maybe held) lock."""
    global _entropy, _entropy_at, _lock  # noqa: PLW0603
    _entropy, _entropy_at = b"", _ENTROPY_BYTES
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_entropy)
