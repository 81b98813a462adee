"""Training from the command line, through the SDK against a running server.

::

    phantom login [--url URL] [--api-key KEY]
    phantom datasets register FILE --name NAME [--format csv|parquet] [--json]
    phantom datasets list|show NAME [--version N] [--json]
    phantom runs list [--experiment E] [--filter F] [--order-by O] [--json]
    phantom runs show RUN_ID [--json]
    phantom runs compare RUN_ID RUN_ID... [--json]
    phantom train submit SPEC.yaml [--file train.py]... [--follow] [--json]
    phantom train list|status JOB|cancel JOB|logs JOB [--follow]

The server and key come from ``--url``/``--api-key`` where offered, else
``PHANTOM_URL``/``PHANTOM_API_KEY``, else the profile ``phantom login`` wrote.
Every read takes ``--json``. A problem the server answers is printed as one line
(``error: ...``) with exit status 1; an unreachable server or a missing setting
says exactly that.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Any, Final

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from phantom.cli.remote import (
    JsonOption,
    add_row,
    fail,
    print_json,
    print_listing,
    talks_to_server,
)
from phantom.sdk import Client
from phantom.sdk.config import save_profile
from phantom.sdk.errors import PhantomSdkError

__all__ = ["datasets_app", "login", "runs_app", "train_app"]

datasets_app = typer.Typer(help="Register and inspect datasets.", no_args_is_help=True)
runs_app = typer.Typer(help="Search, show and compare runs.", no_args_is_help=True)
train_app = typer.Typer(help="Submit and follow training jobs.", no_args_is_help=True)

_FINISHED: Final = frozenset({"succeeded", "failed", "cancelled"})
_POLL_S: Final = 0.5
_EXIT_FAILED: Final = 1


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = "the server answered something other than a JSON object"
        raise PhantomSdkError(msg)
    return value


def _objects(value: object) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        msg = "the server answered something other than a list of objects"
        raise PhantomSdkError(msg)
    return value


# -- login --------------------------------------------------------------------


@talks_to_server
def login(
    url: Annotated[
        str, typer.Option("--url", help="The server.", prompt="Server URL")
    ] = "http://127.0.0.1:8000",
    api_key: Annotated[
        str,
        typer.Option("--api-key", help="Your API key.", prompt=True, hide_input=True),
    ] = "",
) -> None:
    """Check a server URL and API key, then save them as your profile (0600)."""
    with Client(url=url, api_key=api_key) as client:
        me = client.get("/v1/me")
    path = save_profile(url, api_key)
    tenant = me.get("tenant_id") if isinstance(me, dict) else "?"
    typer.echo(f"logged in to {url} (tenant {tenant}); profile saved to {path}")


# -- datasets -----------------------------------------------------------------


@datasets_app.command("register")
@talks_to_server
def register_dataset(
    file: Annotated[Path, typer.Argument(help="A CSV or Parquet file.")],
    name: Annotated[str, typer.Option("--name", help="The dataset's name.")],
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or parquet (else sniffed).")
    ] = None,
    description: Annotated[str | None, typer.Option("--description")] = None,
    *,
    as_json: JsonOption = False,
) -> None:
    """Upload FILE as the next version of dataset NAME (created if new)."""
    with Client() as client:
        version = client.datasets.upload(
            name,
            file,
            format=fmt,  # type: ignore[arg-type]
            description=description,
        )
    if as_json:
        print_json(version)
        return
    typer.echo(
        f"{version.name} v{version.version}: {version.row_count} rows, "
        f"{len(version.columns)} columns, sha256 {version.digest[:12]}"
    )


@datasets_app.command("list")
@talks_to_server
def list_datasets(*, as_json: JsonOption = False) -> None:
    """The tenant's datasets."""
    with Client() as client:
        items = client.datasets.list()
    print_listing(
        items,
        ("name", "latest", "updated", "description"),
        lambda item: (
            item.name,
            str(item.latest_version),
            str(item.updated_at),
            item.description,
        ),
        as_json=as_json,
    )


