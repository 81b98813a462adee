"""Synthetic PII values and look-alikes, for the labelled corpus and for tests.

Every function takes a :class:`random.Random` and returns a string; nothing here
touches the global random state, so a seed always gives the same values. The
``fake_*`` values are real instances of their kind (valid checksums, issuable
ranges); the ``NEGATIVES`` look like PII but are not (Luhn-invalid card numbers,
IBANs with wrong check digits, out-of-range IPs, unissuable SSNs, UUIDs, ...).
"""

from __future__ import annotations

import base64
import ipaddress
import json
import random
import string
from collections.abc import Callable
from typing import Final

__all__ = [
    "NEGATIVES",
    "fake_card",
    "fake_email",
    "fake_iban",
    "fake_ipv4",
    "fake_ipv6",
    "fake_nino",
    "fake_phone",
    "fake_secret",
    "fake_ssn",
    "luhn_digit",
]

_FIRST: Final = ("jane", "john", "maria", "li", "ahmed", "olga", "sam", "priya")
_LAST: Final = ("doe", "smith", "garcia", "chen", "okafor", "novak", "patel")
_DOMAINS: Final = ("example.com", "mail.example.co.uk", "corp.io", "uni.edu", "x.org")
_ALNUM: Final = string.ascii_letters + string.digits
_UPPER_ALNUM: Final = string.ascii_uppercase + string.digits
_CARD_BRANDS: Final = (
    ("4", 16, (4, 4, 4, 4)),
    ("4", 13, None),
    ("4", 19, (4, 4, 4, 4, 3)),
    ("51", 16, (4, 4, 4, 4)),
    ("55", 16, (4, 4, 4, 4)),
    ("2221", 16, (4, 4, 4, 4)),
    ("34", 15, (4, 6, 5)),
    ("37", 15, (4, 6, 5)),
    ("36", 14, (4, 6, 4)),
    ("6011", 16, (4, 4, 4, 4)),
    ("35", 16, (4, 4, 4, 4)),
)
_IBAN_SHAPES: Final = {
    "DE": "n18", "GB": "a4n14", "FR": "n23", "NL": "a4n10", "ES": "n20",
    "IT": "a1n22", "BE": "n12", "CH": "n17", "NO": "n11", "PL": "n24",
}  # fmt: skip
_NINO_FIRST: Final = "ABCEGHJKLMNOPRSTWXYZ"
_NINO_SECOND: Final = "ABCEGHJKLMNPRSTWXYZ"
_NINO_BAD: Final = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(count))


def _chars(rng: random.Random, alphabet: str, count: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(count))


def fake_email(rng: random.Random) -> str:
    """An e-mail address in one of several local-part styles."""
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    local = rng.choice(
        (
            f"{first}.{last}",
            f"{first[0]}.{last}+news",
            f"{first}{last}{rng.randint(1, 99)}",
            f"{first.upper()}_{last.upper()}",
        )
    )
    return f"{local}@{rng.choice(_DOMAINS)}"


def fake_phone(rng: random.Random) -> str:
    """A phone number: E.164, spaced international, or US/UK national."""
    area, exchange, line = rng.randint(201, 989), rng.randint(200, 999), _digits(rng, 4)
    london, uk_mid = _digits(rng, 4), _digits(rng, 4)
    return rng.choice(
        (
            f"+1{area}{exchange}{line}",
            f"+1 {area} {exchange} {line}",
            f"+44 20 {london} {uk_mid}",
            f"+33 1 {_digits(rng, 2)} {_digits(rng, 2)} {_digits(rng, 2)} 89",
            f"({area}) {exchange}-{line}",
            f"{area}-{exchange}-{line}",
            f"{area}.{exchange}.{line}",
            f"020 {london} {uk_mid}",
            f"0161 {rng.randint(200, 999)} {line}",
            f"07700 {_digits(rng, 6)}",
        )
    )


