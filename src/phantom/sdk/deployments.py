"""``client.deployments``: deploy a model version behind an alias, or roll back.

::

    client = phantom.Client()
    done = client.deployments.deploy("churn", 3, canary_percent=10)
    done.state                      # "succeeded", "compensated" or "failed"
    client.deployments.rollback("churn")

A deploy runs a saga on the server (validate, convert, warm, switch, audit): its
answer comes once the saga has ended, with every step's outcome.
"""

from __future__ import annotations

import builtins

from phantom.sdk.datasets import iter_pages
from phantom.sdk.models import Deployment
from phantom.sdk.runs import new_idempotency_key
from phantom.sdk.transport import Transport
from phantom.sdk.wire import encode, segment

__all__ = ["DEFAULT_ALIAS", "Deployments"]

DEFAULT_ALIAS = "production"
"""The alias a deploy, a rollback and a prediction use unless told otherwise."""


class Deployments:
    """The tenant's deployments (``/v1/deployments``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def deploy(
        self,
        model: str,
        version: int,
        *,
        alias: str = DEFAULT_ALIAS,
        canary_percent: int | None = None,
        shadow: bool = False,
    ) -> Deployment:
        """Deploy ``version`` of ``model`` behind ``alias``; the saga's outcome.

        Plainly, the alias moves to the version. With ``canary_percent`` (1 to
        99) the alias stays and that share of its traffic goes to the version;
        with ``shadow`` the version scores every request of the alias, logged and
        never answered. A deploy that did not succeed is answered, not raised:
        look at :attr:`Deployment.state`.
        """
        body: dict[str, object] = {
            "model": model,
            "version": int(version),
            "alias": alias,
            "shadow": shadow,
        }
        if canary_percent is not None:
            body["canary_percent"] = int(canary_percent)
        response = self._transport.request(
            "POST",
            "/v1/deployments",
            json=encode(body),
            headers={"Idempotency-Key": new_idempotency_key()},
        )
        return Deployment.model_validate_json(response.content)

    def rollback(self, model: str, *, alias: str = DEFAULT_ALIAS) -> Deployment:
        """Point ``alias`` back at its version before the last deploy.

        Any canary or shadow of the alias is cleared. Never retried on a dropped
        connection: a second rollback would go one deploy further back.
        """
        body = encode({"model": model, "alias": alias})
        response = self._transport.request(
            "POST", "/v1/deployments/rollback", json=body
        )
        return Deployment.model_validate_json(response.content)

    def list(self, model: str | None = None) -> builtins.list[Deployment]:
        """The tenant's deployments (of ``model`` only, when given)."""
        query = None if model is None else {"model": model}
        return [
            Deployment.model_validate(item)
            for item in iter_pages(self._transport, "/v1/deployments", query=query)
        ]

    def get(self, deployment_id: str) -> Deployment:
        """One deployment with its steps."""
        path = f"/v1/deployments/{segment(deployment_id)}"
        return Deployment.model_validate_json(
            self._transport.request("GET", path).content
        )
