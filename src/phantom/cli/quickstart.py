"""``phantom quickstart``: the whole platform, end to end, in under a minute.

::

    phantom quickstart [--keep]

It starts an embedded server (SQLite, DuckDB, file artifacts) in a temporary home
on a free loopback port, in this process, then walks the path a user takes:

1. start the server (migrations, the gateway, one training worker);
2. create a tenant and its owner, as ``phantom up`` does on its first run;
3. register a generated dataset (2,000 customers; nothing is downloaded);
4. run a training job: a 10-trial search, cross-validated;
5. the job registers its best model in the registry (``register_as``);
6. deploy that version behind ``production`` (the deploy saga);
7. send 1,000 predictions, one request each, and measure their latency;
8. send 500 customers whose spend and tenure have shifted, and report drift
   against the training data (the per-feature table is printed at the end);
9. verify the tenant's audit chain.

Every step after the tenant goes through the SDK, so over the real HTTP API, with
the owner's API key. A table sums up each step's result and seconds. Any failed
step stops the run: the table so far, one ``error:`` line naming the step, and
exit status 1. The temporary home is deleted afterwards unless ``--keep``.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeVar

import numpy as np
import typer
import uvicorn
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from phantom import __version__
from phantom.cli import CliState, build_for, quiet_settings, reports_errors
from phantom.cli.admin import (
    FIRST_OWNER_EMAIL,
    FIRST_TENANT_NAME,
    FIRST_TENANT_SLUG,
    migrate_all,
)
from phantom.cli.demo import TARGET, churn_csv, churn_rows, features_of
from phantom.cli.monitor import print_drift
from phantom.cli.tenancy import create_first_tenant, tenancy_of
from phantom.gateway import create_app
from phantom.kernel.errors import PhantomError
from phantom.kernel.settings import Settings
from phantom.sdk import ApiError, Client, PhantomSdkError

if TYPE_CHECKING:
    from phantom.bootstrap import Container

__all__ = ["QUICKSTART_SPEC", "quickstart"]

T = TypeVar("T")

DATASET: Final = "churn"
MODEL: Final = "churn-model"
TRAINING_ROWS: Final = 2_000
PREDICTIONS: Final = 1_000
SHIFTED_PREDICTIONS: Final = 500
N_TRIALS: Final = 10
QUICKSTART_SPEC: Final[dict[str, Any]] = {
    "name": "quickstart-churn",
    "experiment": "quickstart",
    "dataset": DATASET,
    "target": TARGET,
    "task": "classification",
    "estimator": "random_forest",
    "params": {"n_estimators": 25},
    "search": {
        "space": {
            "max_depth": {"type": "int", "low": 2, "high": 12},
            "min_samples_leaf": {"type": "int", "low": 1, "high": 30},
        },
        "n_trials": N_TRIALS,
        "seed": 7,
    },
    "cv": {"folds": 3},
    "metric": "roc_auc",
    "register_as": MODEL,
}
"""The training job: a 10-trial search over a random forest's depth and leaves."""

_START_TIMEOUT_S: Final = 60.0
_STOP_TIMEOUT_S: Final = 30.0
_JOB_TIMEOUT_S: Final = 300.0
_POLL_S: Final = 0.25
_FINISHED: Final = frozenset({"succeeded", "failed", "cancelled"})
_EXIT_FAILED: Final = 1


class StepFailedError(Exception):
    """A step of the quickstart failed; its message says why, in one line."""


@dataclass(slots=True)
class _Row:
    step: str
    result: str
    seconds: float
    ok: bool


