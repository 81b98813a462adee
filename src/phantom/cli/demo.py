"""The demo data, and the demo tenant ``phantom up`` starts with on its first run.

Nothing is downloaded: :func:`churn_rows` generates a customer-churn table with
numpy (six numeric features, a 0/1 ``churned`` target, a learnable signal), which
``phantom quickstart`` (:mod:`phantom.cli.quickstart`) trains on too.

On its first run ``phantom up`` also creates a ``demo`` tenant (its owner is no
platform administrator) and, once the server answers, :func:`build_demo` fills it
through the SDK, like a user would: the dataset, a run that trains a small
logistic regression, the model ``demo`` registered from the run's artifact with
its signature and lineage, and a deploy behind ``production``. It then checks one
prediction and :func:`curl_line` prints the same request as a ready-to-paste
``curl``. ``phantom up --no-demo`` (or ``PHANTOM_DEMO=0``) skips all of it.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import numpy as np
import typer

from phantom.cli.tenancy import SYSTEM
from phantom.sdk import Client, PhantomSdkError, RetryPolicy
from phantom.sdk.wire import Metric
from phantom.tenancy.commands import CreateTenant

if TYPE_CHECKING:
    from phantom.tenancy.api import CreatedTenant
    from phantom.tenancy.service import TenancyService

__all__ = [
    "DEMO_MODEL",
    "DEMO_OWNER_EMAIL",
    "DEMO_TENANT_SLUG",
    "FEATURES",
    "SIGNATURE",
    "TARGET",
    "DemoModel",
    "DemoStopped",
    "build_demo",
    "churn_csv",
    "churn_rows",
    "create_demo_tenant",
    "curl_line",
    "features_of",
    "run_demo",
]

Row = dict[str, int | float]

TARGET: Final = "churned"
FEATURES: Final[tuple[tuple[str, str], ...]] = (
    ("tenure_months", "integer"),
    ("monthly_spend", "float"),
    ("support_tickets", "integer"),
    ("logins_per_week", "float"),
    ("late_payments", "integer"),
    ("age", "integer"),
)
"""The features, in the models' order, with their signature types."""
SIGNATURE: Final = [{"name": name, "type": kind} for name, kind in FEATURES]

DEMO_TENANT_NAME: Final = "Demo"
DEMO_TENANT_SLUG: Final = "demo"
DEMO_OWNER_EMAIL: Final = "demo@phantom.local"
DEMO_MODEL: Final = "demo"
DEMO_DATASET: Final = "demo-churn"
DEMO_ROWS: Final = 1_000
_DEMO_TIMEOUT_S: Final = 60.0


def churn_rows(n: int, seed: int = 0) -> list[Row]:
    """``n`` generated customers: the features, then ``churned`` (0 or 1).

    Churn grows with spend, support tickets and late payments, and falls with
    tenure and activity, through a logistic link: a model learns it well (ROC AUC
    about 0.85) without being perfect. Same ``seed``, same rows.
    """
    rng = np.random.default_rng(seed)
    tenure = rng.integers(1, 73, n)
    spend = np.round(rng.gamma(4.0, 15.0, n) + 10.0, 2)
    tickets = rng.poisson(1.2, n)
    logins = np.round(rng.gamma(2.0, 2.5, n), 1)
    late = rng.poisson(0.4, n)
    age = rng.integers(18, 80, n)
    logit = (
        0.4
        - 0.06 * tenure
        + 0.015 * spend
        + 0.6 * tickets
        - 0.3 * logins
        + 0.9 * late
        - 0.015 * (age - 45)
    )
    churned = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    columns = (tenure, spend, tickets, logins, late, age)
    rows: list[Row] = []
    for i in range(n):
        row: Row = {
            name: (int(column[i]) if kind == "integer" else float(column[i]))
            for (name, kind), column in zip(FEATURES, columns, strict=True)
        }
        row[TARGET] = int(churned[i])
        rows.append(row)
    return rows


def churn_csv(rows: list[Row]) -> bytes:
    """``rows`` as CSV (a header line; floats always written with a decimal point)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*(name for name, _ in FEATURES), TARGET])
    for row in rows:
        writer.writerow(
            [
                repr(float(row[name])) if kind == "float" else int(row[name])
                for name, kind in FEATURES
            ]
            + [int(row[TARGET])]
        )
    return out.getvalue().encode()


def features_of(row: Row) -> dict[str, int | float]:
    """The row without its target: one instance to predict."""
    return {name: row[name] for name, _ in FEATURES}


def create_demo_tenant(service: TenancyService) -> CreatedTenant:
    """Create the ``demo`` tenant and its owner (no platform administrator)."""
    command = CreateTenant(
        name=DEMO_TENANT_NAME,
        slug=DEMO_TENANT_SLUG,
        owner_email=DEMO_OWNER_EMAIL,
        owner_is_platform_admin=False,
    )
    return service.create_tenant(command, SYSTEM)


class DemoStopped(Exception):
    """The server stopped while the demo was being built."""


@dataclass(frozen=True, slots=True)
class DemoModel:
    """The deployed demo model and a request that scores one real row with it.

    Attributes:
        url: the server's base URL.
        api_key: the demo tenant owner's API key.
        model: the model's name.
        version: the deployed version.
        instance: one row of the demo dataset, without its target.
        accuracy: the model's accuracy on held-out rows.
    """

    url: str
    api_key: str
    model: str
    version: int
    instance: dict[str, int | float]
    accuracy: float

    @property
    def predict_url(self) -> str:
        """The prediction route of the model."""
        return f"{self.url}/v1/models/{self.model}/predict"

    @property
    def body(self) -> str:
        """The JSON body of the request."""
        return json.dumps({"instances": [self.instance]})


def curl_line(demo: DemoModel) -> str:
    """A ready-to-paste ``curl`` that sends the demo's first prediction."""
    return (
        f'curl -s {demo.predict_url} -H "X-API-Key: {demo.api_key}" '
        f"-H \"content-type: application/json\" -d '{demo.body}'"
    )


