r"""The built-in detectors for contact, payment, network and national-ID data.

Speed comes from how few times a text is walked, and how cheaply:

* The digit-led entities (cards, phone numbers, US SSNs, IPv4) share one regex,
  and the letter-led ones (IBAN, UK NINO) another. Each is an alternation of
  named branches behind one leading character class, so CPython's ``re`` uses its
  character-set prefix scan and only tries the branches where a candidate can
  begin. The word-boundary check is a lookbehind placed *after* that first
  character (a leading lookbehind or ``\b`` would turn the prefix scan off).
* E-mail and IPv6 addresses (:mod:`.anchored`) and credentials (:mod:`.secrets`)
  are found from a literal anchor (``@``, ``:``, ``AKIA``, ...), which ``re``
  searches for with a plain character loop, and only when ``str.__contains__``
  has seen the anchor at all.
* Checksums and range rules (:mod:`.validators`) run on candidates only. When a
  candidate fails, the other branches are tried at the same position, so a
  Luhn-invalid digit run that also reads as a phone number is still considered.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final, Protocol, TypeAlias

from phantom.privacy.domain.entities import (
    CREDIT_CARD,
    IBAN,
    IP_ADDRESS,
    PHONE,
    UK_NINO,
    US_SSN,
    Finding,
)
from phantom.privacy.domain.validators import (
    IBAN_LENGTHS,
    digit_count,
    iban_valid,
    ipv4_valid,
    luhn_valid,
    nino_valid,
    ssn_valid,
)

__all__ = [
    "DIGIT_LED",
    "LETTER_LED",
    "Branch",
    "Detector",
    "alternation_detectors",
    "found_by",
]

Check: TypeAlias = Callable[[str, int, int], int | None]
"""``(text, start, end) -> accepted end or None``: validates one candidate."""

_WORD_END: Final = r"(?![0-9A-Za-z_])"
_CARD_LEADS: Final = ("3", "4", "5", "6", "22", "23", "24", "25", "26", "27")


class Detector(Protocol):
    """Finds entities of some types in a text, appending to ``out``."""

    @property
    def entities(self) -> frozenset[str]:
        """The entity types this detector may report."""

    def find(self, text: str, out: list[Finding]) -> None:
        """Append every valid candidate in ``text`` to ``out`` (overlaps allowed)."""


@dataclass(frozen=True, slots=True)
class Branch:
    """One alternative of a shared regex: its name, entity, score and check.

    ``body`` is matched right after the shared leading character, which it may
    inspect with a lookbehind such as ``(?<=[2-6])``.
    """

    name: str
    entity: str
    score: float
    body: str
    check: Check


def _check_card(text: str, start: int, end: int) -> int | None:
    """Issuer prefix (2-series Mastercard, 3-6) and Luhn; the span is never cut.

    Cutting a Luhn-invalid run down to a valid prefix would flag one invalid
    19-digit number in ten, so a run is taken or refused whole.
    """
    if not text.startswith(_CARD_LEADS, start):
        return None
    return end if luhn_valid(text[start:end]) else None


def _check_international(text: str, start: int, end: int) -> int | None:
    candidate = text[start:end].replace("(0)", "")
    return end if 8 <= digit_count(candidate) <= 15 else None


def _check_accept(_text: str, _start: int, end: int) -> int | None:
    return end


def _check_uk_phone(text: str, start: int, end: int) -> int | None:
    return end if 10 <= digit_count(text[start:end]) <= 11 else None


def _check_ssn(text: str, start: int, end: int) -> int | None:
    return end if ssn_valid(text[start:end]) else None


def _check_ipv4(text: str, start: int, end: int) -> int | None:
    return end if ipv4_valid(text[start:end]) else None


def _check_iban(text: str, start: int, end: int) -> int | None:
    """Check the country's length and mod-97.

    A run longer than the country's IBAN is cut after the group where the IBAN
    ends (the regex may take one more group).
    """
    length = IBAN_LENGTHS.get(text[start : start + 2])
    candidate = text[start:end]
    if length is None or len(candidate) - candidate.count(" ") < length:
        return None
    if len(candidate) - candidate.count(" ") > length:
        stop, seen = start, 0
        while seen < length:
            seen += text[stop] != " "
            stop += 1
        if text[stop] != " ":
            return None
        end = stop
    return end if iban_valid(text[start:end]) else None


def _check_nino(text: str, start: int, end: int) -> int | None:
    return end if nino_valid(text[start:end]) else None


DIGIT_LED: Final = (
    Branch(
        "card",
        CREDIT_CARD,
        1.0,
        r"(?<=[2-6])(?:[0-9]{12,18}|[0-9]{3}(?P<card_sep>[ -])(?:[0-9]{6}(?P=card_sep)"
        r"[0-9]{4,5}|[0-9]{4}(?P=card_sep)[0-9]{4}(?P=card_sep)[0-9]{4}"
        r"(?:(?P=card_sep)[0-9]{3})?))" + _WORD_END,
        _check_card,
    ),
    Branch(
        "phone_international",
        PHONE,
        0.8,
        r"(?<=\+)[1-9](?:[0-9]{7,14}|[0-9]{0,2}(?:[ .-](?:\([0-9]{1,4}\)|[0-9]{1,4}))"
        r"{2,6})" + _WORD_END,
        _check_international,
    ),
    Branch(
        "phone_nanp",
        PHONE,
        0.7,
        r"(?:(?<=\()[2-9][0-9]{2}\)[ ]?|(?<=[2-9])[0-9]{2}[-. ]|(?<=1)[-. ][2-9]"
        r"[0-9]{2}[-. ])[2-9][0-9]{2}[-. ][0-9]{4}" + _WORD_END,
        _check_accept,
    ),
    Branch(
        "phone_uk",
        PHONE,
        0.7,
        r"(?<=0)(?:[1-9][0-9]{1,3}(?:[ -][0-9]{3,4}){2}|[1-9][0-9]{3}[ -][0-9]{6})"
        + _WORD_END,
        _check_uk_phone,
    ),
    Branch(
        "us_ssn",
        US_SSN,
        0.85,
        r"(?<=[0-9])[0-9]{2}(?P<ssn_sep>[ -])[0-9]{2}(?P=ssn_sep)[0-9]{4}" + _WORD_END,
        _check_ssn,
    ),
    Branch(
        "ipv4",
        IP_ADDRESS,
        0.9,
        r"(?<=[0-9])[0-9]{0,2}(?:\.[0-9]{1,3}){3}(?![0-9A-Za-z_]|\.[0-9])",
        _check_ipv4,
    ),
)
"""Branches that start with a digit, ``+`` or ``(``, in the order they are tried.

Cards: 13-19 digits written together, or grouped 4-4-4-4, 4-4-4-4-3, 4-6-5 or
4-6-4 with one separator (space or ``-``); the first digits must be an issuer's
(22-27, 3, 4, 5, 6) and the Luhn check must pass. Phones: ``+`` and 8-15
digits in groups, North American ``(415) 555-2671`` / ``415-555-2671`` /
``415.555.2671``, UK national ``020 7946 0958`` / ``07700 900123`` (separators
required, so bare digit runs are never phones). US SSN: ``AAA-GG-SSSS`` or
spaced. IPv4: a dotted quad of octets up to 255 without leading zeros.
"""
_DIGIT_LEAD: Final = r"[0-9+(](?<![0-9A-Za-z_.+-][0-9+(])(?<![0-9][ -][0-9+(])"
"""A digit, ``+`` or ``(`` that neither continues a word or number nor follows a
digit and a separator (so no candidate starts inside a run of digit groups, such
as the BBAN of an invalid IBAN)."""

LETTER_LED: Final = (
    Branch(
        "iban",
        IBAN,
        1.0,
        r"[A-Z][0-9]{2}(?:[ ]?[0-9A-Z]{4}){2,7}(?:[ ]?[0-9A-Z]{1,3})?" + _WORD_END,
        _check_iban,
    ),
    Branch(
        "uk_nino",
        UK_NINO,
        0.85,
        r"[A-Z][ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?[0-9]{2}[ ]?[A-D]" + _WORD_END,
        _check_nino,
    ),
)
"""Branches that start with an upper-case letter."""
_LETTER_LEAD: Final = r"[A-Z](?<![0-9A-Za-z_][A-Z])"


@dataclass(frozen=True, slots=True)
class _Alternation:
    """Branches behind one leading class, compiled together and one by one."""

    lead: str
    branches: tuple[Branch, ...]
    entities: frozenset[str] = field(init=False)
    _combined: re.Pattern[str] = field(init=False, repr=False)
    _alone: tuple[re.Pattern[str], ...] = field(init=False, repr=False)
    _index: dict[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        body = "|".join(f"(?P<{b.name}>{b.body})" for b in self.branches)
        alone = tuple(
            re.compile(f"{self.lead}(?P<{b.name}>{b.body})") for b in self.branches
        )
        index = {branch.name: number for number, branch in enumerate(self.branches)}
        object.__setattr__(self, "entities", frozenset(b.entity for b in self.branches))
        object.__setattr__(self, "_combined", re.compile(f"{self.lead}(?:{body})"))
        object.__setattr__(self, "_alone", alone)
        object.__setattr__(self, "_index", index)

    def find(self, text: str, out: list[Finding]) -> None:
        """Append every valid candidate in ``text`` to ``out``."""
        branches, index = self.branches, self._index
        for match in self._combined.finditer(text):
            start = match.start()
            number = index[match.lastgroup or ""]
            branch = branches[number]
            end = branch.check(text, start, match.end())
            if end is None:
                self._fallback(text, start, number + 1, out)
            else:
                out.append(
                    Finding(branch.entity, start, end, branch.score, branch.name)
                )

    def _fallback(self, text: str, start: int, first: int, out: list[Finding]) -> None:
        for number in range(first, len(self.branches)):
            match = self._alone[number].match(text, start)
            if match is None:
                continue
            branch = self.branches[number]
            end = branch.check(text, start, match.end())
            if end is not None:
                out.append(
                    Finding(branch.entity, start, end, branch.score, branch.name)
                )
                return


@lru_cache(maxsize=64)
def _alternation(lead: str, branches: tuple[Branch, ...]) -> _Alternation:
    return _Alternation(lead, branches)


def alternation_detectors(enabled: frozenset[str]) -> list[Detector]:
    """The shared-regex detectors for the ``enabled`` entity types (compiled once)."""
    detectors: list[Detector] = []
    for lead, branches in ((_DIGIT_LEAD, DIGIT_LED), (_LETTER_LEAD, LETTER_LED)):
        chosen = tuple(branch for branch in branches if branch.entity in enabled)
        if chosen:
            detectors.append(_alternation(lead, chosen))
    return detectors


def found_by(detectors: Sequence[Detector], text: str) -> list[Finding]:
    """Every candidate the ``detectors`` accept in ``text``, overlaps included."""
    out: list[Finding] = []
    for detector in detectors:
        detector.find(text, out)
    return out
