"""What every adapter's ``put`` shares: chunked hashing copies and quota holds.

:func:`copy_hashed` reads the caller's bytes or file object in
:data:`CHUNK_BYTES` pieces, hashing and counting as it goes and stopping at the
first byte past ``max_bytes``. :class:`QuotaGate` makes "usage + size <= quota"
hold for concurrent puts of one tenant in one process.
"""

from __future__ import annotations

import hashlib
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Final, TypeAlias

from phantom.kernel.errors import InvalidInput, PayloadTooLarge, QuotaExceeded

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from collections.abc import Set as AbstractSet

__all__ = ["CHUNK_BYTES", "Chunk", "QuotaGate", "copy_hashed", "iter_chunks"]

CHUNK_BYTES: Final = 1 << 20
"""How much is read from a source (and written to a sink) at a time."""

Chunk: TypeAlias = bytes | bytearray | memoryview
"""A piece of content as read from a source."""


def iter_chunks(data: bytes | IO[bytes]) -> Iterator[Chunk]:
    """Yield ``data`` in chunks of at most :data:`CHUNK_BYTES`.

    Args:
        data: bytes-like content, or a binary file object read until EOF.

    Raises:
        InvalidInput: ``data`` is neither, or its ``read`` returns text.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        try:
            view = memoryview(data).cast("B")
        except TypeError as exc:
            msg = "artifact data must be a contiguous bytes-like object"
            raise InvalidInput(msg) from exc
        for start in range(0, len(view), CHUNK_BYTES):
            yield view[start : start + CHUNK_BYTES]
        return
    read = getattr(data, "read", None)
    if not callable(read):
        msg = f"artifact data must be bytes or a binary file, got {type(data).__name__}"
        raise InvalidInput(msg)
    while True:
        chunk = read(CHUNK_BYTES)
        if not isinstance(chunk, bytes | bytearray | memoryview):
            msg = (
                "artifact data must be read from a binary file, but read() "
                f"returned {type(chunk).__name__}"
            )
            raise InvalidInput(msg)
        if not chunk:
            return
        yield chunk


def copy_hashed(
    data: bytes | IO[bytes],
    write: Callable[[Chunk], object],
    *,
    max_bytes: int | None,
) -> tuple[str, int]:
    """Copy ``data`` to ``write`` chunk by chunk; return its SHA-256 and size.

    Args:
        data: the content (see :func:`iter_chunks`).
        write: called with each chunk, in order.
        max_bytes: the most bytes accepted; ``None`` for no limit.

    Returns:
        The hex digest and the number of bytes copied.

    Raises:
        InvalidInput: ``data`` is not bytes or a binary file object.
        PayloadTooLarge: the content is longer than ``max_bytes``; the chunk that
            crossed the limit was not written.
    """
    if (
        max_bytes is not None
        and isinstance(data, bytes | bytearray)
        and len(data) > max_bytes
    ):
        raise _too_large(max_bytes)
    hasher = hashlib.sha256()
    size = 0
    for chunk in iter_chunks(data):
        size += len(chunk)
        if max_bytes is not None and size > max_bytes:
            raise _too_large(max_bytes)
        hasher.update(chunk)
        write(chunk)
    return hasher.hexdigest(), size


def _too_large(max_bytes: int) -> PayloadTooLarge:
    msg = f"artifact is larger than the limit of {max_bytes} bytes"
    return PayloadTooLarge(msg, max_bytes=max_bytes)


class QuotaGate:
    """Per-tenant holds that keep concurrent puts of one process within a quota.

    A put holds its digest and size from just before it commits until its blob is
    visible to the adapter's usage. A quota check runs under the tenant's lock and
    counts the usage of the stored blobs *other* than the held ones plus the held
    sizes, so two puts cannot both take the last bytes and a blob that becomes
    visible while still held is not counted twice. A digest already held by
    another put costs nothing more (concurrent identical puts). Puts from other
    processes are not seen: the authoritative quota belongs to the tenancy
    context's transaction.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tenant_locks: dict[str, threading.Lock] = {}
        self._held: dict[str, dict[str, _Hold]] = {}

    @contextmanager
    def hold(
        self,
        tenant_id: str,
        digest: str,
        size: int,
        *,
        quota_bytes: int | None,
        usage: Callable[[AbstractSet[str]], int],
    ) -> Iterator[None]:
        """Hold ``size`` bytes of the tenant's quota for the ``with`` block.

        Args:
            tenant_id: the tenant.
            digest: the blob about to be committed.
            size: its size in bytes.
            quota_bytes: the quota; ``None`` checks nothing (but still holds).
            usage: returns the bytes of the tenant's stored blobs except the
                digests it is given; called under the tenant's lock.

        Raises:
            QuotaExceeded: the stored and held bytes plus ``size`` exceed the quota.
        """
        with self._tenant_lock(tenant_id):
            with self._lock:
                held = {d: h.size for d, h in self._held.get(tenant_id, {}).items()}
            if quota_bytes is not None and digest not in held:
                current = usage(held.keys()) + sum(held.values())
                if current + size > quota_bytes:
                    msg = (
                        f"storing {size} bytes would exceed the tenant's artifact "
                        f"quota of {quota_bytes} bytes ({current} in use)"
                    )
                    raise QuotaExceeded(
                        msg, quota="artifact_bytes", limit=quota_bytes, requested=size
                    )
            with self._lock:
                tenant_holds = self._held.setdefault(tenant_id, {})
                tenant_holds.setdefault(digest, _Hold(size)).holders += 1
        try:
            yield
        finally:
            with self._lock:
                tenant_holds = self._held[tenant_id]
                entry = tenant_holds[digest]
                entry.holders -= 1
                if not entry.holders:
                    del tenant_holds[digest]
                if not tenant_holds:
                    del self._held[tenant_id]

    def _tenant_lock(self, tenant_id: str) -> threading.Lock:
        with self._lock:
            lock = self._tenant_locks.get(tenant_id)
            if lock is None:
                lock = self._tenant_locks[tenant_id] = threading.Lock()
            return lock


@dataclass(slots=True)
class _Hold:
    size: int
    holders: int = 0
