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

from phantom.kernel.events.envelope import Envelope
from phantom.kernel.events.typed import DomainEvent, parse_typed

__all__ = [
    "EVENT_TYPES",
    "PolicySet",
    "PrivacyEvent",
    "PseudonymsRevealed",
    "parse_event",
]


class PrivacyEvent(DomainEvent):
    """Base of the privacy events: frozen, unknown fields refused."""

    CONTEXT: ClassVar[str] = "privacy"


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
    return parse_typed(envelope, EVENT_TYPES)
