"""The training context's HTTP routes (all tenant-scoped, all in OpenAPI).

::

    GET    /v1/datasets                                  a page of datasets
    POST   /v1/datasets                                  register a server file (admins)
    GET    /v1/datasets/{name}                           one dataset
    GET    /v1/datasets/{name}/versions                  its versions, newest first
    POST   /v1/datasets/{name}/versions                  upload a CSV or Parquet body
    GET    /v1/datasets/{name}/versions/{version}        one version with its profile
    GET    /v1/datasets/{name}/versions/{version}/content    its bytes
    GET    /v1/experiments                               a page of experiments
    POST   /v1/experiments                               create one
    GET    /v1/experiments/{experiment}                  one, by id or name
    POST   /v1/runs                                      start a run
    GET    /v1/runs                                      search runs (filter, order_by)
    GET    /v1/runs/compare?ids=..&ids=..                runs side by side
    GET    /v1/runs/{run_id}                             one run
    PATCH  /v1/runs/{run_id}                             log params, set tags, end it
    POST   /v1/runs/{run_id}/metrics                     a batch of metric points
    GET    /v1/runs/{run_id}/metrics                     every metric's summary
    GET    /v1/runs/{run_id}/metrics/{key}               one metric's history (columnar)
    GET    /v1/runs/{run_id}/artifacts                   the run's artifacts
    PUT    /v1/runs/{run_id}/artifacts/{name}            attach a file (raw body)
    GET    /v1/runs/{run_id}/artifacts/{name}            its bytes
    POST   /v1/jobs                                      submit a training job (spec)
    GET    /v1/jobs                                      the tenant's jobs, newest first
    GET    /v1/jobs/{job_id}                             one job: progress, result
    POST   /v1/jobs/{job_id}/cancel                      cancel it (its worker stops it)
    GET    /v1/jobs/{job_id}/logs                        its stored output lines
    POST   /v1/batch-jobs                                score a dataset with a model
    GET    /v1/batch-jobs                                the tenant's batch jobs
    GET    /v1/batch-jobs/{job_id}                       one: progress, result
    GET    /v1/batch-jobs/{job_id}/output                its predictions (Parquet)

Uploads are raw request bodies streamed to a spooled temporary file (so the
artifact store hashes and stores them without holding them in memory), bounded by
``PHANTOM_MAX_UPLOAD_BYTES``. The gateway has already authenticated the caller and
checked the route's permission; the service checks again and acts as them.
"""

# No ``from __future__ import annotations``: FastAPI reads the route signatures at
# runtime.

import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import datetime
from typing import IO, Annotated, Any, Final

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_core import to_json
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from phantom.kernel.errors import PayloadTooLarge
from phantom.tenancy.api import Page, Principal, request_principal
from phantom.training.api import (
    ArtifactInfo,
    DatasetInfo,
    DatasetVersionInfo,
    ExperimentInfo,
    JobInfo,
    JobLogLine,
    MetricSummary,
    RunComparison,
    RunInfo,
)
from phantom.training.job_service import JobService
from phantom.training.service import MetricInput, TrainingService

__all__ = ["training_router"]

_SPOOL_BYTES: Final = 8 * 1024 * 1024
_CHUNK: Final = 1024 * 1024
_MAX_POINTS: Final = 10_000
_ERRORS: Final[dict[int | str, dict[str, Any]]] = {
    401: {"description": "Unauthorized"},
    403: {"description": "Forbidden"},
    404: {"description": "Not found (also another tenant's ids)"},
    422: {"description": "Invalid input"},
}
_WRITES: Final[dict[int | str, dict[str, Any]]] = {
    **_ERRORS,
    409: {"description": "Conflict"},
    413: {"description": "Payload too large"},
    429: {"description": "Quota or rate limit"},
}

