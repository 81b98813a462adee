"""THE one builder of cache keys: every key is tenant-scoped and escaped.

A key renders as ``{prefix}:t:{tenant}:{namespace}[:{part}]...``. Each component is
escaped on its own, so input from users can never forge a separator, collide with
another tenant's key or act as a glob in ``SCAN MATCH``:

* bytes outside ``[A-Za-z0-9_.-]`` of the component's UTF-8 encoding become ``%XX``
  (so ``:``, ``*``, ``?``, ``[``, ``%``, ``~``, spaces, newlines and unicode are all
  encoded, and an escaped component contains no ``:``);
* a component whose escaped form is longer than 200 characters is replaced by
  ``~`` and the hex SHA-256 of its UTF-8 bytes (``~`` never appears in an escaped
  component, so a hashed component cannot equal an escaped one).

Rendering is therefore injective (up to SHA-256 collisions), and the rendered key of
tenant A starts with :func:`tenant_prefix` of A and of no other tenant. There is no
API that builds a key without a tenant.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Final

from phantom.kernel.errors import ConfigError, InvalidInput

__all__ = [
    "MAX_COMPONENT_CHARS",
    "CacheKey",
    "cache_key",
    "check_prefix",
    "check_tenant_id",
    "escape_component",
    "tenant_prefix",
]

MAX_COMPONENT_CHARS: Final = 200
"""Escaped components longer than this are replaced by their SHA-256."""

_SAFE_BYTES: Final = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-",
)
_PREFIX_RE: Final = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def escape_component(text: str) -> str:
    """Escape one key component so it contains only ``[A-Za-z0-9_.%~-]``.

    Args:
        text: any string, including separators, glob characters, newlines,
            unicode and lone surrogates.

    Returns:
        The percent-encoded component, or ``~<sha256 hex>`` when that would be
        longer than :data:`MAX_COMPONENT_CHARS`.
    """
    raw = text.encode("utf-8", "surrogatepass")
    if len(raw) <= MAX_COMPONENT_CHARS:
        escaped = "".join(chr(b) if b in _SAFE_BYTES else f"%{b:02X}" for b in raw)
        if len(escaped) <= MAX_COMPONENT_CHARS:
            return escaped
    return "~" + hashlib.sha256(raw).hexdigest()


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it is a valid key prefix (``[A-Za-z0-9_.-]{1,64}``).

    Raises:
        ConfigError: the prefix is empty, too long or has other characters (it must
            be safe inside a glob pattern).
    """
    if not _PREFIX_RE.fullmatch(prefix):
        msg = f"cache key prefix must match [A-Za-z0-9_.-]{{1,64}}, got {prefix!r}"
        raise ConfigError(msg)
    return prefix


def _require_text(what: str, value: object, *, allow_empty: bool) -> str:
    if not isinstance(value, str):
        msg = f"cache key {what} must be a str, got {type(value).__name__}"
        raise InvalidInput(msg)
    if not value and not allow_empty:
        msg = f"cache key {what} must not be empty"
        raise InvalidInput(msg)
    return value


def check_tenant_id(tenant_id: str) -> str:
    """Return ``tenant_id`` if it is a non-empty string.

    Raises:
        InvalidInput: ``tenant_id`` is empty or not a string.
    """
    return _require_text("tenant_id", tenant_id, allow_empty=False)


def tenant_prefix(prefix: str, tenant_id: str) -> str:
    """Return the rendered prefix shared by every key of ``tenant_id``.

    The result ends with ``:`` and contains no glob characters, so
    ``tenant_prefix(p, t) + "*"`` matches exactly the keys of tenant ``t``.

    Args:
        prefix: the adapter's key prefix (see :func:`check_prefix`).
        tenant_id: the tenant; must not be empty.

    Raises:
        InvalidInput: ``tenant_id`` is empty or not a string.
    """
    tenant = check_tenant_id(tenant_id)
    return f"{prefix}:t:{escape_component(tenant)}:"


@dataclass(frozen=True, slots=True)
class CacheKey:
    """A tenant-scoped cache key; build it with :func:`cache_key`.

    Attributes:
        tenant_id: the owning tenant (never empty).
        namespace: what kind of thing is cached (``"serving.predictions"``).
        parts: the rest of the key, in order.
    """

    tenant_id: str
    namespace: str
    parts: tuple[str, ...] = ()
    _body: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Validate the components and pre-render the escaped key body."""
        tenant = check_tenant_id(self.tenant_id)
        namespace = _require_text("namespace", self.namespace, allow_empty=False)
        parts = tuple(
            _require_text("part", part, allow_empty=True) for part in self.parts
        )
        object.__setattr__(self, "parts", parts)
        body = ":".join(
            [
                "t",
                escape_component(tenant),
                escape_component(namespace),
                *map(escape_component, parts),
            ],
        )
        object.__setattr__(self, "_body", body)

    def render(self, prefix: str) -> str:
        """Return the key as stored by a backend under ``prefix``.

        Args:
            prefix: the adapter's key prefix, already validated with
                :func:`check_prefix`.
        """
        return f"{prefix}:{self._body}"


def cache_key(tenant_id: str, namespace: str, *parts: str) -> CacheKey:
    """Build the cache key of ``parts`` in ``namespace`` for ``tenant_id``.

    Args:
        tenant_id: the owning tenant; must not be empty.
        namespace: what kind of thing is cached; must not be empty.
        *parts: the rest of the key; any strings (they are escaped).

    Returns:
        The key. Distinct arguments always give distinct keys.

    Raises:
        InvalidInput: ``tenant_id`` or ``namespace`` is empty, or a component is not
            a string.
    """
    return CacheKey(tenant_id, namespace, parts)
