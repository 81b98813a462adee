"""Free text: find the entities in it, and rewrite it by the policy's operators."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from phantom.privacy.domain.detectors import found_by
from phantom.privacy.domain.entities import Finding, resolve_overlaps
from phantom.privacy.domain.operators import OperatorContext, Pseudonym
from phantom.privacy.domain.policy import DEFAULT_POLICY, Policy

__all__ = ["AnonymizedText", "analyze_text", "anonymize_text", "rewrite"]


@dataclass(frozen=True, slots=True)
class AnonymizedText:
    """The rewritten text, what was found in the original, and pseudonyms issued.

    Attributes:
        text: the anonymized text.
        findings: the findings, with offsets into the *original* text.
        pseudonyms: the ``token -> value`` pairs to store in the vault.
    """

    text: str
    findings: tuple[Finding, ...]
    pseudonyms: tuple[Pseudonym, ...]


def analyze_text(text: str, policy: Policy = DEFAULT_POLICY) -> list[Finding]:
    """The entities in ``text``, non-overlapping and in order of position."""
    return resolve_overlaps(found_by(policy.detectors, text))


def rewrite(
    text: str,
    findings: Sequence[Finding],
    policy: Policy,
    context: OperatorContext,
) -> str:
    """``text`` with each of the (non-overlapping, sorted) ``findings`` replaced."""
    if not findings:
        return text
    pieces: list[str] = []
    last = 0
    for finding in findings:
        start, end, entity = finding.start, finding.end, finding.entity
        operator = policy.operator_for(entity)
        pieces.append(text[last:start])
        pieces.append(operator.apply(text[start:end], entity, context))
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def anonymize_text(
    text: str, policy: Policy = DEFAULT_POLICY, *, key: bytes
) -> AnonymizedText:
    """Detect the entities in ``text`` and apply the policy's operators.

    Args:
        text: the text to scrub.
        policy: the tenant's policy.
        key: the tenant's secret key (16 bytes or more) for hashing and
            pseudonymizing.

    Raises:
        InvalidKey: ``key`` is too short.
        PseudonymCollision: two values got the same pseudonym token.
    """
    context = OperatorContext(key)
    findings = analyze_text(text, policy)
    rewritten = rewrite(text, findings, policy, context)
    return AnonymizedText(
        rewritten, tuple(findings), tuple(context.pseudonyms.values())
    )
