"""The artifact store port: content-addressed, tenant-scoped blobs.

Besides the :class:`ArtifactStore` protocol and the :class:`ArtifactRef` value this
module holds the argument checks every adapter applies, so all adapters reject the
same inputs with the same errors. Tenant ids and digests are checked against
strict patterns *before* any key or path is built from them: a hostile id
(``..``, ``a/b``, ``%2e%2e%2f``, ``/etc``, NUL bytes, backslashes) never reaches a
file system or an S3 key.
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO, Final, Protocol

from phantom.kernel.errors import InvalidInput

__all__ = [
    "DIGEST_PATTERN",
    "MAX_TENANT_ID_CHARS",
    "TENANT_ID_PATTERN",
    "ArtifactRef",
    "ArtifactStore",
    "check_digest",
    "check_limit",
    "check_tenant_id",
]

MAX_TENANT_ID_CHARS: Final = 64
TENANT_ID_PATTERN: Final = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""What a tenant id may look like: it becomes one path segment or key segment."""
DIGEST_PATTERN: Final = re.compile(r"[0-9a-f]{64}")
"""What a digest looks like: 64 lower-case hex characters (SHA-256)."""


def check_tenant_id(tenant_id: object) -> str:
    """Return ``tenant_id`` if it is 1-64 characters of ``[A-Za-z0-9_-]``.

    Raises:
        InvalidInput: ``tenant_id`` is not such a string.
    """
    if not isinstance(tenant_id, str) or not TENANT_ID_PATTERN.fullmatch(tenant_id):
        msg = (
            "artifact tenant_id must be 1-64 characters of [A-Za-z0-9_-], "
            f"got {_describe(tenant_id)}"
        )
        raise InvalidInput(msg)
    return tenant_id


def check_digest(digest: object) -> str:
    """Return ``digest`` if it is 64 lower-case hex characters.

    Raises:
        InvalidInput: ``digest`` is not such a string.
    """
    if not isinstance(digest, str) or not DIGEST_PATTERN.fullmatch(digest):
        msg = (
            "artifact digest must be 64 lower-case hex characters (sha256), "
            f"got {_describe(digest)}"
        )
        raise InvalidInput(msg)
    return digest


def check_limit(name: str, value: object) -> int | None:
    """Return ``value`` if it is ``None`` or a non-negative ``int`` (not ``bool``).

    Raises:
        InvalidInput: ``value`` is negative or not an integer.
    """
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        msg = f"artifact {name} must be a non-negative int or None, got {value!r}"
        raise InvalidInput(msg)
    return value


def _describe(value: object) -> str:
    """Show a rejected value briefly (it may be huge or hold control characters)."""
    if not isinstance(value, str):
        return type(value).__name__
    shown = repr(value[:80])
    return shown if len(value) <= 80 else f"{shown}... ({len(value)} characters)"


@dataclass(frozen=True, slots=True)
class ArtifactRef:
    """Where a blob is: its tenant, its SHA-256 and its size.

    Two refs are equal exactly when they name the same tenant's same content.

    Attributes:
        tenant_id: the owning tenant (``[A-Za-z0-9_-]{1,64}``).
        digest: the hex SHA-256 of the content (64 lower-case hex characters).
        size: the content's length in bytes.

    Raises:
        InvalidInput: a field is malformed.
    """

    tenant_id: str
    digest: str
    size: int

    def __post_init__(self) -> None:
        """Check the fields, so a ref built from a database row is as safe."""
        check_tenant_id(self.tenant_id)
        check_digest(self.digest)
        check_limit("size", self.size)


