"""Run a spec's hyperparameter search and refit the best model on all the data.

The study is driven with Optuna's ask/tell interface in batches of
``search.parallelism`` trials: ask a batch, evaluate it through the executor
(results come back in order), tell the results in trial order, repeat. The
sampler therefore sees the same history whatever ran the trials, so a seeded
search picks the same parameters on :class:`~.executors.LocalExecutor` and on Ray.

A trial whose fit fails is recorded as failed with its error and the search goes
on; only a search in which no trial completes fails (:class:`SearchFailed`).
``should_stop`` is asked before each batch; when it answers true the search
raises :class:`SearchCancelled` (no refit). ``search.timeout_s`` is checked
between batches (the first always runs): it ends the search early but still
refits the best trial so far.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from optuna.trial import TrialState

from phantom.kernel.errors import InvalidInput, PhantomError
from phantom.training.jobs.estimators import ParamValue
from phantom.training.jobs.executors import TrialExecutor
from phantom.training.jobs.frames import Frame, load_frame
from phantom.training.jobs.metric_catalog import (
    DEFAULT_METRIC,
    Direction,
    metric_direction,
)
from phantom.training.jobs.model_files import dump_model
from phantom.training.jobs.pipelines import ModelRecipe, build_pipeline
from phantom.training.jobs.sampling import distributions, new_study, trial_budget
from phantom.training.jobs.search_space import SearchSpec
from phantom.training.jobs.spec import TrainingSpec
from phantom.training.jobs.training_data import TrainingData, prepare
from phantom.training.jobs.trials import TrialData, evaluate_trial, make_folds

__all__ = [
    "SearchCancelled",
    "SearchFailed",
    "SearchResult",
    "TrialResult",
    "improves",
    "load_frame",
    "run_search",
]


class SearchFailed(InvalidInput):
    """No trial of the search completed."""

    code = "search-failed"
    title = "Every trial of the search failed"


class SearchCancelled(PhantomError):
    """``should_stop`` asked the search to stop; nothing was refitted."""

    code = "search-cancelled"
    status = 409
    title = "The search was cancelled"


@dataclass(frozen=True, slots=True)
class TrialResult:
    """One evaluated trial: its searched params and score, or why it failed."""

    number: int
    params: dict[str, ParamValue]
    state: Literal["complete", "failed"]
    score: float | None
    fold_scores: list[float]
    duration_s: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class SearchResult:
    """The best trial, every trial, and the best model refitted on all rows.

    Attributes:
        best_params: the spec's fixed ``params`` merged with the best searched
            ones (Phantom's own defaults, such as ``random_state``, are not shown).
        model_bytes: the serialised model; ``model_format`` says how to read it.
        trusted_types: the exact list to pass as ``skops.io.loads(trusted=...)``.
        signature: per feature ``{name, type, min, max}`` (numbers) or
            ``{name, type, categories}`` (booleans, strings).
        classes: the class labels, sorted, for classification; else ``None``.
    """

    best_number: int
    best_params: dict[str, ParamValue]
    best_score: float
    metric: str
    direction: Direction
    trials: list[TrialResult]
    model_bytes: bytes
    model_format: Literal["skops"]
    trusted_types: list[str]
    signature: list[dict[str, object]]
    classes: list[object] | None
    n_rows: int
    duration_s: float


def improves(direction: Direction, score: float, best: float | None) -> bool:
    """Whether ``score`` is strictly better than ``best`` (``None``: no best yet)."""
    if best is None:
        return True
    return score > best if direction == "maximize" else score < best


def _never() -> bool:
    return False


@dataclass(frozen=True, slots=True)
class _Plan:
    search: SearchSpec
    direction: Direction
    data: TrialData
    budget: int


def _batches(
    plan: _Plan,
    executor: TrialExecutor,
    on_trial: Callable[[TrialResult], None],
    should_stop: Callable[[], bool],
) -> list[TrialResult]:
    study = new_study(plan.search, plan.direction)
    space = distributions(plan.search)
    deadline = plan.search.timeout_s
    started = time.monotonic()
    results: list[TrialResult] = []
    while len(results) < plan.budget:
        if should_stop():
            msg = f"cancelled after {len(results)} trials"
            raise SearchCancelled(msg)
        if results and deadline is not None and time.monotonic() - started >= deadline:
            break  # checked from the second batch on: every search runs a trial
        size = min(plan.search.parallelism, plan.budget - len(results))
        asked = [study.ask(space) for _ in range(size)]
        params = [dict(trial.params) for trial in asked]
        outcomes = executor.map(evaluate_trial, plan.data, params)
        for trial, chosen, outcome in zip(asked, params, outcomes, strict=True):
            if outcome.score is None:
                study.tell(trial, state=TrialState.FAIL)
            else:
                study.tell(trial, outcome.score)
            result = TrialResult(
                number=trial.number,
                params=chosen,
                state="failed" if outcome.score is None else "complete",
                score=outcome.score,
                fold_scores=list(outcome.fold_scores),
                duration_s=outcome.duration_s,
                error=outcome.error,
            )
            results.append(result)
            on_trial(result)
    return results


def _best(trials: list[TrialResult], direction: Direction) -> TrialResult:
    complete = [t for t in trials if t.score is not None]
    if not complete:
        first = next((t.error for t in trials if t.error), "none recorded")
        msg = f"all {len(trials)} trials failed; the first error: {first}"
        raise SearchFailed(msg[:2_000])
    if direction == "maximize":
        return max(complete, key=lambda t: (t.score, -t.number))
    return min(complete, key=lambda t: (t.score, t.number))


def _plan(spec: TrainingSpec, data: TrainingData) -> _Plan:
    if spec.estimator is None or spec.task is None:
        raise InvalidInput("only kind search specs run a search")
    search = spec.search or SearchSpec(n_trials=1)
    metric = spec.metric or DEFAULT_METRIC[spec.task]
    recipe = ModelRecipe(
        estimator=spec.estimator,
        task=spec.task,
        preprocessing=spec.preprocessing,
        metric=metric,
        seed=search.seed,
        fixed=dict(spec.params),
    )
    folds = make_folds(spec, data.y)
    trial_data = TrialData(recipe, data.x, data.y, data.layout, folds)
    return _Plan(search, metric_direction(metric), trial_data, trial_budget(search))


def run_search(
    spec: TrainingSpec,
    frame: Frame,
    *,
    executor: TrialExecutor,
    on_trial: Callable[[TrialResult], None],
    should_stop: Callable[[], bool] = _never,
) -> SearchResult:
    """Search ``spec``'s space on ``frame``, then refit and serialise the best.

    Args:
        spec: a ``kind: search`` spec, as :func:`~.spec.parse_spec` returns it.
        frame: the dataset, from :func:`load_frame`.
        executor: where trials run.
        on_trial: called with each trial's result, in trial order, as the
            search goes.
        should_stop: asked before each batch; true cancels the search.

    Raises:
        InvalidInput: the data does not fit the spec (missing target or
            features, too few rows or classes, a split that cannot be made).
        SearchFailed: no trial completed.
        SearchCancelled: ``should_stop`` returned true.
        ModelRoundTripError: the refitted model did not survive serialisation.
    """
    started = time.monotonic()
    data = prepare(frame, spec)
    plan = _plan(spec, data)
    trials = _batches(plan, executor, on_trial, should_stop)
    best = _best(trials, plan.direction)
    recipe = plan.data.recipe
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = build_pipeline(recipe, data.layout, best.params)
        model.fit(data.x, data.y)
    model_file = dump_model(model, data.x)
    return SearchResult(
        best_number=best.number,
        best_params={**recipe.fixed, **best.params},
        best_score=float(best.score or 0.0),
        metric=recipe.metric,
        direction=plan.direction,
        trials=trials,
        model_bytes=model_file.data,
        model_format=model_file.format,
        trusted_types=model_file.trusted_types,
        signature=data.signature,
        classes=data.classes,
        n_rows=len(data.y),
        duration_s=time.monotonic() - started,
    )
