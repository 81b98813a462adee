"""The artifact store contract: behaviour every ``ArtifactStore`` shows.

Subclass :class:`ArtifactStoreContract` in a test module (its name must start
with ``Test``) and provide two fixtures:

* ``store``: a fresh, empty store under test (closed by the fixture afterwards);
* ``corrupt``: a ``Callable[[str, str], None]`` that changes the stored bytes of
  ``(tenant_id, digest)`` behind the store's back, as bit rot or tampering would.

What only one adapter can show (temporary files, crash safety, multipart uploads)
belongs to that adapter's own tests; :class:`PatternSource` and the hostile ids
here are shared with them.
"""

from __future__ import annotations

import hashlib
import io
import random
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Final, TypeVar, cast

import pytest

from phantom.kernel.artifacts import ArtifactRef, ArtifactStore
from phantom.kernel.errors import (
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    QuotaExceeded,
    Unavailable,
)

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = [
    "HOSTILE_DIGESTS",
    "HOSTILE_TENANT_IDS",
    "ArtifactStoreContract",
    "Corrupt",
    "PatternSource",
    "SourceBroke",
    "sha256",
]

Corrupt = Callable[[str, str], None]
T = TypeVar("T")

HOSTILE_TENANT_IDS: Final[tuple[object, ...]] = (
    "",
    ".",
    "..",
    "../victim",
    "..\\victim",
    "victim/..",
    "victim/../victim",
    "a/b",
    "a\\b",
    "/",
    "/etc",
    "/srv/victim",
    "C:\\victim",
    "%2e%2e%2f",
    "%2e%2e",
    "%2fvictim",
    "..%2fvictim",
    "victim\x00",
    "\x00",
    "victim\n",
    "victim ",
    " victim",
    "vic.tim",
    "victim*",
    "~victim",
    "vic:tim",
    "víctim",
    "名前",
    "x" * 65,
    None,
    1,
    b"victim",
)
"""Tenant ids every method must refuse with ``InvalidInput``."""

_D: Final = "0123456789abcdef" * 4
HOSTILE_DIGESTS: Final[tuple[object, ...]] = (
    "",
    "..",
    "../" + _D[3:],
    "../../" + _D[6:],
    _D[:32] + "/" + _D[33:],
    _D[:32] + "\\" + _D[33:],
    "/" + _D[1:],
    "%2e%2e%2f" + _D[9:],
    _D[:63],
    _D + "0",
    _D.upper(),
    "g" + _D[1:],
    _D[:63] + "\x00",
    _D + "\n",
    _D[:63] + "\n",
    " " + _D[1:],
    _D + "/../x",
    None,
    0,
    _D.encode(),
)
"""Digests every method must refuse with ``InvalidInput``."""


