"""Phantom ML: a multi-tenant machine-learning platform.

``import phantom`` stays cheap: the SDK's names (``phantom.Client``,
``phantom.start_run``, ``phantom.active_run``) load :mod:`phantom.sdk` on first
use.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing would cost ~10 ms here
__all__ = ["Client", "__version__", "active_run", "start_run"]

__version__ = "0.1.0"

if TYPE_CHECKING:
    from phantom.sdk import Client, active_run, start_run

_LAZY = frozenset({"Client", "active_run", "start_run"})


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from phantom import sdk  # noqa: PLC0415 - lazy on purpose: keeps import cheap

        value: object = getattr(sdk, name)
        globals()[name] = value
        return value
    msg = f"module 'phantom' has no attribute {name!r}"
    raise AttributeError(msg)


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
