"""Loaded models kept in memory under a byte budget, loaded once however many ask.

Entries are keyed by ``(tenant_id, digest)``: two tenants that upload the same
bytes still get two entries, so nothing one tenant loads is ever handed to
another. A miss loads under a per-key lock (single flight: a thousand
concurrent first requests cause one load). When the estimated size of what is
loaded passes the budget, the least recently used entries are evicted; an
entry larger than the whole budget is still served (and evicted first next
time) rather than refused.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from phantom.serving.runtime.model import ServedModel

__all__ = ["CacheKey", "CacheStats", "ModelCache"]

CacheKey = tuple[str, str]
"""``(tenant_id, digest)``."""


@dataclass(slots=True)
class CacheStats:
    """Counters for ``/metrics``."""

    hits: int = 0
    misses: int = 0
    loads: int = 0
    load_failures: int = 0
    evictions: int = 0


class ModelCache:
    """An LRU of :class:`ServedModel` under ``budget_bytes`` (see the module doc)."""

    def __init__(
        self,
        budget_bytes: int,
        on_evict: Callable[[CacheKey, ServedModel], None] | None = None,
    ) -> None:
        if budget_bytes <= 0:
            msg = "the model cache budget must be positive"
            raise ValueError(msg)
        self.budget_bytes = budget_bytes
        self._on_evict = on_evict
        self.stats = CacheStats()
        self._entries: OrderedDict[CacheKey, ServedModel] = OrderedDict()
        self._loading: dict[CacheKey, threading.Lock] = {}
        self._lock = threading.Lock()
        self._used = 0

    @property
    def used_bytes(self) -> int:
        """The estimated bytes of what is loaded."""
        return self._used

    def __len__(self) -> int:
        return len(self._entries)

    def peek(self, key: CacheKey) -> ServedModel | None:
        """The entry for ``key`` if loaded (counted as a hit), else ``None``."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                self.stats.hits += 1
            return found

    def get(self, key: CacheKey, load: Callable[[], ServedModel]) -> ServedModel:
        """The entry for ``key``, loading it with ``load`` on a miss (once).

        Raises:
            Exception: whatever ``load`` raised (nothing is cached then).
        """
        found = self.peek(key)
        if found is not None:
            return found
        with self._lock:
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                found = self._entries.get(key)
                if found is not None:  # another caller loaded it meanwhile
                    self.stats.hits += 1
                    return found
                self.stats.misses += 1
            try:
                loaded = load()
                self._insert(key, loaded)  # before the gate opens: one load only
            except BaseException:
                with self._lock:
                    self.stats.load_failures += 1
                raise
            finally:
                with self._lock:
                    self._loading.pop(key, None)
            return loaded

    def _insert(self, key: CacheKey, model: ServedModel) -> None:
        gone: list[tuple[CacheKey, ServedModel]] = []
        with self._lock:
            self.stats.loads += 1
            old = self._entries.pop(key, None)
            if old is not None:
                self._used -= old.size_bytes
                gone.append((key, old))
            self._entries[key] = model
            self._used += model.size_bytes
            while self._used > self.budget_bytes and len(self._entries) > 1:
                evicted = self._entries.popitem(last=False)
                self._used -= evicted[1].size_bytes
                self.stats.evictions += 1
                gone.append(evicted)
        self._notify(gone)

    def _notify(self, gone: list[tuple[CacheKey, ServedModel]]) -> None:
        if self._on_evict is not None:
            for key, model in gone:
                self._on_evict(key, model)

    def evict(self, key: CacheKey) -> bool:
        """Drop ``key``'s entry; whether there was one."""
        with self._lock:
            found = self._entries.pop(key, None)
            if found is None:
                return False
            self._used -= found.size_bytes
            self.stats.evictions += 1
        self._notify([(key, found)])
        return True

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            gone = list(self._entries.items())
            self._entries.clear()
            self._used = 0
        self._notify(gone)
