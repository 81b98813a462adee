"""Failpoints: named places where a test makes the process fail on purpose.

``PHANTOM_FAILPOINTS`` holds ``name=action`` pairs separated by commas, read
when the failpoint is reached (so a test sets it for one server process).
``error`` raises :class:`FailpointError` there; ``kill`` sends the process
SIGKILL there, the crash a saga must survive. Unset (production), a failpoint
costs one environment lookup.

    PHANTOM_FAILPOINTS="serving.deploy.convert=error,serving.deploy.after_switch=kill"
"""

from __future__ import annotations

import os
import signal
from functools import lru_cache
from typing import Final

__all__ = ["ENV_VAR", "FailpointError", "failpoint"]

ENV_VAR: Final = "PHANTOM_FAILPOINTS"


class FailpointError(RuntimeError):
    """Raised at a failpoint set to ``error``."""


@lru_cache(maxsize=8)
def _parse(text: str) -> dict[str, str]:
    actions: dict[str, str] = {}
    for part in text.split(","):
        name, _, action = part.strip().partition("=")
        if name:
            actions[name] = action.strip() or "error"
    return actions


def failpoint(name: str) -> None:
    """Fail here if ``PHANTOM_FAILPOINTS`` says so (see the module docstring).

    Raises:
        FailpointError: the failpoint is set to ``error``.
    """
    text = os.environ.get(ENV_VAR)
    if not text:
        return
    action = _parse(text).get(name)
    if action == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif action is not None:
        msg = f"failpoint {name!r} triggered"
        raise FailpointError(msg)