Caller = Annotated[Principal, Depends(request_principal)]
Name = Annotated[str, Path(min_length=1, max_length=100)]
RunId = Annotated[str, Path(min_length=1, max_length=64)]
After = Annotated[str | None, Query(max_length=200)]
Limit = Annotated[int, Query(ge=1, le=500)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


Label = Annotated[str, Field(min_length=1, max_length=100)]
Text = Annotated[str, Field(max_length=2000)]


class DatasetImport(_Body):
    """``POST /v1/datasets``: register a file already on the server."""

    name: Label
    path: Annotated[str, Field(min_length=1, max_length=4096)]
    format: Annotated[str, Field(pattern="^(csv|parquet)$")] | None = None
    description: Text | None = None


class ExperimentCreate(_Body):
    """``POST /v1/experiments``."""

    name: Label
    description: Text | None = None


class RunCreate(_Body):
    """``POST /v1/runs``: start a run (a new experiment name creates it)."""

    experiment: Label
    name: Label | None = None
    params: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    dataset: Label | None = None
    dataset_version: Annotated[int, Field(ge=1)] | None = None


class RunUpdate(_Body):
    """``PATCH /v1/runs/{id}``: params to log, tags to set, then the end status."""

    params: dict[str, str] | None = None
    tags: dict[str, str] | None = None
    status: Annotated[str, Field(pattern="^(finished|failed|killed)$")] | None = None


class MetricIn(_Body):
    """One metric point; ``timestamp`` defaults to when the server received it."""

    key: Annotated[str, Field(min_length=1, max_length=250)]
    value: float
    step: Annotated[int, Field(ge=0, le=2**63 - 1)] = 0
    timestamp: datetime | None = None


class MetricBatch(_Body):
    """``POST /v1/runs/{id}/metrics``: up to 10,000 points, written all or nothing."""

    metrics: Annotated[list[MetricIn], Field(max_length=_MAX_POINTS)]


class JobSubmit(_Body):
    """``POST /v1/jobs``: the spec and, for an ``entrypoint`` job, its files.

    ``spec`` is an object or YAML/JSON text; ``files`` maps names to contents.
    """

    spec: dict[str, Any] | Annotated[str, Field(max_length=262_144)]
    files: (
        Annotated[
            dict[str, Annotated[str, Field(max_length=262_144)]],
            Field(max_length=20),
        ]
        | None
    ) = None


class BatchJobCreate(_Body):
    """``POST /v1/batch-jobs``: score every row of a dataset version with a model.

    Without ``version`` or ``alias`` the ``production`` alias's version scores;
    either way the version is pinned when the job is queued. Without
    ``dataset_version`` the latest version is pinned.
    """

    model: Label
    version: Annotated[int, Field(ge=1)] | None = None
    alias: Label | None = None
    dataset: Label
    dataset_version: Annotated[int, Field(ge=1)] | None = None
    name: Label | None = None
    priority: Annotated[int, Field(ge=0, le=9)] = 5
    max_retries: Annotated[int, Field(ge=0, le=10)] = 2


_METRIC_BATCH_SCHEMA: Final[dict[str, Any]] = {
    "title": "MetricBatch",
    "type": "object",
    "properties": {
        "metrics": {
            "type": "array",
            "maxItems": _MAX_POINTS,
            "items": MetricIn.model_json_schema(),
        }
    },
    "required": ["metrics"],
    "additionalProperties": False,
}
"""The documented body of ``POST /v1/runs/{id}/metrics`` (parsed from raw bytes)."""


class MetricsWritten(BaseModel):
    """How many points were written."""

    written: int


async def _spool(request: Request, limit: int) -> IO[bytes]:
    """The request body in a spooled temporary file (memory, then disk)."""
    spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL_BYTES)  # noqa: SIM115 - handed on
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            spool.close()
            msg = f"The upload exceeds the limit of {limit} bytes."
            raise PayloadTooLarge(msg, max_bytes=limit)
        spool.write(chunk)
    spool.seek(0)
    return spool


def _stream(opened: Callable[[], Any]) -> Callable[[], AsyncIterator[bytes]]:
    """Iterate an ``open_*`` context manager's stream in the thread pool."""

    def chunks() -> Iterator[bytes]:
        with opened() as (_, stream):
            while chunk := stream.read(_CHUNK):
                yield chunk

    def start() -> AsyncIterator[bytes]:
        return iterate_in_threadpool(chunks())

    return start


def training_router(
    service: TrainingService, jobs: JobService, max_upload_bytes: int
) -> APIRouter:
    """The training routes over ``service`` and ``jobs`` (see the module docstring)."""
    router = APIRouter(prefix="/v1")
    _dataset_routes(router, service, max_upload_bytes)
    _experiment_routes(router, service)
    _run_routes(router, service, max_upload_bytes)
    _job_routes(router, jobs)
    _batch_routes(router, jobs)
    return router


