"""The artifact store port and its adapters, chosen by URL.

::

    open_artifacts("file:///srv/phantom/artifacts")            # local directory
    open_artifacts("s3://bucket/prefix?endpoint_url=http://127.0.0.1:9000")  # S3

Blobs are content-addressed (SHA-256) under a tenant prefix; callers never name
them. See :class:`ArtifactStore` for the contract every adapter honours.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlsplit

from phantom.kernel.adapters import SchemeRegistry
from phantom.kernel.artifacts.port import ArtifactRef, ArtifactStore
from phantom.kernel.errors import ConfigError

__all__ = [
    "ArtifactRef",
    "ArtifactStore",
    "artifacts_registry",
    "file_root",
    "open_artifacts",
]


def file_root(url: str, *, home: Path | None = None) -> Path:
    """Return the directory a ``file:`` artifact URL names.

    ``file:///abs/path`` is that path. ``file://`` (no path) is ``home/artifacts``
    and ``file:relative/path`` is relative to ``home``; both need ``home``.

    Raises:
        ConfigError: the URL names a host, has a query or fragment, holds a NUL
            byte, or is relative without a ``home``.
    """
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        msg = "file:// artifact URLs must be file:///absolute/path (no host, query)"
        raise ConfigError(msg)
    path = unquote(parts.path)
    if "\x00" in path:
        msg = "file:// artifact URL must not contain NUL bytes"
        raise ConfigError(msg)
    if path.startswith("/"):
        return Path(path)
    if home is None:
        msg = "a relative file: artifact URL needs PHANTOM_HOME to resolve it"
        raise ConfigError(msg)
    return home / path if path else home / "artifacts"


def artifacts_registry(*, home: Path | None = None) -> SchemeRegistry[ArtifactStore]:
    """Return a new registry of the built-in artifact store schemes.

    Args:
        home: ``PHANTOM_HOME``, against which relative ``file:`` URLs resolve.

    Returns:
        A registry knowing ``file`` and ``s3``, plus any plugin of the
        entry-point group ``phantom.adapters.artifacts``.
    """
    registry: SchemeRegistry[ArtifactStore] = SchemeRegistry("artifacts")

    def open_file(url: str) -> ArtifactStore:
        from phantom.kernel.artifacts.file import FileArtifactStore  # noqa: PLC0415 - lazy

        return FileArtifactStore(file_root(url, home=home))

    def open_s3(url: str) -> ArtifactStore:
        from phantom.kernel.artifacts.s3 import S3ArtifactStore  # noqa: PLC0415 - lazy

        return S3ArtifactStore(url)

    registry.register("file", open_file)
    registry.register("s3", open_s3)
    return registry


def open_artifacts(url: str, *, home: Path | None = None) -> ArtifactStore:
    """Open the artifact store that ``url`` names.

    Args:
        url: ``file:///abs/path`` or ``s3://bucket/prefix[?endpoint_url=...]``.
        home: ``PHANTOM_HOME``, for relative ``file:`` URLs.

    Returns:
        A new store; the caller closes it.

    Raises:
        ConfigError: the scheme is unknown (the message lists the known ones), the
            URL is invalid, or the adapter's driver is not installed.
        Unavailable: a ``file://`` root cannot be created.
    """
    return artifacts_registry(home=home).open(url)