class ArtifactStore(Protocol):
    """A synchronous, thread-safe, content-addressed store of tenants' blobs.

    Contract (every adapter passes ``phantom.testing.contracts.artifacts``):

    * A blob is stored under its tenant and the SHA-256 of its bytes; the caller
      never chooses a name. Every method checks ``tenant_id`` (1-64 characters of
      ``[A-Za-z0-9_-]``) and ``digest`` (64 lower-case hex characters) first and
      raises :class:`InvalidInput` otherwise, before touching storage.
    * Tenants are isolated: a digest stored for tenant A is absent for tenant B
      (B cannot open, stat, verify or delete it), and usage is per tenant.
    * :meth:`put` streams its input in chunks (a file object is never read whole)
      and is atomic: a blob is visible under its digest only once complete, and a
      refused or failed put (limit, quota, source error, crash) leaves no blob
      and nothing counted in :meth:`usage`. Putting the same bytes again stores
      nothing new and returns an equal ref.
    * Reads return exactly the bytes stored. They do not re-hash them: call
      :meth:`verify` before trusting content that will be executed or unpickled.
    * Every method is safe to call from several threads at once. A backend that
      cannot be reached raises :class:`Unavailable`; after :meth:`close` every
      method except :meth:`close` raises :class:`Unavailable`.
    """

    def put(
        self,
        tenant_id: str,
        data: bytes | IO[bytes],
        *,
        quota_bytes: int | None = None,
        max_bytes: int | None = None,
    ) -> ArtifactRef:
        """Store ``data`` for ``tenant_id`` and return its ref.

        Args:
            tenant_id: the owning tenant.
            data: the content: bytes, or a binary file object read in chunks until
                EOF (its position is not restored).
            quota_bytes: the tenant's storage quota; ``None`` for none. An
                identical blob already stored costs nothing.
            max_bytes: the largest content accepted; ``None`` for no limit.

        Raises:
            InvalidInput: a bad tenant id or limit, or ``data`` is neither bytes
                nor a binary file object.
            PayloadTooLarge: the content is longer than ``max_bytes``.
            QuotaExceeded: usage plus the content's size would exceed
                ``quota_bytes``.
            Unavailable: the backend cannot be reached or written.
        """
        ...

    def open(self, tenant_id: str, digest: str) -> AbstractContextManager[BinaryIO]:
        """Open the blob for streaming reads; use it in a ``with`` block.

        Raises:
            InvalidInput: a bad tenant id or digest.
            NotFound: the tenant has no such blob.
            Unavailable: the backend cannot be reached.
        """
        ...

    def read_bytes(self, tenant_id: str, digest: str) -> bytes:
        """Return the whole blob.

        Raises:
            InvalidInput: a bad tenant id or digest.
            NotFound: the tenant has no such blob.
            Unavailable: the backend cannot be reached.
        """
        ...

    def stat(self, tenant_id: str, digest: str) -> ArtifactRef | None:
        """Return the blob's ref, or ``None`` if the tenant has no such blob.

        Raises:
            InvalidInput: a bad tenant id or digest.
            Unavailable: the backend cannot be reached.
        """
        ...

    def exists(self, tenant_id: str, digest: str) -> bool:
        """Return whether the tenant has the blob.

        Raises:
            InvalidInput: a bad tenant id or digest.
            Unavailable: the backend cannot be reached.
        """
        ...

    def delete(self, tenant_id: str, digest: str) -> bool:
        """Remove the blob; return whether it was there.

        Raises:
            InvalidInput: a bad tenant id or digest.
            Unavailable: the backend cannot be reached.
        """
        ...

    def usage(self, tenant_id: str) -> int:
        """Return the bytes stored for the tenant (complete blobs only).

        Raises:
            InvalidInput: a bad tenant id.
            Unavailable: the backend cannot be reached.
        """
        ...

    def materialize(self, tenant_id: str, digest: str) -> AbstractContextManager[Path]:
        """Give a local file holding the blob for the ``with`` block's duration.

        For readers that want a path (DuckDB, pandas). Treat the file as
        read-only: on ``file://`` it is the stored blob itself; on ``s3://`` it is
        a temporary download removed when the block exits.

        Raises:
            InvalidInput: a bad tenant id or digest.
            NotFound: the tenant has no such blob.
            Unavailable: the backend cannot be reached.
        """
        ...

    def verify(self, tenant_id: str, digest: str) -> bool:
        """Re-hash the stored bytes; return whether they still match ``digest``.

        Raises:
            InvalidInput: a bad tenant id or digest.
            NotFound: the tenant has no such blob.
            Unavailable: the backend cannot be reached.
        """
        ...

    def close(self) -> None:
        """Release clients; idempotent. The store is unusable afterwards."""
        ...
