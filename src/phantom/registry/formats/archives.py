"""Look inside a zip archive for pickles, reading only bounded parts of it.

Every limit is checked on what the archive declares before a byte of any member
is decompressed: the number of entries and the size of the central directory (in
the end record, before :mod:`zipfile` parses the directory), each member's size
and compression ratio, and the total. Then each member's first
:data:`MEMBER_PREFIX_BYTES` are checked by
:func:`~phantom.registry.formats.pickles.pickle_reason`; a member that is itself a
zip is opened and checked the same way, one level deep. Anything that cannot be
inspected (encrypted, deeper nesting, unreadable) is refused: fail closed.
"""

from __future__ import annotations

import io
import lzma
import struct
import zipfile
import zlib
from typing import IO, Final

from phantom.registry.formats.pickles import pickle_reason

__all__ = [
    "MAX_MEMBERS",
    "MAX_MEMBER_BYTES",
    "MAX_RATIO",
    "MEMBER_PREFIX_BYTES",
    "archive_reason",
]

MAX_MEMBERS: Final = 1_000
MEMBER_PREFIX_BYTES: Final = 1024 * 1024
MAX_MEMBER_BYTES: Final = 2 * 1024**3
MAX_TOTAL_BYTES: Final = 4 * 1024**3
MAX_RATIO: Final = 200
"""Largest uncompressed/compressed ratio for a member over :data:`_RATIO_FLOOR`."""
MAX_NESTED_BYTES: Final = 64 * 1024 * 1024
_RATIO_FLOOR: Final = 1024 * 1024
_MAX_DIRECTORY_BYTES: Final = 16 * 1024 * 1024
_EOCD: Final = b"PK\x05\x06"
_EOCD_SEARCH: Final = 22 + 0xFFFF
_PICKLE_SUFFIXES: Final = (".pkl", ".pickle", ".joblib", ".pt", ".pth", ".ckpt")
_READ_ERRORS: Final = (
    zipfile.BadZipFile,
    zlib.error,
    lzma.LZMAError,
    NotImplementedError,
    RuntimeError,
    EOFError,
    OSError,
    ValueError,
)


def _directory_reason(source: IO[bytes]) -> str | None:
    """Refuse a central directory too large to parse, from the end record alone."""
    size = source.seek(0, io.SEEK_END)
    source.seek(max(0, size - _EOCD_SEARCH))
    tail = source.read()
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        return "a zip archive without a readable end record"
    entries, directory_bytes = struct.unpack("<xxxxxxxxxxHI", tail[at : at + 16])
    if entries > MAX_MEMBERS:
        return f"a zip archive with more than {MAX_MEMBERS} members"
    if directory_bytes > _MAX_DIRECTORY_BYTES:
        return "a zip archive with an oversized central directory"
    return None


def _declared_reason(infos: list[zipfile.ZipInfo], where: str) -> str | None:
    if len(infos) > MAX_MEMBERS:
        return f"a zip archive with more than {MAX_MEMBERS} members"
    total = 0
    for info in infos:
        label = f"{where} member {info.filename[:200]!r}"
        if info.flag_bits & 0x1:
            return f"{label}: encrypted, cannot be inspected"
        size = info.file_size
        total += size
        if size > MAX_MEMBER_BYTES or total > MAX_TOTAL_BYTES:
            return f"{label}: declares more than the size limit (a zip bomb?)"
        if size > _RATIO_FLOOR and size > MAX_RATIO * max(info.compress_size, 1):
            return f"{label}: compression ratio over {MAX_RATIO} (a zip bomb?)"
        if info.filename.lower().endswith(_PICKLE_SUFFIXES):
            return f"{label}: a pickle file by its name"
    return None


def _member_reason(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, where: str, depth: int
) -> str | None:
    label = f"{where} member {info.filename[:200]!r}"
    with archive.open(info) as member:
        head = member.read(MEMBER_PREFIX_BYTES)
        reason = pickle_reason(head)
        if reason is not None:
            return f"{label}: {reason}"
        if not head.startswith(b"PK"):
            return None
        inner = io.BytesIO(head + member.read(MAX_NESTED_BYTES + 1 - len(head)))
    if not zipfile.is_zipfile(inner):
        return None
    if depth >= 1:
        return f"{label}: a zip nested more than one level deep"
    if len(inner.getbuffer()) > MAX_NESTED_BYTES:
        return f"{label}: a nested zip too large to inspect"
    return archive_reason(inner, where=label, depth=depth + 1)


def archive_reason(
    source: IO[bytes], *, where: str = "archive", depth: int = 0
) -> str | None:
    """Why the zip archive ``source`` must never be loaded, or ``None``.

    Args:
        source: a seekable binary file holding a zip archive.
        where: how to name the archive in the reason.
        depth: 0 for a file, 1 for a zip inside it (deeper ones are refused).
    """
    reason = _directory_reason(source)
    if reason is not None:
        return reason
    try:
        source.seek(0)
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
            reason = _declared_reason(infos, where)
            for info in infos:
                if reason is not None:
                    break
                if not info.is_dir():
                    reason = _member_reason(archive, info, where, depth)
    except _READ_ERRORS as exc:
        return f"{where}: a zip archive that cannot be read ({type(exc).__name__})"
    return reason
