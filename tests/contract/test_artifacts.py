"""The artifact store contract over ``file://`` and ``s3://``, and adapter specifics."""

from __future__ import annotations

import hashlib
import io
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from phantom.kernel.artifacts import ArtifactStore, open_artifacts
from phantom.kernel.artifacts.file import (
    TEMP_PREFIX,
    FileArtifactStore,
    tenant_dir_name,
)
from phantom.kernel.artifacts.s3 import S3ArtifactStore
from phantom.kernel.errors import (
    ConfigError,
    InvalidInput,
    PayloadTooLarge,
    QuotaExceeded,
    Unavailable,
)
from phantom.testing.contracts.artifacts import (
    ArtifactStoreContract,
    PatternSource,
    SourceBroke,
    sha256,
)
from phantom.testing.s3 import LocalS3, local_s3

SRC = Path(__file__).resolve().parents[2] / "src"


# -- file:// ---------------------------------------------------------------------


def _temp_files(root: Path) -> list[Path]:
    return sorted(root.rglob(f"{TEMP_PREFIX}*"))


def _blob_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and len(p.name) == 64)


class TestFileArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def root(self, tmp_path: Path) -> Path:
        return tmp_path / "store"

    @pytest.fixture
    def store(self, root: Path) -> Iterator[ArtifactStore]:
        store = open_artifacts(root.as_uri())
        yield store
        store.close()

    @pytest.fixture
    def corrupt(self, root: Path) -> Callable[[str, str], None]:
        def corrupt(tenant_id: str, digest: str) -> None:
            path = root / tenant_dir_name(tenant_id) / digest[:2] / digest
            path.chmod(0o600)
            with path.open("r+b") as blob:
                first = blob.read(1)
                blob.seek(0)
                blob.write(bytes([first[0] ^ 1]))

        return corrupt

    def test_blobs_live_under_tenant_shard_digest_and_are_read_only(
        self, store: ArtifactStore, root: Path
    ) -> None:
        ref = store.put("t1", b"laid out")
        path = root / "t1" / ref.digest[:2] / ref.digest
        assert path.read_bytes() == b"laid out"
        assert path.stat().st_mode & 0o777 == 0o400
        assert (root / "t1").stat().st_mode & 0o777 == 0o700
        assert _temp_files(root) == []

    def test_open_artifacts_creates_the_root_private(self, tmp_path: Path) -> None:
        root = tmp_path / "a" / "b"
        store = open_artifacts(root.as_uri())
        try:
            assert root.is_dir()
            assert root.stat().st_mode & 0o777 == 0o700
            assert isinstance(store, FileArtifactStore)
            assert store.root == root
        finally:
            store.close()

    def test_relative_file_urls_resolve_against_home(self, tmp_path: Path) -> None:
        for url, expected in [("file://", "artifacts"), ("file:blobs", "blobs")]:
            store = open_artifacts(url, home=tmp_path)
            try:
                assert isinstance(store, FileArtifactStore)
                assert store.root == tmp_path / expected
            finally:
                store.close()

    def test_materialize_gives_the_stored_file_itself(
        self, store: ArtifactStore, root: Path
    ) -> None:
        ref = store.put("t1", b"a,b\n1,2\n")
        with store.materialize("t1", ref.digest) as path:
            assert path == root / "t1" / ref.digest[:2] / ref.digest

    def test_a_failing_source_leaves_no_temporary_file(
        self, store: ArtifactStore, root: Path
    ) -> None:
        with pytest.raises(SourceBroke):
            store.put("t1", PatternSource(3 << 20, fail_after=1 << 20).stream())
        with pytest.raises(PayloadTooLarge):
            store.put("t1", b"x" * 100, max_bytes=10)
        with pytest.raises(QuotaExceeded):
            store.put("t1", b"x" * 100, quota_bytes=10)
        assert _temp_files(root) == []
        assert _blob_files(root) == []

    def test_concurrent_identical_puts_leave_one_file_and_no_temporaries(
        self, store: ArtifactStore, root: Path
    ) -> None:
        self.test_concurrent_puts_of_the_same_content_store_one_copy(store)
        assert len(_blob_files(root)) == 1
        assert _temp_files(root) == []

    def test_a_put_killed_mid_write_leaves_no_visible_blob(
        self, store: ArtifactStore, root: Path
    ) -> None:
        script = (
            "import sys; from pathlib import Path;"
            "from phantom.kernel.artifacts.file import FileArtifactStore;"
            "FileArtifactStore(Path(sys.argv[1])).put('t1', sys.stdin.buffer)"
        )
        env = {**os.environ, "PYTHONPATH": str(SRC)}
        child = subprocess.Popen(
            [sys.executable, "-c", script, str(root)], stdin=subprocess.PIPE, env=env
        )
        assert child.stdin is not None
        sent = b"k" * (3 << 20)
        try:
            child.stdin.write(sent)
            child.stdin.flush()
            _wait_for(lambda: _temp_bytes(root) >= 2 << 20, child)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            child.stdin.close()
        assert child.returncode == -signal.SIGKILL
        assert len(_temp_files(root)) == 1
        assert _blob_files(root) == []
        assert store.usage("t1") == 0
        assert store.exists("t1", sha256(sent)) is False
        ref = store.put("t1", b"after the crash", quota_bytes=len(b"after the crash"))
        assert store.usage("t1") == ref.size
        assert store.read_bytes("t1", ref.digest) == b"after the crash"

    def test_hostile_ids_never_touch_files_outside_their_place(
        self, tmp_path: Path
    ) -> None:
        root = tmp_path / "store"
        store = FileArtifactStore(root)
        victim = store.put("victim", b"victim's data")
        outside = tmp_path / "sentinel"
        outside.write_bytes(b"outside")
        inside = root / "victim" / "sentinel"
        inside.write_bytes(b"inside")
        before = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (outside, inside)}
        try:
            self.test_hostile_tenant_ids_are_refused_by_every_method(store)
            self.test_hostile_digests_are_refused_by_every_method(store)
            for name in ("sentinel", "../sentinel", "../../sentinel"):
                with pytest.raises(InvalidInput):
                    store.read_bytes("victim", name)
                with pytest.raises(InvalidInput):
                    store.delete("victim", name)
        finally:
            store.close()
        after = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (outside, inside)}
        assert after == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["sentinel", "store"]
        assert _blob_files(root) == [
            root / "victim" / victim.digest[:2] / victim.digest
        ]

    def test_tenant_directories_differ_even_ignoring_case(self) -> None:
        ids = ["acme", "Acme", "ACME", "aCmE", "acme-1", "a_b", "A_b"]
        names = [tenant_dir_name(t) for t in ids]
        assert len({n.lower() for n in names}) == len(ids)
        assert tenant_dir_name("0192f0c4-7a1e-7b3c-9d2e-1234567890ab") == (
            "0192f0c4-7a1e-7b3c-9d2e-1234567890ab"
        )
        assert tenant_dir_name("Acme") == "acme.1"


