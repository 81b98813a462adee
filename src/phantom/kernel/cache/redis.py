"""``redis://``: the cache on a Redis server (redis-py, the ``redis`` extra).

URL: ``redis://[user:password@]host:6379/0?prefix=phantom`` (``rediss://`` for
TLS). The optional ``prefix`` query parameter (default ``phantom``) starts every
key, so several deployments can share one database; the other query parameters go
to redis-py. redis-py is imported when a :class:`RedisCache` is built, never at
import time.
"""

from __future__ import annotations

import math
import threading
from contextlib import contextmanager
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from phantom.kernel.cache.keys import check_prefix, tenant_prefix
from phantom.kernel.cache.port import (
    check_amount,
    check_bucket,
    check_ttl,
    check_value,
)
from phantom.kernel.errors import ConfigError, InvalidInput, Unavailable

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator

    import redis

    from phantom.kernel.cache.keys import CacheKey

__all__ = ["DEFAULT_PREFIX", "DEFAULT_SOCKET_TIMEOUT", "RedisCache", "split_prefix"]

DEFAULT_PREFIX: Final = "phantom"
DEFAULT_SOCKET_TIMEOUT: Final = 2.0
_DELETE_BATCH: Final = 500
_SCAN_COUNT: Final = 1000
_BAD_INCREMENT: Final = ("not an integer", "overflow")
_NOT_A_BUCKET: Final = "not a token bucket"
_TAKE_SCRIPT: Final = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local tokens = burst
local state = redis.call('GET', KEYS[1])
if state then
  local held, stamp = string.match(state, '^bucket (%S+) (%S+)$')
  held, stamp = tonumber(held), tonumber(stamp)
  if held == nil or stamp == nil then
    return redis.error_reply('not a token bucket')
  end
  tokens = math.min(burst, held + math.max(0, now - stamp) * rate)
end
local wait = 0
if tokens >= cost then
  tokens = tokens - cost
else
  wait = (cost - tokens) / rate
end
local refill = math.max(1, math.ceil((burst - tokens) / rate * 1000))
redis.call('SET', KEYS[1],
  string.format('bucket %.17g %.17g', tokens, now), 'PX', refill)
return string.format('%.17g', wait)
"""


def split_prefix(url: str) -> tuple[str, str]:
    """Split the ``prefix`` query parameter off a cache URL.

    Args:
        url: a ``redis://`` or ``rediss://`` URL.

    Returns:
        The URL for redis-py (without ``prefix``) and the prefix (default
        :data:`DEFAULT_PREFIX`).

    Raises:
        ConfigError: the prefix is invalid, or the URL asks for
            ``decode_responses`` (the cache stores bytes).
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = DEFAULT_PREFIX
    kept: list[tuple[str, str]] = []
    for name, value in query:
        if name == "prefix":
            prefix = value
        elif name == "decode_responses":
            msg = "redis cache URLs must not set decode_responses: values are bytes"
            raise ConfigError(msg)
        else:
            kept.append((name, value))
    return urlunsplit(parts._replace(query=urlencode(kept))), check_prefix(prefix)


def _where(url: str) -> str:
    """Describe the server of ``url`` without its credentials."""
    parts = urlsplit(url)
    return f"{parts.hostname or 'localhost'}:{parts.port or 6379}{parts.path or '/0'}"


