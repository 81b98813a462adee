"""The privacy context's errors, grafted onto the kernel's tree.

::

    InvalidInput (422)
    ├── InvalidField (422)
    │   ├── InvalidPattern (422)   a tenant's custom pattern is refused
    │   └── InvalidPolicy (422)    a policy names an unknown entity or a bad option
    └── InvalidKey (422)           the tenant key is missing or too short
    Conflict (409)
    └── PseudonymCollision (409)   two values share one pseudonym token
"""

from __future__ import annotations

from phantom.kernel.errors import Conflict, InvalidField, InvalidInput

__all__ = ["InvalidKey", "InvalidPattern", "InvalidPolicy", "PseudonymCollision"]


class InvalidPattern(InvalidField):
    """A custom pattern is refused: bad name, too long, does not compile, unsafe.

    The field is ``patterns.<name>``; the message says which rule it broke, and
    the pattern text itself is never echoed back.
    """

    code = "invalid-pattern"
    title = "Invalid custom pattern"

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"patterns.{name}", message)
        self.name = name


class InvalidPolicy(InvalidField):
    """A policy or one of its operators is malformed."""

    code = "invalid-policy"
    title = "Invalid privacy policy"


class InvalidKey(InvalidInput):
    """The tenant key given to a keyed operator is unusable (under 16 bytes)."""

    code = "invalid-key"
    title = "Invalid tenant key"


class PseudonymCollision(Conflict):
    """Two different values produced the same pseudonym token in one tenant.

    Pseudonym tokens are truncated HMACs; raise the token length in the policy.
    """

    code = "pseudonym-collision"
    title = "Pseudonym collision"