def _batch_routes(router: APIRouter, jobs: JobService) -> None:
    tags: list[str | Any] = ["batch-jobs"]
    job_id_path = Annotated[str, Path(min_length=1, max_length=64)]

    @router.post(
        "/batch-jobs",
        status_code=201,
        tags=tags,
        operation_id="submit_batch_job",
        responses=_WRITES,
    )
    async def submit_batch_job(caller: Caller, body: BatchJobCreate) -> JobInfo:
        """Queue a batch job: a worker scores the dataset into a Parquet file.

        An unknown model, version or alias is a 404; an unknown dataset a 422.
        """
        spec = {"kind": "batch", **body.model_dump(exclude_none=True)}
        return await run_in_threadpool(jobs.submit, caller, spec)

    @router.get(
        "/batch-jobs", tags=tags, operation_id="list_batch_jobs", responses=_ERRORS
    )
    async def list_batch_jobs(
        caller: Caller,
        status: Annotated[
            str | None,
            Query(pattern="^(queued|running|succeeded|failed|cancelled)$"),
        ] = None,
        after: After = None,
        limit: Limit = 50,
    ) -> Page[JobInfo]:
        """The tenant's batch jobs, newest first (cancel one at /v1/jobs)."""
        return await run_in_threadpool(
            jobs.list_jobs,
            caller,
            status=status,
            kind="batch",
            after=after,
            limit=limit,
        )

    @router.get(
        "/batch-jobs/{job_id}",
        tags=tags,
        operation_id="get_batch_job",
        responses=_ERRORS,
    )
    async def get_batch_job(caller: Caller, job_id: job_id_path) -> JobInfo:
        """One batch job: its status, ``rows_done`` of ``rows_total``, its result."""
        return await run_in_threadpool(jobs.get_batch_job, caller, job_id)

    @router.get(
        "/batch-jobs/{job_id}/output",
        tags=tags,
        operation_id="download_batch_output",
        responses={
            **_ERRORS,
            409: {"description": "The job has not succeeded (yet)"},
            200: {"content": {"application/vnd.apache.parquet": {}}},
        },
        response_class=StreamingResponse,
    )
    async def download_batch_output(
        caller: Caller, job_id: job_id_path
    ) -> StreamingResponse:
        """The predictions: the feature columns, ``prediction``, ``proba_<class>``."""

        def find() -> JobInfo:
            with jobs.open_batch_output(caller, job_id) as (job, _):
                return job

        job = await run_in_threadpool(find)
        result = job.result or {}
        start = _stream(lambda: jobs.open_batch_output(caller, job_id))
        return StreamingResponse(
            start(),
            media_type="application/vnd.apache.parquet",
            headers={
                "ETag": f'"{result["output_digest"]}"',
                "Content-Length": str(result["output_bytes"]),
                "Content-Disposition": (
                    f'attachment; filename="batch-{job.job_id[-12:]}.parquet"'
                ),
            },
        )


def _job_routes(router: APIRouter, jobs: JobService) -> None:
    tags: list[str | Any] = ["jobs"]
    job_id_path = Annotated[str, Path(min_length=1, max_length=64)]

    @router.post(
        "/jobs",
        status_code=201,
        tags=tags,
        operation_id="submit_job",
        responses=_WRITES,
    )
    async def submit_job(caller: Caller, body: JobSubmit) -> JobInfo:
        """Queue a training job; an invalid spec is a 422 naming the field."""
        return await run_in_threadpool(jobs.submit, caller, body.spec, body.files)

    @router.get("/jobs", tags=tags, operation_id="list_jobs", responses=_ERRORS)
    async def list_jobs(
        caller: Caller,
        status: Annotated[
            str | None,
            Query(pattern="^(queued|running|succeeded|failed|cancelled)$"),
        ] = None,
        after: After = None,
        limit: Limit = 50,
    ) -> Page[JobInfo]:
        """The tenant's jobs, newest first."""
        return await run_in_threadpool(
            jobs.list_jobs, caller, status=status, after=after, limit=limit
        )

    @router.get("/jobs/{job_id}", tags=tags, operation_id="get_job", responses=_ERRORS)
    async def get_job(caller: Caller, job_id: job_id_path) -> JobInfo:
        """One job: its status, progress and, once done, its result."""
        return await run_in_threadpool(jobs.get_job, caller, job_id)

    @router.post(
        "/jobs/{job_id}/cancel",
        tags=tags,
        operation_id="cancel_job",
        responses=_WRITES,
    )
    async def cancel_job(caller: Caller, job_id: job_id_path) -> JobInfo:
        """Cancel a queued job, or ask a running one's worker to stop it."""
        return await run_in_threadpool(jobs.cancel_job, caller, job_id)

    @router.get(
        "/jobs/{job_id}/logs", tags=tags, operation_id="job_logs", responses=_ERRORS
    )
    async def job_logs(
        caller: Caller,
        job_id: job_id_path,
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
    ) -> list[JobLogLine]:
        """The job's output lines after ``seq`` ``after`` (poll to follow)."""
        return await run_in_threadpool(
            jobs.logs, caller, job_id, after=after, limit=limit
        )