@dataclass(slots=True)
class _Steps:
    """Runs the steps in order, timing each and keeping a row per step."""

    console: Console
    rows: list[_Row] = field(default_factory=list)

    def run(
        self,
        name: str,
        action: Callable[[], tuple[T, str]],
        *,
        spinner: bool = True,
    ) -> T:
        """Run ``action`` (answering its value and a one-line result) as ``name``.

        ``spinner=False`` for an action that shows its own progress (Rich shows
        one live display at a time).

        Raises:
            StepFailedError: the action failed (the row says why).
        """
        started = time.perf_counter()
        try:
            with (
                self.console.status(f"{name}...")
                if spinner
                else contextlib.nullcontext()
            ):
                value, result = action()
        except Exception as exc:
            reason = _reason(exc)
            seconds = time.perf_counter() - started
            self.rows.append(_Row(name, reason, seconds, ok=False))
            self.console.print(f"[red]✗[/] {name}: {reason}")
            msg = f"{name}: {reason}"
            raise StepFailedError(msg) from exc
        seconds = time.perf_counter() - started
        self.rows.append(_Row(name, result, seconds, ok=True))
        self.console.print(f"[green]✓[/] {name} [dim]({seconds:.2f} s)[/]")
        return value

    def table(self, total_s: float) -> Table:
        title = f"Phantom ML {__version__} quickstart"
        table = Table(title=title, title_justify="left")
        table.add_column("Step")
        table.add_column("Result")
        table.add_column("Seconds", justify="right")
        for row in self.rows:
            mark = "[green]✓[/]" if row.ok else "[red]✗[/]"
            table.add_row(f"{mark} {row.step}", row.result, f"{row.seconds:.2f}")
        table.add_section()
        table.add_row("Total", "", f"{total_s:.2f}")
        return table


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ApiError):
        where = f" (request {exc.request_id})" if exc.request_id else ""
        return f"{exc.detail}{where}"
    if isinstance(exc, PhantomError):
        return exc.detail
    if isinstance(exc, (PhantomSdkError, StepFailedError)):
        return str(exc)
    return f"unexpected {type(exc).__name__}: {exc}"


# -- the embedded server ---------------------------------------------------------


