"""Precision, recall and F1 per entity type, from gold spans and found spans.

Spans are compared within one document (``doc``) and one string of it (``path``,
empty for free text). Two matching rules:

* **exact** (the default): a found span is a true positive when a gold span has
  the same document, path, entity type, start and end;
* **overlap**: a found span is a true positive when it shares at least one
  character with a gold span of the same document, path and entity type that
  no other found span has claimed (each gold span counts once).

Found spans with no match are false positives; gold spans left unmatched are
false negatives. With nothing found, precision is 1.0; with nothing expected,
recall is 1.0.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from phantom.privacy.domain.entities import Finding

__all__ = ["Scores", "Span", "evaluate"]


@dataclass(frozen=True, slots=True, order=True)
class Span:
    """A labelled region: characters ``start:end`` of string ``path`` of ``doc``."""

    doc: int
    path: str
    entity: str
    start: int
    end: int

    @classmethod
    def of(cls, finding: Finding, doc: int) -> Span:
        """The span of a finding in document ``doc``."""
        return cls(doc, finding.path or "", finding.entity, finding.start, finding.end)


@dataclass(frozen=True, slots=True)
class Scores:
    """Counts and rates for one entity type."""

    entity: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        """The share of found spans that were right (1.0 when none were found)."""
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 1.0

    @property
    def recall(self) -> float:
        """The share of gold spans that were found (1.0 when none were expected)."""
        expected = self.true_positives + self.false_negatives
        return self.true_positives / expected if expected else 1.0

    @property
    def f1(self) -> float:
        """The harmonic mean of precision and recall."""
        total = self.precision + self.recall
        return 2 * self.precision * self.recall / total if total else 0.0


def _matches(gold: list[Span], found: list[Span], *, overlap: bool) -> int:
    if not overlap:
        return len(set(gold) & set(found))
    open_gold: dict[tuple[int, str], list[Span]] = defaultdict(list)
    for span in gold:
        open_gold[span.doc, span.path].append(span)
    hits = 0
    for span in sorted(found):
        candidates = open_gold[span.doc, span.path]
        for index, other in enumerate(candidates):
            if other.start < span.end and span.start < other.end:
                del candidates[index]
                hits += 1
                break
    return hits


def evaluate(
    gold: Iterable[Span], found: Iterable[Span], *, overlap: bool = False
) -> dict[str, Scores]:
    """Scores per entity type (every type in ``gold`` or ``found``), by name."""
    gold_by: dict[str, list[Span]] = defaultdict(list)
    found_by: dict[str, list[Span]] = defaultdict(list)
    for span in gold:
        gold_by[span.entity].append(span)
    for span in found:
        found_by[span.entity].append(span)
    scores: dict[str, Scores] = {}
    for entity in sorted(gold_by.keys() | found_by.keys()):
        expected, got = gold_by[entity], found_by[entity]
        hits = _matches(expected, got, overlap=overlap)
        scores[entity] = Scores(entity, hits, len(got) - hits, len(expected) - hits)
    return scores
