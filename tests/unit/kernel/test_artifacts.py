"""The artifact store's pure parts: argument checks, refs, URLs, quota holds."""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Set as AbstractSet
from pathlib import Path

import pytest

from phantom.kernel.artifacts import ArtifactRef, file_root
from phantom.kernel.artifacts.ingest import CHUNK_BYTES, QuotaGate, copy_hashed
from phantom.kernel.artifacts.port import check_digest, check_limit, check_tenant_id
from phantom.kernel.artifacts.s3_url import S3Location, parse_s3_url
from phantom.kernel.errors import (
    ConfigError,
    InvalidInput,
    PayloadTooLarge,
    QuotaExceeded,
)

DIGEST = hashlib.sha256(b"x").hexdigest()


@pytest.mark.parametrize("tenant_id", ["t", "T1", "a_b-c", "x" * 64])
def test_tenant_ids_of_safe_characters_pass(tenant_id: str) -> None:
    assert check_tenant_id(tenant_id) == tenant_id


@pytest.mark.parametrize(
    "tenant_id", ["", "..", "a/b", "a\\b", "a\x00", "a\n", "x" * 65, None, b"t"]
)
def test_other_tenant_ids_are_invalid_input(tenant_id: object) -> None:
    with pytest.raises(InvalidInput):
        check_tenant_id(tenant_id)


@pytest.mark.parametrize(
    "digest", ["", DIGEST.upper(), DIGEST[:-1], DIGEST + "0", DIGEST + "\n", None]
)
def test_digests_must_be_64_lower_case_hex(digest: object) -> None:
    assert check_digest(DIGEST) == DIGEST
    with pytest.raises(InvalidInput):
        check_digest(digest)


def test_a_refused_value_is_shown_briefly() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_tenant_id("y" * 10_000)
    assert len(str(caught.value)) < 200
    assert "10000 characters" in str(caught.value)


@pytest.mark.parametrize("value", [-1, 1.5, True, "3"])
def test_limits_must_be_non_negative_ints(value: object) -> None:
    assert check_limit("max_bytes", None) is None
    assert check_limit("max_bytes", 0) == 0
    with pytest.raises(InvalidInput):
        check_limit("max_bytes", value)


def test_artifact_refs_check_their_fields() -> None:
    assert ArtifactRef("t1", DIGEST, 1).size == 1
    for args in [("../t", DIGEST, 1), ("t1", "abc", 1), ("t1", DIGEST, -1)]:
        with pytest.raises(InvalidInput):
            ArtifactRef(*args)


def test_copy_hashed_hashes_counts_and_writes_every_chunk() -> None:
    data = bytes(range(256)) * (CHUNK_BYTES // 100)
    written = bytearray()
    assert copy_hashed(io.BytesIO(data), written.extend, max_bytes=None) == (
        hashlib.sha256(data).hexdigest(),
        len(data),
    )
    assert written == data


def test_copy_hashed_stops_before_writing_past_max_bytes() -> None:
    written = bytearray()
    with pytest.raises(PayloadTooLarge):
        copy_hashed(io.BytesIO(b"x" * 10), written.extend, max_bytes=9)
    assert written == b""
    with pytest.raises(PayloadTooLarge):
        copy_hashed(b"x" * 10, written.extend, max_bytes=9)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("file:///srv/artifacts", Path("/srv/artifacts")),
        ("file://localhost/srv/a%20b", Path("/srv/a b")),
        ("file://", Path("/home/p/artifacts")),
        ("file:blobs", Path("/home/p/blobs")),
    ],
)
def test_file_urls_name_a_directory(url: str, expected: Path) -> None:
    assert file_root(url, home=Path("/home/p")) == expected


@pytest.mark.parametrize(
    "url", ["file://host/x", "file:///x?y=1", "file:///x#f", "file:///a%00b", "file:x"]
)
def test_bad_file_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError):
        file_root(url)


