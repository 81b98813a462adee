"""The errors of model-format detection and loading.

::

    InvalidInput (422)
    ├── UnsafeModel (422)          the bytes are, or contain, something never loaded
    └── UnknownModelFormat (422)   the bytes are no format Phantom can serve
"""

from __future__ import annotations

from phantom.kernel.errors import InvalidInput

__all__ = ["UnknownModelFormat", "UnsafeModel"]


class UnsafeModel(InvalidInput):
    """The model file is, or contains, something Phantom refuses to load.

    A pickle (raw, compressed, inside an archive or an object ``.npy``), a skops
    file naming types outside the allow-list, an archive too large or too nested
    to inspect, or bytes whose sha256 is not the one registered.
    """

    code = "unsafe-model"
    status = 422
    title = "Unsafe model file"


class UnknownModelFormat(InvalidInput):
    """The bytes are not a model format Phantom recognises by content."""

    code = "unknown-model-format"
    status = 422
    title = "Unknown model format"