def _dataset_routes(router: APIRouter, service: TrainingService, limit: int) -> None:
    tags: list[str | Any] = ["datasets"]

    @router.get("/datasets", tags=tags, operation_id="list_datasets", responses=_ERRORS)
    async def list_datasets(
        caller: Caller, after: After = None, limit: Limit = 50
    ) -> Page[DatasetInfo]:
        """A page of the tenant's datasets, by name."""
        return await run_in_threadpool(
            service.list_datasets, caller, after=after, limit=limit
        )

    @router.post(
        "/datasets",
        status_code=201,
        tags=tags,
        operation_id="import_dataset",
        responses=_WRITES,
    )
    async def import_dataset(caller: Caller, body: DatasetImport) -> DatasetVersionInfo:
        """Register a file on the server (platform administrators, import roots)."""
        return await run_in_threadpool(
            service.import_dataset,
            caller,
            body.name,
            body.path,
            declared_format=body.format,
            description=body.description,
        )

    @router.get(
        "/datasets/{name}", tags=tags, operation_id="get_dataset", responses=_ERRORS
    )
    async def get_dataset(caller: Caller, name: Name) -> DatasetInfo:
        """One dataset, by name or id."""
        return await run_in_threadpool(service.get_dataset, caller, name)

    @router.get(
        "/datasets/{name}/versions",
        tags=tags,
        operation_id="list_dataset_versions",
        responses=_ERRORS,
    )
    async def list_versions(caller: Caller, name: Name) -> list[DatasetVersionInfo]:
        """Every version of a dataset, newest first (profiles left out)."""
        return await run_in_threadpool(service.list_versions, caller, name)

    @router.post(
        "/datasets/{name}/versions",
        status_code=201,
        tags=tags,
        operation_id="upload_dataset",
        responses=_WRITES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {"schema": {"type": "string", "format": "binary"}},
                    "application/vnd.apache.parquet": {
                        "schema": {"type": "string", "format": "binary"}
                    },
                },
            }
        },
    )
    async def upload_dataset(
        caller: Caller,
        name: Name,
        request: Request,
        format: Annotated[  # noqa: A002 - the query parameter is called format
            str | None, Query(pattern="^(csv|parquet)$")
        ] = None,
        description: Annotated[str | None, Query(max_length=2000)] = None,
    ) -> DatasetVersionInfo:
        """Upload a CSV or Parquet file as the dataset's next version.

        The dataset is created on its first upload; the bytes of the latest
        version uploaded again answer that version. The body is the file itself.
        """
        spool = await _spool(request, limit)
        try:
            return await run_in_threadpool(
                service.upload_dataset,
                caller,
                name,
                spool,
                declared_format=format,
                description=description,
            )
        finally:
            spool.close()

    @router.get(
        "/datasets/{name}/versions/{version}",
        tags=tags,
        operation_id="get_dataset_version",
        responses=_ERRORS,
    )
    async def get_version(
        caller: Caller, name: Name, version: Annotated[int, Path(ge=1)]
    ) -> DatasetVersionInfo:
        """One version of a dataset, with its schema and column profile."""
        return await run_in_threadpool(service.get_version, caller, name, version)

    @router.get(
        "/datasets/{name}/versions/{version}/content",
        tags=tags,
        operation_id="download_dataset_version",
        responses={**_ERRORS, 200: {"content": {"application/octet-stream": {}}}},
        response_class=StreamingResponse,
    )
    async def download_version(
        caller: Caller, name: Name, version: Annotated[int, Path(ge=1)]
    ) -> StreamingResponse:
        """The version's file, byte for byte as uploaded."""
        info = await run_in_threadpool(service.get_version, caller, name, version)
        media = "text/csv" if info.format == "csv" else "application/vnd.apache.parquet"
        start = _stream(lambda: service.open_version(caller, name, version))
        return StreamingResponse(
            start(),
            media_type=media,
            headers={
                "ETag": f'"{info.digest}"',
                "Content-Length": str(info.size_bytes),
            },
        )