@datasets_app.command("show")
@talks_to_server
def show_dataset(
    name: str,
    version: Annotated[int | None, typer.Option("--version", min=1)] = None,
    *,
    as_json: JsonOption = False,
) -> None:
    """One version of a dataset (the latest by default) with its column profile."""
    with Client() as client:
        number = version or client.datasets.get(name).latest_version
        found = client.datasets.version(name, number)
    if as_json:
        print_json(found)
        return
    typer.echo(
        f"{found.name} v{found.version} ({found.format}, {found.row_count} rows, "
        f"sha256 {found.digest})"
    )
    table = Table("column", "type", "nulls", "distinct", "mean", "min", "max", "top")
    for column in found.profile or []:
        top = ", ".join(f"{t.value} ({t.count})" for t in (column.top or [])[:3])
        add_row(
            table,
            column.name,
            column.type,
            str(column.nulls),
            str(column.distinct),
            *(_number(getattr(column, field)) for field in ("mean", "min", "max")),
            top,
        )
    Console().print(table)


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


# -- runs ---------------------------------------------------------------------


@runs_app.command("list")
@talks_to_server
def list_runs(
    experiment: Annotated[str | None, typer.Option("--experiment")] = None,
    filter_text: Annotated[
        str | None,
        typer.Option(
            "--filter", help="e.g. \"metrics.accuracy > 0.9 and params.x = '1'\""
        ),
    ] = None,
    order_by: Annotated[
        str | None, typer.Option("--order-by", help="e.g. 'metrics.accuracy desc'")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=500)] = 50,
    *,
    as_json: JsonOption = False,
) -> None:
    """Runs, searched by params, metrics and tags."""
    with Client() as client:
        runs = list(
            client.runs.search(
                experiment=experiment,
                filter=filter_text,
                order_by=order_by,
                limit=limit,
            )
        )[:limit]
    if as_json:
        print_json(runs)
        return
    table = Table("run", "name", "status", "metrics", "params")
    for run in runs:
        metrics = ", ".join(f"{k}={v:.4g}" for k, v in sorted(run.metrics.items()))
        params = ", ".join(f"{k}={v}" for k, v in sorted(run.params.items()))
        add_row(table, run.run_id, run.name, run.status, metrics, params)
    Console().print(table)


@runs_app.command("show")
@talks_to_server
def show_run(run_id: str, *, as_json: JsonOption = False) -> None:
    """One run: params, tags, latest metrics, artifacts."""
    with Client() as client:
        run = client.runs.get(run_id)
    if as_json:
        print_json(run)
        return
    typer.echo(f"{run.name} ({run.run_id}) {run.status}")
    for title, values in (
        ("params", run.params),
        ("metrics", run.metrics),
        ("tags", run.tags),
    ):
        table = Table(title, "value")
        for key, value in sorted(values.items()):
            add_row(table, key, str(value))
        Console().print(table)
    for artifact in run.artifacts:
        typer.echo(f"artifact {artifact.name} ({artifact.size_bytes} bytes)")


@runs_app.command("compare")
@talks_to_server
def compare_runs(
    run_ids: Annotated[list[str], typer.Argument(help="2 to 20 run ids.")],
    *,
    as_json: JsonOption = False,
) -> None:
    """Runs side by side: params (the differing ones marked *) and metrics."""
    with Client() as client:
        compared = client.runs.compare(run_ids)
    if as_json:
        print_json(compared)
        return
    table = Table("", *(run.name for run in compared.runs))
    for key in compared.param_keys:
        mark = " *" if key in compared.differing_params else ""
        add_row(
            table,
            f"params.{key}{mark}",
            *(run.params.get(key, "") for run in compared.runs),
        )
    for key in compared.metric_keys:
        add_row(
            table,
            f"metrics.{key}",
            *(_number(run.metrics.get(key)) for run in compared.runs),
        )
    Console().print(table)


# -- train --------------------------------------------------------------------


