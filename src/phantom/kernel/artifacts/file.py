r"""``file://``: blobs as files under a local directory (the embedded default).

Layout: ``<root>/<tenant>/<aa>/<digest>``, where ``aa`` is the digest's first two
hex characters (so no directory holds more than 1/256 of a tenant's blobs) and
``<tenant>`` is :func:`tenant_dir_name` of the tenant id. Directories are created
``0o700`` and blobs are left read-only (``0o400``).

A put writes a temporary file ``.put-*.tmp`` in the tenant's directory, flushes
and ``fsync``\\ s it, renames it onto the blob's path with ``os.replace`` and
``fsync``\\ s the directory. A crash before the rename leaves at most a temporary
file, which no read, ``usage`` or ``stat`` ever sees; after it, the blob is
complete. The rename of identical bytes onto an existing blob is harmless, so
concurrent puts of the same content need no lock.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import threading
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import IO, TYPE_CHECKING, BinaryIO, Final

from phantom.kernel.artifacts.ingest import CHUNK_BYTES, QuotaGate, copy_hashed
from phantom.kernel.artifacts.port import (
    DIGEST_PATTERN,
    ArtifactRef,
    check_digest,
    check_limit,
    check_tenant_id,
)
from phantom.kernel.errors import NotFound, Unavailable

if TYPE_CHECKING:
    import io
    from collections.abc import Callable, Iterator
    from collections.abc import Set as AbstractSet
    from contextlib import AbstractContextManager

    from phantom.kernel.artifacts.ingest import Chunk

__all__ = ["TEMP_PREFIX", "TEMP_SUFFIX", "FileArtifactStore", "tenant_dir_name"]

TEMP_PREFIX: Final = ".put-"
TEMP_SUFFIX: Final = ".tmp"
_DIR_MODE: Final = 0o700
_BLOB_MODE: Final = 0o400
_SHARD: Final = re.compile(r"[0-9a-f]{2}")


def tenant_dir_name(tenant_id: str) -> str:
    """Return the directory name of ``tenant_id``, distinct even ignoring case.

    On case-insensitive file systems (macOS, Windows) ``Acme`` and ``acme``
    would share a directory. Ids without upper-case letters (UUIDs, slugs) are
    their own name; any other id becomes its lower-case form, a ``.`` (never part
    of a tenant id) and the hex bit mask of its upper-case positions, so the
    mapping stays injective after case folding: ``Acme`` → ``acme.1``.

    Args:
        tenant_id: a tenant id already checked by
            :func:`~phantom.kernel.artifacts.port.check_tenant_id`.
    """
    mask = sum(1 << i for i, char in enumerate(tenant_id) if "A" <= char <= "Z")
    return tenant_id if not mask else f"{tenant_id.lower()}.{mask:x}"


class FileArtifactStore:
    """An :class:`~phantom.kernel.artifacts.port.ArtifactStore` on a local directory.

    Args:
        root: the store's directory; created (``0o700``) if missing.

    Raises:
        Unavailable: ``root`` cannot be created.
    """

    def __init__(self, root: Path) -> None:
        self._root = Path(root).absolute()
        self._gate = QuotaGate()
        self._closed = False
        self._lock = threading.Lock()
        with self._translate("create its root directory"):
            if not self._root.is_dir():
                self._root.mkdir(mode=_DIR_MODE, parents=True, exist_ok=True)

    @property
    def root(self) -> Path:
        """The store's directory."""
        return self._root

    def put(
        self,
        tenant_id: str,
        data: bytes | IO[bytes],
        *,
        quota_bytes: int | None = None,
        max_bytes: int | None = None,
    ) -> ArtifactRef:
        """Store ``data`` atomically under its SHA-256 (see ``ArtifactStore``)."""
        tenant = check_tenant_id(tenant_id)
        quota = check_limit("quota_bytes", quota_bytes)
        limit = check_limit("max_bytes", max_bytes)
        self._check_open()
        folder = self._root / tenant_dir_name(tenant)
        temp, digest, size = self._write_temp(folder, data, limit)
        ref = ArtifactRef(tenant, digest, size)
        final = folder / digest[:2] / digest
        renamed = False
        try:
            renamed = self._commit(temp, final, ref, quota)
        finally:
            if not renamed:
                temp.unlink(missing_ok=True)
        if renamed:
            with self._translate("store"):
                _fsync_dir(final.parent)
        return ref

    def _write_temp(
        self, folder: Path, data: bytes | IO[bytes], limit: int | None
    ) -> tuple[Path, str, int]:
        """Copy ``data`` into a new durable temporary file; return it, digest, size."""
        with self._translate("prepare a write"):
            _make_dir(folder)
            fd, name = tempfile.mkstemp(TEMP_SUFFIX, TEMP_PREFIX, folder)
        temp = Path(name)
        try:
            with os.fdopen(fd, "wb") as sink:
                digest, size = copy_hashed(data, self._writer(sink), max_bytes=limit)
                with self._translate("write"):
                    sink.flush()
                    os.fsync(sink.fileno())
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        return temp, digest, size

    def _commit(
        self, temp: Path, final: Path, ref: ArtifactRef, quota: int | None
    ) -> bool:
        """Rename ``temp`` onto ``final`` within the quota; ``False`` if stored."""
        with self._translate("stat"):
            stored = _size_of(final)
        if stored == ref.size:
            return False  # already stored: the identical blob costs nothing
        usage = self._usage_of(final.parent.parent)
        with (
            self._gate.hold(
                ref.tenant_id, ref.digest, ref.size, quota_bytes=quota, usage=usage
            ),
            self._translate("store"),
        ):
            temp.chmod(_BLOB_MODE)
            _make_dir(final.parent)
            temp.replace(final)
        return True

    def open(self, tenant_id: str, digest: str) -> AbstractContextManager[BinaryIO]:
        """Open the blob for reading (see :class:`ArtifactStore`)."""
        return self._open(self._path(tenant_id, digest))

    def read_bytes(self, tenant_id: str, digest: str) -> bytes:
        """Return the whole blob (see :class:`ArtifactStore`)."""
        with self._open(self._path(tenant_id, digest)) as blob, self._translate("read"):
            return blob.read()

    def stat(self, tenant_id: str, digest: str) -> ArtifactRef | None:
        """Return the blob's ref or ``None`` (see :class:`ArtifactStore`)."""
        path = self._path(tenant_id, digest)
        with self._translate("stat"):
            size = _size_of(path)
        return None if size is None else ArtifactRef(tenant_id, digest, size)

    def exists(self, tenant_id: str, digest: str) -> bool:
        """Return whether the tenant has the blob."""
        return self.stat(tenant_id, digest) is not None

    def delete(self, tenant_id: str, digest: str) -> bool:
        """Remove the blob; return whether it was there.

        Directories are kept, so a concurrent put never finds its shard gone.
        """
        path = self._path(tenant_id, digest)
        with self._translate("delete"):
            try:
                path.unlink()
            except FileNotFoundError:
                return False
            _fsync_dir(path.parent)
        return True

    def usage(self, tenant_id: str) -> int:
        """Return the bytes of the tenant's complete blobs (no temporary files)."""
        tenant = check_tenant_id(tenant_id)
        self._check_open()
        return self._usage_of(self._root / tenant_dir_name(tenant))(frozenset())

    def materialize(self, tenant_id: str, digest: str) -> AbstractContextManager[Path]:
        """Give the stored file itself; do not write to or delete it."""
        path = self._path(tenant_id, digest)
        with self._translate("stat"):
            if _size_of(path) is None:
                raise _missing(digest)
        return nullcontext(path)

    def verify(self, tenant_id: str, digest: str) -> bool:
        """Re-hash the stored file; return whether it still matches ``digest``."""
        hasher = hashlib.sha256()
        with self._open(self._path(tenant_id, digest)) as blob:
            while chunk := self._read(blob):
                hasher.update(chunk)
        return hasher.hexdigest() == digest

    def close(self) -> None:
        """Mark the store closed; idempotent. Later calls raise ``Unavailable``."""
        with self._lock:
            self._closed = True

    def _check_open(self) -> None:
        if self._closed:
            msg = "file artifact store is closed"
            raise Unavailable(msg)

    def _path(self, tenant_id: str, digest: str) -> Path:
        """Check the arguments and that the store is open; return the blob path."""
        tenant, checked = check_tenant_id(tenant_id), check_digest(digest)
        self._check_open()
        return self._root / tenant_dir_name(tenant) / checked[:2] / checked

    def _open(self, path: Path) -> io.BufferedReader:
        with self._translate("open"):
            try:
                return path.open("rb")
            except FileNotFoundError:
                raise _missing(path.name) from None

    def _read(self, blob: BinaryIO) -> bytes:
        with self._translate("read"):
            return blob.read(CHUNK_BYTES)

    def _writer(self, sink: BinaryIO) -> Callable[[Chunk], None]:
        def write(chunk: Chunk) -> None:
            with self._translate("write"):
                sink.write(chunk)

        return write

    def _usage_of(self, folder: Path) -> Callable[[AbstractSet[str]], int]:
        def usage(exclude: AbstractSet[str]) -> int:
            with self._translate("measure usage"):
                return _blob_bytes(folder, exclude)

        return usage

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Turn ``OSError`` into :class:`Unavailable` (no paths in the message)."""
        try:
            yield
        except OSError as exc:
            reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
            msg = f"file artifact store could not {action}: {reason}"
            raise Unavailable(msg) from exc


def _missing(digest: str) -> NotFound:
    return NotFound(f"no artifact {digest} for this tenant")


def _size_of(path: Path) -> int | None:
    """Return the size of the regular file at ``path``, or ``None`` if absent."""
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return None


def _blob_bytes(folder: Path, exclude: AbstractSet[str]) -> int:
    """Sum the sizes of the blobs ``<folder>/<aa>/<digest>`` not in ``exclude``.

    Anything else (temporary files, stray names) is ignored.
    """
    total = 0
    try:
        shards = os.scandir(folder)
    except FileNotFoundError:
        return 0
    with shards:
        for shard in shards:
            if not _SHARD.fullmatch(shard.name) or not shard.is_dir(
                follow_symlinks=False
            ):
                continue
            with os.scandir(shard.path) as blobs:
                for blob in blobs:
                    if (
                        DIGEST_PATTERN.fullmatch(blob.name)
                        and blob.name.startswith(shard.name)
                        and blob.name not in exclude
                        and blob.is_file(follow_symlinks=False)
                    ):
                        try:
                            total += blob.stat(follow_symlinks=False).st_size
                        except FileNotFoundError:
                            continue  # deleted while we counted
    return total


def _make_dir(path: Path) -> None:
    """Create ``path`` (``0o700``) and make its entry durable, unless it exists."""
    if path.is_dir():
        return
    try:
        path.mkdir(mode=_DIR_MODE)
    except FileExistsError:
        return  # created concurrently
    _fsync_dir(path.parent)


def _fsync_dir(path: Path) -> None:
    """Flush ``path``'s directory entries to disk (a rename is durable after it)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