def _experiment_routes(router: APIRouter, service: TrainingService) -> None:
    tags: list[str | Any] = ["experiments"]

    @router.get(
        "/experiments", tags=tags, operation_id="list_experiments", responses=_ERRORS
    )
    async def list_experiments(
        caller: Caller, after: After = None, limit: Limit = 50
    ) -> Page[ExperimentInfo]:
        """A page of the tenant's experiments, by name."""
        return await run_in_threadpool(
            service.list_experiments, caller, after=after, limit=limit
        )

    @router.post(
        "/experiments",
        status_code=201,
        tags=tags,
        operation_id="create_experiment",
        responses=_WRITES,
    )
    async def create_experiment(
        caller: Caller, body: ExperimentCreate
    ) -> ExperimentInfo:
        """Create an experiment (409 when the name is taken)."""
        return await run_in_threadpool(
            service.create_experiment, caller, body.name, body.description
        )

    @router.get(
        "/experiments/{experiment}",
        tags=tags,
        operation_id="get_experiment",
        responses=_ERRORS,
    )
    async def get_experiment(caller: Caller, experiment: Name) -> ExperimentInfo:
        """One experiment, by id or name."""
        return await run_in_threadpool(service.get_experiment, caller, experiment)


def _run_routes(router: APIRouter, service: TrainingService, limit: int) -> None:
    tags: list[str | Any] = ["runs"]

    @router.post(
        "/runs", status_code=201, tags=tags, operation_id="start_run", responses=_WRITES
    )
    async def start_run(caller: Caller, body: RunCreate) -> RunInfo:
        """Start a run in an experiment (a new experiment name creates it)."""
        return await run_in_threadpool(
            service.start_run,
            caller,
            experiment=body.experiment,
            name=body.name,
            params=body.params,
            tags=body.tags,
            dataset=body.dataset,
            dataset_version=body.dataset_version,
        )

    @router.get("/runs", tags=tags, operation_id="search_runs", responses=_ERRORS)
    async def search_runs(  # noqa: PLR0913, PLR0917 - the query parameters
        caller: Caller,
        experiment: Annotated[str | None, Query(max_length=100)] = None,
        status: Annotated[
            str | None, Query(pattern="^(running|finished|failed|killed)$")
        ] = None,
        filter: Annotated[  # noqa: A002 - the query parameter is called filter
            str | None, Query(max_length=2000)
        ] = None,
        order_by: Annotated[str | None, Query(max_length=300)] = None,
        after: After = None,
        limit: Limit = 50,
    ) -> Page[RunInfo]:
        """Search runs; ``filter`` reads like ``metrics.acc > 0.9 and tags.x = 'y'``."""
        return await run_in_threadpool(
            service.search_runs,
            caller,
            experiment=experiment,
            status=status,
            filter_text=filter,
            order_by=order_by,
            after=after,
            limit=limit,
        )

    @router.get(
        "/runs/compare", tags=tags, operation_id="compare_runs", responses=_ERRORS
    )
    async def compare_runs(
        caller: Caller,
        ids: Annotated[list[str], Query(min_length=2, max_length=20)],
    ) -> RunComparison:
        """2 to 20 runs side by side: every param and metric; which params differ."""
        return await run_in_threadpool(service.compare_runs, caller, ids)

    @router.get("/runs/{run_id}", tags=tags, operation_id="get_run", responses=_ERRORS)
    async def get_run(caller: Caller, run_id: RunId) -> RunInfo:
        """One run with its latest metrics and artifacts."""
        return await run_in_threadpool(service.get_run, caller, run_id)

    @router.patch(
        "/runs/{run_id}", tags=tags, operation_id="update_run", responses=_WRITES
    )
    async def update_run(caller: Caller, run_id: RunId, body: RunUpdate) -> RunInfo:
        """Log params (never changing one), set tags, then end the run if asked."""

        def apply() -> RunInfo:
            info = None
            if body.params:
                info = service.log_params(caller, run_id, body.params)
            if body.tags:
                info = service.set_tags(caller, run_id, body.tags)
            if body.status is not None:
                info = service.end_run(caller, run_id, body.status)
            return info or service.get_run(caller, run_id)

        return await run_in_threadpool(apply)

    _metric_routes(router, service)
    _artifact_routes(router, service, limit)