def sha256(data: bytes) -> str:
    """The hex SHA-256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


class SourceBroke(Exception):
    """What a :class:`PatternSource` raises when told to fail midway."""


class PatternSource(io.RawIOBase):
    """A readable stream of ``size`` pseudo-random bytes that is never held whole.

    Records the size of every read, refuses to be read to EOF in one call, and
    can raise :class:`SourceBroke` once ``fail_after`` bytes were read (a client
    that disconnects mid-upload).

    Args:
        size: how many bytes the stream yields.
        fail_after: raise once this many bytes were produced; ``None`` never.
        seed: selects the pattern.
    """

    BLOCK: Final = 1 << 16

    def __init__(self, size: int, *, fail_after: int | None = None, seed: int = 7):
        super().__init__()
        self._size = size
        self._fail_after = fail_after
        self._block = random.Random(seed).randbytes(self.BLOCK)  # noqa: S311 - test data
        self.position = 0
        self.read_sizes: list[int] = []

    def readable(self) -> bool:
        return True

    def readall(self) -> bytes:
        msg = "the store read the whole source at once"
        raise AssertionError(msg)

    def readinto(self, buffer: WriteableBuffer) -> int:
        view = memoryview(buffer).cast("B")
        self.read_sizes.append(len(view))
        if self._fail_after is not None and self.position >= self._fail_after:
            msg = f"source failed after {self.position} bytes"
            raise SourceBroke(msg)
        count = min(len(view), self._size - self.position)
        done = 0
        while done < count:
            offset = (self.position + done) % self.BLOCK
            piece = min(count - done, self.BLOCK - offset)
            view[done : done + piece] = self._block[offset : offset + piece]
            done += piece
        self.position += count
        return count

    def stream(self) -> io.BufferedReader:
        """This source behind a small buffer: a ``BinaryIO`` as ``put`` expects."""
        return io.BufferedReader(self, buffer_size=8192)

    def expected_digest(self) -> str:
        """The SHA-256 of everything the stream yields, computed block by block."""
        hasher = hashlib.sha256()
        full, rest = divmod(self._size, self.BLOCK)
        for _ in range(full):
            hasher.update(self._block)
        hasher.update(self._block[:rest])
        return hasher.hexdigest()


class ArtifactStoreContract:
    """Behaviour every artifact store adapter must show (see the module docstring)."""

    @pytest.fixture
    def store(self) -> ArtifactStore:
        """The store under test; subclasses must override this fixture."""
        msg = f"{type(self).__name__} must provide a 'store' fixture"
        raise NotImplementedError(msg)

    @pytest.fixture
    def corrupt(self) -> Corrupt:
        """Changes stored bytes behind the store's back; subclasses override it."""
        msg = f"{type(self).__name__} must provide a 'corrupt' fixture"
        raise NotImplementedError(msg)

    # -- put and read back -------------------------------------------------------

    @pytest.mark.parametrize(
        "data", [b"", b"a", b"\x00\xff" * 7, bytes(range(256)) * 5000]
    )
    def test_put_returns_the_sha256_and_size_and_reads_give_the_bytes(
        self, store: ArtifactStore, data: bytes
    ) -> None:
        ref = store.put("t1", data)
        assert ref == ArtifactRef("t1", sha256(data), len(data))
        assert store.read_bytes("t1", ref.digest) == data
        with store.open("t1", ref.digest) as blob:
            assert blob.read() == data

    def test_put_accepts_bytearray_memoryview_and_binary_files(
        self, store: ArtifactStore
    ) -> None:
        data = b"payload" * 1000
        refs = {
            store.put("t1", bytearray(data)),  # type: ignore[arg-type]
            store.put("t1", memoryview(data)),  # type: ignore[arg-type]
            store.put("t1", io.BytesIO(data)),
        }
        assert refs == {ArtifactRef("t1", sha256(data), len(data))}

    def test_a_20_mb_stream_round_trips_without_being_read_whole(
        self, store: ArtifactStore
    ) -> None:
        size = 20 * 1024 * 1024 + 123
        source = PatternSource(size)
        ref = store.put("t1", source.stream())
        assert ref == ArtifactRef("t1", source.expected_digest(), size)
        assert max(source.read_sizes) <= 16 * 1024 * 1024
        hasher, total = hashlib.sha256(), 0
        with store.open("t1", ref.digest) as blob:
            while chunk := blob.read(1 << 20):
                hasher.update(chunk)
                total += len(chunk)
        assert (hasher.hexdigest(), total) == (ref.digest, size)
        assert store.usage("t1") == size

    def test_open_streams_in_pieces(self, store: ArtifactStore) -> None:
        data = bytes(range(256)) * 40
        ref = store.put("t1", data)
        with store.open("t1", ref.digest) as blob:
            assert blob.read(10) == data[:10]
            assert blob.read(1000) == data[10:1010]
            assert blob.read() == data[1010:]
            assert blob.read() == b""

    def test_putting_the_same_bytes_twice_stores_them_once(
        self, store: ArtifactStore
    ) -> None:
        first = store.put("t1", b"same content")
        second = store.put("t1", io.BytesIO(b"same content"))
        assert first == second
        assert store.usage("t1") == len(b"same content")

    @pytest.mark.parametrize("data", ["text", 42, None, io.StringIO("text")])
    def test_put_refuses_what_is_not_bytes_or_a_binary_file(
        self, store: ArtifactStore, data: object
    ) -> None:
        with pytest.raises(InvalidInput):
            store.put("t1", data)  # type: ignore[arg-type]
        assert store.usage("t1") == 0

    @pytest.mark.parametrize(
        "limits", [{"quota_bytes": -1}, {"max_bytes": -1}, {"max_bytes": True}]
    )
    def test_put_refuses_limits_that_are_not_non_negative_ints(
        self, store: ArtifactStore, limits: dict[str, object]
    ) -> None:
        with pytest.raises(InvalidInput):
            store.put("t1", b"x", **limits)  # type: ignore[arg-type]
        assert store.usage("t1") == 0

    # -- stat, exists, delete, usage ---------------------------------------------

    def test_stat_exists_and_delete(self, store: ArtifactStore) -> None:
        ref = store.put("t1", b"to delete")
        assert store.stat("t1", ref.digest) == ref
        assert store.exists("t1", ref.digest) is True
        assert store.delete("t1", ref.digest) is True
        assert store.stat("t1", ref.digest) is None
        assert store.exists("t1", ref.digest) is False
        assert store.delete("t1", ref.digest) is False
        assert store.usage("t1") == 0

    def test_missing_blobs_are_not_found(self, store: ArtifactStore) -> None:
        digest = sha256(b"never stored")
        assert store.stat("t1", digest) is None
        assert store.exists("t1", digest) is False
        with pytest.raises(NotFound), store.open("t1", digest):
            pass
        with pytest.raises(NotFound):
            store.read_bytes("t1", digest)
        with pytest.raises(NotFound), store.materialize("t1", digest):
            pass
        with pytest.raises(NotFound):
            store.verify("t1", digest)

    def test_usage_sums_distinct_blobs_and_follows_deletes(
        self, store: ArtifactStore
    ) -> None:
        assert store.usage("t1") == 0
        a = store.put("t1", b"a" * 100)
        store.put("t1", b"b" * 250)
        store.put("t1", b"a" * 100)
        assert store.usage("t1") == 350
        store.delete("t1", a.digest)
        assert store.usage("t1") == 250

    # -- limits ------------------------------------------------------------------

    def test_a_put_over_the_quota_is_refused_and_leaves_nothing(
        self, store: ArtifactStore
    ) -> None:
        store.put("t1", b"a" * 100, quota_bytes=150)
        refused = b"b" * 100
        with pytest.raises(QuotaExceeded):
            store.put("t1", refused, quota_bytes=150)
        with pytest.raises(QuotaExceeded):
            store.put("t1", io.BytesIO(refused), quota_bytes=150)
        assert store.exists("t1", sha256(refused)) is False
        assert store.usage("t1") == 100

    def test_a_put_that_exactly_fills_the_quota_is_accepted(
        self, store: ArtifactStore
    ) -> None:
        store.put("t1", b"a" * 100, quota_bytes=150)
        store.put("t1", b"b" * 50, quota_bytes=150)
        assert store.usage("t1") == 150

    def test_an_identical_blob_costs_nothing_against_a_full_quota(
        self, store: ArtifactStore
    ) -> None:
        ref = store.put("t1", b"a" * 100, quota_bytes=100)
        assert store.put("t1", b"a" * 100, quota_bytes=100) == ref
        assert store.put("t1", io.BytesIO(b"a" * 100), quota_bytes=100) == ref
        assert store.usage("t1") == 100

    def test_quotas_are_per_tenant(self, store: ArtifactStore) -> None:
        store.put("t1", b"a" * 100, quota_bytes=100)
        store.put("t2", b"b" * 100, quota_bytes=100)
        assert (store.usage("t1"), store.usage("t2")) == (100, 100)

    @pytest.mark.parametrize("as_stream", [False, True])
    def test_a_put_over_max_bytes_is_refused_and_leaves_nothing(
        self, store: ArtifactStore, as_stream: bool
    ) -> None:
        data = b"z" * 3000
        with pytest.raises(PayloadTooLarge):
            store.put("t1", io.BytesIO(data) if as_stream else data, max_bytes=2999)
        assert store.exists("t1", sha256(data)) is False
        assert store.usage("t1") == 0

    def test_a_long_stream_stops_being_read_soon_after_max_bytes(
        self, store: ArtifactStore
    ) -> None:
        source = PatternSource(50 * 1024 * 1024)
        with pytest.raises(PayloadTooLarge):
            store.put("t1", source.stream(), max_bytes=1024 * 1024)
        assert source.position <= 4 * 1024 * 1024
        assert store.usage("t1") == 0

    def test_a_put_of_exactly_max_bytes_is_accepted(self, store: ArtifactStore) -> None:
        ref = store.put("t1", io.BytesIO(b"z" * 3000), max_bytes=3000)
        assert ref.size == 3000
        assert store.put("t1", b"", max_bytes=0).size == 0

    def test_a_source_that_fails_midway_leaves_nothing(
        self, store: ArtifactStore
    ) -> None:
        source = PatternSource(3 * 1024 * 1024, fail_after=1024 * 1024)
        with pytest.raises(SourceBroke):
            store.put("t1", source.stream())
        assert store.usage("t1") == 0
        assert store.exists("t1", PatternSource(3 * 1024 * 1024).expected_digest()) is (
            False
        )

    # -- hostile input -----------------------------------------------------------

    def test_hostile_tenant_ids_are_refused_by_every_method(
        self, store: ArtifactStore
    ) -> None:
        victim = store.put("victim", b"victim's data")
        for tenant_id in HOSTILE_TENANT_IDS:
            _refused_everywhere(store, tenant_id, victim.digest)
        assert store.read_bytes("victim", victim.digest) == b"victim's data"
        assert store.usage("victim") == victim.size

    def test_hostile_digests_are_refused_by_every_method(
        self, store: ArtifactStore
    ) -> None:
        victim = store.put("victim", b"victim's data")
        for digest in HOSTILE_DIGESTS:
            _refused_everywhere(store, "victim", digest)
        assert store.read_bytes("victim", victim.digest) == b"victim's data"
        assert store.usage("victim") == victim.size

    # -- tenants -----------------------------------------------------------------

    @pytest.mark.parametrize(("owner", "other"), [("t1", "t2"), ("acme", "Acme")])
    def test_a_tenant_cannot_reach_another_tenants_blob(
        self, store: ArtifactStore, owner: str, other: str
    ) -> None:
        ref = store.put(owner, b"private")
        assert store.stat(other, ref.digest) is None
        assert store.exists(other, ref.digest) is False
        with pytest.raises(NotFound):
            store.read_bytes(other, ref.digest)
        with pytest.raises(NotFound), store.open(other, ref.digest):
            pass
        with pytest.raises(NotFound), store.materialize(other, ref.digest):
            pass
        with pytest.raises(NotFound):
            store.verify(other, ref.digest)
        assert store.delete(other, ref.digest) is False
        assert store.usage(other) == 0
        assert store.read_bytes(owner, ref.digest) == b"private"

    def test_the_same_content_is_stored_and_counted_per_tenant(
        self, store: ArtifactStore
    ) -> None:
        a = store.put("t1", b"shared bytes")
        b = store.put("t2", b"shared bytes")
        assert (a.digest, a.tenant_id, b.tenant_id) == (b.digest, "t1", "t2")
        assert store.usage("t1") == store.usage("t2") == len(b"shared bytes")
        assert store.delete("t2", b.digest) is True
        assert store.read_bytes("t1", a.digest) == b"shared bytes"

    # -- materialize and verify --------------------------------------------------

    def test_materialize_gives_a_readable_file_with_the_bytes(
        self, store: ArtifactStore
    ) -> None:
        data = b"col\n1\n2\n" * 1000
        ref = store.put("t1", data)
        with store.materialize("t1", ref.digest) as path:
            assert path.is_file()
            assert path.read_bytes() == data
        assert store.read_bytes("t1", ref.digest) == data

    def test_verify_detects_a_corrupted_blob(
        self, store: ArtifactStore, corrupt: Corrupt
    ) -> None:
        ref = store.put("t1", b"trustworthy" * 100)
        other = store.put("t2", b"trustworthy" * 100)
        assert store.verify("t1", ref.digest) is True
        corrupt("t1", ref.digest)
        assert store.verify("t1", ref.digest) is False
        assert store.verify("t2", other.digest) is True

    # -- concurrency -------------------------------------------------------------

    def test_concurrent_puts_of_the_same_content_store_one_copy(
        self, store: ArtifactStore
    ) -> None:
        data = bytes(range(256)) * 1024
        refs = _in_threads(8, lambda _: store.put("t1", io.BytesIO(data)))
        assert set(refs) == {ArtifactRef("t1", sha256(data), len(data))}
        assert store.usage("t1") == len(data)
        assert store.read_bytes("t1", sha256(data)) == data

    def test_concurrent_puts_never_exceed_the_quota_together(
        self, store: ArtifactStore
    ) -> None:
        def put(index: int) -> ArtifactRef | None:
            try:
                return store.put("t1", bytes([index]) * 1000, quota_bytes=4500)
            except QuotaExceeded:
                return None

        refs = _in_threads(8, put)
        assert sum(ref is not None for ref in refs) == 4
        assert store.usage("t1") == 4000

    # -- close -------------------------------------------------------------------

    def test_every_method_raises_unavailable_after_close(
        self, store: ArtifactStore
    ) -> None:
        digest = store.put("t1", b"x").digest
        store.close()
        calls: list[Callable[[], object]] = [
            lambda: store.put("t1", b"y"),
            lambda: store.read_bytes("t1", digest),
            lambda: store.stat("t1", digest),
            lambda: store.exists("t1", digest),
            lambda: store.delete("t1", digest),
            lambda: store.usage("t1"),
            lambda: store.verify("t1", digest),
            lambda: _enter(store.open("t1", digest)),
            lambda: _enter(store.materialize("t1", digest)),
        ]
        for call in calls:
            with pytest.raises(Unavailable):
                call()
        store.close()  # idempotent


