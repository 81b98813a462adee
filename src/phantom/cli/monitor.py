"""``phantom monitor``: drift reports, performance and serving analytics.

::

    phantom monitor report MODEL [--version N] [--hours H] [--record] [--json]
    phantom monitor performance MODEL [--version N] [--hours H] [--json]
    phantom monitor serving [--model M] [--hours H] [--json]

``report`` prints one row per feature (and model output): its statistic, the
value, the threshold and whether it drifted. ``--record`` keeps the report in
the history and emits ``monitoring.DriftDetected`` when something crossed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import typer

from phantom.cli.remote import (
    ApiKeyOption,
    JsonOption,
    UrlOption,
    print_json,
    print_listing,
    talks_to_server,
)
from phantom.sdk import Client

__all__ = ["monitor_app", "print_drift"]

monitor_app = typer.Typer(
    help="Drift reports, performance and serving analytics.", no_args_is_help=True
)
VersionOption = Annotated[int | None, typer.Option("--version", min=1)]
HoursOption = Annotated[
    float, typer.Option("--hours", min=0.001, help="The window: the last H hours.")
]


def _since(hours: float) -> datetime:
    return datetime.now(UTC) - timedelta(hours=hours)


def _number(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return "" if value is None else str(value)


def _drift_row(column: dict[str, Any]) -> tuple[str, ...]:
    verdict = "DRIFT" if column["drifted"] else "ok"
    if column.get("insufficient_data"):
        verdict = "too little data"
    return (
        column["name"],
        column["kind"],
        column["statistic"],
        _number(column["value"]),
        _number(column["threshold"]),
        verdict,
        str(column["current_size"]),
    )


@monitor_app.command("report")
@talks_to_server
def report(  # noqa: PLR0913 - the window and the connection
    model: str,
    version: VersionOption = None,
    hours: HoursOption = 24.0,
    *,
    record: Annotated[bool, typer.Option("--record")] = False,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """A drift table per feature for MODEL's logged traffic against its reference."""
    with Client(url, api_key) as client:
        found = client.monitoring.drift(
            model, version=version, since=_since(hours), record=record
        )
    if as_json:
        print_json(found)
        return
    print_drift(found)


def print_drift(found: dict[str, Any]) -> None:
    """A drift report as a heading, one row per column, and the verdict."""
    body = found["report"]
    typer.echo(
        f"{found['model']} v{found['version']}: {body['current_rows']} rows since "
        f"{found['since']} against {found['reference_rows']} reference rows "
        f"({found['reference_source']})"
    )
    columns = [*body["features"], *body["predictions"]]
    headers = ("column", "kind", "statistic", "value", "threshold", "verdict", "rows")
    print_listing(columns, headers, _drift_row, as_json=False)
    drifted = ", ".join(body["drifted_features"]) or "-"
    share = f"{body['drift_share']:.0%}" if body["drift_share"] is not None else "-"
    verdict = "DRIFTED" if body["dataset_drifted"] else "not drifted"
    typer.echo(f"dataset: {verdict} ({share} of features; drifted: {drifted})")


@monitor_app.command("performance")
@talks_to_server
def performance(  # noqa: PLR0913 - the window and the connection
    model: str,
    version: VersionOption = None,
    hours: HoursOption = 24.0,
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """MODEL's metrics from feedback labels, and the label-free estimate."""
    with Client(url, api_key) as client:
        found = client.monitoring.performance(
            model, version=version, since=_since(hours)
        )
    if as_json:
        print_json(found)
        return
    typer.echo(
        f"{found['model']}: {found['labelled']} labelled of {found['answered']} "
        f"answered requests ({found['task']})"
    )
    rows = [("measured", k, v) for k, v in sorted(found["metrics"].items())]
    rows += [("estimated", k, v) for k, v in sorted(found["estimated"].items())]
    print_listing(
        rows,
        ("source", "metric", "value"),
        lambda row: (row[0], row[1], _number(row[2])),
        as_json=False,
    )


@monitor_app.command("serving")
@talks_to_server
def serving(
    model: Annotated[str | None, typer.Option("--model")] = None,
    hours: HoursOption = 24.0,
    *,
    url: UrlOption = None,
    api_key: ApiKeyOption = None,
    as_json: JsonOption = False,
) -> None:
    """Latency percentiles, throughput and error rates per model and version."""
    with Client(url, api_key) as client:
        found = client.monitoring.serving(model=model, since=_since(hours))
    print_listing(
        found,
        ("model", "version", "route", "requests", "errors", "p50 ms", "p99 ms"),
        lambda s: (
            s["model"],
            f"v{s['version']}",
            s["route"],
            str(s["requests"]),
            f"{s['error_rate']:.1%}",
            _number(s["latency_p50_ms"]),
            _number(s["latency_p99_ms"]),
        ),
        as_json=as_json,
    )