def luhn_digit(partial: str) -> str:
    """The check digit that makes ``partial`` + digit pass the Luhn check."""
    total = 0
    for index, char in enumerate(reversed(partial)):
        digit = int(char)
        if index % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return str(-total % 10)


def _group(number: str, groups: tuple[int, ...] | None, separator: str) -> str:
    if groups is None or not separator:
        return number
    parts, at = [], 0
    for size in groups:
        parts.append(number[at : at + size])
        at += size
    return separator.join(parts)


def fake_card(rng: random.Random, *, valid: bool = True) -> str:
    """A card number that passes the Luhn check, or fails it when not ``valid``."""
    prefix, length, groups = rng.choice(_CARD_BRANDS)
    body = prefix + _digits(rng, length - len(prefix) - 1)
    check = luhn_digit(body)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    return _group(body + check, groups, rng.choice(("", " ", "-")))


def _iban_check(country: str, bban: str) -> int:
    numeric = "".join(str(int(char, 36)) for char in bban + country + "00")
    return 98 - int(numeric) % 97


def fake_iban(rng: random.Random, *, valid: bool = True) -> str:
    """An IBAN with correct check digits (or wrong ones), compact or in fours."""
    country, shape = rng.choice(tuple(_IBAN_SHAPES.items()))
    letters = int(shape[1:].split("n")[0]) if shape[0] == "a" else 0
    bban = _chars(rng, string.ascii_uppercase, letters)
    bban += _digits(rng, int(shape.rsplit("n", 1)[1]))
    check = _iban_check(country, bban)
    if not valid:
        check = check + rng.randint(1, 90) if check < 8 else check - rng.randint(1, 7)
    compact = f"{country}{check:02d}{bban}"
    if rng.random() < 0.5:
        return compact
    return " ".join(compact[at : at + 4] for at in range(0, len(compact), 4))


def fake_ipv4(rng: random.Random) -> str:
    """A dotted-quad IPv4 address."""
    octets = [rng.randint(1, 255), *(rng.randint(0, 255) for _ in range(3))]
    return ".".join(map(str, octets))


def fake_ipv6(rng: random.Random) -> str:
    """An IPv6 address: full, compressed, loopback, link-local or IPv4-mapped."""
    groups = [rng.randint(0, 0xFFFF) for _ in range(8)]
    zero_from = rng.randint(1, 5)
    for index in range(zero_from, zero_from + rng.randint(0, 3)):
        groups[index] = 0
    address = ipaddress.IPv6Address(b"".join(g.to_bytes(2, "big") for g in groups))
    choice = rng.randint(0, 5)
    if choice == 0:
        return address.exploded
    if choice == 1:
        return "::1"
    if choice == 2:
        return f"fe80::{groups[4]:x}:{groups[5]:x}:{groups[6]:x}:{rng.randint(1, 9)}"
    if choice == 3:
        return f"::ffff:{fake_ipv4(rng)}"
    text = address.compressed
    return text if any(char.isdigit() for char in text) else "2001:db8::" + text[-4:]


def fake_ssn(rng: random.Random) -> str:
    """A US SSN in an issuable range, usually ``AAA-GG-SSSS``."""
    area = rng.choice([*range(1, 666), *range(667, 900)])
    group, serial = rng.randint(1, 99), rng.randint(1, 9999)
    separator = "-" if rng.random() < 0.8 else " "
    return f"{area:03d}{separator}{group:02d}{separator}{serial:04d}"


def fake_nino(rng: random.Random) -> str:
    """A UK National Insurance number with an allocatable prefix."""
    prefix = "BG"
    while prefix in _NINO_BAD:
        prefix = rng.choice(_NINO_FIRST) + rng.choice(_NINO_SECOND)
    digits, suffix = _digits(rng, 6), rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{prefix}{digits}{suffix}"
    return f"{prefix} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"