def _temp_bytes(root: Path) -> int:
    total = 0
    for path in _temp_files(root):
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            continue
    return total


def _wait_for(
    condition: Callable[[], bool], child: subprocess.Popen[bytes], seconds: float = 20
) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if child.poll() is not None:
            pytest.fail(f"the writer exited early with {child.returncode}")
        if time.monotonic() > deadline:
            pytest.fail("the writer never got going")
        time.sleep(0.02)


# -- s3:// -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3() -> Iterator[LocalS3]:
    with local_s3() as bucket:
        yield bucket


@pytest.mark.s3
class TestS3ArtifactStore(ArtifactStoreContract):
    @pytest.fixture
    def prefix(self) -> str:
        return f"run-{uuid.uuid4().hex[:12]}"

    @pytest.fixture
    def store(self, s3: LocalS3, prefix: str) -> Iterator[ArtifactStore]:
        store = s3.open_store(prefix)
        yield store
        store.close()

    @pytest.fixture
    def client(self, s3: LocalS3) -> Iterator[Any]:
        client = s3.client()
        yield client
        client.close()

    @pytest.fixture
    def corrupt(
        self, s3: LocalS3, prefix: str, client: Any
    ) -> Callable[[str, str], None]:
        def corrupt(tenant_id: str, digest: str) -> None:
            key = f"{prefix}/{tenant_id}/{digest[:2]}/{digest}"
            client.put_object(Bucket=s3.bucket, Key=key, Body=b"tampered")

        return corrupt

    def test_blobs_are_keyed_prefix_tenant_shard_digest(
        self, store: ArtifactStore, s3: LocalS3, prefix: str, client: Any
    ) -> None:
        ref = store.put("t1", b"laid out")
        listed = client.list_objects_v2(Bucket=s3.bucket, Prefix=f"{prefix}/")
        assert [o["Key"] for o in listed["Contents"]] == [
            f"{prefix}/t1/{ref.digest[:2]}/{ref.digest}"
        ]

    def test_usage_ignores_objects_that_are_not_blobs(
        self, store: ArtifactStore, s3: LocalS3, prefix: str, client: Any
    ) -> None:
        store.put("t1", b"counted")
        for key in ("t1/notes.txt", "t1/ab/short", "t10/ab/" + "ab" * 32):
            client.put_object(Bucket=s3.bucket, Key=f"{prefix}/{key}", Body=b"xx")
        assert store.usage("t1") == len(b"counted")

    def test_materialize_removes_its_download_on_exit(
        self, store: ArtifactStore
    ) -> None:
        ref = store.put("t1", b"temporary copy")
        with store.materialize("t1", ref.digest) as path:
            assert path.read_bytes() == b"temporary copy"
        assert not path.exists()

    def test_a_failed_multipart_upload_leaves_no_object_and_no_parts(
        self, store: ArtifactStore, s3: LocalS3, prefix: str, client: Any
    ) -> None:
        assert isinstance(store, S3ArtifactStore)
        from botocore.exceptions import EndpointConnectionError

        calls = {"parts": 0}

        def fail_after_the_first_part(**_: object) -> None:
            calls["parts"] += 1
            if calls["parts"] >= 2:  # retries of the part fail too
                raise EndpointConnectionError(endpoint_url=s3.endpoint_url)

        events = store._client.meta.events
        events.register("before-call.s3.UploadPart", fail_after_the_first_part)
        source = PatternSource(40 << 20)
        with pytest.raises(Unavailable, match="unreachable"):
            store.put("t1", source.stream())
        assert calls["parts"] >= 2
        events.unregister("before-call.s3.UploadPart", fail_after_the_first_part)
        assert store.usage("t1") == 0
        assert store.exists("t1", source.expected_digest()) is False
        listed = client.list_objects_v2(Bucket=s3.bucket, Prefix=f"{prefix}/")
        assert listed.get("Contents", []) == []
        uploads = client.list_multipart_uploads(Bucket=s3.bucket, Prefix=f"{prefix}/")
        assert uploads.get("Uploads", []) == []

    def test_a_missing_bucket_is_a_clear_unavailable(self, s3: LocalS3) -> None:
        store = S3ArtifactStore(
            s3.url_for("p").replace(s3.bucket, "no-such-bucket-here"),
            credentials=s3.credentials,
        )
        try:
            with pytest.raises(Unavailable, match="bucket does not exist"):
                store.put("t1", b"x")
        finally:
            store.close()


