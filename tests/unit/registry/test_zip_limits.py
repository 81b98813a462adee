"""Archives too large, too compressed or too many are refused before reading."""

from __future__ import annotations

import io
import struct
import time
import zipfile

import pytest

from phantom.registry.formats.archives import MAX_MEMBERS
from phantom.registry.formats.detect import refuse_unsafe
from phantom.registry.formats.errors import UnsafeModel


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _declare_size(data: bytes, size: int) -> bytes:
    """Rewrite the central directory so the first member claims ``size`` bytes."""
    out = bytearray(data)
    at = out.index(b"PK\x01\x02")
    out[at + 24 : at + 28] = struct.pack("<I", size)
    return bytes(out)


def test_member_with_extreme_ratio_is_refused_quickly() -> None:
    bomb = _zip({"weights.bin": bytes(8 * 1024 * 1024)})
    assert len(bomb) < 64 * 1024
    started = time.perf_counter()
    with pytest.raises(UnsafeModel, match="ratio"):
        refuse_unsafe(bomb)
    assert time.perf_counter() - started < 1.0


def test_member_declaring_a_huge_size_is_refused_without_reading() -> None:
    lying = _declare_size(_zip({"weights.bin": b"x" * 100}), 0xFFFF_0000)
    started = time.perf_counter()
    with pytest.raises(UnsafeModel, match="size limit"):
        refuse_unsafe(lying)
    assert time.perf_counter() - started < 1.0


def test_archive_with_too_many_members_is_refused() -> None:
    many = _zip({f"m{i}": b"" for i in range(MAX_MEMBERS + 1)})
    with pytest.raises(UnsafeModel, match="members"):
        refuse_unsafe(many)


def test_encrypted_member_is_refused() -> None:
    data = bytearray(_zip({"weights.bin": b"x" * 10}))
    at = data.index(b"PK\x01\x02")
    data[at + 8] |= 0x01
    with pytest.raises(UnsafeModel, match="encrypted"):
        refuse_unsafe(bytes(data))


def test_plain_archive_without_pickles_passes() -> None:
    refuse_unsafe(_zip({"readme.txt": b"hello\n", "data.json": b'{"a": 1}'}))
