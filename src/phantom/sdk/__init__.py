"""The Python SDK: ``phantom.Client`` and the tracking helpers.

An HTTP client of a Phantom server and nothing else: it imports no context, no
gateway and no bootstrap (an import-linter contract says so), so the code a user
imports is the code the CLI runs.

::

    import phantom

    with phantom.start_run(experiment="churn", params={"lr": 0.1}) as run:
        run.log_metric("loss", 0.42)

    client = phantom.Client()
    history = client.runs.metric_history(run.id, "loss")
    client.models.predict("churn", [{"age": 34, "plan": "basic"}])

Configuration (URL and API key): arguments, else ``PHANTOM_URL`` and
``PHANTOM_API_KEY``, else the profile ``phantom login`` writes (see
:mod:`phantom.sdk.config`). Errors: :mod:`phantom.sdk.errors`.
"""

from __future__ import annotations

from phantom.sdk.client import Client
from phantom.sdk.config import profile_path, save_profile
from phantom.sdk.errors import (
    ApiError,
    AuthError,
    ConfigurationError,
    ConflictError,
    NotFoundError,
    PhantomSdkError,
    RateLimitedError,
    ServerError,
    ServerUnreachable,
    ValidationError,
)
from phantom.sdk.models import (
    AliasAssignment,
    Artifact,
    BatchJob,
    Dataset,
    DatasetVersion,
    Deployment,
    DeploymentStep,
    Experiment,
    MetricHistory,
    MetricSummary,
    ModelVersion,
    Prediction,
    RegisteredModel,
    Run,
    RunComparison,
)
from phantom.sdk.tracking import (
    ActiveRun,
    BufferSettings,
    RunEnded,
    active_run,
    start_run,
)
from phantom.sdk.transport import RetryPolicy
from phantom.sdk.wire import Metric

__all__ = [
    "ActiveRun",
    "AliasAssignment",
    "ApiError",
    "Artifact",
    "AuthError",
    "BatchJob",
    "BufferSettings",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "Dataset",
    "DatasetVersion",
    "Deployment",
    "DeploymentStep",
    "Experiment",
    "Metric",
    "MetricHistory",
    "MetricSummary",
    "ModelVersion",
    "NotFoundError",
    "PhantomSdkError",
    "Prediction",
    "RateLimitedError",
    "RegisteredModel",
    "RetryPolicy",
    "Run",
    "RunComparison",
    "RunEnded",
    "ServerError",
    "ServerUnreachable",
    "ValidationError",
    "active_run",
    "profile_path",
    "save_profile",
    "start_run",
]