def test_unknown_scheme_is_a_config_error_naming_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        open_artifacts("ftp://example.com/blobs")
    assert "file://" in str(caught.value)
    assert "s3://" in str(caught.value)


def test_unreachable_s3_raises_unavailable_quickly_without_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDUNREACHABLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "very-secret-value")
    started = time.monotonic()
    store = open_artifacts(
        "s3://phantom-bucket/p?endpoint_url=http://127.0.0.1:1&region=us-east-1"
        "&max_attempts=1&connect_timeout=1"
    )
    try:
        for call in (
            lambda: store.put("t1", b"x"),
            lambda: store.exists("t1", sha256(b"x")),
            lambda: store.usage("t1"),
        ):
            with pytest.raises(Unavailable) as caught:
                call()
            message = str(caught.value)
            assert "127.0.0.1:1" in message
            assert "unreachable" in message
            assert "secret" not in message
            assert "AKID" not in message
    finally:
        store.close()
    assert time.monotonic() - started < 10.0


def test_s3_without_credentials_is_a_clear_unavailable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    store = open_artifacts("s3://phantom-bucket?endpoint_url=http://127.0.0.1:1")
    try:
        with pytest.raises(Unavailable, match="no usable AWS credentials"):
            store.stat("t1", sha256(b"x"))
    finally:
        store.close()


def test_missing_boto3_is_a_config_error_naming_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "boto3", None)
    with pytest.raises(ConfigError, match=r"phantom-ml\[s3\]"):
        open_artifacts("s3://phantom-bucket/p")


@pytest.mark.parametrize(
    "url",
    [
        "file://host/srv/artifacts",
        "file:///srv/artifacts?x=1",
        "file:relative",
        "s3://Bad_Bucket/p",
        "s3://bucket/../p",
        "s3://bucket/p?aws_secret_access_key=x",
        "s3://bucket/p?endpoint_url=ftp://host",
        "s3://bucket/p?endpoint_url=http://user:pw@host",
        "s3://bucket/p?max_attempts=0",
    ],
)
def test_invalid_urls_are_config_errors(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_artifacts(url)
    assert "pw" not in str(caught.value)


def test_put_reads_a_file_object_from_its_current_position(tmp_path: Path) -> None:
    store = FileArtifactStore(tmp_path)
    try:
        source = io.BytesIO(b"skip:keep")
        source.seek(5)
        ref = store.put("t1", source)
        assert ref.digest == hashlib.sha256(b"keep").hexdigest()
    finally:
        store.close()