def _b64(data: dict[str, object]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _jwt(rng: random.Random) -> str:
    header = _b64({"alg": "HS256", "typ": "JWT"})
    payload = _b64(
        {"sub": _digits(rng, 6), "iat": rng.randint(1_600_000_000, 1_800_000_000)}
    )
    return f"{header}.{payload}.{_chars(rng, _ALNUM + '-_', 43)}"


def fake_secret(rng: random.Random) -> tuple[str, str]:
    """A credential and the words that precede it (``Bearer ``, ``api_key=``, ...)."""
    random_part = _chars(rng, _ALNUM, 3) + rng.choice(string.digits)
    random_part += _chars(rng, _ALNUM, 36)
    return rng.choice(
        (
            ("aws key ", "AKIA" + _chars(rng, _UPPER_ALNUM, 16)),
            ("GITHUB_TOKEN=", "ghp_" + _chars(rng, _ALNUM, 36)),
            ("pat ", "github_pat_" + _chars(rng, _ALNUM, 22) + "_" + random_part),
            (
                "slack ",
                f"xoxb-{_digits(rng, 12)}-{_digits(rng, 13)}-{random_part[:24]}",
            ),
            ("stripe ", rng.choice(("sk_live_", "pk_live_")) + _chars(rng, _ALNUM, 24)),
            ("session ", _jwt(rng)),
            ("Authorization: Bearer ", random_part),
            ("api_key = '", random_part),
            ('"client_secret": "', random_part),
            ("password: ", random_part[:34]),
        )
    )


def _negative_card(rng: random.Random) -> str:
    return fake_card(rng, valid=False)


def _negative_iban(rng: random.Random) -> str:
    return fake_iban(rng, valid=False)


def _negative_ip(rng: random.Random) -> str:
    return rng.choice(
        (
            f"{rng.randint(256, 999)}.{rng.randint(0, 255)}.1.1",
            f"10.0.{rng.randint(0, 255)}.{rng.randint(256, 999)}",
            f"{rng.randint(1, 9)}.{rng.randint(1, 9)}.{rng.randint(1, 9)}",
        )
    )


def _negative_ssn(rng: random.Random) -> str:
    tail = f"{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
    return rng.choice(
        (
            f"000-{tail}",
            f"666-{tail}",
            f"9{rng.randint(0, 99):02d}-{tail}",
            f"{rng.randint(1, 665):03d}-00-{rng.randint(1, 9999):04d}",
            f"{rng.randint(1, 665):03d}-{rng.randint(1, 99):02d}-0000",
        )
    )


def _negative_nino(rng: random.Random) -> str:
    digits = _digits(rng, 6)
    return rng.choice((f"QQ{digits}C", f"BG{digits}A", f"AB{digits}E", f"DA{digits}B"))


def _negative_misc(rng: random.Random) -> str:
    hexes = _chars(rng, "0123456789abcdef", 32)
    return rng.choice(
        (
            f"ORD-2024-{_digits(rng, 6)}",
            f"INV{_digits(rng, 8)}",
            f"v{rng.randint(1, 9)}.{rng.randint(0, 30)}.{rng.randint(0, 99)}",
            f"2024-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}T10:32:11Z",
            f"2024-03-15 {rng.randint(10, 23)}:{rng.randint(10, 59)}:11.123",
            f"17{_digits(rng, 11)}",
            f"2024031{rng.randint(0, 9)}{_digits(rng, 6)}",
            f"{hexes[:8]}-{hexes[8:12]}-4{hexes[13:16]}-a{hexes[17:20]}-{hexes[20:]}",
            f"00:1A:2B:{rng.randint(10, 99)}:4D:5E",
            f"${rng.randint(1, 9)},{_digits(rng, 3)}.{_digits(rng, 2)}",
            "token=" + "a" * 36,
            "ASIA-PACIFIC",
            f"#{hexes[:6]}",
        )
    )


NEGATIVES: Final[tuple[Callable[[random.Random], str], ...]] = (
    _negative_card,
    _negative_iban,
    _negative_ip,
    _negative_ssn,
    _negative_nino,
    _negative_misc,
    _negative_misc,
)
"""Generators of PII look-alikes that no detector should report."""
