"""Recognise a pickle in a bounded prefix of bytes, without ever unpickling it.

A pickle is recognised by decoding its opcodes with :func:`pickletools.genops`
(which reads opcodes and arguments and executes nothing) over at most
:data:`PICKLE_SCAN_BYTES`: a ``PROTO`` header followed by a valid opcode, a
complete stream up to ``STOP``, an opcode that imports or calls (``GLOBAL``,
``REDUCE`` ...) early in a valid run, or a long valid run. Text, JSON, UBJSON,
protobuf and NumPy headers fail within a few bytes.

The same check runs on what a joblib-style wrapper hides: the first
:data:`DECOMPRESS_BYTES` of a zlib, gzip, bz2, xz/lzma or lz4 stream are
decompressed (output bounded per call, so a compression bomb costs nothing) and
checked again, and a NumPy ``.npy`` whose dtype holds Python objects counts as a
pickle, since that is how NumPy stores them.
"""

from __future__ import annotations

import bz2
import importlib
import io
import lzma
import pickletools
import warnings
import zlib
from collections.abc import Callable
from typing import Final, Protocol

import numpy as np

__all__ = [
    "DECOMPRESS_BYTES",
    "NPY_MAGIC",
    "PICKLE_SCAN_BYTES",
    "looks_like_pickle",
    "pickle_reason",
]

PICKLE_SCAN_BYTES: Final = 64 * 1024
"""How much of a stream :func:`looks_like_pickle` decodes."""
DECOMPRESS_BYTES: Final = 256 * 1024
"""How much of a compressed stream is decompressed to look inside."""
NPY_MAGIC: Final = b"\x93NUMPY"
_MAX_DEPTH: Final = 2
_CHUNK: Final = 64 * 1024
_LONG_RUN: Final = 32
_RISKY: Final = frozenset(
    {
        "GLOBAL",
        "STACK_GLOBAL",
        "INST",
        "OBJ",
        "REDUCE",
        "NEWOBJ",
        "NEWOBJ_EX",
        "BUILD",
        "EXT1",
        "EXT2",
        "EXT4",
    }
)
_DECOMPRESS_ERRORS: Final = (
    zlib.error,
    lzma.LZMAError,
    OSError,
    EOFError,
    ValueError,
    RuntimeError,
)
_HIGHEST_PROTOCOL: Final = 5
_NPY_OBJECTS: Final = "a NumPy array of Python objects (a pickle)"
_PROTO: Final = 0x80


class _Decompressor(Protocol):
    def decompress(self, data: bytes, max_length: int = ..., /) -> bytes: ...


def looks_like_pickle(prefix: bytes) -> bool:
    """Whether ``prefix`` is (the start of) a pickle stream, protocol 0 to 5."""
    with warnings.catch_warnings():
        # Decoding protocol-0 string arguments may warn about odd escapes.
        warnings.simplefilter("ignore")
        return _decodes_as_pickle(prefix)


class _Machine:
    """Just enough of the unpickler's stack and memo to tell a pickle from noise.

    Counts stack items and marks, and the memo keys, from the opcodes' declared
    stack effects; nothing is built, looked up or called.
    """

    def __init__(self) -> None:
        self.depth = 0
        self.marks: list[int] = []
        self.memo: set[object] = set()

    def step(self, opcode: pickletools.OpcodeInfo, arg: object) -> bool:
        """Apply one opcode; ``False`` if a real unpickler would fail here."""
        before = opcode.stack_before
        if pickletools.markobject in before:
            at = before.index(pickletools.markobject)
            above = [s for s in before[at + 1 :] if s is not pickletools.stackslice]
            if not self.marks or self.depth - self.marks[-1] < len(above):
                return False
            self.depth = self.marks.pop() - at
        else:
            self.depth -= len(before)
        if self.depth < 0 or not self._memo(opcode.name, arg):
            return False
        if opcode.name == "MARK":
            self.marks.append(self.depth)
        else:
            self.depth += len(opcode.stack_after)
        return True

    def _memo(self, name: str, arg: object) -> bool:
        if name in {"PUT", "BINPUT", "LONG_BINPUT"}:
            self.memo.add(arg)
        elif name == "MEMOIZE":
            self.memo.add(len(self.memo))
        elif name in {"GET", "BINGET", "LONG_BINGET"}:
            return arg in self.memo
        return True


