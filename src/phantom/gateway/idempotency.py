"""Idempotency keys on POSTs that create things (users, keys, tenants).

A client that sends ``Idempotency-Key: <1-255 visible ASCII characters>`` may
retry the POST safely:

* the first answer (any status below 500) is kept for
  ``PHANTOM_IDEMPOTENCY_TTL_S`` (24 h) per tenant and key, in the cache port;
* a repeat with the same method, path, query and body gets that answer again,
  with ``Idempotent-Replayed: true``, and nothing is created twice;
* the same key with another request is a 422 problem
  (``idempotency-key-reused``); a repeat while the first is still running is a
  409 (``idempotency-key-in-use``).

A kept answer may hold a secret shown once (a new API key), so it is stored
encrypted (AES-GCM) under a key derived from the credential that made the
request: the cache alone reveals nothing, and only the same credential can replay
it (another credential of the tenant reusing the key gets the 422).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.concurrency import run_in_threadpool

from phantom.kernel.cache import Cache, CacheKey, cache_key
from phantom.kernel.errors import Conflict, InvalidInput

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "IDEMPOTENCY_HEADER",
    "REPLAYED_HEADER",
    "IdempotencyKeyInUse",
    "IdempotencyKeyReused",
    "IdempotencyStore",
    "Replay",
    "StoredResponse",
    "idempotency_key_of",
]

IDEMPOTENCY_HEADER: Final = "idempotency-key"
REPLAYED_HEADER: Final = "idempotent-replayed"
_KEY_RE: Final = re.compile(r"[\x21-\x7e]{1,255}")
_KEPT_HEADERS: Final = frozenset({b"content-type", b"location"})
_LOCK_TTL_S: Final = 60.0
_NONCE_BYTES: Final = 12


class IdempotencyKeyReused(InvalidInput):
    """The ``Idempotency-Key`` was used before for a different request."""

    code = "idempotency-key-reused"
    title = "Idempotency key reused"


class IdempotencyKeyInUse(Conflict):
    """A request with this ``Idempotency-Key`` is still being handled."""

    code = "idempotency-key-in-use"
    title = "Idempotency key in use"


def idempotency_key_of(scope: Scope) -> str | None:
    """The request's ``Idempotency-Key``, if it sent one.

    Raises:
        InvalidInput: the header is repeated or not 1-255 visible ASCII characters.
    """
    values = [
        bytes(value).decode("latin-1")
        for name, value in scope.get("headers", ())
        if bytes(name).lower() == IDEMPOTENCY_HEADER.encode()
    ]
    if not values:
        return None
    if len(values) > 1 or not _KEY_RE.fullmatch(values[0]):
        msg = "Idempotency-Key must be sent once, as 1 to 255 visible ASCII characters"
        raise InvalidInput(msg)
    return values[0]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """An answer kept for replay."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes = field(repr=False)


@dataclass(frozen=True, slots=True)
class Replay:
    """Where one idempotent request's answer is kept, and how it is sealed.

    Attributes:
        tenant_id: the caller's tenant.
        key: the client's ``Idempotency-Key``.
        sealing_key: the AES key, derived from the caller's credential.
        fingerprint: SHA-256 of the method, path, query and body.
    """

    tenant_id: str
    key: str
    sealing_key: bytes = field(repr=False)
    fingerprint: str

    @classmethod
    def of(  # noqa: PLR0913 - the request's identity, all keyword-only
        cls,
        *,
        tenant_id: str,
        key: str,
        credential_digest: bytes,
        method: str,
        path: str,
        query: bytes,
        body: bytes,
    ) -> Replay:
        """Describe the request ``method path?query`` with ``body``."""
        label = b"phantom/idempotency\x00" + tenant_id.encode() + b"\x00" + key.encode()
        request = hashlib.sha256()
        for part in (method.encode(), path.encode(), query, body):
            request.update(len(part).to_bytes(8, "big") + part)
        return cls(
            tenant_id=tenant_id,
            key=key,
            sealing_key=hmac.new(credential_digest, label, hashlib.sha256).digest(),
            fingerprint=request.hexdigest(),
        )


