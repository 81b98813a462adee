"""What other contexts (and the SDK) may use of the privacy context.

* :class:`Scrubber`: anonymize a JSON value or a text by a tenant's policy. The
  serving context's prediction log and the audit recorder take one; the
  composition root hands them the privacy service.
* The request and response shapes of ``/v1/privacy/*``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, model_validator

from phantom.privacy.documents import PolicyDocument

__all__ = [
    "AnalyzeRequest",
    "AnalyzeResult",
    "AnonymizeRequest",
    "AnonymizeResult",
    "FindingInfo",
    "PolicyDocument",
    "PolicyInfo",
    "RevealRequest",
    "RevealResult",
    "Scrubber",
]


class Scrubber(Protocol):
    """Anonymizes values by their tenant's privacy policy.

    Contract: thread-safe and blocking (call from a worker thread). The input is
    never modified. When a value cannot be scrubbed (the policy or key store is
    unavailable, a pseudonym collides) it raises, and the caller must then not
    store the raw value (fail closed).
    """

    def scrub_record(self, tenant_id: str, value: Any) -> Any:  # noqa: ANN401 - JSON
        """``value`` (any JSON value) with personal data anonymized."""
        ...

    def scrub_text(self, tenant_id: str, text: str) -> str:
        """``text`` with personal data anonymized."""
        ...


class _Dto(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnalyzeRequest(_Dto):
    """Exactly one of ``text`` (free text) or ``record`` (a JSON value).

    ``policy`` tries a policy without storing it (default: the tenant's).
    """

    text: str | None = Field(None, max_length=1_000_000)
    record: Any = None
    policy: PolicyDocument | None = None

    @model_validator(mode="after")
    def _one_input(self) -> AnalyzeRequest:
        if (self.text is None) == (self.record is None):
            msg = "give exactly one of text or record"
            raise ValueError(msg)
        return self


class AnonymizeRequest(AnalyzeRequest):
    """Exactly one of ``text`` or ``record`` to anonymize (``policy``: try one)."""


class FindingInfo(_Dto):
    """One finding: where it is (``path`` for records), what, how sure."""

    entity: str
    start: int
    end: int
    score: float
    detector: str
    path: str | None = None


class AnalyzeResult(_Dto):
    """What was found (never the values themselves)."""

    findings: list[FindingInfo]


class AnonymizeResult(_Dto):
    """The anonymized text or record, what was found, and pseudonyms issued."""

    text: str | None = None
    record: Any = None
    findings: list[FindingInfo]
    pseudonyms: int


class RevealRequest(_Dto):
    """Pseudonym tokens to reverse, and why (recorded in the audit chain)."""

    tokens: list[str] = Field(min_length=1, max_length=1_000)
    reason: str = Field(min_length=1, max_length=500)


class RevealResult(_Dto):
    """Each token's value, ``null`` when this tenant never issued it."""

    values: dict[str, str | None]


class PolicyInfo(_Dto):
    """A tenant's policy: the document, its revision (0: the default)."""

    document: PolicyDocument
    revision: int
    is_default: bool
    updated_by: str | None = None
    updated_at: datetime | None = None
