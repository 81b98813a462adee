"""The ``search`` block of a spec: the space of parameters and how to sample it.

::

    search:
      sampler: tpe            # tpe | random | grid
      n_trials: 20            # 1..1000
      parallelism: 2          # trials evaluated per batch
      space:
        max_depth: {type: int, low: 2, high: 12}
        learning_rate: {type: float, low: 0.001, high: 0.3, log: true}
        criterion: {type: categorical, choices: [gini, entropy]}

:func:`check_search` enforces what the models' types cannot: each parameter is one
the estimator knows and is not also fixed in ``params``; ranges are ordered; ``log``
needs a positive ``low`` and no ``step``; a grid holds only ``int`` and
``categorical`` spaces and at most :data:`MAX_GRID_POINTS` points. Every error
names the exact field (``search.space.max_depth.high``).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt

from phantom.kernel.errors import InvalidField
from phantom.training.jobs.estimators import ParamValue

__all__ = [
    "MAX_GRID_POINTS",
    "SamplerName",
    "SearchSpec",
    "SpaceParam",
    "check_search",
    "grid_values",
]

SamplerName = Literal["tpe", "random", "grid"]
MAX_GRID_POINTS: Final = 10_000
_SPEC_CONFIG: Final = ConfigDict(
    extra="forbid", frozen=True, strict=True, allow_inf_nan=False
)
Number = StrictInt | StrictFloat


class SpaceParam(BaseModel):
    """The range (``int``, ``float``) or the choices (``categorical``) of a param."""

    model_config = _SPEC_CONFIG

    type: Literal["int", "float", "categorical"]
    low: Number | None = None
    high: Number | None = None
    log: bool = False
    step: Number | None = None
    choices: list[ParamValue] | None = Field(default=None, max_length=1_000)


class SearchSpec(BaseModel):
    """How many trials to run, how to pick their parameters, in which batches."""

    model_config = _SPEC_CONFIG

    space: dict[str, SpaceParam] = Field(default_factory=dict, max_length=50)
    sampler: SamplerName = "tpe"
    n_trials: int = Field(default=10, ge=1, le=1_000)
    timeout_s: float | None = Field(default=None, gt=0, le=7 * 86_400)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    parallelism: int = Field(default=1, ge=1, le=64)


def _at(path: str, name: str, message: str) -> InvalidField:
    return InvalidField(f"{path}.{name}", message)


def _check_categorical(path: str, param: SpaceParam) -> None:
    if not param.choices:
        raise _at(path, "choices", "required for categorical: a list")
    for name in ("low", "high", "step", "log"):
        if getattr(param, name) not in (None, False):
            raise _at(path, name, "only for int and float spaces")


def _bounds(path: str, param: SpaceParam) -> tuple[float, float]:
    if param.choices is not None:
        raise _at(path, "choices", "only for categorical spaces")
    if param.low is None:
        raise _at(path, "low", f"required for {param.type} spaces")
    if param.high is None:
        raise _at(path, "high", f"required for {param.type} spaces")
    if param.type == "int":
        for name in ("low", "high", "step"):
            value = getattr(param, name)
            if value is not None and not isinstance(value, int):
                raise _at(path, name, "must be an integer")
    if param.high <= param.low:
        raise _at(path, "high", "must be greater than low")
    return param.low, param.high


def _check_range(path: str, param: SpaceParam) -> None:
    low, high = _bounds(path, param)
    step = param.step
    if step is not None and not 0 < step <= high - low:
        raise _at(path, "step", "must be positive and at most high - low")
    if param.log and low <= 0:
        raise _at(path, "low", "must be positive when log is true")
    if param.log and step is not None and step != 1:
        raise _at(path, "log", "cannot be combined with step")


def grid_values(param: SpaceParam) -> list[ParamValue]:
    """The values a grid search tries for ``param`` (an ``int`` or categorical)."""
    if param.type == "categorical":
        return list(param.choices or [])
    low, high = int(param.low or 0), int(param.high or 0)
    return list(range(low, high + 1, int(param.step or 1)))


def _grid_size(param: SpaceParam) -> int:
    if param.type == "categorical":
        return len(param.choices or [])
    low, high, step = int(param.low or 0), int(param.high or 0), int(param.step or 1)
    return (high - low) // step + 1


def _check_grid(space: Mapping[str, SpaceParam]) -> None:
    points = 1
    for name, param in space.items():
        if param.type == "float":
            path = f"search.space.{name[:50]}"
            raise _at(path, "type", "grid search needs int or categorical spaces")
        points *= _grid_size(param)
        if points > MAX_GRID_POINTS:
            msg = f"the grid has more than {MAX_GRID_POINTS} points"
            raise InvalidField("search.space", msg)


def check_search(
    search: SearchSpec,
    *,
    estimator: str,
    known: Collection[str],
    fixed: Collection[str],
) -> None:
    """Refuse a search space the estimator cannot take.

    Args:
        search: the parsed ``search`` block.
        estimator: the estimator's allow-list name, for messages.
        known: the parameter names the estimator accepts.
        fixed: the parameter names set in the spec's ``params``.

    Raises:
        InvalidField: naming the offending ``search.space.<param>[.<field>]``.
    """
    for name, param in search.space.items():
        path = f"search.space.{name[:50]}"
        if name not in known:
            raise InvalidField(path, f"not a parameter of {estimator}")
        if name in fixed:
            raise InvalidField(path, "also fixed in params; set it in one place")
        if param.type == "categorical":
            _check_categorical(path, param)
        else:
            _check_range(path, param)
    if search.sampler == "grid":
        _check_grid(search.space)