def _train(rows: list[Row]) -> tuple[bytes, float, dict[str, str]]:
    """A logistic regression (scaled features) on 80% of ``rows``; skops bytes."""
    import skops.io as sio  # noqa: PLC0415 - only when a demo is built
    from sklearn.linear_model import LogisticRegression  # noqa: PLC0415
    from sklearn.pipeline import make_pipeline  # noqa: PLC0415
    from sklearn.preprocessing import StandardScaler  # noqa: PLC0415

    x = np.array([[row[name] for name, _ in FEATURES] for row in rows], dtype=float)
    y = np.array([row[TARGET] for row in rows], dtype=int)
    cut = int(len(rows) * 0.8)
    params = {"C": 1.0, "max_iter": 500}
    model = make_pipeline(StandardScaler(), LogisticRegression(**params))
    model.fit(x[:cut], y[:cut])
    accuracy = float(model.score(x[cut:], y[cut:]))
    return sio.dumps(model), accuracy, {k: str(v) for k, v in params.items()}


def build_demo(url: str, api_key: str, stop: threading.Event) -> DemoModel:
    """Fill the demo tenant through the SDK and deploy its model; see the module.

    Args:
        url: the running server.
        api_key: the demo tenant owner's key.
        stop: set when the server stops; the demo then ends with
            :class:`DemoStopped` between two steps.

    Raises:
        DemoStopped: ``stop`` was set.
        PhantomSdkError: the server refused a step or did not answer.
    """

    def check() -> None:
        if stop.is_set():
            raise DemoStopped

    retry = RetryPolicy(attempts=2, base_s=0.2, max_backoff_s=0.5)
    rows = churn_rows(DEMO_ROWS, seed=7)
    with Client(url, api_key, timeout=_DEMO_TIMEOUT_S, retry=retry) as client:
        check()
        dataset = client.datasets.upload(
            DEMO_DATASET,
            churn_csv(rows),
            format="csv",
            description="Generated customer churn (the demo).",
        )
        check()
        model_bytes, accuracy, params = _train(rows)
        check()
        run = client.runs.start(
            "demo",
            "demo-logistic-regression",
            params=params,
            dataset=dataset.dataset_id,
            dataset_version=dataset.version,
        )
        client.runs.log_metrics(run.run_id, [Metric("accuracy", accuracy)])
        with tempfile.TemporaryDirectory(prefix="phantom-demo-") as scratch:
            path = Path(scratch) / "model.skops"  # the SDK uploads files
            path.write_bytes(model_bytes)
            artifact = client.runs.log_artifact(run.run_id, path, "model.skops")
        client.runs.update(run.run_id, status="finished")
        check()
        version = client.models.register_artifact(
            DEMO_MODEL,
            artifact.digest,
            signature=SIGNATURE,
            metrics={"accuracy": accuracy},
            params=params,
            description="Churn demo: a logistic regression on generated data.",
            run_id=run.run_id,
            dataset_id=dataset.dataset_id,
            dataset_version=dataset.version,
        )
        check()
        deployed = client.deployments.deploy(DEMO_MODEL, version.version)
        if deployed.state != "succeeded":
            msg = f"the demo deploy ended {deployed.state}: {deployed.error or '?'}"
            raise PhantomSdkError(msg)
        instance = features_of(rows[0])
        client.models.predict(DEMO_MODEL, [instance])  # what the curl will send
    return DemoModel(
        url=url,
        api_key=api_key,
        model=DEMO_MODEL,
        version=version.version,
        instance=instance,
        accuracy=accuracy,
    )


def run_demo(url: str, api_key: str, stop: threading.Event) -> None:
    """Build the demo (see :func:`build_demo`), then print its ``curl``.

    Never raises: a failure is one ``demo:`` line on stderr (the server keeps
    running), and a stopping server ends the demo silently.
    """
    try:
        demo = build_demo(url, api_key, stop)
    except DemoStopped:
        return
    except Exception as exc:  # noqa: BLE001 - the server must outlive the demo
        if not stop.is_set():
            reason = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
            typer.echo(f"demo: the demo model is not deployed: {reason}", err=True)
        return
    if stop.is_set():
        return
    typer.echo(
        f"Demo: model {demo.model!r} v{demo.version} (accuracy "
        f"{demo.accuracy:.0%}) is deployed in tenant {DEMO_TENANT_SLUG!r}. "
        "Send it a prediction:"
    )
    typer.echo(curl_line(demo))  # on a line of its own: never wrapped or cut
