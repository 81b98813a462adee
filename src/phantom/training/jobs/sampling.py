"""Optuna's side of a search: the sampler, the distributions, the trial budget.

Studies are driven with ask/tell, never ``optimize``, so that the caller decides
where trials run (see :mod:`phantom.training.jobs.trainer`). Optuna's
``GridSampler`` calls ``study.stop()`` from ``after_trial`` once the grid is
exhausted, which only works inside ``optimize``; :class:`AskTellGridSampler`
drops that call, and the budget never asks for more trials than the grid has.
"""

from __future__ import annotations

import math
from typing import Final

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.samplers import BaseSampler, GridSampler, RandomSampler, TPESampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from phantom.training.jobs.metric_catalog import Direction
from phantom.training.jobs.search_space import SearchSpec, SpaceParam, grid_values

__all__ = ["AskTellGridSampler", "distributions", "new_study", "trial_budget"]

_QUIET: Final = optuna.logging.ERROR


class AskTellGridSampler(GridSampler):
    """``GridSampler`` for ask/tell studies: no ``study.stop()`` after a trial."""

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: object,
    ) -> None:
        """Do nothing: the trainer stops asking once the budget is spent."""


def _distribution(param: SpaceParam) -> BaseDistribution:
    if param.type == "categorical":
        return CategoricalDistribution(list(param.choices or []))
    low, high = param.low or 0, param.high or 0
    if param.type == "int":
        step = int(param.step or 1)
        return IntDistribution(int(low), int(high), log=param.log, step=step)
    step_f = None if param.step is None else float(param.step)
    return FloatDistribution(float(low), float(high), log=param.log, step=step_f)


def distributions(search: SearchSpec) -> dict[str, BaseDistribution]:
    """The Optuna distribution of each parameter in ``search.space``."""
    return {name: _distribution(p) for name, p in search.space.items()}


def trial_budget(search: SearchSpec) -> int:
    """How many trials to run: ``n_trials``, at most the grid, 1 with no space."""
    if not search.space:
        return 1
    if search.sampler != "grid":
        return search.n_trials
    size = math.prod(len(grid_values(p)) for p in search.space.values())
    return min(search.n_trials, size)


def _sampler(search: SearchSpec) -> BaseSampler:
    if search.sampler == "grid" and search.space:
        grid = {name: grid_values(p) for name, p in search.space.items()}
        return AskTellGridSampler(grid, seed=search.seed)
    if search.sampler == "random" or not search.space:
        return RandomSampler(seed=search.seed)
    return TPESampler(seed=search.seed)


def new_study(search: SearchSpec, direction: Direction) -> Study:
    """An in-memory study for ``search``, with Optuna's own logging silenced."""
    optuna.logging.set_verbosity(_QUIET)
    optuna.logging.disable_default_handler()
    return optuna.create_study(direction=direction, sampler=_sampler(search))
