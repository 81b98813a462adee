"""A labelled synthetic corpus: texts and JSON records with known PII spans.

:func:`generate_corpus` builds, from a fixed seed and the standard library's
:class:`random.Random` only, free texts made of short sentences, each sentence
holding one PII value of some type, one look-alike (a hard negative from
:data:`.fakes.NEGATIVES`) or nothing, and JSON records in the shape of a
prediction-log entry with PII in known fields and in a free-text note. Every PII
value is recorded as a gold :class:`.domain.evaluation.Span`; look-alikes are
not, so reporting one costs precision.

:func:`score_corpus` runs a policy's detectors over the corpus and returns
precision, recall and F1 per entity type (exact span match by default).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from phantom.privacy.domain.entities import (
    CREDIT_CARD,
    EMAIL,
    IBAN,
    IP_ADDRESS,
    PHONE,
    SECRET,
    UK_NINO,
    US_SSN,
)
from phantom.privacy.domain.evaluation import Scores, Span, evaluate
from phantom.privacy.domain.policy import DEFAULT_POLICY, Policy
from phantom.privacy.domain.records import JsonValue, analyze_record
from phantom.privacy.domain.text import analyze_text
from phantom.privacy.fakes import (
    NEGATIVES,
    fake_card,
    fake_email,
    fake_iban,
    fake_ipv4,
    fake_ipv6,
    fake_nino,
    fake_phone,
    fake_secret,
    fake_ssn,
)

__all__ = [
    "DEFAULT_SEED",
    "Corpus",
    "LabelledRecord",
    "LabelledText",
    "generate_corpus",
    "score_corpus",
]

DEFAULT_SEED: Final = 20240615

_Maker = Callable[[random.Random], tuple[str, str, str]]
"""Returns ``(words before, PII value, entity type)``."""

_PLAIN: Final = (
    "Thanks for getting back to us so quickly.",
    "The model was retrained on Monday and promoted to production.",
    "Please see the attached logs for details.",
    "Latency stayed under the agreed budget all week.",
    "Our team will follow up tomorrow morning.",
)
_BEFORE: Final = {
    EMAIL: ("Please email ", "Contact: ", "cc ", "reply-to <"),
    PHONE: ("Call me on ", "Phone: ", "mobile ", "tel:"),
    CREDIT_CARD: ("Card number ", "paid with ", "card="),
    IBAN: ("Wire it to ", "IBAN: ", "account "),
    IP_ADDRESS: ("Login from ", "client_ip=", "peer ["),
    US_SSN: ("SSN ", "social security number: "),
    UK_NINO: ("NI number ", "NINO: "),
}
_AFTER: Final = (" please.", ".", ", thanks.", " (work).", "; see ticket.", ">", "]")
_NEGATIVE_BEFORE: Final = ("Order ", "Reference ", "Build ", "at ", "id=", "Seen ")


def _pick(kind: str, make: Callable[[random.Random], str]) -> _Maker:
    def maker(rng: random.Random) -> tuple[str, str, str]:
        return rng.choice(_BEFORE[kind]), make(rng), kind

    return maker


def _secret(rng: random.Random) -> tuple[str, str, str]:
    before, value = fake_secret(rng)
    return before, value, SECRET


def _ip(rng: random.Random) -> str:
    return fake_ipv4(rng) if rng.random() < 0.5 else fake_ipv6(rng)


_MAKERS: Final[tuple[_Maker, ...]] = (
    _pick(EMAIL, fake_email),
    _pick(PHONE, fake_phone),
    _pick(CREDIT_CARD, fake_card),
    _pick(IBAN, fake_iban),
    _pick(IP_ADDRESS, _ip),
    _pick(US_SSN, fake_ssn),
    _pick(UK_NINO, fake_nino),
    _secret,
)


@dataclass(frozen=True, slots=True)
class LabelledText:
    """A free text and the gold spans of the PII in it."""

    text: str
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class LabelledRecord:
    """A JSON record and the gold spans of its PII, each with its field path."""

    record: dict[str, JsonValue]
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Corpus:
    """Labelled texts (documents ``0..n-1``) and records (``n`` onwards)."""

    texts: tuple[LabelledText, ...]
    records: tuple[LabelledRecord, ...]

    def gold(self) -> list[Span]:
        """Every gold span of the corpus."""
        spans = [span for item in self.texts for span in item.spans]
        spans.extend(span for item in self.records for span in item.spans)
        return spans

    def size(self) -> int:
        """The characters of free text in the corpus."""
        return sum(len(item.text) for item in self.texts)


def _sentence(
    rng: random.Random, doc: int, at: int, path: str
) -> tuple[str, list[Span]]:
    """One sentence starting at offset ``at``, and its gold spans."""
    roll = rng.random()
    if roll < 0.6:
        before, value, entity = rng.choice(_MAKERS)(rng)
        after = rng.choice(_AFTER)
        if before.endswith(("'", '"')):
            after = before[-1] + after
        start = at + len(before)
        span = Span(doc, path, entity, start, start + len(value))
        return before + value + after, [span]
    if roll < 0.9:
        value = rng.choice(NEGATIVES)(rng)
        return f"{rng.choice(_NEGATIVE_BEFORE)}{value} noted.", []
    return rng.choice(_PLAIN), []


def _text(rng: random.Random, doc: int, path: str = "") -> tuple[str, list[Span]]:
    parts: list[str] = []
    spans: list[Span] = []
    at = 0
    for _ in range(rng.randint(3, 9)):
        sentence, found = _sentence(rng, doc, at, path)
        parts.append(sentence)
        spans.extend(found)
        at += len(sentence) + 1
    return " ".join(parts), spans


def _field(doc: int, path: str, entity: str, value: str) -> Span:
    return Span(doc, path, entity, 0, len(value))


def _record(rng: random.Random, doc: int) -> LabelledRecord:
    email, phone, card = fake_email(rng), fake_phone(rng), fake_card(rng)
    iban, ip = fake_iban(rng), _ip(rng)
    national, national_kind = (
        (fake_ssn(rng), US_SSN) if rng.random() < 0.5 else (fake_nino(rng), UK_NINO)
    )
    note, note_spans = _text(rng, doc, "notes")
    negative = rng.choice(NEGATIVES)(rng)
    record: dict[str, JsonValue] = {
        "request_id": negative,
        "customer": {
            "name": "Jane Doe",
            "email": email,
            "phone": phone,
            "national_id": national,
            "age": rng.randint(18, 90),
            "vip": rng.random() < 0.2,
        },
        "payment": {"card": card, "iban": iban, "amount": 12.5, "currency": "EUR"},
        "device": {"ip": ip, "user_agent": "Mozilla/5.0 (X11; Linux x86_64)"},
        "notes": note,
        "tags": ["returning", None, 3],
    }
    spans = [
        _field(doc, "customer.email", EMAIL, email),
        _field(doc, "customer.phone", PHONE, phone),
        _field(doc, "customer.national_id", national_kind, national),
        _field(doc, "payment.card", CREDIT_CARD, card),
        _field(doc, "payment.iban", IBAN, iban),
        _field(doc, "device.ip", IP_ADDRESS, ip),
        *note_spans,
    ]
    return LabelledRecord(record, tuple(spans))


def generate_corpus(
    seed: int = DEFAULT_SEED, *, texts: int = 400, records: int = 100
) -> Corpus:
    """A labelled corpus; the same arguments always give the same corpus."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    labelled: list[LabelledText] = []
    for doc in range(texts):
        text, spans = _text(rng, doc)
        labelled.append(LabelledText(text, tuple(spans)))
    made = tuple(_record(rng, texts + index) for index in range(records))
    return Corpus(tuple(labelled), made)


def score_corpus(
    corpus: Corpus, policy: Policy = DEFAULT_POLICY, *, overlap: bool = False
) -> dict[str, Scores]:
    """Precision, recall and F1 per entity type of ``policy``'s detectors."""
    found: list[Span] = []
    for doc, item in enumerate(corpus.texts):
        found.extend(
            Span.of(finding, doc) for finding in analyze_text(item.text, policy)
        )
    for index, labelled in enumerate(corpus.records):
        doc = len(corpus.texts) + index
        findings = analyze_record(labelled.record, policy)
        found.extend(Span.of(finding, doc) for finding in findings)
    return evaluate(corpus.gold(), found, overlap=overlap)