def _decodes_as_pickle(prefix: bytes) -> bool:
    machine = _Machine()
    ops = 0
    risky = False
    try:
        for opcode, arg, _pos in pickletools.genops(prefix[:PICKLE_SCAN_BYTES]):
            ops += 1
            if ops == 1 and opcode.name == "PROTO":
                if not (isinstance(arg, int) and 0 <= arg <= _HIGHEST_PROTOCOL):
                    return False
                continue
            if not machine.step(opcode, arg):
                return False
            if ops == 2 and prefix[0] == _PROTO:
                return True  # PROTO and a version, then a valid opcode
            risky = risky or opcode.name in _RISKY
            if opcode.name == "STOP" or (risky and ops >= 2) or ops >= _LONG_RUN:
                return ops >= 2
    except ValueError:
        # An unknown opcode, a malformed argument, or the end of the prefix.
        pass
    return False


def _npy_has_objects(prefix: bytes) -> bool:
    stream = io.BytesIO(prefix)
    try:
        major, _minor = np.lib.format.read_magic(stream)
        if major == 1:
            _, _, dtype = np.lib.format.read_array_header_1_0(stream)
        else:
            _, _, dtype = np.lib.format.read_array_header_2_0(stream)
    except (ValueError, TypeError, SyntaxError, EOFError):
        return True  # a header we cannot read is one we cannot clear
    return bool(dtype.hasobject)


def _lz4() -> Callable[[], _Decompressor] | None:
    try:
        frame = importlib.import_module("lz4.frame")
    except ImportError:
        return None
    maker: Callable[[], _Decompressor] = frame.LZ4FrameDecompressor
    return maker


def _zlib_header(prefix: bytes) -> bool:
    """RFC 1950: deflate (CM 8), a window of at most 32 KiB, a valid check."""
    if len(prefix) < 2:
        return False
    cmf, flg = prefix[0], prefix[1]
    return cmf & 0x0F == 8 and cmf >> 4 <= 7 and (cmf << 8 | flg) % 31 == 0


def _wrappers(prefix: bytes) -> list[tuple[str, Callable[[], _Decompressor] | None]]:
    """The compression formats ``prefix`` starts like (``None``: cannot inspect)."""
    found: list[tuple[str, Callable[[], _Decompressor] | None]] = []
    if _zlib_header(prefix):
        found.append(("zlib", zlib.decompressobj))
    if prefix.startswith(b"\x1f\x8b"):
        found.append(("gzip", lambda: zlib.decompressobj(wbits=31)))
    if prefix.startswith(b"BZh"):
        found.append(("bz2", bz2.BZ2Decompressor))
    if prefix.startswith(b"\xfd7zXZ\x00"):
        found.append(("xz", lambda: lzma.LZMADecompressor(lzma.FORMAT_XZ)))
    if prefix.startswith(b"\x5d\x00\x00"):
        found.append(("lzma", lambda: lzma.LZMADecompressor(lzma.FORMAT_ALONE)))
    if prefix.startswith(b"\x04\x22\x4d\x18"):
        found.append(("lz4", _lz4()))
    return found


def _inflate(prefix: bytes, make: Callable[[], _Decompressor]) -> bytes:
    """The first :data:`DECOMPRESS_BYTES` that ``prefix`` decompresses to."""
    decompressor = make()
    out = bytearray()
    for start in range(0, len(prefix), _CHUNK):
        room = DECOMPRESS_BYTES - len(out)
        try:
            out += decompressor.decompress(prefix[start : start + _CHUNK], room)
        except _DECOMPRESS_ERRORS:
            break  # keep what decompressed before the damage
        if len(out) >= DECOMPRESS_BYTES or getattr(decompressor, "eof", False):
            break
    return bytes(out)


def pickle_reason(prefix: bytes, *, depth: int = 0) -> str | None:
    """Why the stream starting with ``prefix`` must never be loaded, or ``None``.

    Args:
        prefix: the first bytes of a file or archive member (bounded by the caller).
        depth: how many compression layers are already peeled off.

    Returns:
        ``"a pickle"``, ``"a NumPy array of Python objects"``, ``"a gzip-compressed
        pickle"`` ..., or ``None`` when no pickle was found.
    """
    if prefix.startswith(NPY_MAGIC):
        return _NPY_OBJECTS if _npy_has_objects(prefix) else None
    if looks_like_pickle(prefix):
        return "a pickle"
    if depth >= _MAX_DEPTH:
        return None
    for name, make in _wrappers(prefix):
        if make is None:
            return f"{name}-compressed and cannot be inspected (lz4 is not installed)"
        inner = pickle_reason(_inflate(prefix, make), depth=depth + 1)
        if inner is not None:
            return f"{name}-compressed: {inner}"
    return None