def _loopback_socket() -> socket.socket:
    """A socket bound to a free loopback port, handed to uvicorn as is (no race).

    Its protocol is named: asyncio turns Nagle's algorithm off (``TCP_NODELAY``)
    only on connections whose socket says ``IPPROTO_TCP``; without it, every
    small response waits for a delayed ACK (40 ms).
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def _embedded_settings(home: Path, port: int) -> Settings:
    """Embedded defaults in ``home``, whatever the environment names elsewhere."""
    contexts = Settings.model_fields["contexts"].get_default(call_default_factory=True)
    urls = {
        name: f"sqlite:///{(home / 'db' / f'{name}.sqlite').as_posix()}"
        for name in contexts
    }
    return quiet_settings(
        home=home,
        host="127.0.0.1",
        port=port,
        contexts=contexts,
        database_url=None,
        database_urls=urls,
        bus_url="memory://",
        cache_url="memory://",
        artifacts_url=None,
        analytics_url=None,
        analytics_writer=True,
        public_url=None,
        executor="local",
        in_process_workers=1,
        rate_limit_per_second=0.0,  # 1,000 requests in a few seconds, on purpose
        api_key_pepper=None,
        jwt_hs256_secret=None,
    )


@dataclass(slots=True)
class _Server:
    url: str
    container: Container
    uvicorn: uvicorn.Server
    thread: threading.Thread


def _start(settings: Settings, sock: socket.socket, state: CliState) -> _Server:
    container = build_for(settings, state)
    try:
        migrate_all(container)
        app = create_app(settings, container=container)
        config = uvicorn.Config(
            app,
            log_config=None,
            access_log=False,
            server_header=False,
            lifespan="on",
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [sock]},
            name="quickstart-server",
            daemon=True,
        )
        thread.start()
    except BaseException:
        container.close()
        raise
    running = _Server(f"http://127.0.0.1:{settings.port}", container, server, thread)
    deadline = time.monotonic() + _START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            _stop(running)
            msg = "the embedded server did not start; see the log above"
            raise StepFailedError(msg)
        time.sleep(0.02)
    return running


def _stop(server: _Server) -> None:
    server.uvicorn.should_exit = True
    server.thread.join(_STOP_TIMEOUT_S)
    server.container.close()  # idempotent: the app's lifespan closed it already


@contextmanager
def _home(*, keep: bool) -> Iterator[Path]:
    if keep:
        yield Path(tempfile.mkdtemp(prefix="phantom-quickstart-"))
        return
    with tempfile.TemporaryDirectory(
        prefix="phantom-quickstart-", ignore_cleanup_errors=True
    ) as folder:
        yield Path(folder)


# -- the steps -------------------------------------------------------------------


def _register_dataset(client: Client) -> tuple[None, str]:
    rows = churn_rows(TRAINING_ROWS, seed=0)
    version = client.datasets.upload(
        DATASET, churn_csv(rows), format="csv", description="Generated churn data."
    )
    churn_rate = sum(int(row[TARGET]) for row in rows) / len(rows)
    result = (
        f"{version.name} v{version.version}: {version.row_count:,} rows, "
        f"{len(version.columns)} columns, {churn_rate:.0%} churned (generated)"
    )
    return None, result


def _train(client: Client, console: Console) -> tuple[dict[str, Any], str]:
    job = _object(client.post("/v1/jobs", {"spec": QUICKSTART_SPEC}))
    job_id = str(job["job_id"])
    deadline = time.monotonic() + _JOB_TIMEOUT_S
    with Progress(
        TextColumn("  trials"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[best]}"),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task("trials", total=N_TRIALS, best="")
        while job["status"] not in _FINISHED:
            if time.monotonic() > deadline:
                msg = f"job {job_id} still {job['status']} after {_JOB_TIMEOUT_S:.0f} s"
                raise StepFailedError(msg)
            time.sleep(_POLL_S)
            job = _object(client.get(f"/v1/jobs/{job_id}"))
            state = job.get("progress") or {}
            best = state.get("best_score")
            progress.update(
                task,
                completed=state.get("trials_done") or 0,
                best="" if best is None else f"best {best:.4f}",
            )
    if job["status"] != "succeeded":
        msg = f"job {job_id} {job['status']}: {job.get('error') or 'no reason given'}"
        raise StepFailedError(msg)
    result = _object(job.get("result") or {})
    params = ", ".join(f"{k}={v}" for k, v in (result.get("best_params") or {}).items())
    summary = (
        f"{result.get('n_trials')} trials, best {result.get('metric')} "
        f"{float(result.get('best_score') or 0):.4f} ({params})"
    )
    return result, summary


def _registered(client: Client, result: dict[str, Any]) -> tuple[int, str]:
    registered = result.get("registered_model")
    if not isinstance(registered, dict):
        reason = result.get("registration_error") or "the job registered no model"
        raise StepFailedError(str(reason))
    version = client.models.version(str(registered["name"]), int(registered["version"]))
    if not version.signature:
        msg = f"{version.name} v{version.version} has no signature"
        raise StepFailedError(msg)
    summary = (
        f"{version.name} v{version.version} ({version.format}, "
        f"{len(version.signature)} features), by the job"
    )
    return version.version, summary


def _deploy(client: Client, version: int) -> tuple[None, str]:
    deployed = client.deployments.deploy(MODEL, version)
    if deployed.state != "succeeded":
        failed = next((s for s in deployed.steps if s.state == "failed"), None)
        where = f" at {failed.name}: {failed.detail}" if failed else ""
        msg = f"the deploy ended {deployed.state}{where} {deployed.error or ''}"
        raise StepFailedError(msg.strip())
    steps = ", ".join(step.name for step in deployed.steps)
    return None, f"{deployed.alias} → {MODEL} v{deployed.version} ({steps})"


def _same(predicted: object, expected: int) -> bool:
    try:
        return float(predicted) == float(expected)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _predict(client: Client) -> tuple[None, str]:
    rows = churn_rows(PREDICTIONS, seed=1)  # customers the model never saw
    latencies = np.empty(len(rows))
    correct = 0
    started = time.perf_counter()
    for i, row in enumerate(rows):
        sent = time.perf_counter()
        answer = client.models.predict(MODEL, [features_of(row)])
        latencies[i] = time.perf_counter() - sent
        correct += _same(answer.predictions[0], int(row[TARGET]))
    elapsed = time.perf_counter() - started
    p50, p99 = np.percentile(latencies, [50, 99]) * 1_000
    summary = (
        f"{len(rows):,} requests, accuracy {correct / len(rows):.1%}, "
        f"p50 {p50:.1f} ms, p99 {p99:.1f} ms, {len(rows) / elapsed:,.0f} req/s"
    )
    return None, summary


def _drift(client: Client) -> tuple[dict[str, Any], str]:
    """Shifted traffic, then a recorded drift report over it."""
    since = datetime.now(UTC)
    rows = churn_rows(SHIFTED_PREDICTIONS, seed=2)
    for row in rows:  # richer, newer customers than the model was trained on
        row["monthly_spend"] = round(float(row["monthly_spend"]) * 1.6, 2)
        row["tenure_months"] = max(1, int(row["tenure_months"]) // 3)
    for start in range(0, len(rows), 100):
        batch = [features_of(row) for row in rows[start : start + 100]]
        client.models.predict(MODEL, batch)
    found = _await_drift(client, since)
    body = found["report"]
    drifted = ", ".join(body["drifted_features"]) or "none"
    summary = (
        f"{body['current_rows']} shifted rows vs {found['reference_rows']:,} training "
        f"rows: drifted {drifted}"
    )
    return found, summary


def _await_drift(client: Client, since: datetime) -> dict[str, Any]:
    """The recorded report once the prediction log has the shifted rows."""
    deadline = time.monotonic() + 10.0
    while True:
        found = client.monitoring.drift(MODEL, since=since, record=True)
        enough = found["report"]["current_rows"] >= SHIFTED_PREDICTIONS
        if enough or time.monotonic() > deadline:
            return found
        time.sleep(0.2)


def _verify_audit(client: Client) -> tuple[None, str]:
    verdict = _object(client.get("/v1/audit/verify"))
    if not verdict.get("intact"):
        problem = verdict.get("problem") or {}
        msg = f"the audit chain is broken: {problem}"
        raise StepFailedError(msg)
    summary = f"intact: {verdict.get('checked')} hash-chained entries"
    if verdict.get("checkpoint_seq"):
        summary += f", signed up to #{verdict['checkpoint_seq']}"
    return None, summary


def _object(value: object) -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = "the server answered something other than a JSON object"
        raise PhantomSdkError(msg)
    return value


# -- the command -----------------------------------------------------------------


def _walk(steps: _Steps, state: CliState, home: Path) -> tuple[str, dict[str, Any]]:
    """Every step, in order; the owner's API key and the drift report."""
    sock = _loopback_socket()  # the server listens on it, and closes it
    try:
        settings = _embedded_settings(home, sock.getsockname()[1])
        server = steps.run(
            "Start embedded server",
            lambda: (_start(settings, sock, state), f"127.0.0.1:{settings.port}"),
        )
    except BaseException:
        sock.close()
        raise
    try:
        created = steps.run(
            "Create tenant",
            lambda: (
                create_first_tenant(
                    tenancy_of(server.container),
                    name=FIRST_TENANT_NAME,
                    slug=FIRST_TENANT_SLUG,
                    owner_email=FIRST_OWNER_EMAIL,
                ),
                f"{FIRST_TENANT_SLUG}, owner {FIRST_OWNER_EMAIL} and an API key",
            ),
        )
        key = created.owner_key.plaintext.get_secret_value()
        with Client(server.url, key, timeout=120.0) as client:
            steps.run("Register dataset", lambda: _register_dataset(client))
            result = steps.run(
                f"Train ({N_TRIALS}-trial search)",
                lambda: _train(client, steps.console),
                spinner=False,
            )
            version = steps.run(
                "Register best model", lambda: _registered(client, result)
            )
            steps.run("Deploy", lambda: _deploy(client, version))
            steps.run(f"Predict ({PREDICTIONS:,} requests)", lambda: _predict(client))
            drift = steps.run("Drift report (shifted traffic)", lambda: _drift(client))
            steps.run("Verify audit chain", lambda: _verify_audit(client))
    finally:
        _stop(server)
    return key, drift


