"""Batch inference from the command line, through the SDK.

::

    phantom batch submit MODEL --dataset D [--dataset-version N]
                         [--version N | --alias A] [--wait] [--output PATH] [--json]
    phantom batch list [--status S] [--json]
    phantom batch show JOB [--json]
    phantom batch download JOB PATH

A training worker scores every row of the dataset version with the model
version (the ``production`` alias's unless told) into a Parquet file: the
model's feature columns, ``prediction`` and one ``proba_<class>`` column per
class. ``--wait`` follows the job until it ends and exits 1 unless it succeeded;
``--output`` waits too and saves the Parquet file. Every command takes
``--url`` and ``--api-key`` (see :mod:`phantom.cli.remote`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Final

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from phantom.cli.remote import (
    ApiKeyOption,
    JsonOption,
    UrlOption,
    fail,
    print_json,
    print_listing,
    talks_to_server,
    when,
)
from phantom.sdk import Client
from phantom.sdk.models import BatchJob

__all__ = ["batch_app"]

batch_app = typer.Typer(
    help="Score a whole dataset with a model into a Parquet file.",
    no_args_is_help=True,
)
_POLL_S: Final = 1.0


def _rows(job: BatchJob) -> str:
    done, total = job.progress.get("rows_done"), job.progress.get("rows_total")
    if total is None:
        return ""
    return f"{done or 0}/{total}"


def _show(job: BatchJob) -> None:
    version = "" if job.version is None else f" v{job.version}"
    typer.echo(f"batch job {job.job_id} ({job.name}): {job.model}{version}")
    typer.echo(
        f"  dataset {job.spec.get('dataset')} v{job.spec.get('dataset_version')}"
    )
    typer.echo(f"  status {job.status} after {job.attempts} attempt(s)")
    if rows := _rows(job):
        typer.echo(f"  rows {rows}")
    if job.error:
        typer.echo(f"  error: {job.error}")
    result = job.result or {}
    if result:
        typer.echo(
            f"  output parquet, {result.get('rows')} rows, "
            f"{result.get('output_bytes')} bytes, sha256 {result.get('output_digest')}"
        )


def _follow(client: Client, job: BatchJob) -> BatchJob:
    """Poll the job until it ends, showing the rows scored."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        transient=False,
    ) as progress:
        task = progress.add_task(f"batch {job.job_id[-8:]} {job.status}", total=None)
        while True:
            total = job.progress.get("rows_total")
            done = job.progress.get("rows_done")
            progress.update(
                task,
                description=f"batch {job.job_id[-8:]} {job.status}",
                total=total if isinstance(total, int) else None,
                completed=done if isinstance(done, int) else 0,
            )
            if job.finished:
                return job
            time.sleep(_POLL_S)
            job = client.batch_jobs.get(job.job_id)


@batch_app.command("submit")
@talks_to_server
def submit(  # noqa: PLR0913 - the job's options, keyword-only
    model: Annotated[str, typer.Argument(help="The registered model.")],
    *,
    dataset: Annotated[
        str, typer.Option("--dataset", help="The dataset to score (name or id).")
    ],
    dataset_version: Annotated[
        int | None,
        typer.Option("--dataset-version", min=1, help="This version (else latest)."),
    ] = None,
    version: Annotated[
        int | None, typer.Option("--version", min=1, help="This model version.")
    ] = None,
    alias: Annotated[
        str | None,
        typer.Option(
            "--alias", help="The version this alias serves (default: production)."
        ),
    ] = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Follow the job until it ends.")
    ] = False,
    output: Annotated[
        Path | None,
        typer.Option("--output", help="Wait, then save the Parquet file here."),
    ] = None,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Queue a batch job: MODEL scores every row of --dataset into Parquet."""
    if version is not None and alias is not None:
        msg = "give --version or --alias, not both"
        raise fail(msg)
    with Client(url, api_key) as client:
        job = client.batch_jobs.submit(
            model,
            dataset=dataset,
            version=version,
            alias=alias,
            dataset_version=dataset_version,
        )
        if not wait and output is None:
            if as_json:
                print_json(job)
            else:
                typer.echo(f"batch job {job.job_id} queued ({job.name})")
            return
        job = (
            client.batch_jobs.wait(job.job_id, poll_s=_POLL_S)
            if as_json
            else _follow(client, job)
        )
        saved = (
            client.batch_jobs.download(job.job_id, output)
            if output is not None and job.status == "succeeded"
            else None
        )
    if as_json:
        print_json(job)
    else:
        _show(job)
        if saved is not None:
            typer.echo(f"saved {saved}")
    if job.status != "succeeded":
        reason = f": {job.error}" if job.error else ""
        msg = f"batch job {job.job_id} {job.status}{reason}"
        raise fail(msg)


@batch_app.command("list")
@talks_to_server
def list_jobs(
    status: Annotated[
        str | None,
        typer.Option("--status", help="queued, running, succeeded, failed..."),
    ] = None,
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """The tenant's batch jobs, newest first."""
    with Client(url, api_key) as client:
        jobs = client.batch_jobs.list(status)
    print_listing(
        jobs,
        ("job", "model", "dataset", "status", "rows", "created"),
        lambda job: (
            job.job_id,
            job.model + ("" if job.version is None else f" v{job.version}"),
            f"{job.spec.get('dataset')} v{job.spec.get('dataset_version')}",
            job.status,
            _rows(job),
            when(job.created_at),
        ),
        as_json=as_json,
    )


@batch_app.command("show")
@talks_to_server
def show(
    job_id: str,
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """One batch job: its status, rows scored and output."""
    with Client(url, api_key) as client:
        job = client.batch_jobs.get(job_id)
    if as_json:
        print_json(job)
    else:
        _show(job)


@batch_app.command("download")
@talks_to_server
def download(
    job_id: str,
    path: Annotated[Path, typer.Argument(help="The file (or folder) to write.")],
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
) -> None:
    """Save a succeeded batch job's Parquet output."""
    with Client(url, api_key) as client:
        saved = client.batch_jobs.download(job_id, path)
    typer.echo(f"saved {saved}")