@train_app.command("submit")
@talks_to_server
def submit(
    spec_file: Annotated[Path, typer.Argument(help="The job spec (YAML or JSON).")],
    files: Annotated[
        list[Path] | None,
        typer.Option(
            "--file",
            help="A file an entrypoint job needs (repeat); named as given, "
            "relative to the current directory.",
        ),
    ] = None,
    *,
    follow: Annotated[
        bool, typer.Option("--follow", help="Show progress until the job ends.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Queue a training job; with --follow, a progress bar per trial until it ends."""
    attached: dict[str, str] = {}
    try:
        text = spec_file.read_text(encoding="utf-8")
        for path in files or []:
            attached[path.as_posix()] = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read a file: {exc}"
        raise fail(msg) from None
    body: dict[str, Any] = {"spec": text}
    if attached:
        body["files"] = attached
    with Client() as client:
        job = _object(client.post("/v1/jobs", body))
        if not follow:
            if as_json:
                print_json(job)
            else:
                typer.echo(f"job {job['job_id']} queued ({job['name']})")
            return
        final = _follow(client, str(job["job_id"]))
    if as_json:
        print_json(final)
    else:
        _summary(final)
    if final["status"] != "succeeded":
        raise typer.Exit(_EXIT_FAILED)


def _follow(client: Client, job_id: str) -> dict[str, Any]:
    """Poll the job until it ends, showing trials done and the best score."""
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[best]}"),
        transient=False,
    ) as progress:
        task = progress.add_task(f"job {job_id[-8:]} queued", total=None, best="")
        while True:
            job = _object(client.get(f"/v1/jobs/{job_id}"))
            state = job.get("progress") or {}
            best = state.get("best_score")
            metric = state.get("metric") or "score"
            progress.update(
                task,
                description=f"job {job_id[-8:]} {job['status']}",
                total=state.get("trials_total"),
                completed=state.get("trials_done") or 0,
                best="" if best is None else f"best {metric} {best:.4f}",
            )
            if job["status"] in _FINISHED:
                return job
            time.sleep(_POLL_S)


def _summary(job: dict[str, Any]) -> None:
    typer.echo(
        f"job {job['job_id']} {job['status']} after {job['attempts']} attempt(s)"
    )
    if job.get("error"):
        typer.echo(f"  error: {job['error']}")
    result = job.get("result") or {}
    if result:
        typer.echo(
            f"  best {result.get('metric')} {result.get('best_score')} "
            f"(run {result.get('best_run_id')})"
        )
        typer.echo(f"  params {json.dumps(result.get('best_params'))}")
        typer.echo(
            f"  model {result.get('model_format')} sha256 {result.get('model_digest')}"
        )


@train_app.command("list")
@talks_to_server
def list_jobs(
    status: Annotated[str | None, typer.Option("--status")] = None,
    *,
    as_json: JsonOption = False,
) -> None:
    """The tenant's jobs, newest first."""
    with Client() as client:
        page = _object(
            client.get("/v1/jobs", params={"status": status} if status else None)
        )
    jobs = _objects(page["items"])
    print_listing(
        jobs,
        ("job", "name", "status", "trials", "best"),
        lambda job: (
            job["job_id"],
            job["name"],
            job["status"],
            _trials(job.get("progress") or {}),
            _number((job.get("progress") or {}).get("best_score")),
        ),
        as_json=as_json,
    )


def _trials(state: dict[str, Any]) -> str:
    return f"{state.get('trials_done', 0)}/{state.get('trials_total') or '?'}"


@train_app.command("status")
@talks_to_server
def job_status(job_id: str, *, as_json: JsonOption = False) -> None:
    """One job: its status, progress and result."""
    with Client() as client:
        job = _object(client.get(f"/v1/jobs/{job_id}"))
    if as_json:
        print_json(job)
    else:
        _summary(job)


@train_app.command("cancel")
@talks_to_server
def cancel_job(job_id: str) -> None:
    """Cancel a queued job, or ask its worker to stop a running one."""
    with Client() as client:
        job = _object(client.post(f"/v1/jobs/{job_id}/cancel"))
    typer.echo(f"job {job_id} {job['status']}")


@train_app.command("logs")
@talks_to_server
def job_logs(
    job_id: str,
    *,
    follow: Annotated[bool, typer.Option("--follow")] = False,
) -> None:
    """The job's output lines (--follow: until the job ends)."""
    after = 0
    with Client() as client:
        while True:
            lines = _objects(
                client.get(f"/v1/jobs/{job_id}/logs", params={"after": after})
            )
            for line in lines:
                typer.echo(line["line"])
                after = int(line["seq"])
            if not follow:
                return
            job = _object(client.get(f"/v1/jobs/{job_id}"))
            if job["status"] in _FINISHED and not lines:
                return
            time.sleep(_POLL_S)
