"""Named entities (person, location) through Presidio's analyzer over spaCy.

:class:`NerDetector` is a domain detector around anything with Presidio's
``AnalyzerEngine.analyze(text=, language=, entities=)`` shape, mapping its
``PERSON`` and ``LOCATION`` (and ``GPE``/``LOC`` spellings) results to findings.
:func:`presidio_detector` builds the real engine with the spaCy model
:func:`~phantom.privacy.ner.ner_status` found; the drivers are imported only
there, and only when both are installed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from phantom.privacy.domain import Finding

__all__ = ["NER_MAP", "Analyzer", "NerDetector", "presidio_detector"]

NER_MAP: Final = {
    "PERSON": "PERSON",
    "LOCATION": "LOCATION",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
}
"""Presidio's (and spaCy's) entity names -> ours."""
_MIN_SCORE: Final = 0.5


class Analyzer(Protocol):
    """The part of Presidio's ``AnalyzerEngine`` the detector uses."""

    def analyze(self, text: str, language: str, entities: list[str]) -> list[Any]:
        """Results with ``entity_type``, ``start``, ``end`` and ``score``."""
        ...


@dataclass(frozen=True, slots=True)
class NerDetector:
    """Person and location names, found by a statistical model."""

    analyzer: Analyzer
    language: str = "en"
    entities: frozenset[str] = field(
        default=frozenset({"PERSON", "LOCATION"}), compare=False
    )

    def find(self, text: str, out: list[Finding]) -> None:
        """Append the model's person and location spans found in ``text``."""
        if not text.strip():
            return
        results = self.analyzer.analyze(
            text=text, language=self.language, entities=["PERSON", "LOCATION"]
        )
        for result in results:
            entity = NER_MAP.get(str(result.entity_type))
            score = float(result.score)
            if entity is None or score < _MIN_SCORE:
                continue
            out.append(
                Finding(entity, int(result.start), int(result.end), score, "ner")
            )


def presidio_detector(model: str) -> NerDetector:  # pragma: no cover - needs a model
    """A detector over Presidio's analyzer with the spaCy ``model``.

    Raises:
        ImportError: Presidio or spaCy is not installed.
        OSError: the spaCy model cannot be loaded.
    """
    from presidio_analyzer import AnalyzerEngine  # noqa: PLC0415 - optional
    from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: PLC0415

    provider = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": model}],
        }
    )
    engine = AnalyzerEngine(nlp_engine=provider.create_engine())
    return NerDetector(engine)
