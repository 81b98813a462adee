"""The monitoring domain's errors, all :class:`~phantom.kernel.errors.InvalidInput`.

::

    InvalidInput (422)
    ├── InvalidColumns    the data given is not a usable table of columns
    ├── SchemaMismatch    a window lacks columns its reference profile holds
    ├── InvalidProfile    a stored profile cannot be read back
    ├── InvalidPolicy     a drift policy's thresholds or statistics do not fit
    └── InvalidFeedback   labels, predictions or scores cannot be scored
"""

from __future__ import annotations

from phantom.kernel.errors import InvalidInput

__all__ = [
    "InvalidColumns",
    "InvalidFeedback",
    "InvalidPolicy",
    "InvalidProfile",
    "SchemaMismatch",
]


class InvalidColumns(InvalidInput):
    """The columns are not 1-D arrays of one length, or a kind does not fit."""

    code = "invalid-columns"
    title = "Invalid columns"


class SchemaMismatch(InvalidInput):
    """A window's columns do not match the reference profile it is compared with."""

    code = "schema-mismatch"
    title = "Columns do not match the reference profile"


class InvalidProfile(InvalidInput):
    """A serialized profile is malformed or of an unknown format version."""

    code = "invalid-profile"
    title = "Invalid profile"


class InvalidPolicy(InvalidInput):
    """A drift policy names a statistic or threshold that cannot apply."""

    code = "invalid-policy"
    title = "Invalid drift policy"


class InvalidFeedback(InvalidInput):
    """Ground truth and predictions that no metric can score as given."""

    code = "invalid-feedback"
    title = "Invalid feedback"
