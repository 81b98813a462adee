"""``s3://``: blobs as objects in an S3 bucket (boto3, the ``s3`` extra).

URL: see :mod:`phantom.kernel.artifacts.s3_url`. A blob of tenant ``t`` is the
object ``<prefix>t/<aa>/<digest>``, ``aa`` being the digest's first two hex
characters. boto3 is imported when an :class:`S3ArtifactStore` is built, never at
import time.

A put first spools its input (in memory up to :data:`SPOOL_MEMORY_BYTES`, then in
a temporary file) while hashing it, since the key is the digest; then it uploads
the spool with boto3's managed transfer: one ``PutObject``, or a multipart upload
from :data:`MULTIPART_BYTES` on. Both are atomic in S3: the object appears under
its key only once complete, and a failed multipart upload is aborted.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, BinaryIO, Final

from phantom.kernel.artifacts.ingest import CHUNK_BYTES, QuotaGate, copy_hashed
from phantom.kernel.artifacts.port import (
    ArtifactRef,
    check_digest,
    check_limit,
    check_tenant_id,
)
from phantom.kernel.artifacts.s3_url import S3Location, parse_s3_url
from phantom.kernel.errors import ConfigError, NotFound, Unavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from collections.abc import Set as AbstractSet
    from contextlib import AbstractContextManager

    from _typeshed import WriteableBuffer

    from phantom.kernel.artifacts.ingest import Chunk

__all__ = [
    "MULTIPART_BYTES",
    "SPOOL_MEMORY_BYTES",
    "S3ArtifactStore",
    "S3Credentials",
]

SPOOL_MEMORY_BYTES: Final = 8 << 20
MULTIPART_BYTES: Final = 16 << 20
_BLOB_KEY: Final = re.compile(r"([0-9a-f]{2})/\1[0-9a-f]{62}")
_MISSING: Final = frozenset({"404", "NoSuchKey", "NotFound"})


@dataclass(frozen=True, slots=True)
class S3Credentials:
    """Explicit AWS credentials, for when boto3's own lookup is not wanted.

    Attributes:
        access_key_id: the access key id.
        secret_access_key: the secret key (kept out of ``repr``).
        session_token: a session token for temporary credentials.
    """

    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


class S3ArtifactStore:
    """An :class:`~phantom.kernel.artifacts.port.ArtifactStore` on S3 or MinIO.

    Args:
        url: ``s3://bucket/prefix?...`` (see :mod:`~phantom.kernel.artifacts.s3_url`).
        credentials: explicit credentials; ``None`` lets boto3 find them.
        spool_dir: where spools and downloads go (the system's temporary
            directory by default).

    Raises:
        ConfigError: boto3 is not installed or the URL is invalid.
    """

    def __init__(
        self,
        url: str,
        *,
        credentials: S3Credentials | None = None,
        spool_dir: Path | None = None,
    ) -> None:
        try:
            import boto3  # noqa: PLC0415 - optional extra, imported when used
            from boto3.exceptions import Boto3Error  # noqa: PLC0415 - as above
            from boto3.s3.transfer import TransferConfig  # noqa: PLC0415 - as above
            from botocore.config import Config  # noqa: PLC0415 - as above
            from botocore.exceptions import (  # noqa: PLC0415 - as above
                BotoCoreError,
                ClientError,
                NoCredentialsError,
                PartialCredentialsError,
            )
        except ImportError as exc:
            msg = "s3:// artifact stores need boto3: install phantom-ml[s3]"
            raise ConfigError(msg) from exc
        self._location: S3Location = parse_s3_url(url)
        self._spool_dir = None if spool_dir is None else str(spool_dir)
        self._client_error: type[Exception] = ClientError
        self._no_credentials: tuple[type[Exception], ...] = (
            NoCredentialsError,
            PartialCredentialsError,
        )
        self._driver_errors: tuple[type[Exception], ...] = (BotoCoreError, Boto3Error)
        self._transfer = TransferConfig(
            multipart_threshold=MULTIPART_BYTES,
            multipart_chunksize=MULTIPART_BYTES,
            max_concurrency=4,
        )
        self._client: Any = self._make_client(boto3, Config, credentials)
        self._gate = QuotaGate()
        self._closed = False
        self._lock = threading.Lock()

    def _make_client(
        self,
        boto3: Any,  # noqa: ANN401 - boto3 ships no types
        config_type: Any,  # noqa: ANN401 - as above
        credentials: S3Credentials | None,
    ) -> Any:  # noqa: ANN401 - as above
        where = self._location
        session = boto3.session.Session(
            aws_access_key_id=credentials and credentials.access_key_id,
            aws_secret_access_key=credentials and credentials.secret_access_key,
            aws_session_token=credentials and credentials.session_token,
            region_name=where.region,
        )
        config = config_type(
            connect_timeout=where.connect_timeout,
            read_timeout=where.read_timeout,
            retries={"max_attempts": where.max_attempts, "mode": "standard"},
            s3={"addressing_style": where.addressing_style},
        )
        refused: tuple[type[Exception], ...] = (*self._driver_errors, ValueError)
        try:
            return session.client("s3", endpoint_url=where.endpoint_url, config=config)
        except refused as exc:
            msg = f"cannot build an S3 client for {where.where}: {type(exc).__name__}"
            raise ConfigError(msg) from exc

    @property
    def location(self) -> S3Location:
        """The bucket, prefix and connection options of this store."""
        return self._location

    def put(
        self,
        tenant_id: str,
        data: bytes | IO[bytes],
        *,
        quota_bytes: int | None = None,
        max_bytes: int | None = None,
    ) -> ArtifactRef:
        """Spool and hash ``data``, then upload it under its digest (see the module)."""
        tenant = check_tenant_id(tenant_id)
        quota = check_limit("quota_bytes", quota_bytes)
        limit = check_limit("max_bytes", max_bytes)
        self._check_open()
        with self._spool(data, limit) as (body, digest, size):
            ref = ArtifactRef(tenant, digest, size)
            key = self._key(tenant, digest)
            with self._translate("put"):
                if self._head_size(key) == size:
                    return ref  # already stored: the identical blob costs nothing
                with self._gate.hold(
                    tenant,
                    digest,
                    size,
                    quota_bytes=quota,
                    usage=lambda held: self._usage(tenant, held),
                ):
                    self._client.upload_fileobj(
                        body, self._location.bucket, key, Config=self._transfer
                    )
        return ref

    def open(self, tenant_id: str, digest: str) -> AbstractContextManager[BinaryIO]:
        """Start a ``GetObject`` and stream its body (see :class:`ArtifactStore`)."""
        key = self._checked_key(tenant_id, digest)
        with self._translate("open"):
            try:
                response = self._client.get_object(
                    Bucket=self._location.bucket, Key=key
                )
            except self._client_error as exc:
                if _error_code(exc) in _MISSING:
                    raise _missing(digest) from None
                raise
        raw = _BodyReader(response["Body"], self._translate)
        return io.BufferedReader(raw, buffer_size=CHUNK_BYTES)

    def read_bytes(self, tenant_id: str, digest: str) -> bytes:
        """Return the whole blob (see :class:`ArtifactStore`)."""
        with self.open(tenant_id, digest) as blob:
            return blob.read()

    def stat(self, tenant_id: str, digest: str) -> ArtifactRef | None:
        """``HeadObject`` the blob; return its ref or ``None``."""
        key = self._checked_key(tenant_id, digest)
        with self._translate("stat"):
            size = self._head_size(key)
        return None if size is None else ArtifactRef(tenant_id, digest, size)

    def exists(self, tenant_id: str, digest: str) -> bool:
        """Return whether the tenant has the blob."""
        return self.stat(tenant_id, digest) is not None

    def delete(self, tenant_id: str, digest: str) -> bool:
        """Remove the blob; return whether it was there (``HeadObject`` first)."""
        key = self._checked_key(tenant_id, digest)
        with self._translate("delete"):
            if self._head_size(key) is None:
                return False
            self._client.delete_object(Bucket=self._location.bucket, Key=key)
        return True

    def usage(self, tenant_id: str) -> int:
        """Sum the sizes of the tenant's blobs (``ListObjectsV2``, paginated)."""
        tenant = check_tenant_id(tenant_id)
        with self._translate("measure usage"):
            return self._usage(tenant, frozenset())

    def materialize(self, tenant_id: str, digest: str) -> AbstractContextManager[Path]:
        """Download the blob to a temporary file, removed when the block exits."""
        key = self._checked_key(tenant_id, digest)
        return self._download(key, digest)

    def verify(self, tenant_id: str, digest: str) -> bool:
        """Stream the object and re-hash it; return whether it matches ``digest``."""
        hasher = hashlib.sha256()
        with self.open(tenant_id, digest) as blob:
            while chunk := blob.read(CHUNK_BYTES):
                hasher.update(chunk)
        return hasher.hexdigest() == digest

    def close(self) -> None:
        """Close the client's connections; idempotent. Later calls raise."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._client.close()

    def _check_open(self) -> None:
        if self._closed:
            msg = "S3 artifact store is closed"
            raise Unavailable(msg)

    def _key(self, tenant: str, digest: str) -> str:
        return f"{self._location.prefix}{tenant}/{digest[:2]}/{digest}"

    def _checked_key(self, tenant_id: str, digest: str) -> str:
        tenant, checked = check_tenant_id(tenant_id), check_digest(digest)
        self._check_open()
        return self._key(tenant, checked)

    def _head_size(self, key: str) -> int | None:
        try:
            head = self._client.head_object(Bucket=self._location.bucket, Key=key)
        except self._client_error as exc:
            if _error_code(exc) in _MISSING:
                return None
            raise
        return int(head["ContentLength"])

    def _usage(self, tenant: str, exclude: AbstractSet[str]) -> int:
        """Sum the sizes of the tenant's blobs whose digest is not in ``exclude``."""
        prefix = f"{self._location.prefix}{tenant}/"
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._location.bucket, Prefix=prefix
        )
        total = 0
        for page in pages:
            for item in page.get("Contents", ()):
                rest = item["Key"][len(prefix) :]
                if _BLOB_KEY.fullmatch(rest) and rest[3:] not in exclude:
                    total += int(item["Size"])
        return total

    @contextmanager
    def _spool(
        self, data: bytes | IO[bytes], limit: int | None
    ) -> Iterator[tuple[IO[bytes], str, int]]:
        """Yield a readable copy of ``data`` at position 0, its digest and size."""
        if isinstance(data, bytes | bytearray | memoryview):
            digest, size = copy_hashed(data, _discard, max_bytes=limit)
            yield io.BytesIO(data), digest, size
            return
        with tempfile.SpooledTemporaryFile(
            max_size=SPOOL_MEMORY_BYTES, dir=self._spool_dir
        ) as spool:

            def write(chunk: Chunk) -> None:
                try:
                    spool.write(chunk)
                except OSError as exc:
                    msg = "S3 artifact store could not spool the upload"
                    raise Unavailable(msg) from exc

            digest, size = copy_hashed(data, write, max_bytes=limit)
            spool.seek(0)
            yield spool, digest, size

    @contextmanager
    def _download(self, key: str, digest: str) -> Iterator[Path]:
        fd, name = tempfile.mkstemp(prefix="phantom-artifact-", dir=self._spool_dir)
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as sink, self._translate("download"):
                try:
                    self._client.download_fileobj(
                        self._location.bucket, key, sink, Config=self._transfer
                    )
                except self._client_error as exc:
                    if _error_code(exc) in _MISSING:
                        raise _missing(digest) from None
                    raise
            yield path
        finally:
            path.unlink(missing_ok=True)

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Turn boto3 errors into :mod:`phantom.kernel.errors` (no secrets)."""
        self._check_open()
        try:
            yield
        except (*self._driver_errors, self._client_error) as exc:
            raise self._unavailable(action, exc) from exc

    def _unavailable(self, action: str, exc: Exception) -> Unavailable:
        """Describe a driver error by its kind and S3 error code only."""
        where = self._location.where
        cause = exc.__cause__  # boto3 wraps a transfer's ClientError
        if not isinstance(exc, self._client_error) and isinstance(
            cause, self._client_error
        ):
            exc = cause
        if isinstance(exc, self._no_credentials):
            msg = f"S3 artifact store {where} has no usable AWS credentials ({action})"
        elif isinstance(exc, self._client_error):
            code = _error_code(exc)
            msg = (
                f"S3 artifact store {where}: the bucket does not exist ({action})"
                if code == "NoSuchBucket"
                else f"S3 artifact store {where} refused to {action} ({code})"
            )
        else:
            msg = (
                f"S3 artifact store {where} is unreachable or failed "
                f"({action}: {type(exc).__name__})"
            )
        return Unavailable(msg)


class _BodyReader(io.RawIOBase):
    """A raw binary stream over a botocore ``StreamingBody``, errors translated."""

    def __init__(
        self,
        body: Any,  # noqa: ANN401 - botocore ships no types
        translate: Callable[[str], AbstractContextManager[None]],
    ) -> None:
        super().__init__()
        self._body = body
        self._translate = translate

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        with self._translate("read"):
            chunk: bytes = self._body.read(len(view))
        view[: len(chunk)] = chunk
        return len(chunk)

    def close(self) -> None:
        if not self.closed:
            self._body.close()
        super().close()


def _discard(chunk: Chunk) -> None:
    del chunk


def _missing(digest: str) -> NotFound:
    return NotFound(f"no artifact {digest} for this tenant")


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", "")) or "unknown error"
