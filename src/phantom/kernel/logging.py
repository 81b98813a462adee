"""Structured logs: one JSON object (or one console line) per event, on stderr.

:func:`configure_logging` sets up structlog and the standard library together, so
Phantom's own ``structlog`` loggers and third-party ``logging`` users (uvicorn,
alembic, SQLAlchemy) go through the same processors and the same renderer. Values
bound with ``structlog.contextvars`` (the gateway binds ``request_id``,
``trace_id`` and ``tenant_id`` per request) appear on every line logged while they
are bound, whichever library logged it.

Nothing happens at import; calling :func:`configure_logging` again replaces the
previous configuration instead of adding a second handler.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, Final, TextIO

import structlog
import structlog.tracebacks

if TYPE_CHECKING:
    from collections.abc import MutableMapping

    from structlog.typing import Processor

    from phantom.kernel.settings import Settings

__all__ = ["configure_logging"]

_HANDLER_NAME: Final = "phantom"

# Libraries that configure their own handlers; ours replace them, and their records
# propagate to the root logger instead.
_ROUTED_LOGGERS: Final = ("uvicorn", "uvicorn.error", "uvicorn.access", "alembic")


class _StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever ``sys.stderr`` is when a record is emitted.

    Resolving the stream late keeps logging working when ``sys.stderr`` is replaced
    after configuration (pytest's capture, a daemon redirecting its output).
    """

    def __init__(self) -> None:
        super().__init__(sys.stderr)
        self.set_name(_HANDLER_NAME)

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stderr  # runs under the handler's lock
        super().emit(record)


def _level(name: str) -> int:
    level = logging.getLevelNamesMapping().get(name.strip().upper())
    return logging.INFO if level is None else level


def _drop_color_message(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """Drop uvicorn's ANSI-coloured duplicate of the message."""
    event.pop("color_message", None)
    return event


def _shared_processors() -> list[Processor]:
    """Processors applied to structlog events and to stdlib records alike."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.StackInfoRenderer(),
    ]


def _formatter(*, as_json: bool) -> structlog.stdlib.ProcessorFormatter:
    strip_meta = structlog.stdlib.ProcessorFormatter.remove_processors_meta
    chain: list[Processor] = [strip_meta]
    if as_json:
        chain += [
            # Frames without their local variables: locals can hold request
            # bodies, credentials or key material, which must never reach a log.
            structlog.processors.ExceptionRenderer(
                structlog.tracebacks.ExceptionDictTransformer(show_locals=False)
            ),
            structlog.processors.JSONRenderer(),
        ]
    else:  # the console renderer prints exceptions itself
        chain.append(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=chain,
    )


def configure_logging(settings: Settings) -> None:
    """Route structlog and stdlib logging to stderr, as JSON or console lines.

    Args:
        settings: ``log_level`` (``DEBUG``, ``INFO``, ...; unknown names mean
            ``INFO``) and ``log_json`` (``False`` renders human-readable lines).

    Calling it again replaces the previous configuration (idempotent).
    """
    level = _level(settings.log_level)
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # keeps structlog.testing usable
    )
    handler = _StderrHandler()
    as_json = settings.log_json if settings.log_json is not None else not _tty()
    handler.setFormatter(_formatter(as_json=as_json))
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    for name in _ROUTED_LOGGERS:
        routed = logging.getLogger(name)
        routed.handlers.clear()
        routed.propagate = True
        routed.setLevel(logging.NOTSET)


def _tty() -> bool:
    """Whether a person is reading stderr (then logs are lines, not JSON)."""
    return sys.stderr.isatty()
