"""Hostile model files: every one would create ``canary`` if it were unpickled."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import pickle
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path


class Evil:
    """Unpickling this opens (creates) the canary file."""

    def __init__(self, canary: Path) -> None:
        self.canary = str(canary)

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (self.canary, "w"))


def evil_pickle(canary: Path, protocol: int = 4) -> bytes:
    return pickle.dumps(Evil(canary), protocol=protocol)


def text_pickles(canary: Path) -> dict[str, bytes]:
    """Protocol-0 pickles written by hand, as an attacker would."""
    return {
        "dict-p0": b"(dp0\nS'a'\np1\nI1\ns.",
        "os-system": f"cos\nsystem\n(S'touch {canary}'\ntR.".encode(),
        "builtin-open": f"c__builtin__\nopen\n(S'{canary}'\nS'w'\ntR.".encode(),
        "builtins-open": f"cbuiltins\nopen\n(S'{canary}'\nS'w'\ntR.".encode(),
    }


def npy_with_objects(canary: Path) -> bytes:
    """A .npy of dtype object, written by hand: its payload is a pickle."""
    header = "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }"
    raw = header.encode("latin1")
    pad = 64 - (10 + len(raw) + 1) % 64
    raw += b" " * pad + b"\n"
    return (
        b"\x93NUMPY\x01\x00"
        + struct.pack("<H", len(raw))
        + raw
        + evil_pickle(canary, 3)
    )


def zipped(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "zlib": zlib.compress,
    "gzip": gzip.compress,
    "bz2": bz2.compress,
    "xz": lzma.compress,
    "lzma-alone": lambda data: lzma.compress(data, format=lzma.FORMAT_ALONE),
}
