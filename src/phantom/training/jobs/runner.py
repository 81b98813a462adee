"""The job runner: ``python -m phantom.training.jobs.runner JOB_DIR``.

The worker starts it in a subprocess with a clean environment (the executor comes
from ``PHANTOM_EXECUTOR``, passed explicitly; no Phantom setting, database or
network is needed). ``JOB_DIR`` holds ``spec.json`` and exactly one of
``data.csv`` / ``data.parquet``; the runner writes ``model.<ext>`` and
``result.json`` there, and stops after the current batch if a file named
``cancel`` appears.

Standard output carries only the protocol, one JSON object per line (everything
else the process prints, Python or native, is sent to standard error with the
human-readable logs)::

    {"event": "started", "pid", "estimator", "task", "metric", "direction",
     "sampler", "n_trials", "parallelism", "executor"}
    {"event": "trial", "number", "params", "state": "complete" | "failed",
     "score", "fold_scores", "duration_s", "error"}          # one per trial
    {"event": "best", "number", "score"}                     # when the best improves
    {"event": "finished", "best_number", "best_params", "best_score", "metric",
     "direction", "model_file", "model_format", "model_sha256", "trusted_types",
     "signature", "classes", "n_rows", "n_trials", "n_failed", "duration_s"}
    {"event": "cancelled", "n_trials"}                       # exit status 3
    {"event": "failed", "error"}                             # exit status 1

Exit status: 0 finished, 1 failed, 2 bad command line, 3 cancelled.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Final, Literal, TextIO

from phantom.kernel.errors import InvalidInput, PhantomError
from phantom.training.jobs.executors import executor_for
from phantom.training.jobs.metric_catalog import metric_direction
from phantom.training.jobs.spec import TrainingSpec, parse_spec
from phantom.training.jobs.trainer import (
    SearchCancelled,
    SearchResult,
    TrialResult,
    improves,
    load_frame,
    run_search,
)

__all__ = [
    "CANCEL_FILE",
    "EXIT_CANCELLED",
    "EXIT_FAILED",
    "EXIT_OK",
    "RESULT_FILE",
    "SPEC_FILE",
    "EventWriter",
    "main",
    "run_job",
]

EXIT_OK: Final = 0
EXIT_FAILED: Final = 1
EXIT_CANCELLED: Final = 3
SPEC_FILE: Final = "spec.json"
RESULT_FILE: Final = "result.json"
CANCEL_FILE: Final = "cancel"
DATA_FILES: Final[dict[str, Literal["csv", "parquet"]]] = {
    "data.csv": "csv",
    "data.parquet": "parquet",
}
MAX_ERROR: Final = 2_000

log = logging.getLogger(__name__)


class EventWriter:
    """Writes protocol events, one compact JSON object per line, flushed."""

    def __init__(self, stream: TextIO) -> None:
        self._stream = stream

    def emit(self, event: str, **fields: object) -> None:
        """Write ``{"event": event, **fields}`` as one line."""
        line = json.dumps(
            {"event": event, **fields}, separators=(",", ":"), allow_nan=False
        )
        self._stream.write(line + "\n")
        self._stream.flush()


class _Progress:
    """Reports each trial, and the best so far whenever it improves."""

    def __init__(self, events: EventWriter, spec: TrainingSpec) -> None:
        self._events = events
        self._direction = metric_direction(spec.metric or "accuracy")
        self._best: float | None = None
        self.count = 0

    def on_trial(self, trial: TrialResult) -> None:
        self.count += 1
        scores = [s if math.isfinite(s) else None for s in trial.fold_scores]
        self._events.emit(
            "trial",
            number=trial.number,
            params=trial.params,
            state=trial.state,
            score=trial.score,
            fold_scores=scores,
            duration_s=round(trial.duration_s, 6),
            error=trial.error,
        )
        log.info("trial %d %s score=%s", trial.number, trial.state, trial.score)
        if trial.score is not None and improves(
            self._direction, trial.score, self._best
        ):
            self._best = trial.score
            self._events.emit("best", number=trial.number, score=trial.score)


def _read_spec(job_dir: Path) -> TrainingSpec:
    path = job_dir / SPEC_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"{SPEC_FILE}: cannot read it ({type(exc).__name__})"
        raise InvalidInput(msg) from None
    spec = parse_spec(text)
    if spec.kind != "search":
        msg = "kind entrypoint jobs run the user's file; this runner only searches"
        raise InvalidInput(msg)
    return spec


def _data_file(job_dir: Path) -> tuple[Path, Literal["csv", "parquet"]]:
    present = [
        (job_dir / n, f) for n, f in DATA_FILES.items() if (job_dir / n).is_file()
    ]
    if len(present) != 1:
        msg = f"the job needs exactly one of {', '.join(DATA_FILES)}"
        raise InvalidInput(msg)
    return present[0]


def _write_atomically(path: Path, data: bytes) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    partial.replace(path)


def _outputs(job_dir: Path, result: SearchResult) -> dict[str, object]:
    model_file = f"model.{result.model_format}"
    _write_atomically(job_dir / model_file, result.model_bytes)
    summary: dict[str, object] = {
        "best_number": result.best_number,
        "best_params": result.best_params,
        "best_score": result.best_score,
        "metric": result.metric,
        "direction": result.direction,
        "model_file": model_file,
        "model_format": result.model_format,
        "model_sha256": hashlib.sha256(result.model_bytes).hexdigest(),
        "trusted_types": result.trusted_types,
        "signature": result.signature,
        "classes": result.classes,
        "n_rows": result.n_rows,
        "n_trials": len(result.trials),
        "n_failed": sum(t.state == "failed" for t in result.trials),
        "duration_s": round(result.duration_s, 6),
    }
    trials = [
        {
            **asdict(t),
            "fold_scores": [s if math.isfinite(s) else None for s in t.fold_scores],
        }
        for t in result.trials
    ]
    document = json.dumps({**summary, "trials": trials}, indent=2)
    _write_atomically(job_dir / RESULT_FILE, document.encode("utf-8"))
    return summary


def _search(job_dir: Path, events: EventWriter, executor_name: str) -> int:
    spec = _read_spec(job_dir)
    data_path, fmt = _data_file(job_dir)
    assert spec.search is not None  # noqa: S101 - parse_spec fills it for search
    events.emit(
        "started",
        pid=os.getpid(),
        estimator=spec.estimator,
        task=spec.task,
        metric=spec.metric,
        direction=metric_direction(spec.metric or "accuracy"),
        sampler=spec.search.sampler,
        n_trials=spec.search.n_trials,
        parallelism=spec.search.parallelism,
        executor=executor_name,
    )
    frame = load_frame(data_path, fmt)
    log.info("loaded %d rows, %d columns", frame.n_rows, len(frame.columns))
    progress = _Progress(events, spec)
    executor = executor_for(executor_name)
    try:
        result = run_search(
            spec,
            frame,
            executor=executor,
            on_trial=progress.on_trial,
            should_stop=(job_dir / CANCEL_FILE).exists,
        )
    except SearchCancelled:
        events.emit("cancelled", n_trials=progress.count)
        return EXIT_CANCELLED
    finally:
        executor.close()
    events.emit("finished", **_outputs(job_dir, result))
    return EXIT_OK


def run_job(job_dir: Path, events: EventWriter, *, executor_name: str) -> int:
    """Run the search job in ``job_dir``, reporting to ``events``.

    Returns:
        The exit status: :data:`EXIT_OK`, :data:`EXIT_FAILED` or
        :data:`EXIT_CANCELLED`. Every failure is reported as a ``failed`` event;
        this function does not raise for them.
    """
    try:
        return _search(job_dir, events, executor_name)
    except PhantomError as exc:
        log.warning("job failed: %s", exc.detail)
        events.emit("failed", error=exc.detail[:MAX_ERROR])
    except Exception as exc:
        log.exception("job crashed")
        events.emit("failed", error=f"{type(exc).__name__}: {exc}"[:MAX_ERROR])
    return EXIT_FAILED


def _claim_stdout() -> TextIO:
    """Keep the real standard output for events; send fd 1 to standard error.

    Native libraries print to file descriptor 1 directly, so replacing
    ``sys.stdout`` is not enough: the descriptor itself is pointed at stderr.
    """
    sys.stdout.flush()
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    return protocol


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line, run the job, and return the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m phantom.training.jobs.runner",
        description="Run a Phantom training search job; JSON lines on stdout.",
    )
    parser.add_argument("job_dir", type=Path, help="the job's directory")
    args = parser.parse_args(argv)
    protocol = _claim_stdout()
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    executor_name = os.environ.get("PHANTOM_EXECUTOR", "local")
    try:
        return run_job(args.job_dir, EventWriter(protocol), executor_name=executor_name)
    finally:
        protocol.close()


if __name__ == "__main__":
    sys.exit(main())
