"""Entity types, findings, and how overlapping findings are settled.

A :class:`Finding` says "characters ``start:end`` of the scanned string look like
an ``entity``, with confidence ``score``"; the matched text is
``text[finding.start:finding.end]``. Findings from a JSON record also carry the
``path`` of the string they were found in (``customer.email``, ``items[0].note``).

Detectors may report overlapping findings (a JWT that is also a bearer token, a
phone number inside a longer digit run). :func:`resolve_overlaps` keeps one
finding per region: the highest score, then the longest span, then the earliest
start, then the entity and detector names, so the outcome never depends on the
order detectors ran in.
"""

from __future__ import annotations

from collections.abc import Iterable
from operator import attrgetter
from typing import Final, NamedTuple

__all__ = [
    "BUILTIN_ENTITIES",
    "CREDIT_CARD",
    "EMAIL",
    "IBAN",
    "IP_ADDRESS",
    "PHONE",
    "SECRET",
    "UK_NINO",
    "US_SSN",
    "Finding",
    "resolve_overlaps",
]

EMAIL: Final = "EMAIL"
PHONE: Final = "PHONE"
CREDIT_CARD: Final = "CREDIT_CARD"
IBAN: Final = "IBAN"
IP_ADDRESS: Final = "IP_ADDRESS"
"""IPv4 and IPv6 addresses; :attr:`Finding.detector` says which."""
US_SSN: Final = "US_SSN"
UK_NINO: Final = "UK_NINO"
SECRET: Final = "SECRET"  # noqa: S105 - an entity type name
"""API keys, access tokens, JWTs, bearer tokens and high-entropy assigned values."""

BUILTIN_ENTITIES: Final = frozenset(
    {EMAIL, PHONE, CREDIT_CARD, IBAN, IP_ADDRESS, US_SSN, UK_NINO, SECRET}
)
"""Every entity type the built-in detectors report."""


class Finding(NamedTuple):
    """One detected entity: ``text[start:end]`` of the scanned string.

    A named tuple rather than a frozen dataclass: a dense text yields thousands
    of findings, and a frozen dataclass is several times slower to build.

    Attributes:
        entity: the entity type (``EMAIL``, ``CREDIT_CARD``, a custom name, ...).
        start: the offset of the first character.
        end: the offset just past the last character.
        score: the detector's confidence, from 0 to 1.
        detector: which detector found it (``ipv6``, ``aws_access_key``, ...).
        path: where in a JSON record the string was, ``None`` for free text.
    """

    entity: str
    start: int
    end: int
    score: float
    detector: str
    path: str | None = None

    def text(self, source: str) -> str:
        """The matched characters of ``source``, the string that was scanned."""
        return source[self.start : self.end]


def _rank(finding: Finding) -> tuple[float, int, int, str, str]:
    return (
        -finding.score,
        finding.start - finding.end,
        finding.start,
        finding.entity,
        finding.detector,
    )


_BY_POSITION: Final = attrgetter("start", "end")


def _settle(cluster: list[Finding]) -> list[Finding]:
    """The greedy best-first choice within one group of chained overlaps."""
    if len(cluster) == 1:
        return cluster
    chosen: list[Finding] = []
    for finding in sorted(cluster, key=_rank):
        if all(finding.end <= c.start or c.end <= finding.start for c in chosen):
            chosen.append(finding)
    return sorted(chosen, key=_BY_POSITION)


def resolve_overlaps(findings: Iterable[Finding]) -> list[Finding]:
    """Keep a set of non-overlapping findings, sorted by position.

    Findings are considered best first (higher score, then longer span, then
    earlier start, then entity and detector name); each is kept unless it
    overlaps one kept before it. Touching spans (``a.end == b.start``) do not
    overlap. Findings that overlap nothing are kept as they are, and the
    best-first choice is made within each group of chained overlaps, which
    gives the same result as making it over all findings at once.
    """
    kept: list[Finding] = []
    cluster: list[Finding] = []
    reach = -1
    for finding in sorted(findings, key=_BY_POSITION):
        if finding.start >= reach and cluster:
            kept.extend(_settle(cluster))
            cluster = []
        cluster.append(finding)
        reach = max(reach, finding.end) if len(cluster) > 1 else finding.end
    if cluster:
        kept.extend(_settle(cluster))
    return kept
