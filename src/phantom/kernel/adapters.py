"""Choosing an adapter by URL: one scheme registry per port (STYLE.md §2).

Factories import their drivers lazily, so an optional extra that is not installed
only matters when its scheme is used. Out-of-tree adapters register through the
entry-point group ``phantom.adapters.<port>`` (the entry point's name is the scheme,
its object a factory taking the URL).
"""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Generic, TypeVar
from urllib.parse import urlsplit

from phantom.kernel.errors import ConfigError

__all__ = ["SchemeRegistry", "normalise_scheme"]

T = TypeVar("T")

_ALIASES = {
    "postgres": "postgresql",
    "pg": "postgresql",
    "rediss": "redis",
    "tls": "nats",
}


def normalise_scheme(url: str) -> str:
    """Return the scheme of ``url``: ``postgresql+psycopg://`` → ``postgresql``."""
    scheme = urlsplit(url).scheme.lower()
    if not scheme and url in ("local", "ray"):
        return url
    base = scheme.split("+", 1)[0]
    return _ALIASES.get(base, base)


class SchemeRegistry(Generic[T]):
    """Maps URL schemes to adapter factories for one port.

    ``open(url)`` returns ``factory(url)`` for the URL's scheme; an unknown scheme is a
    :class:`ConfigError` that names the known ones.
    """

    def __init__(self, port: str) -> None:
        self.port = port
        self._factories: dict[str, Callable[[str], T]] = {}
        self._plugins_loaded = False

    def register(self, scheme: str, factory: Callable[[str], T]) -> None:
        """Register ``factory`` for ``scheme`` (later registrations replace earlier)."""
        self._factories[scheme] = factory

    @property
    def schemes(self) -> list[str]:
        """The known schemes, sorted."""
        self._load_plugins()
        return sorted(self._factories)

    def open(self, url: str) -> T:
        """Build the adapter for ``url``."""
        self._load_plugins()
        scheme = normalise_scheme(url)
        factory = self._factories.get(scheme)
        if factory is None:
            known = ", ".join(f"{s}://" for s in sorted(self._factories))
            msg = (
                f"unknown {self.port} URL scheme {scheme or '(none)'!r} in {url!r}; "
                f"known schemes: {known}"
            )
            raise ConfigError(msg)
        return factory(url)

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        for entry in entry_points(group=f"phantom.adapters.{self.port}"):
            self._factories.setdefault(entry.name, entry.load())