def _metric_routes(router: APIRouter, service: TrainingService) -> None:
    tags: list[str | Any] = ["runs"]

    @router.post(
        "/runs/{run_id}/metrics",
        tags=tags,
        operation_id="log_metrics",
        responses=_WRITES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": _METRIC_BATCH_SCHEMA}},
            }
        },
    )
    async def log_metrics(
        caller: Caller, run_id: RunId, request: Request
    ) -> MetricsWritten:
        """Write up to 10,000 metric points, all or nothing.

        The body (a :class:`MetricBatch`) is validated straight from its bytes by
        pydantic's JSON parser: half the cost of decoding then validating.
        """
        raw = await request.body()
        try:
            batch = MetricBatch.model_validate_json(raw)
        except ValidationError as exc:
            raise RequestValidationError(exc.errors(include_url=False)) from None
        points = [
            MetricInput(key=m.key, value=m.value, step=m.step, timestamp=m.timestamp)
            for m in batch.metrics
        ]
        written = await run_in_threadpool(service.log_metrics, caller, run_id, points)
        return MetricsWritten(written=written)

    @router.get(
        "/runs/{run_id}/metrics",
        tags=tags,
        operation_id="list_run_metrics",
        responses=_ERRORS,
    )
    async def list_metrics(caller: Caller, run_id: RunId) -> list[MetricSummary]:
        """Every metric of the run: last value, range and count."""
        return await run_in_threadpool(service.metric_summaries, caller, run_id)

    @router.get(
        "/runs/{run_id}/metrics/{key:path}",
        tags=tags,
        operation_id="get_metric_history",
        responses={
            **_ERRORS,
            200: {
                "description": "The points in step order, as parallel arrays",
                "content": {
                    "application/json": {
                        "example": {
                            "key": "loss",
                            "steps": [0, 1],
                            "timestamps_us": [1700000000000000, 1700000000100000],
                            "values": [0.9, 0.7],
                        }
                    }
                },
            },
        },
    )
    async def metric_history(
        caller: Caller,
        run_id: RunId,
        key: Annotated[str, Path(min_length=1, max_length=250)],
        max_points: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
    ) -> Response:
        """One metric's history: ``steps``, ``timestamps_us`` and ``values`` arrays."""

        def read() -> bytes:
            steps, stamps, values = service.metric_history(
                caller, run_id, key, max_points=max_points
            )
            document = {
                "key": key,
                "steps": steps,
                "timestamps_us": stamps,
                "values": values,
            }
            return to_json(document, inf_nan_mode="constants")

        return Response(await run_in_threadpool(read), media_type="application/json")


def _artifact_routes(router: APIRouter, service: TrainingService, limit: int) -> None:
    tags: list[str | Any] = ["runs"]

    @router.get(
        "/runs/{run_id}/artifacts",
        tags=tags,
        operation_id="list_run_artifacts",
        responses=_ERRORS,
    )
    async def list_artifacts(caller: Caller, run_id: RunId) -> list[ArtifactInfo]:
        """The run's artifacts, by name."""
        info = await run_in_threadpool(service.get_run, caller, run_id)
        return info.artifacts

    @router.put(
        "/runs/{run_id}/artifacts/{name:path}",
        status_code=201,
        tags=tags,
        operation_id="log_artifact",
        responses=_WRITES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {
                        "schema": {"type": "string", "format": "binary"}
                    }
                },
            }
        },
    )
    async def log_artifact(
        caller: Caller,
        run_id: RunId,
        name: Annotated[str, Path(min_length=1, max_length=255)],
        request: Request,
    ) -> ArtifactInfo:
        """Attach the body as the run's artifact ``name`` (replacing one so named)."""
        media = request.headers.get("content-type", "application/octet-stream")[:100]
        spool = await _spool(request, limit)
        try:
            return await run_in_threadpool(
                service.log_artifact, caller, run_id, name, spool, media_type=media
            )
        finally:
            spool.close()

    @router.get(
        "/runs/{run_id}/artifacts/{name:path}",
        tags=tags,
        operation_id="download_run_artifact",
        responses={**_ERRORS, 200: {"content": {"application/octet-stream": {}}}},
        response_class=StreamingResponse,
    )
    async def download_artifact(
        caller: Caller,
        run_id: RunId,
        name: Annotated[str, Path(min_length=1, max_length=255)],
    ) -> StreamingResponse:
        """The artifact's bytes."""

        def find() -> ArtifactInfo:
            with service.open_artifact(caller, run_id, name) as (info, _):
                return info

        info = await run_in_threadpool(find)
        start = _stream(lambda: service.open_artifact(caller, run_id, name))
        return StreamingResponse(
            start(),
            media_type=info.media_type,
            headers={
                "ETag": f'"{info.digest}"',
                "Content-Length": str(info.size_bytes),
            },
        )