@reports_errors
def quickstart(
    ctx: typer.Context,
    *,
    keep: Annotated[
        bool,
        typer.Option("--keep", help="Keep the temporary home (and print where)."),
    ] = False,
) -> None:
    """Run the whole platform once, end to end, against a throwaway server.

    Tenant, dataset, a 10-trial training job, the best model registered and
    deployed, 1,000 predictions, a drift report on shifted traffic and the audit
    chain verified; then a summary.
    """
    console = Console()
    steps = _Steps(console)
    console.print(f"[bold]Phantom ML {__version__} quickstart[/]: an embedded server")
    started = time.perf_counter()
    with _home(keep=keep) as home:
        try:
            key, drift = _walk(steps, CliState.of(ctx), home)
        except StepFailedError as exc:
            console.print(steps.table(time.perf_counter() - started))
            typer.echo(f"error: quickstart failed at {exc}", err=True)
            raise typer.Exit(_EXIT_FAILED) from None
        console.print(steps.table(time.perf_counter() - started))
        console.print("[bold]Drift of the shifted traffic[/] (phantom monitor report):")
        print_drift(drift)
        if keep:
            console.print(f"Kept the home at {home}; serve it again with:")
            typer.echo(f"PHANTOM_HOME={home} phantom up")
            typer.echo(f"PHANTOM_API_KEY={key}")
        else:
            console.print(
                "All of it ran in a temporary home, now deleted. "
                "`make up` starts a server that stays."
            )
