"""Checksums and structural rules, run only on candidates the regexes found.

Each function takes the candidate text and answers whether it is a real
instance of its kind. None of them scan a whole text.
"""

from __future__ import annotations

import ipaddress
import math
from collections import Counter
from typing import Final

__all__ = [
    "IBAN_LENGTHS",
    "digit_count",
    "iban_valid",
    "ipv4_valid",
    "ipv6_valid",
    "luhn_valid",
    "nino_valid",
    "shannon_entropy",
    "ssn_valid",
]

_DIGITS: Final = "0123456789"
_NOT_DIGITS: Final = {code: None for code in range(128) if chr(code) not in _DIGITS}
_LUHN_DOUBLED: Final = str.maketrans("0123456789", "0246813579")
"""Each digit doubled, then its two digits summed (a single digit again)."""
_IBAN_LETTERS: Final = str.maketrans(
    {chr(code): str(code - 55) for code in range(ord("A"), ord("Z") + 1)}
)

IBAN_LENGTHS: Final[dict[str, int]] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22,
    "BH": 22, "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22,
    "DK": 18, "DO": 28, "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27,
    "GB": 22, "GE": 22, "GI": 23, "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28,
    "IE": 22, "IL": 23, "IQ": 23, "IS": 26, "IT": 27, "JO": 30, "KW": 30, "KZ": 20,
    "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MD": 24,
    "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18, "NO": 15, "PK": 24,
    "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24, "SC": 31,
    "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip
"""IBAN length per country (ISO 13616 registry), check digits included."""

_NINO_BAD_FIRST: Final = frozenset("DFIQUV")
_NINO_BAD_SECOND: Final = frozenset("DFIOQUV")
_NINO_BAD_PREFIXES: Final = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def digit_count(text: str) -> int:
    """How many ASCII digits ``text`` holds."""
    return (
        len(text.translate(_NOT_DIGITS))
        if text.isascii()
        else sum(char in _DIGITS for char in text)
    )


def luhn_valid(number: str) -> bool:
    """Whether the digits of ``number`` (separators ignored) pass the Luhn check."""
    digits = number.translate(_NOT_DIGITS)
    if not digits:
        return False
    doubled = digits[-2::-2].translate(_LUHN_DOUBLED)
    return sum(map(int, digits[-1::-2] + doubled)) % 10 == 0


def iban_valid(candidate: str) -> bool:
    """Whether ``candidate`` (spaces allowed) is an IBAN of the right length and mod-97.

    The country must be in :data:`IBAN_LENGTHS` and the length must match it.
    """
    compact = candidate.replace(" ", "")
    if IBAN_LENGTHS.get(compact[:2]) != len(compact):
        return False
    if not (compact.isascii() and compact.isalnum() and compact.isupper()):
        return False
    rearranged = compact[4:] + compact[:4]
    return int(rearranged.translate(_IBAN_LETTERS)) % 97 == 1


def ssn_valid(candidate: str) -> bool:
    """Whether a ``AAA-GG-SSSS`` (or spaced) US SSN has an issuable number.

    Refuses area 000, 666 and 900-999, group 00 and serial 0000.
    """
    digits = candidate.translate(_NOT_DIGITS)
    if len(digits) != 9:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return (
        area not in {"000", "666"}
        and area[0] != "9"
        and group != "00"
        and serial != "0000"
    )


def nino_valid(candidate: str) -> bool:
    """Whether a UK National Insurance number has an allocatable prefix.

    The first letter is not D, F, I, Q, U or V; the second is not D, F, I, O, Q,
    U or V; the pair is not BG, GB, KN, NK, NT, TN or ZZ; the suffix is A-D
    (the regex has already required six digits and the suffix).
    """
    first, second = candidate[0], candidate[1]
    return (
        first not in _NINO_BAD_FIRST
        and second not in _NINO_BAD_SECOND
        and first + second not in _NINO_BAD_PREFIXES
    )


def ipv4_valid(candidate: str) -> bool:
    """Whether a dotted quad has four octets of at most 255, without leading zeros."""
    parts = candidate.split(".")
    return len(parts) == 4 and all(
        part.isdigit() and int(part) <= 255 and (part == "0" or part[0] != "0")
        for part in parts
    )


def ipv6_valid(candidate: str) -> bool:
    """Whether ``candidate`` is an IPv6 address with at least one decimal digit.

    Requiring a digit refuses word pairs such as ``dead::beef`` or ``cafe::face``
    and the bare ``::``, which read as text far more often than as addresses.
    """
    if not any(char in _DIGITS for char in candidate):
        return False
    try:
        ipaddress.IPv6Address(candidate)
    except ValueError:
        return False
    return True


def shannon_entropy(value: str) -> float:
    """The Shannon entropy of ``value``'s characters, in bits per character."""
    if not value:
        return 0.0
    size = len(value)
    return -sum(
        count / size * math.log2(count / size) for count in Counter(value).values()
    )
