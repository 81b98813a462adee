"""Detectors for credentials: vendor API keys, tokens, JWTs, assigned secrets.

Every detector here is anchored on a literal that real credentials carry
(``AKIA``, ``ghp_``, ``xoxb-``, ``eyJ``, ``earer``, ``=``/``:``), is skipped
outright when ``str.__contains__`` does not see that literal, and places its
word-boundary lookbehind after the literal so ``re`` can search for the literal
directly. All of them report :data:`.entities.SECRET`.

Generic secrets are 32 to 512 characters of ``A-Z a-z 0-9 _ + / . = ~ -``
assigned with ``=`` or ``:`` (quotes and spaces allowed) to a name containing
``key``, ``token``, ``secret``, ``password``/``passwd``/``pwd``, ``credential``
or ``auth`` (any case), whose characters have at least
:data:`GENERIC_MIN_ENTROPY` bits of Shannon entropy and mix letters and digits.
A trailing ``.`` is taken as punctuation, not part of the value (the same holds
for bearer tokens); URLs (``://``) are not secrets.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from phantom.privacy.domain.detectors import Detector
from phantom.privacy.domain.entities import SECRET, Finding
from phantom.privacy.domain.validators import shannon_entropy

__all__ = [
    "GENERIC_MIN_ENTROPY",
    "AssignedSecretDetector",
    "BearerDetector",
    "TokenDetector",
    "VendorTokenDetector",
    "secret_detectors",
]

GENERIC_MIN_ENTROPY: Final = 3.0
"""Bits per character a generic assigned value needs to count as a secret."""
_WORD: Final = "0-9A-Za-z_"
_WORD_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"
)
_DIGITS: Final = frozenset("0123456789")


@dataclass(frozen=True, slots=True)
class TokenDetector:
    """A vendor token with a fixed literal prefix.

    Attributes:
        name: the detector name reported in findings.
        needles: literals of which at least one must occur for the regex to run.
        pattern: the token's regex, literal first.
        back: characters the token starts before the match (its regex begins
            at a literal after the token's first characters, which a lookbehind
            checks).
        score: the confidence reported.
    """

    name: str
    needles: tuple[str, ...]
    pattern: re.Pattern[str]
    back: int = 0
    score: float = 0.95

    def scan(self, text: str, out: list[Finding]) -> None:
        """Append every token in ``text`` to ``out`` (the needles unchecked)."""
        back, score, name = self.back, self.score, self.name
        out.extend(
            Finding(SECRET, match.start() - back, match.end(), score, name)
            for match in self.pattern.finditer(text)
        )


TOKENS: Final = (
    TokenDetector(
        "aws_access_key",
        ("AKIA", "ASIA"),
        re.compile(rf"A[KS]IA(?<![{_WORD}]A[KS]IA)[0-9A-Z]{{16}}(?![{_WORD}])"),
    ),
    TokenDetector(
        "github_token",
        ("ghp_", "gho_", "ghu_", "ghs_", "ghr_"),
        re.compile(
            rf"gh[pousr]_(?<![{_WORD}]gh[pousr]_)[A-Za-z0-9]{{36,251}}(?![{_WORD}])"
        ),
    ),
    TokenDetector(
        "github_pat",
        ("github_pat_",),
        re.compile(
            rf"github_pat_(?<![{_WORD}]github_pat_)[A-Za-z0-9_]{{22,244}}(?![{_WORD}])"
        ),
    ),
    TokenDetector(
        "slack_token",
        ("xox",),
        re.compile(
            rf"xox[abprs]-(?<![{_WORD}]xox[abprs]-)[A-Za-z0-9-]{{10,250}}"
            rf"(?![{_WORD}-])"
        ),
    ),
    TokenDetector(
        "stripe_key",
        ("_live_", "_test_"),
        re.compile(
            rf"k_(?:live|test)_(?<=[prs]k_(?:live|test)_)"
            rf"(?<![{_WORD}][prs]k_(?:live|test)_)"
            rf"[A-Za-z0-9]{{16,247}}(?![{_WORD}])"
        ),
        back=1,
    ),
    TokenDetector(
        "jwt",
        ("eyJ",),
        re.compile(
            rf"eyJ(?<![{_WORD}-]eyJ)[A-Za-z0-9_-]{{2,}}\.eyJ[A-Za-z0-9_-]{{2,}}"
            rf"\.[A-Za-z0-9_-]*(?![{_WORD}-])"
        ),
    ),
)
"""The vendor token detectors: AWS, GitHub, Slack, Stripe, JWT."""


class VendorTokenDetector:
    """Every :class:`TokenDetector` in :data:`TOKENS`, behind their needles.

    One detector for all of them keeps the per-string cost of the gate to a
    dozen ``in`` tests, which matters for JSON records full of short strings.
    """

    __slots__ = ()

    @property
    def entities(self) -> frozenset[str]:
        """Only :data:`.entities.SECRET`."""
        return frozenset({SECRET})

    def find(self, text: str, out: list[Finding]) -> None:
        """Append every vendor token in ``text`` to ``out``."""
        for token in TOKENS:
            for needle in token.needles:
                if needle in text:
                    token.scan(text, out)
                    break


_BEARER: Final = re.compile(
    r"earer[ \t]+([A-Za-z0-9._~+/-]{16,}=*)(?![A-Za-z0-9._~+/=-])"
)


class BearerDetector:
    """The credential in ``Bearer <token>`` (either case of ``B``).

    Only the token is reported, not the scheme; it must be 16 characters or more
    and hold a digit, so prose such as "bearer instruments" is left alone.
    """

    __slots__ = ()
    score: Final = 0.85

    @property
    def entities(self) -> frozenset[str]:
        """Only :data:`.entities.SECRET`."""
        return frozenset({SECRET})

    def find(self, text: str, out: list[Finding]) -> None:
        """Append every bearer token in ``text`` to ``out``."""
        if "earer" not in text:
            return
        for match in _BEARER.finditer(text):
            at = match.start()
            if at < 1 or text[at - 1] not in "Bb":
                continue
            if at > 1 and text[at - 2] in _WORD_CHARS:
                continue
            token = match.group(1).rstrip(".")
            if _DIGITS.isdisjoint(token):
                continue
            start = match.start(1)
            end = start + len(token)
            out.append(Finding(SECRET, start, end, self.score, "bearer"))


_VALUE: Final = r"[ \t]*[\"']?([A-Za-z0-9_+/.=~-]{32,512})(?![A-Za-z0-9_+/.=~-])"
_ASSIGNMENTS: Final = (("=", re.compile("=" + _VALUE)), (":", re.compile(":" + _VALUE)))
_SECRET_NAME: Final = re.compile(
    r"(?i:key|token|secret|passw(?:or)?d|pwd|credentials?|auth)"
    r"[A-Za-z0-9_.-]*[\"']?[ \t]*\Z"
)


class AssignedSecretDetector:
    """A high-entropy value assigned to a secret-sounding name (see the module)."""

    __slots__ = ()
    score: Final = 0.75

    @property
    def entities(self) -> frozenset[str]:
        """Only :data:`.entities.SECRET`."""
        return frozenset({SECRET})

    def find(self, text: str, out: list[Finding]) -> None:
        """Append every assigned secret value in ``text`` to ``out``."""
        for operator, pattern in _ASSIGNMENTS:
            if operator not in text:
                continue
            for match in pattern.finditer(text):
                at = match.start()
                if _SECRET_NAME.search(text, max(0, at - 48), at) is None:
                    continue
                value = match.group(1).rstrip(".")
                if _looks_random(value):
                    start = match.start(1)
                    end = start + len(value)
                    out.append(Finding(SECRET, start, end, self.score, "assigned"))


def _looks_random(value: str) -> bool:
    has_digit = not _DIGITS.isdisjoint(value)
    has_letter = any(char.isalpha() for char in value)
    return (
        has_digit
        and has_letter
        and "://" not in value
        and shannon_entropy(value) >= GENERIC_MIN_ENTROPY
    )


def secret_detectors() -> Sequence[Detector]:
    """Every credential detector: vendor tokens, bearer tokens, assigned values."""
    return (VendorTokenDetector(), BearerDetector(), AssignedSecretDetector())
