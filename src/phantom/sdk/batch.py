"""``client.batch_jobs``: score a whole dataset with a model, get Parquet back.

::

    client = phantom.Client()
    job = client.batch_jobs.submit("churn", dataset="customers")  # production
    job = client.batch_jobs.wait(job.job_id)
    if job.status == "succeeded":
        client.batch_jobs.download(job.job_id, "scored.parquet")

A training worker runs the job: the model version (pinned when the job is
queued: ``version``, else the ``alias``'s, ``production`` by default) scores
every row of the dataset version (the latest unless ``dataset_version``). The
output has the model's feature columns, ``prediction`` and, for a classifier
with probabilities, one ``proba_<class>`` column per class.
"""

from __future__ import annotations

import builtins
import os
import time
from pathlib import Path
from typing import Final

from phantom.sdk.datasets import CHUNK_BYTES, iter_pages, save_stream
from phantom.sdk.models import BatchJob
from phantom.sdk.runs import new_idempotency_key
from phantom.sdk.transport import Transport
from phantom.sdk.wire import encode, segment

__all__ = ["BatchJobs"]

_PATH: Final = "/v1/batch-jobs"


class BatchJobs:
    """The tenant's batch inference jobs (``/v1/batch-jobs``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def submit(  # noqa: PLR0913 - the job's options, keyword-only
        self,
        model: str,
        *,
        dataset: str,
        version: int | None = None,
        alias: str | None = None,
        dataset_version: int | None = None,
        name: str | None = None,
        priority: int | None = None,
        max_retries: int | None = None,
    ) -> BatchJob:
        """Queue a job scoring every row of ``dataset`` with ``model``.

        Raises:
            NotFoundError: no such model, version or alias.
            ValidationError: no such dataset (or version), or a bad option.
        """
        body: dict[str, object] = {"model": model, "dataset": dataset}
        optional = {
            "version": version,
            "alias": alias,
            "dataset_version": dataset_version,
            "name": name,
            "priority": priority,
            "max_retries": max_retries,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        response = self._transport.request(
            "POST",
            _PATH,
            json=encode(body),
            headers={"Idempotency-Key": new_idempotency_key()},
        )
        return BatchJob.model_validate_json(response.content)

    def get(self, job_id: str) -> BatchJob:
        """One batch job: its status, progress and, once done, its result."""
        response = self._transport.request("GET", f"{_PATH}/{segment(job_id)}")
        return BatchJob.model_validate_json(response.content)

    def list(self, status: str | None = None) -> builtins.list[BatchJob]:
        """The tenant's batch jobs, newest first (of one ``status``, when given)."""
        query = None if status is None else {"status": status}
        return [
            BatchJob.model_validate(item)
            for item in iter_pages(self._transport, _PATH, query=query)
        ]

    def wait(
        self, job_id: str, *, timeout: float | None = None, poll_s: float = 1.0
    ) -> BatchJob:
        """Poll the job until it ends; the job as it ended.

        A failed or cancelled job is answered, not raised: look at its
        ``status`` and ``error``.

        Raises:
            TimeoutError: it had not ended after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.get(job_id)
            if job.finished:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                msg = f"batch job {job_id} is still {job.status} after {timeout} s"
                raise TimeoutError(msg)
            time.sleep(max(poll_s, 0.05))

    def cancel(self, job_id: str) -> BatchJob:
        """Cancel a queued job, or ask its worker to stop a running one."""
        path = f"/v1/jobs/{segment(job_id)}/cancel"
        response = self._transport.request("POST", path)
        return BatchJob.model_validate_json(response.content)

    def download(self, job_id: str, dest_path: str | os.PathLike[str]) -> Path:
        """Save a succeeded job's Parquet output to ``dest_path``, checking its SHA-256.

        Returns:
            The file written (``dest_path``; inside it, as
            ``batch-<job id>.parquet``, when it is a folder).

        Raises:
            ConflictError: the job has not succeeded (yet).
        """
        target = Path(dest_path)
        if target.is_dir():
            target /= f"batch-{Path(job_id).name}.parquet"
        path = f"{_PATH}/{segment(job_id)}/output"
        with self._transport.stream("GET", path) as response:
            save_stream(
                response.iter_bytes(CHUNK_BYTES),
                target,
                response.headers.get("etag"),
                self._transport.base_url,
            )
        return target
