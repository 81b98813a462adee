"""``phantom.Client``: the typed way to call a Phantom server.

::

    import phantom

    client = phantom.Client()            # PHANTOM_URL / PHANTOM_API_KEY, or the profile
    client.datasets.upload("churn", "churn.csv")
    run = client.runs.start("churn-model", params={"lr": 0.1})
    client.runs.log_metrics(run.run_id, [phantom.sdk.Metric("loss", 0.4, step=1)])
    client.models.register("churn", "model.skops")
    client.deployments.deploy("churn", 1)
    client.models.predict("churn", [[34, 0.5]])
    job = client.batch_jobs.submit("churn", dataset="customers")
    client.batch_jobs.wait(job.job_id)
    client.batch_jobs.download(job.job_id, "scored.parquet")
    client.get("/v1/me")                 # any other route, as decoded JSON
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

import httpx

from phantom.sdk.batch import BatchJobs
from phantom.sdk.config import resolve_config
from phantom.sdk.datasets import Datasets
from phantom.sdk.deployments import Deployments
from phantom.sdk.monitoring import Monitoring
from phantom.sdk.privacy import Privacy
from phantom.sdk.registry import Models
from phantom.sdk.runs import Experiments, Runs
from phantom.sdk.transport import Params, RetryPolicy, Transport
from phantom.sdk.wire import JsonValue, decode, encode

__all__ = ["Client"]


class Client:
    """A connection to one Phantom server as one API key.

    Args:
        url: the server, e.g. ``http://127.0.0.1:8000``; else ``PHANTOM_URL``,
            else the profile written by ``phantom login``.
        api_key: the API key; else ``PHANTOM_API_KEY``, else the profile.
        timeout: seconds to wait for a connection, a read or a write.
        retry: how to retry what is safe to retry (see
            :mod:`phantom.sdk.transport`).
        transport: an httpx transport to use instead of the network (tests).

    Raises:
        ConfigurationError: no URL or key anywhere (the message says how to set
            them), or a profile that others may read.

    Attributes:
        url: the server's base URL.
        datasets: datasets and their versions.
        experiments: experiments.
        runs: runs, their params, tags, metrics and artifacts.
        models: registered models, their versions and aliases; predictions.
        deployments: deploys, canaries, shadows and rollbacks of model versions.
        batch_jobs: batch inference: a model scoring a whole dataset to Parquet.
    """

    def __init__(
        self,
        url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        config = resolve_config(url, api_key)
        self.url = config.url
        self._transport = Transport(
            config.url,
            config.api_key,
            timeout=timeout,
            retry=retry,
            transport=transport,
        )
        self.datasets = Datasets(self._transport)
        self.experiments = Experiments(self._transport)
        self.runs = Runs(self._transport)
        self.models = Models(self._transport)
        self.deployments = Deployments(self._transport)
        self.batch_jobs = BatchJobs(self._transport)
        self.privacy = Privacy(self._transport)
        self.monitoring = Monitoring(self._transport)

    def __repr__(self) -> str:
        return f"Client(url={self.url!r})"

    def close(self) -> None:
        """Close the connection pool (a closed client cannot be used again)."""
        self._transport.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: object = None,
        idempotency_key: str | None = None,
    ) -> JsonValue:
        """Call any route and return its decoded JSON answer (``None`` if empty).

        ``json`` is encoded as the body when given. A POST to a route that honours
        ``Idempotency-Key`` (those that create) may carry an ``idempotency_key``:
        it is then retried like a GET. The typed resources send one themselves.
        """
        headers = (
            {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
        )
        body = None if json is None else encode(json)
        response = self._transport.request(
            method.upper(), path, params=params, json=body, headers=headers
        )
        return decode(response.content) if response.content else None

    def get(self, path: str, *, params: Params | None = None) -> JsonValue:
        """``GET path``: e.g. ``client.get("/v1/me")``."""
        return self.request("GET", path, params=params)

    def post(
        self, path: str, json: object = None, *, idempotency_key: str | None = None
    ) -> JsonValue:
        """``POST path`` with a JSON body (see :meth:`request` for the key)."""
        return self.request("POST", path, json=json, idempotency_key=idempotency_key)

    def patch(self, path: str, json: object = None) -> JsonValue:
        """``PATCH path`` with a JSON body."""
        return self.request("PATCH", path, json=json)

    def delete(self, path: str) -> JsonValue:
        """``DELETE path``."""
        return self.request("DELETE", path)
