"""``client.privacy``: find and anonymize personal data, policies, reveals.

::

    client = phantom.Client()
    client.privacy.analyze("mail ada@example.com")          # [Finding(EMAIL ...)]
    client.privacy.anonymize({"email": "ada@example.com"}).value  # {"email": "<EMAIL>"}
    client.privacy.set_policy({"operators": {"EMAIL": {"type": "pseudonymize"}}})
    client.privacy.reveal(["<EMAIL_3f2a9c1b>"], reason="ticket 42")  # audited

A ``str`` is scanned as free text; any other JSON value as a record (each string
in it, with its path). Values found are never sent back, only where they are.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict

from phantom.sdk.transport import Transport
from phantom.sdk.wire import JsonValue, encode

__all__ = ["Anonymized", "Finding", "Privacy", "PrivacyPolicy"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Finding(_Model):
    """Where an entity was found: ``[start, end)`` of the string at ``path``."""

    entity: str
    start: int
    end: int
    score: float
    detector: str
    path: str | None = None


class Anonymized(_Model):
    """The anonymized text or record, what was found, and pseudonyms issued."""

    text: str | None = None
    record: Any = None
    findings: list[Finding]
    pseudonyms: int

    @property
    def value(self) -> Any:  # noqa: ANN401 - a text or any JSON record
        """The anonymized text, or the record when a record was sent."""
        return self.text if self.text is not None else self.record


class PrivacyPolicy(_Model):
    """The tenant's policy document and its revision (0: the default)."""

    document: dict[str, Any]
    revision: int
    is_default: bool
    updated_by: str | None = None
    updated_at: datetime | None = None


def _body(value: JsonValue, policy: dict[str, Any] | None) -> bytes:
    key = "text" if isinstance(value, str) else "record"
    body: dict[str, Any] = {key: value}
    if policy is not None:
        body["policy"] = policy
    return encode(body)


class Privacy:
    """The tenant's privacy tools (``/v1/privacy``)."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def status(self) -> dict[str, Any]:
        """Entity types, operators, and whether NER runs (and why not)."""
        status: dict[str, Any] = self._transport.request(
            "GET", "/v1/privacy/status"
        ).json()
        return status

    def analyze(
        self, value: JsonValue, *, policy: dict[str, Any] | None = None
    ) -> list[Finding]:
        """Where personal data is in ``value`` (by the tenant policy or ``policy``)."""
        response = self._transport.request(
            "POST", "/v1/privacy/analyze", json=_body(value, policy), idempotent=True
        )
        return [Finding.model_validate(f) for f in response.json()["findings"]]

    def anonymize(
        self, value: JsonValue, *, policy: dict[str, Any] | None = None
    ) -> Anonymized:
        """``value`` anonymized (by the tenant's policy or ``policy``)."""
        response = self._transport.request(
            "POST", "/v1/privacy/anonymize", json=_body(value, policy), idempotent=True
        )
        return Anonymized.model_validate_json(response.content)

    def reveal(self, tokens: list[str], *, reason: str) -> dict[str, str | None]:
        """The values behind pseudonym tokens (needs ``privacy:reveal``; audited)."""
        response = self._transport.request(
            "POST",
            "/v1/privacy/reveal",
            json=encode({"tokens": tokens, "reason": reason}),
        )
        values: dict[str, str | None] = response.json()["values"]
        return values

    def policy(self) -> PrivacyPolicy:
        """The tenant's policy (the default until one is set)."""
        response = self._transport.request("GET", "/v1/privacy/policy")
        return PrivacyPolicy.model_validate_json(response.content)

    def set_policy(self, document: dict[str, Any]) -> PrivacyPolicy:
        """Replace the tenant's policy (needs ``privacy:write``)."""
        response = self._transport.request(
            "PUT", "/v1/privacy/policy", json=encode(document), idempotent=True
        )
        return PrivacyPolicy.model_validate_json(response.content)
