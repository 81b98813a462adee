"""The ``phantom`` command line: plumbing shared by every command.

Every command runs under :func:`reports_errors`: a failure is one line on stderr and
a non-zero exit status, never a traceback. Commands open the container through
:func:`open_container`, which closes it again. Tests inject modules through Click's
context object (``runner.invoke(app, args, obj=CliState(modules=[...]))``), so the
command line itself has no hidden options.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

import structlog
import typer
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from phantom.bootstrap import Container, build
from phantom.kernel.errors import ConfigError, PhantomError
from phantom.kernel.logging import configure_logging
from phantom.kernel.settings import Settings, load_settings

if TYPE_CHECKING:
    from phantom.kernel.module import Module

__all__ = [
    "EXIT_ERROR",
    "EXIT_INTERRUPTED",
    "CliState",
    "build_for",
    "driver_reason",
    "open_container",
    "quiet_settings",
    "reports_errors",
]

log = structlog.get_logger(__name__)

EXIT_ERROR: Final = 1
EXIT_INTERRUPTED: Final = 130

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class CliState:
    """What a command builds its container from.

    Attributes:
        modules: the modules to run instead of the shipped ones (tests only).
    """

    modules: Sequence[Module] | None = None

    @classmethod
    def of(cls, ctx: typer.Context) -> CliState:
        """Return the state in ``ctx`` (the default state when none was given)."""
        found = ctx.find_object(CliState)
        return found if found is not None else cls()


def driver_reason(exc: BaseException) -> str:
    """The first line of a driver error's message, without SQLAlchemy's noise."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines()
    first = lines[0] if lines else type(original).__name__
    return first[:200]


def _settings_problem(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:3]:
        where = ".".join(str(p) for p in error["loc"]) or "settings"
        parts.append(f"{where}: {error['msg']}")
    return "invalid settings: " + "; ".join(parts)


def _fail(message: str, code: int = EXIT_ERROR) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def reports_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn any failure of ``command`` into one line on stderr and exit status 1.

    Args:
        command: a Typer command function.

    Returns:
        The wrapped command (same signature, so Typer sees the same options).
    """

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except PhantomError as exc:
            raise _fail(exc.detail) from None
        except ValidationError as exc:
            raise _fail(_settings_problem(exc)) from None
        except SQLAlchemyError as exc:
            message = f"database error: {driver_reason(exc)}"
            raise _fail(message) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", EXIT_INTERRUPTED) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:
            log.debug("cli.failed", exc_info=exc)
            reason = f"unexpected {type(exc).__name__}: {driver_reason(exc)}"
            raise _fail(reason) from None

    return wrapper


def quiet_settings(**overrides: Any) -> Settings:  # noqa: ANN401 - pydantic validates
    """Load settings for a short command and configure logging for it.

    Unless ``PHANTOM_LOG_LEVEL`` is set, only warnings are logged, so a command's
    output is not buried under start-up lines.
    """
    settings = load_settings(**overrides)
    if "log_level" not in settings.model_fields_set:
        settings = settings.model_copy(update={"log_level": "WARNING"})
    configure_logging(settings)
    return settings


def build_for(
    settings: Settings, state: CliState, only: Sequence[str] | None = None
) -> Container:
    """Build the container of ``settings``, narrowed to ``only`` contexts if given."""
    if only is None:
        return build(settings, modules=state.modules)
    if state.modules is None:
        return build(settings.model_copy(update={"contexts": list(only)}))
    by_name = {module.name: module for module in state.modules}
    unknown = [name for name in only if name not in by_name]
    if unknown:
        msg = f"unknown contexts {unknown}; known: {', '.join(sorted(by_name))}"
        raise ConfigError(msg)
    return build(settings, modules=[by_name[name] for name in only])


@contextmanager
def open_container(
    settings: Settings, state: CliState, only: Sequence[str] | None = None
) -> Iterator[Container]:
    """Build the container for one command and close it (bus included) afterwards."""
    container = build_for(settings, state, only)
    try:
        yield container
    finally:
        asyncio.run(container.aclose())
