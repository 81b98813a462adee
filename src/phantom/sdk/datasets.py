"""``client.datasets``: upload, list, inspect and download dataset versions."""

from __future__ import annotations

import builtins
import hashlib
import os
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Final, Literal

from pydantic import TypeAdapter

from phantom.sdk.errors import ServerUnreachable, ValidationError
from phantom.sdk.models import Dataset, DatasetVersion
from phantom.sdk.transport import Transport
from phantom.sdk.wire import segment

__all__ = [
    "CHUNK_BYTES",
    "DatasetFormat",
    "Datasets",
    "file_chunks",
    "iter_pages",
    "save_stream",
]

CHUNK_BYTES: Final = 1024 * 1024
DatasetFormat = Literal["csv", "parquet"]
_MEDIA: Final[dict[str, str]] = {
    "csv": "text/csv",
    "parquet": "application/vnd.apache.parquet",
}
_SUFFIXES: Final[dict[str, DatasetFormat]] = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_VERSIONS: Final = TypeAdapter(list[DatasetVersion])


def file_chunks(path: Path) -> Callable[[], Iterator[bytes]]:
    """A factory of fresh iterators over ``path``'s bytes, 1 MiB at a time.

    A factory rather than an iterator, so that a retried upload reads the file
    again from its start.
    """

    def chunks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk

    return chunks


def iter_pages(
    transport: Transport,
    path: str,
    *,
    page_size: int = 500,
    query: Mapping[str, str] | None = None,
) -> Iterator[dict[str, object]]:
    """Every item of a paged list route (``items`` + ``next_after``).

    ``query`` adds filters (such as ``model``) to every page's request.
    """
    after: str | None = None
    while True:
        params: dict[str, str | int] = {**(query or {}), "limit": page_size}
        if after is not None:
            params["after"] = after
        page = transport.request("GET", path, params=params).json()
        yield from page["items"]
        after = page.get("next_after")
        if not after:
            return


class Datasets:
    """The tenant's datasets (``/v1/datasets``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def upload(
        self,
        name: str,
        path_or_bytes: str | os.PathLike[str] | bytes,
        format: DatasetFormat | None = None,  # noqa: A002 - the server's name for it
        description: str | None = None,
    ) -> DatasetVersion:
        """Upload a CSV or Parquet file as the dataset's next version.

        A file is streamed from disk, never read whole. The format is taken from
        ``format``, else the file's suffix, else the server sniffs it. Uploading
        the latest version's bytes again answers that version.
        """
        params: dict[str, str] = {}
        kind = format
        if isinstance(path_or_bytes, bytes):
            body: bytes | Callable[[], Iterator[bytes]] = path_or_bytes
            size = len(path_or_bytes)
        else:
            path = Path(path_or_bytes)
            try:
                size = path.stat().st_size
            except OSError as exc:
                detail = f"cannot read {path}: {exc.strerror}"
                raise ValidationError(
                    422, "invalid-file", "Invalid file", detail
                ) from None
            kind = kind or _SUFFIXES.get(path.suffix.lower())
            body = file_chunks(path)
        if kind is not None:
            params["format"] = kind
        if description is not None:
            params["description"] = description
        headers = {
            "Content-Type": _MEDIA.get(kind or "", "application/octet-stream"),
            "Content-Length": str(size),
        }
        response = self._transport.request(
            "POST",
            f"/v1/datasets/{segment(name)}/versions",
            params=params,
            content=body,
            headers=headers,
        )
        return DatasetVersion.model_validate_json(response.content)

    def list(self) -> builtins.list[Dataset]:
        """Every dataset of the tenant, by name."""
        return [
            Dataset.model_validate(item)
            for item in iter_pages(self._transport, "/v1/datasets")
        ]

    def get(self, name: str) -> Dataset:
        """One dataset, by name or id (:class:`NotFoundError` if none)."""
        response = self._transport.request("GET", f"/v1/datasets/{segment(name)}")
        return Dataset.model_validate_json(response.content)

    def versions(self, name: str) -> builtins.list[DatasetVersion]:
        """Every version of a dataset, newest first (without profiles)."""
        path = f"/v1/datasets/{segment(name)}/versions"
        return _VERSIONS.validate_json(self._transport.request("GET", path).content)

    def version(self, name: str, version: int) -> DatasetVersion:
        """One version, with its schema and column profile."""
        path = f"/v1/datasets/{segment(name)}/versions/{int(version)}"
        response = self._transport.request("GET", path)
        return DatasetVersion.model_validate_json(response.content)

    def download(
        self, name: str, version: int, dest_path: str | os.PathLike[str]
    ) -> Path:
        """Save a version's file to ``dest_path``, checking its SHA-256.

        Returns:
            The file written (``dest_path``; inside it, as
            ``<name>-v<version>.<format>``, when it is a folder).
        """
        path = f"/v1/datasets/{segment(name)}/versions/{int(version)}/content"
        target = Path(dest_path)
        with self._transport.stream("GET", path) as response:
            if target.is_dir():
                media = response.headers.get("content-type", "")
                suffix = "csv" if media.startswith("text/csv") else "parquet"
                target /= f"{Path(name).name}-v{int(version)}.{suffix}"
            save_stream(
                response.iter_bytes(CHUNK_BYTES),
                target,
                response.headers.get("etag"),
                self._transport.base_url,
            )
        return target


def save_stream(
    chunks: Iterator[bytes], target: Path, etag: str | None, url: str
) -> None:
    """Write ``chunks`` to ``target`` atomically; check a SHA-256 ``etag``.

    Raises:
        ServerUnreachable: the bytes do not match the digest the server announced
            (a truncated or corrupted transfer); ``target`` is left untouched.
    """
    partial = target.with_name(f".{target.name}.part")
    digest = hashlib.sha256()
    try:
        with partial.open("wb") as handle:
            for chunk in chunks:
                digest.update(chunk)
                handle.write(chunk)
        expected = (etag or "").strip('"')
        if len(expected) == 64 and digest.hexdigest() != expected:
            reason = f"the download of {target.name} does not match its SHA-256"
            raise ServerUnreachable(url, reason)
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)
