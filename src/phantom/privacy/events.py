"""The privacy context's published events (wire type ``privacy.<Name>``).

* ``PolicySet`` (stream ``privacy-policy``): the tenant's policy document changed;
  the policy table is projected from it.
* ``PseudonymsRevealed`` (stream ``reveal-<id>``): someone holding
  ``privacy:reveal`` reversed pseudonyms. It names the tokens, never the values,
  so the audit chain records every reveal without holding personal data.

Schema version 1 for both.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from phantom.kernel.events.envelope import Envelope

__all__ = [
    "EVENT_TYPES",
    "PolicySet",
    "PrivacyEvent",
    "PseudonymsRevealed",
    "parse_event",
]


class PrivacyEvent(BaseModel):
    """Base of the privacy events: frozen, unknown fields refused."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    NAME: ClassVar[str] = ""
    SCHEMA_VERSION: ClassVar[int] = 1

    @classmethod
    def event_type(cls) -> str:
        """The envelope ``type``: ``privacy.<Name>``."""
        return f"privacy.{cls.NAME}"

    def to_data(self) -> dict[str, Any]:
        """The envelope's JSON ``data``."""
        return self.model_dump(mode="json")


class PolicySet(PrivacyEvent):
    """The tenant's privacy policy is now ``document`` (a ``PolicyDocument``)."""

    NAME: ClassVar[str] = "PolicySet"
    document: dict[str, Any]


class PseudonymsRevealed(PrivacyEvent):
    """Tokens were reversed; ``found`` of them were known to the vault."""

    NAME: ClassVar[str] = "PseudonymsRevealed"
    tokens: list[str]
    found: int
    reason: str


EVENT_TYPES: dict[str, type[PrivacyEvent]] = {
    cls.event_type(): cls for cls in (PolicySet, PseudonymsRevealed)
}


def parse_event(envelope: Envelope) -> PrivacyEvent | None:
    """The typed event in ``envelope``, or ``None`` when it is not a privacy event."""
    cls = EVENT_TYPES.get(envelope.type)
    return None if cls is None else cls.model_validate(envelope.data)