class RedisCache:
    """A :class:`~phantom.kernel.cache.port.Cache` on Redis ≥ 7.

    Args:
        url: ``redis://host:port/db?prefix=...`` (see the module docstring).
        socket_timeout: seconds to wait to connect and for each reply.

    Raises:
        ConfigError: redis-py is not installed or the URL is invalid.
    """

    def __init__(
        self,
        url: str,
        *,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
    ) -> None:
        try:
            import redis  # noqa: PLC0415 - optional extra, imported when used
            from redis.backoff import NoBackoff  # noqa: PLC0415 - as above
            from redis.retry import Retry  # noqa: PLC0415 - as above
        except ImportError as exc:
            msg = "redis:// caches need redis-py: install phantom-ml[redis]"
            raise ConfigError(msg) from exc
        client_url, self._prefix = split_prefix(url)
        self._where = _where(client_url)
        try:
            self._client: redis.Redis = redis.Redis.from_url(
                client_url,
                socket_timeout=socket_timeout,
                socket_connect_timeout=socket_timeout,
                retry=Retry(NoBackoff(), 1),
            )
        except ValueError as exc:
            msg = f"invalid redis cache URL for {self._where}"
            raise ConfigError(msg) from exc
        self._unreachable: tuple[type[Exception], ...] = (
            redis.exceptions.ConnectionError,
            redis.exceptions.TimeoutError,
        )
        self._redis_error: type[Exception] = redis.exceptions.RedisError
        self._response_error: type[Exception] = redis.exceptions.ResponseError
        self._closed = False
        self._close_lock = threading.Lock()
        self._take: Callable[..., object] | None = None

    @property
    def prefix(self) -> str:
        """The prefix every key of this cache starts with."""
        return self._prefix

    def get(self, key: CacheKey) -> bytes | None:
        """Return the live value under ``key`` or ``None`` (see :class:`Cache`)."""
        with self._translate("get"):
            return _as_bytes(self._client.get(key.render(self._prefix)))

    def set(self, key: CacheKey, value: bytes, *, ttl: float | None = None) -> None:
        """Store ``value`` under ``key`` with an optional ttl (see :class:`Cache`)."""
        data = check_value(value)
        px = _millis(check_ttl(ttl))
        with self._translate("set"):
            self._client.set(key.render(self._prefix), data, px=px)

    def delete(self, key: CacheKey) -> bool:
        """Remove ``key``; return whether a live entry was removed."""
        with self._translate("delete"):
            return bool(self._client.delete(key.render(self._prefix)))

    def get_many(self, keys: Iterable[CacheKey]) -> dict[CacheKey, bytes]:
        """Return the live entries among ``keys`` with one ``MGET``."""
        unique = list(dict.fromkeys(keys))
        if not unique:
            return {}
        with self._translate("get_many"):
            values = self._client.mget([k.render(self._prefix) for k in unique])
        found: dict[CacheKey, bytes] = {}
        for key, value in zip(unique, values, strict=True):
            data = _as_bytes(value)
            if data is not None:
                found[key] = data
        return found

    def incr(self, key: CacheKey, amount: int = 1, *, ttl: float | None = None) -> int:
        """Atomically add ``amount`` to the integer under ``key`` (see :class:`Cache`).

        With a ttl, ``SET key 0 PX ttl NX`` and ``INCRBY`` run in one
        ``MULTI``/``EXEC``, so only the call that creates the key sets its expiry.
        """
        step = check_amount(amount)
        px = _millis(check_ttl(ttl))
        name = key.render(self._prefix)
        with self._translate("incr"):
            try:
                if px is None:
                    return int(self._client.incrby(name, step))
                pipe = self._client.pipeline(transaction=True)
                pipe.set(name, b"0", px=px, nx=True)
                pipe.incrby(name, step)
                _, total = pipe.execute()
                return int(total)
            except self._response_error as exc:
                if not any(text in str(exc) for text in _BAD_INCREMENT):
                    raise
                msg = "cache value is not an integer or the increment overflows"
                raise InvalidInput(msg) from exc

    def take(self, key: CacheKey, *, rate: float, burst: int, cost: int = 1) -> float:
        """Take ``cost`` tokens from the bucket under ``key`` (see :class:`Cache`).

        One Lua script reads the bucket, refills it by the server's ``TIME`` (so
        every process shares one clock) and writes it back with a ``PX`` expiry
        at the moment it would be full again.
        """
        per_second, size, taken = check_bucket(rate, burst, cost)
        name = key.render(self._prefix)
        with self._translate("take"):
            try:
                answer = self._script()(keys=[name], args=[per_second, size, taken])
            except self._response_error as exc:
                if _NOT_A_BUCKET not in str(exc):
                    raise
                msg = "cache value is not a token bucket"
                raise InvalidInput(msg) from exc
        text = answer.decode("ascii") if isinstance(answer, bytes) else str(answer)
        return float(text)

    def _script(self) -> Callable[..., object]:
        with self._close_lock:
            if self._take is None:
                self._take = self._client.register_script(_TAKE_SCRIPT)
            return self._take

    def clear_tenant(self, tenant_id: str) -> int:
        """Remove every key of ``tenant_id`` with ``SCAN MATCH`` and batched UNLINKs.

        The match pattern is the tenant's escaped key prefix plus ``*``; escaped
        components hold no glob characters, so no other tenant's key matches.
        """
        pattern = tenant_prefix(self._prefix, tenant_id) + "*"
        removed = 0
        batch: list[bytes | str] = []
        with self._translate("clear_tenant"):
            for name in self._client.scan_iter(match=pattern, count=_SCAN_COUNT):
                batch.append(name)
                if len(batch) >= _DELETE_BATCH:
                    removed += int(self._client.unlink(*batch))
                    batch.clear()
            if batch:
                removed += int(self._client.unlink(*batch))
        return removed

    def ping(self) -> None:
        """Send ``PING``; raise :class:`Unavailable` if Redis does not answer."""
        with self._translate("ping"):
            self._client.ping()

    def close(self) -> None:
        """Disconnect the pool; idempotent. Later calls raise :class:`Unavailable`."""
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        self._client.close()

    @contextmanager
    def _translate(self, action: str) -> Iterator[None]:
        """Turn redis-py errors into :mod:`phantom.kernel.errors` (no driver text)."""
        if self._closed:
            msg = "redis cache is closed"
            raise Unavailable(msg)
        try:
            yield
        except self._unreachable as exc:
            msg = f"redis cache at {self._where} is unreachable ({action})"
            raise Unavailable(msg) from exc
        except self._redis_error as exc:
            msg = f"redis cache at {self._where} failed ({action})"
            raise Unavailable(msg) from exc


def _millis(seconds: float | None) -> int | None:
    """Round a ttl up to whole milliseconds (at least 1), as ``PX`` needs."""
    return None if seconds is None else max(1, math.ceil(seconds * 1000))


def _as_bytes(value: object) -> bytes | None:
    if value is None or isinstance(value, bytes):
        return value
    msg = f"redis returned {type(value).__name__}, expected bytes"
    raise Unavailable(msg)