def test_s3_urls_are_parsed_with_their_options() -> None:
    location = parse_s3_url(
        "s3://my-bucket/a/b/?endpoint_url=http://127.0.0.1:9000&region=eu-west-1"
        "&connect_timeout=1.5&read_timeout=30&max_attempts=5"
    )
    assert location == S3Location(
        bucket="my-bucket",
        prefix="a/b/",
        endpoint_url="http://127.0.0.1:9000",
        region="eu-west-1",
        addressing_style="path",
        connect_timeout=1.5,
        read_timeout=30.0,
        max_attempts=5,
    )
    assert location.where == "s3://my-bucket/a/b/ at 127.0.0.1:9000"
    assert parse_s3_url("s3://bucket") == S3Location(bucket="bucket")


@pytest.mark.parametrize(
    "url",
    [
        "s3://",
        "s3://ab",
        "s3://UPPER/p",
        "s3://user@bucket/p",
        "s3://bucket/a/../b",
        "s3://bucket/a b",
        "s3://bucket?aws_secret_access_key=s3cr3t",
        "s3://bucket?endpoint_url=http://k:s3cr3t@host",
        "s3://bucket?endpoint_url=http://host:notaport",
        "s3://bucket?addressing_style=sideways",
        "s3://bucket?connect_timeout=-1",
        "s3://bucket?read_timeout=inf",
        "s3://bucket?max_attempts=x",
    ],
)
def test_bad_s3_urls_are_config_errors_that_hide_secrets(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_s3_url(url)
    assert "s3cr3t" not in str(caught.value)


def test_quota_gate_refuses_what_would_exceed_the_quota() -> None:
    gate = QuotaGate()
    with gate.hold("t1", "a" * 64, 60, quota_bytes=100, usage=lambda _: 0):
        with (
            pytest.raises(QuotaExceeded) as caught,
            gate.hold("t1", "b" * 64, 50, quota_bytes=100, usage=lambda _: 0),
        ):
            pass
        with gate.hold("t2", "b" * 64, 50, quota_bytes=100, usage=lambda _: 0):
            pass
    assert caught.value.extra == {
        "quota": "artifact_bytes",
        "limit": 100,
        "requested": 50,
    }
    with gate.hold("t1", "b" * 64, 50, quota_bytes=100, usage=lambda _: 0):
        pass


def test_quota_gate_counts_a_held_blob_once_even_when_already_visible() -> None:
    gate = QuotaGate()
    stored: dict[str, int] = {}

    def usage(exclude: AbstractSet[str]) -> int:
        return sum(size for d, size in stored.items() if d not in exclude)

    with gate.hold("t1", "a" * 64, 60, quota_bytes=100, usage=usage):
        stored["a" * 64] = 60  # committed, the hold not yet released
        with gate.hold("t1", "b" * 64, 40, quota_bytes=100, usage=usage):
            pass
        with gate.hold("t1", "a" * 64, 60, quota_bytes=60, usage=usage):
            pass  # the same digest in flight costs nothing more


def test_quota_gate_holds_are_released_when_the_block_fails() -> None:
    gate = QuotaGate()
    with (
        pytest.raises(RuntimeError),
        gate.hold("t1", "a" * 64, 100, quota_bytes=100, usage=lambda _: 0),
    ):
        raise RuntimeError
    with gate.hold("t1", "b" * 64, 100, quota_bytes=100, usage=lambda _: 0):
        pass
    assert gate._held == {}


def test_quota_gate_lets_exactly_the_fitting_puts_through_concurrently() -> None:
    gate = QuotaGate()
    barrier = threading.Barrier(6)
    admitted: list[int] = []
    lock = threading.Lock()

    def put(index: int) -> None:
        barrier.wait()
        try:
            with gate.hold(
                "t1", f"{index:064x}", 30, quota_bytes=100, usage=lambda _: 0
            ):
                with lock:
                    admitted.append(index)
                barrier.wait()  # hold until every thread has tried
        except QuotaExceeded:
            barrier.wait()

    threads = [threading.Thread(target=put, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert len(admitted) == 3