def _refused_everywhere(
    store: ArtifactStore, tenant_id: object, digest: object
) -> None:
    """Check that every method refuses ``(tenant_id, digest)`` with InvalidInput."""
    tenant, blob = cast("str", tenant_id), cast("str", digest)
    calls: dict[str, Callable[[], object]] = {
        "read_bytes": lambda: store.read_bytes(tenant, blob),
        "stat": lambda: store.stat(tenant, blob),
        "exists": lambda: store.exists(tenant, blob),
        "delete": lambda: store.delete(tenant, blob),
        "verify": lambda: store.verify(tenant, blob),
        "open": lambda: _enter(store.open(tenant, blob)),
        "materialize": lambda: _enter(store.materialize(tenant, blob)),
    }
    if tenant_id != "victim":
        calls["put"] = lambda: store.put(tenant, b"attacker's data")
        calls["usage"] = lambda: store.usage(tenant)
    for name, call in calls.items():
        try:
            call()
        except InvalidInput:
            continue
        except Exception as exc:  # noqa: BLE001 - reported as the failure
            pytest.fail(f"{name}({tenant_id!r}, {digest!r}) raised {exc!r}")
        pytest.fail(f"{name}({tenant_id!r}, {digest!r}) was accepted")


def _enter(manager: AbstractContextManager[object]) -> None:
    """Enter and leave a context manager (errors may come from either call)."""
    with manager:
        pass


def _in_threads(count: int, work: Callable[[int], T]) -> list[T]:
    barrier = threading.Barrier(count)
    results: list[T | None] = [None] * count
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = work(index)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]
