"""Detectors anchored on one literal character: e-mail (``@``) and IPv6 (``:``).

Each is skipped when ``str.__contains__`` does not see its anchor; otherwise
``re`` searches for the anchor with its plain literal loop, and the address is
grown outwards from it. Growing backwards matches a regex against the reversed
characters just before the anchor, so no search ever restarts at every position
of a window.
"""

from __future__ import annotations

import re
from typing import Final

from phantom.privacy.domain.entities import EMAIL, IP_ADDRESS, Finding
from phantom.privacy.domain.validators import ipv6_valid

__all__ = ["EmailDetector", "Ipv6Detector"]

_EMAIL_DOMAIN: Final = re.compile(
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,24}"
    r"(?![A-Za-z0-9-])"
)
_EMAIL_LOCAL_REVERSED: Final = re.compile(r"[A-Za-z0-9._%+-]{1,65}")


def _reversed_before(text: str, at: int, size: int) -> str:
    """The ``size`` characters before ``at``, last first (to match backwards)."""
    return text[max(0, at - size) : at][::-1]


class EmailDetector:
    """E-mail addresses, found from each ``@`` outwards.

    The domain is matched forwards from the ``@`` (labels of letters, digits and
    inner hyphens, a 2-24 letter TLD); the local part backwards, up to 64
    characters of ``A-Z a-z 0-9 . _ % + -`` not starting with a dot.
    """

    __slots__ = ()
    entities: Final = frozenset({EMAIL})
    score: Final = 0.95

    def find(self, text: str, out: list[Finding]) -> None:
        """Append every e-mail address in ``text`` to ``out``."""
        if "@" not in text:
            return
        for match in _EMAIL_DOMAIN.finditer(text):
            at = match.start()
            local = _EMAIL_LOCAL_REVERSED.match(_reversed_before(text, at, 65))
            if local is None or local.end() > 64:
                continue
            start = at - len(local.group().rstrip("."))
            if start < at:
                out.append(Finding(EMAIL, start, match.end(), self.score, "email"))


_IPV6_SEED: Final = re.compile(
    r":(?::|[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:[0-9A-Fa-f]{1,4}:)"
)
_IPV6_HEAD_REVERSED: Final = re.compile(r"[0-9A-Fa-f:]{0,40}")
_IPV6_BODY: Final = re.compile(
    r"[0-9A-Fa-f:]{1,29}?:[0-9]{1,3}(?:\.[0-9]{1,3}){3}|[0-9A-Fa-f:]{2,39}"
)
_WORD_CHARS: Final = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_0123456789"
)


class Ipv6Detector:
    """IPv6 addresses, full or compressed, with an optional IPv4 tail.

    A candidate starts where a ``::`` or four colon-separated groups are seen;
    the address is then grown backwards and forwards over hex digits and colons
    and checked by :func:`.validators.ipv6_valid`. An address glued to a word
    is refused, except after a ``label:`` (``ip:fe80::1``, ``IPv6:2001:db8::1``).
    Times (``10:32:11``) never seed a candidate, and MAC addresses fail the check.
    """

    __slots__ = ()
    entities: Final = frozenset({IP_ADDRESS})
    score: Final = 0.9

    def find(self, text: str, out: list[Finding]) -> None:
        """Append every IPv6 address in ``text`` to ``out``."""
        if ":" not in text:
            return
        done = 0
        for seed in _IPV6_SEED.finditer(text):
            at = seed.start()
            if at < done:
                continue
            head = _IPV6_HEAD_REVERSED.match(_reversed_before(text, at, 40))
            start = at - (head.end() if head is not None else 0)
            span = _address(text, start, labelled=False)
            if span is None and start and text[start - 1] in _WORD_CHARS:
                span = _address(text, text.find(":", start, at + 1) + 1, labelled=True)
            if span is not None:
                done = span[1]
                out.append(Finding(IP_ADDRESS, *span, self.score, "ipv6"))


def _address(text: str, start: int, *, labelled: bool) -> tuple[int, int] | None:
    """The IPv6 address starting at ``start``, if one does and stands alone.

    ``labelled`` accepts a ``label:`` just before it (``ip:fe80::1``).
    """
    body = _IPV6_BODY.match(text, start)
    if body is None:
        return None
    end = body.end()
    before = text[start - 1] if start else " "
    after = text[end : end + 2]
    if labelled:
        glued = before != ":" or text[start - 2 : start - 1] not in _WORD_CHARS
    else:
        glued = before in _WORD_CHARS or before in ":."
    glued = glued or after[:1] in _WORD_CHARS or after[:1] == ":"
    glued = glued or (after[:1] == "." and after[1:] in _WORD_CHARS)
    return None if glued or not ipv6_valid(text[start:end]) else (start, end)
