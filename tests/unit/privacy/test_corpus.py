import itertools
import json

import pytest

from phantom.privacy.corpus import DEFAULT_SEED, Corpus, generate_corpus, score_corpus
from phantom.privacy.domain import (
    BUILTIN_ENTITIES,
    EMAIL,
    JsonValue,
    Policy,
    Span,
    anonymize_record,
    anonymize_text,
    evaluate,
)

KEY = b"tenant-a-key-0123456789abcdef"


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return generate_corpus()


def test_the_corpus_is_the_same_for_the_same_seed() -> None:
    assert generate_corpus(7, texts=30, records=5) == generate_corpus(
        7, texts=30, records=5
    )
    assert generate_corpus(7, texts=30, records=5) != generate_corpus(
        8, texts=30, records=5
    )


def test_the_corpus_holds_every_entity_type_and_look_alikes(corpus: Corpus) -> None:
    gold = corpus.gold()
    counts = {
        entity: sum(s.entity == entity for s in gold) for entity in BUILTIN_ENTITIES
    }
    assert min(counts.values()) >= 100, counts
    text = " ".join(item.text for item in corpus.texts)
    assert "noted." in text  # the look-alike sentences
    assert len(corpus.records) == 100


def test_gold_spans_point_at_the_values(corpus: Corpus) -> None:
    for doc, item in enumerate(corpus.texts):
        for span in item.spans:
            assert span.doc == doc
            value = item.text[span.start : span.end]
            assert value
            assert value == value.strip()
    spans = sorted(corpus.gold(), key=lambda s: (s.doc, s.path, s.start))
    for a, b in itertools.pairwise(spans):
        assert (a.doc, a.path) != (b.doc, b.path) or a.end <= b.start


@pytest.mark.parametrize("seed", [DEFAULT_SEED, 1, 2])
def test_precision_and_recall_are_at_least_95_percent_per_entity_type(
    seed: int,
) -> None:
    scores = score_corpus(generate_corpus(seed))
    assert set(scores) == set(BUILTIN_ENTITIES)
    for entity, score in scores.items():
        assert score.precision >= 0.95, (entity, score)
        assert score.recall >= 0.95, (entity, score)
        assert score.f1 >= 0.95, (entity, score)


def test_a_policy_without_a_type_loses_recall_on_it_only(corpus: Corpus) -> None:
    scores = score_corpus(corpus, Policy(entities=BUILTIN_ENTITIES - {EMAIL}))
    assert scores[EMAIL].recall == 0.0
    assert all(s.recall >= 0.95 for e, s in scores.items() if e != EMAIL)


def value_at(record: JsonValue, span: Span) -> str:
    for key in span.path.split("."):
        assert isinstance(record, dict)
        record = record[key]
    assert isinstance(record, str)
    return record[span.start : span.end]


def test_no_raw_value_survives_anonymization(corpus: Corpus) -> None:
    for item in corpus.texts[:200]:
        scrubbed = anonymize_text(item.text, key=KEY).text
        for span in item.spans:
            value = item.text[span.start : span.end]
            assert len(value) < 8 or value not in scrubbed
    for labelled in corpus.records[:50]:
        scrubbed = json.dumps(anonymize_record(labelled.record, key=KEY).record)
        for span in labelled.spans:
            value = value_at(labelled.record, span)
            assert len(value) < 8 or value not in scrubbed


def test_evaluate_by_exact_span() -> None:
    gold = [
        Span(0, "", "EMAIL", 0, 10),
        Span(0, "", "EMAIL", 20, 30),
        Span(1, "", "IBAN", 0, 5),
    ]
    found = [
        Span(0, "", "EMAIL", 0, 10),
        Span(0, "", "EMAIL", 21, 30),
        Span(1, "", "PHONE", 0, 5),
    ]
    scores = evaluate(gold, found)
    email = scores["EMAIL"]
    assert (email.true_positives, email.false_positives, email.false_negatives) == (
        1,
        1,
        1,
    )
    assert email.precision == email.recall == email.f1 == 0.5
    assert scores["IBAN"].recall == 0.0
    assert scores["IBAN"].precision == 1.0
    assert scores["PHONE"].precision == 0.0
    assert scores["PHONE"].recall == 1.0
    assert scores["PHONE"].f1 == 0.0


def test_evaluate_by_overlap_counts_each_gold_span_once() -> None:
    gold = [Span(0, "a", "EMAIL", 0, 10)]
    found = [
        Span(0, "a", "EMAIL", 2, 5),
        Span(0, "a", "EMAIL", 6, 12),
        Span(0, "b", "EMAIL", 0, 10),
    ]
    email = evaluate(gold, found, overlap=True)["EMAIL"]
    assert (email.true_positives, email.false_positives, email.false_negatives) == (
        1,
        2,
        0,
    )
