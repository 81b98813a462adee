"""One keep-alive HTTP connection pool to the server, with retries.

:class:`Transport` sends every request of a :class:`~phantom.sdk.Client`: it adds
the bearer key and the user agent, turns error answers into
:mod:`~phantom.sdk.errors` and retries what is safe to retry:

* a 429 (the gateway refused the request before any route ran: nothing was
  done), waiting ``Retry-After`` when the server says how long;
* a connection that could not be opened (the request never left);
* a 502, 503 or 504 answer, or a connection dropped mid-request, only when the
  request may safely run twice: a GET or a PUT, a POST carrying an
  ``Idempotency-Key`` (the server answers a repeat with the first answer), or a
  request its caller marks ``idempotent``.

Waits grow exponentially with full jitter (``base * 2**attempt``, capped), as
:class:`RetryPolicy` says; the sleep and the random source are injectable.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Final

import httpx

from phantom import __version__
from phantom.sdk.errors import (
    ApiError,
    RateLimitedError,
    ServerUnreachable,
    error_from_response,
)

__all__ = ["USER_AGENT", "Body", "RetryPolicy", "Transport"]

USER_AGENT: Final = f"phantom-sdk/{__version__}"
_RETRY_STATUSES: Final = frozenset({502, 503, 504})
_REPEATABLE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS", "PUT"})

Body = bytes | Callable[[], Iterator[bytes]]
"""A request body: bytes, or a factory of a fresh chunk iterator per attempt."""
Params = Mapping[str, str | int | list[str]]


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how long to retry.

    Attributes:
        attempts: tries in all (1 = never retry).
        base_s: the first backoff's upper bound; each retry doubles it.
        max_backoff_s: the cap of one backoff.
        max_retry_after_s: the longest ``Retry-After`` honoured as is.
        sleep: how to wait (injected in tests).
        rng: the jitter's random source.
    """

    attempts: int = 5
    base_s: float = 0.2
    max_backoff_s: float = 10.0
    max_retry_after_s: float = 60.0
    sleep: Callable[[float], None] = time.sleep
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, retry: int) -> float:
        """The wait before retry number ``retry`` (0-based): full jitter."""
        ceiling = min(self.max_backoff_s, self.base_s * (2**retry))
        return self.rng.uniform(0.0, ceiling)

    def wait_for(self, retry: int, retry_after: float | None) -> float:
        """Honour ``Retry-After`` (capped) when given, else back off."""
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s) + self.rng.uniform(0, 0.1)
        return self.backoff(retry)


class Transport:
    """Requests to one server with one API key over one ``httpx.Client``.

    ``transport`` replaces httpx's network transport (``httpx.MockTransport`` in
    tests). Thread-safe (``httpx.Client`` is): the tracking helpers' flusher thread and
    the caller's threads share it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=transport,
            headers={"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT},
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def request(  # noqa: PLR0913 - one request's parts, keyword-only
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: bytes | None = None,
        content: Body | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> httpx.Response:
        """Send a request and read its answer; raise on an error answer.

        ``json`` is an already encoded JSON body. Retries follow the module's
        rules; ``idempotent`` overrides what the method and headers say.

        Raises:
            ApiError: the server answered with an error.
            ServerUnreachable: no answer, after the retries allowed.
        """
        with self.stream(
            method,
            path,
            params=params,
            json=json,
            content=content,
            headers=headers,
            idempotent=idempotent,
        ) as response:
            response.read()
            return response

    @contextmanager
    def stream(  # noqa: PLR0913 - one request's parts, keyword-only
        self,
        method: str,
        path: str,
        *,
        params: Params | None = None,
        json: bytes | None = None,
        content: Body | None = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Iterator[httpx.Response]:
        """Like :meth:`request`, but the body is left unread for streaming."""
        sent = dict(headers or {})
        if json is not None:
            sent["Content-Type"] = "application/json"
            content = json
        replayable = (
            idempotent
            if idempotent is not None
            else method in _REPEATABLE_METHODS or "Idempotency-Key" in sent
        )
        response = self._send(
            method,
            path,
            params=params,
            content=content,
            headers=sent,
            replayable=replayable,
        )
        try:
            yield response
        except httpx.TransportError as exc:
            raise ServerUnreachable(self.base_url, _reason(exc)) from exc
        finally:
            response.close()

    def _send(  # noqa: PLR0913 - one request's parts, keyword-only
        self,
        method: str,
        path: str,
        *,
        params: Params | None,
        content: Body | None,
        headers: dict[str, str],
        replayable: bool,
    ) -> httpx.Response:
        retry = 0
        while True:
            body = content() if callable(content) else content
            request = self._http.build_request(
                method, path, params=params, content=body, headers=headers
            )
            try:
                response = self._http.send(request, stream=True)
                if response.status_code >= 400:
                    response.read()
                    response.close()
            except httpx.TransportError as exc:
                never_sent = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout)
                if (never_sent or replayable) and retry + 1 < self.retry.attempts:
                    self.retry.sleep(self.retry.backoff(retry))
                    retry += 1
                    continue
                raise ServerUnreachable(self.base_url, _reason(exc)) from None
            if response.status_code < 400:
                return response
            error = error_from_response(response)
            if self._retries(error, replayable) and retry + 1 < self.retry.attempts:
                after = (
                    error.retry_after if isinstance(error, RateLimitedError) else None
                )
                self.retry.sleep(self.retry.wait_for(retry, after))
                retry += 1
                continue
            raise error

    @staticmethod
    def _retries(error: ApiError, replayable: bool) -> bool:  # noqa: FBT001 - internal
        if error.status == 429:
            return error.code != "quota-exceeded"  # a quota will not lift by waiting
        return replayable and error.status in _RETRY_STATUSES


def _reason(exc: httpx.TransportError) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer in time ({type(exc).__name__})"
    text = str(exc) or type(exc).__name__
    return text if len(text) <= 200 else text[:200] + "..."
