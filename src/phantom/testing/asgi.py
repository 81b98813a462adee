"""Drive an ASGI application in-process, the way a server does.

:func:`running` runs the real lifespan protocol (startup, then shutdown) in the
current event loop around an ``httpx`` client, so background tasks (relays,
consumers, audit tasks) run while the caller makes requests. The test suite and
the in-process benchmarks share it.
"""

from __future__ import annotations

import asyncio
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from starlette.types import ASGIApp, Message

__all__ = ["running"]


class LifespanFailed(RuntimeError):
    """The application did not complete its lifespan startup or shutdown."""


@asynccontextmanager
async def running(
    app: ASGIApp, limit_s: float = 10.0
) -> AsyncIterator[httpx.AsyncClient]:
    """Run ``app``'s lifespan around an ``httpx`` client bound to it.

    Args:
        app: the ASGI application.
        limit_s: how long startup and shutdown may each take.

    Raises:
        LifespanFailed: startup or shutdown answered anything but ``complete``.
    """
    inbox: asyncio.Queue[Message] = asyncio.Queue()
    outbox: asyncio.Queue[Message] = asyncio.Queue()

    async def receive() -> Message:
        return await inbox.get()

    async def send(message: Message) -> None:
        await outbox.put(message)

    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}

    async def serve() -> None:
        await app(scope, receive, send)

    task = asyncio.create_task(serve())
    await inbox.put({"type": "lifespan.startup"})
    started = await asyncio.wait_for(outbox.get(), limit_s)
    if started["type"] != "lifespan.startup.complete":
        task.cancel()
        raise LifespanFailed(str(started))
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver"
        ) as client:
            yield client
    finally:
        await inbox.put({"type": "lifespan.shutdown"})
        stopped = await asyncio.wait_for(outbox.get(), limit_s)
        await asyncio.wait_for(task, limit_s)
        if stopped["type"] != "lifespan.shutdown.complete":
            raise LifespanFailed(str(stopped))
