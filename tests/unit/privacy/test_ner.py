"""Named entities: a model's person and location spans join the policy's findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from phantom.privacy.adapters.ner import NerDetector
from phantom.privacy.documents import PolicyDocument, to_policy
from phantom.privacy.domain import InvalidPolicy, Policy, analyze_text, anonymize_text

TEXT = "Ada Lovelace moved to London; mail ada@example.com"


@dataclass
class Result:
    entity_type: str
    start: int
    end: int
    score: float


class FakeAnalyzer:
    """Answers like Presidio's AnalyzerEngine would for :data:`TEXT`."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def analyze(self, text: str, language: str, entities: list[str]) -> list[Result]:
        self.calls.append({"language": language, "entities": entities})
        found = []
        for name, entity, score in (
            ("Ada Lovelace", "PERSON", 0.85),
            ("London", "GPE", 0.8),
            ("moved", "PERSON", 0.2),  # below the score floor
            ("mail", "DATE_TIME", 0.9),  # not ours
        ):
            start = text.find(name)
            if start >= 0:
                found.append(Result(entity, start, start + len(name), score))
        return found


def test_people_and_places_are_found_beside_the_patterns() -> None:
    policy = Policy(extra_detectors=(NerDetector(FakeAnalyzer()),))
    found = [(f.entity, TEXT[f.start : f.end]) for f in analyze_text(TEXT, policy)]
    assert found == [
        ("PERSON", "Ada Lovelace"),
        ("LOCATION", "London"),
        ("EMAIL", "ada@example.com"),
    ]
    done = anonymize_text(TEXT, policy, key=b"k" * 32)
    assert done.text == "<PERSON> moved to <LOCATION>; mail <EMAIL>"


def test_a_policy_may_enable_only_one_of_the_models_types() -> None:
    analyzer = FakeAnalyzer()
    document = PolicyDocument.model_validate({"entities": ["PERSON", "EMAIL"]})
    policy = to_policy(document, (NerDetector(analyzer),))
    entities = [f.entity for f in analyze_text(TEXT, policy)]
    assert entities == ["PERSON", "EMAIL"]
    assert analyzer.calls[0]["language"] == "en"


def test_without_a_model_person_is_an_unknown_entity_type() -> None:
    document = PolicyDocument.model_validate({"entities": ["PERSON"]})
    with pytest.raises(InvalidPolicy, match="PERSON"):
        to_policy(document)


def test_blank_text_never_reaches_the_model() -> None:
    analyzer = FakeAnalyzer()
    policy = Policy(extra_detectors=(NerDetector(analyzer),))
    assert analyze_text("   ", policy) == []
    assert analyzer.calls == []