@dataclass(frozen=True, slots=True)
class IdempotencyStore:
    """Keeps answers in the cache, sealed (see the module docstring).

    Attributes:
        cache: where answers and in-progress markers live.
        ttl: seconds an answer is kept.
    """

    cache: Cache
    ttl: float

    def find(self, replay: Replay) -> StoredResponse | None:
        """The answer kept for ``replay``'s key, if any.

        Raises:
            IdempotencyKeyReused: the key was used for another request, or by
                another credential.
        """
        sealed = self.cache.get(self._entry(replay))
        if sealed is None:
            return None
        try:
            nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
            plain = AESGCM(replay.sealing_key).decrypt(nonce, ciphertext, None)
            kept = json.loads(plain)
        except (InvalidTag, ValueError):
            kept = None
        if not isinstance(kept, dict) or kept.get("fingerprint") != replay.fingerprint:
            msg = "this Idempotency-Key was already used for a different request"
            raise IdempotencyKeyReused(msg)
        return StoredResponse(
            status=int(kept["status"]),
            headers=[(str(name), str(value)) for name, value in kept["headers"]],
            body=base64.b64decode(kept["body"]),
        )

    def claim(self, replay: Replay) -> None:
        """Mark ``replay``'s key as in progress.

        Raises:
            IdempotencyKeyInUse: another request holds it.
        """
        if self.cache.incr(self._lock(replay), ttl=_LOCK_TTL_S) != 1:
            msg = "a request with this Idempotency-Key is still in progress; retry"
            raise IdempotencyKeyInUse(msg)

    def keep(self, replay: Replay, response: StoredResponse) -> None:
        """Keep ``response`` as the answer to ``replay``'s key."""
        plain = json.dumps(
            {
                "fingerprint": replay.fingerprint,
                "status": response.status,
                "headers": response.headers,
                "body": base64.b64encode(response.body).decode("ascii"),
            }
        ).encode()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = nonce + AESGCM(replay.sealing_key).encrypt(nonce, plain, None)
        self.cache.set(self._entry(replay), sealed, ttl=self.ttl)

    def release(self, replay: Replay) -> None:
        """Drop the in-progress mark of ``replay``'s key."""
        self.cache.delete(self._lock(replay))

    @staticmethod
    def _entry(replay: Replay) -> CacheKey:
        return cache_key(replay.tenant_id, "idempotency", replay.key)

    @staticmethod
    def _lock(replay: Replay) -> CacheKey:
        return cache_key(replay.tenant_id, "idempotency-lock", replay.key)

    async def serve(
        self,
        app: ASGIApp,
        scope: Scope,
        receive: Receive,
        send: Send,
        replay_for: Callable[..., Replay],
    ) -> int:
        """Answer the request idempotently; return the status sent.

        Args:
            app: the application to call for a first request.
            scope: the request's ASGI scope.
            receive: the request's receive channel (the body is read from it).
            send: the response channel.
            replay_for: builds the :class:`Replay` from the request ``body``
                (a keyword argument).

        Raises:
            IdempotencyKeyReused: see :meth:`find`.
            IdempotencyKeyInUse: see :meth:`claim`.
        """
        body = await _read_body(receive)
        replay = replay_for(body=body)
        kept = await run_in_threadpool(self.find, replay)
        if kept is not None:
            await _send_kept(kept, send)
            return kept.status
        await run_in_threadpool(self.claim, replay)
        try:
            # A first request may have finished between find and claim.
            kept = await run_in_threadpool(self.find, replay)
            if kept is not None:
                await _send_kept(kept, send)
                return kept.status
            response = await _capture(app, scope, _replaying(body, receive), send)
            if response.status < 500:
                await run_in_threadpool(self.keep, replay, response)
        finally:
            await run_in_threadpool(self.release, replay)
        return response.status


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Callable[[], Awaitable[Message]]:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _capture(
    app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> StoredResponse:
    status = 500
    headers: list[tuple[str, str]] = []
    chunks: list[bytes] = []

    async def watch(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            headers.extend(
                (bytes(name).decode("latin-1"), bytes(value).decode("latin-1"))
                for name, value in message.get("headers", ())
                if bytes(name).lower() in _KEPT_HEADERS
            )
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
        await send(message)

    await app(scope, receive, watch)
    return StoredResponse(status=status, headers=headers, body=b"".join(chunks))


async def _send_kept(kept: StoredResponse, send: Send) -> None:
    headers = [
        (name.encode("latin-1"), value.encode("latin-1"))
        for name, value in kept.headers
    ]
    headers.append((REPLAYED_HEADER.encode(), b"true"))
    headers.append((b"content-length", str(len(kept.body)).encode()))
    await send(
        {"type": "http.response.start", "status": kept.status, "headers": headers}
    )
    await send({"type": "http.response.body", "body": kept.body, "more_body": False})
