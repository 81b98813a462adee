"""A local S3 for tests: moto's server on loopback, with a bucket of one's own.

::

    with local_s3() as s3:
        store = s3.open_store(prefix="run1")     # an S3ArtifactStore
        client = s3.client()                     # boto3, to look behind its back
        ...

The server runs in a thread of the test process on a free port of 127.0.0.1 and
is stopped on exit. Its dummy credentials live only in the clients and stores
this module hands out: the environment is left alone, so nothing leaks into
other tests. Needs the ``moto[server]`` and ``boto3`` test dependencies; mark the
tests ``s3``.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from phantom.kernel.artifacts.s3 import S3ArtifactStore, S3Credentials

__all__ = ["DUMMY_CREDENTIALS", "LocalS3", "local_s3", "moto_server"]

DUMMY_CREDENTIALS = S3Credentials("phantom-test", "phantom-test-secret")
"""What moto accepts; never real credentials."""

_REGION = "us-east-1"


@dataclass(frozen=True)
class LocalS3:
    """A bucket on a local S3 server.

    Attributes:
        endpoint_url: the server's ``http://127.0.0.1:<port>``.
        bucket: the bucket, created empty.
        credentials: what clients and stores from this object sign with.
        region: the region clients use.
    """

    endpoint_url: str
    bucket: str
    credentials: S3Credentials = field(default=DUMMY_CREDENTIALS, repr=False)
    region: str = _REGION

    @property
    def url(self) -> str:
        """The ``s3://`` artifact store URL of the bucket (no prefix)."""
        return self.url_for()

    def url_for(self, prefix: str = "", **params: str) -> str:
        """The ``s3://`` URL of ``prefix`` in the bucket, with extra ``params``."""
        query = urlencode(
            {"endpoint_url": self.endpoint_url, "region": self.region, **params}
        )
        return f"s3://{self.bucket}/{prefix}?{query}"

    def open_store(self, prefix: str = "", **params: str) -> S3ArtifactStore:
        """An artifact store on ``prefix`` of the bucket; the caller closes it."""
        return S3ArtifactStore(
            self.url_for(prefix, **params), credentials=self.credentials
        )

    def client(self) -> Any:
        """A boto3 S3 client on the server; the caller closes it."""
        import boto3  # noqa: PLC0415 - test dependency, imported when used
        from botocore.config import Config  # noqa: PLC0415 - as above

        session = boto3.session.Session(
            aws_access_key_id=self.credentials.access_key_id,
            aws_secret_access_key=self.credentials.secret_access_key,
            region_name=self.region,
        )
        return session.client(
            "s3",
            endpoint_url=self.endpoint_url,
            config=Config(s3={"addressing_style": "path"}),
        )


@contextmanager
def moto_server() -> Iterator[str]:
    """Run moto's S3 server on a free loopback port; yield its endpoint URL."""
    from moto.server import ThreadedMotoServer  # noqa: PLC0415 - test dependency

    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)  # one line per request is noise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        # stop() ends serve_forever but leaves the listening socket open
        wsgi = getattr(server, "_server", None)
        if wsgi is not None:
            wsgi.server_close()
        access_log.setLevel(level)


@contextmanager
def local_s3(bucket: str | None = None) -> Iterator[LocalS3]:
    """Start a moto server, create ``bucket`` (a fresh name by default), yield it."""
    with moto_server() as endpoint:
        s3 = LocalS3(endpoint, bucket or f"phantom-test-{uuid.uuid4().hex[:12]}")
        client = s3.client()
        try:
            client.create_bucket(Bucket=s3.bucket)
        finally:
            client.close()
        yield s3
