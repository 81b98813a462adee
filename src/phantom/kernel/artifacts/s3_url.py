"""Parsing ``s3://`` artifact store URLs (no driver import, so it is cheap to test).

::

    s3://bucket[/prefix]?endpoint_url=http://127.0.0.1:9000&region=us-east-1

Query parameters (all optional): ``endpoint_url`` (an S3-compatible server such as
MinIO; AWS when absent), ``region``, ``addressing_style`` (``auto``, ``path`` or
``virtual``; ``path`` by default with an ``endpoint_url``), ``connect_timeout`` and
``read_timeout`` (seconds) and ``max_attempts`` (per request, retries included).
Credentials never go in the URL: boto3 finds them (environment, profile, instance
role) or the caller passes them to the adapter.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qsl, urlsplit

from phantom.kernel.errors import ConfigError

__all__ = ["QUERY_PARAMETERS", "S3Location", "parse_s3_url"]

QUERY_PARAMETERS: Final = (
    "addressing_style",
    "connect_timeout",
    "endpoint_url",
    "max_attempts",
    "read_timeout",
    "region",
)
_BUCKET: Final = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_SEGMENT: Final = re.compile(r"[A-Za-z0-9._-]{1,255}")
_STYLES: Final = ("auto", "path", "virtual")


@dataclass(frozen=True, slots=True)
class S3Location:
    """Where and how to reach an S3 artifact store.

    Attributes:
        bucket: the bucket's name.
        prefix: the key prefix, empty or ending with ``/``.
        endpoint_url: the server's URL (``scheme://host[:port]``), or ``None``
            for AWS.
        region: the region, or ``None`` for boto3's default.
        addressing_style: ``auto``, ``path`` or ``virtual``.
        connect_timeout: seconds to wait for a connection.
        read_timeout: seconds to wait for a response's bytes.
        max_attempts: tries per request, the first included.
    """

    bucket: str
    prefix: str = ""
    endpoint_url: str | None = None
    region: str | None = None
    addressing_style: str = "auto"
    connect_timeout: float = 2.0
    read_timeout: float = 60.0
    max_attempts: int = 3

    @property
    def where(self) -> str:
        """Describe the store for messages: no credentials, no query."""
        server = "AWS"
        if self.endpoint_url is not None:
            parts = urlsplit(self.endpoint_url)
            server = parts.hostname or "?"
            if parts.port is not None:
                server = f"{server}:{parts.port}"
        return f"s3://{self.bucket}/{self.prefix} at {server}"


def parse_s3_url(url: str) -> S3Location:
    """Parse an ``s3://`` artifact store URL (see the module docstring).

    Raises:
        ConfigError: the bucket, prefix or a parameter is invalid, or the URL has
            a parameter this adapter does not know (credentials included).
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "s3":
        msg = f"artifact store URL must start with s3://, got {parts.scheme!r}"
        raise ConfigError(msg)
    bucket = parts.netloc
    if "@" in bucket or not _BUCKET.fullmatch(bucket) or ".." in bucket:
        msg = "s3:// artifact URL needs a valid bucket name (s3://bucket/prefix)"
        raise ConfigError(msg)
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - set(QUERY_PARAMETERS))
    if unknown:
        known = ", ".join(QUERY_PARAMETERS)
        msg = f"unknown s3:// artifact URL parameters {unknown}; known: {known}"
        raise ConfigError(msg)
    endpoint = _endpoint(options.get("endpoint_url"))
    style = options.get("addressing_style") or ("path" if endpoint else "auto")
    if style not in _STYLES:
        msg = f"s3:// addressing_style must be one of {', '.join(_STYLES)}"
        raise ConfigError(msg)
    return S3Location(
        bucket=bucket,
        prefix=_prefix(parts.path),
        endpoint_url=endpoint,
        region=options.get("region") or None,
        addressing_style=style,
        connect_timeout=_seconds(options, "connect_timeout", 2.0),
        read_timeout=_seconds(options, "read_timeout", 60.0),
        max_attempts=_attempts(options.get("max_attempts")),
    )


def _prefix(path: str) -> str:
    segments = [s for s in path.split("/") if s]
    for segment in segments:
        if not _SEGMENT.fullmatch(segment) or segment in (".", ".."):
            msg = "s3:// artifact URL prefix segments must be [A-Za-z0-9._-] names"
            raise ConfigError(msg)
    return "".join(f"{segment}/" for segment in segments)


def _endpoint(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        ok = False
    else:
        ok = parts.scheme in ("http", "https") and bool(parts.hostname)
    if not ok or parts.username is not None or parts.password is not None:
        msg = (
            "s3:// endpoint_url must be http(s)://host[:port] without credentials "
            "(boto3 reads them from the environment)"
        )
        raise ConfigError(msg)
    return value


def _seconds(options: dict[str, str], name: str, default: float) -> float:
    text = options.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        msg = f"s3:// {name} must be a positive number of seconds, got {text!r}"
        raise ConfigError(msg)
    return value


def _attempts(text: str | None) -> int:
    if not text:
        return 3
    if not text.isdigit() or not 1 <= int(text) <= 20:
        msg = f"s3:// max_attempts must be an integer from 1 to 20, got {text!r}"
        raise ConfigError(msg)
    return int(text)
