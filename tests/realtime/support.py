"""Helpers of the real-time tests: a WebSocket client on the app in the test's event loop, and
hubs on the real Redis (127.0.0.1:6379; skipped when it is unreachable, except under CI)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from redis.exceptions import RedisError

from ihospital.core.context import Actor
from ihospital.identity.models import Account
from ihospital.identity.sessions import open_session
from ihospital.realtime.hub import RedisHub
from tests.identity.builders import make_account

REDIS_URL = "redis://127.0.0.1:6379/9"
NOTHING_MORE_SECONDS = 0.3


async def signed_in(session, clock, **values) -> tuple[Account, str, str]:  # noqa: ANN001
    """An account (``make_account`` values) with an API token and a browser session token."""
    account = await make_account(session, clock=clock, **values)
    system = Actor.system(clock)
    api = await open_session(session, system, account=account, kind="api", hours=1)
    web = await open_session(session, system, account=account, kind="web", hours=1)
    await session.flush()
    return account, api.token, web.token


def bearer(token: str, language: str = "zh-CN") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "Accept-Language": language}


@asynccontextmanager
async def open_socket(
    app: FastAPI,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> AsyncIterator[AsyncWebSocketSession]:
    """A WebSocket to ``path``, served by ``app`` in this event loop (so it shares the test's
    database connection: wait for the socket's answer before using the database again)."""
    transport = ASGIWebSocketTransport(app=app, initial_receive_timeout=10.0)
    async with (
        httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers, cookies=cookies
        ) as client,
        aconnect_ws(path, client, keepalive_ping_interval_seconds=None) as socket,
    ):
        yield socket


async def receive(socket: AsyncWebSocketSession) -> dict[str, Any]:
    return await socket.receive_json(timeout=5.0)


async def receive_until(socket: AsyncWebSocketSession, kind: str) -> list[dict[str, Any]]:
    """The frames up to and including the first of type ``kind``."""
    frames = [await receive(socket)]
    while frames[-1]["type"] != kind:
        frames.append(await receive(socket))
    return frames


async def assert_nothing_more(socket: AsyncWebSocketSession) -> None:
    """The socket answers a ping with pong, and sends nothing else after it."""
    await socket.send_json({"type": "ping"})
    assert await receive(socket) == {"type": "pong"}
    with pytest.raises(TimeoutError):
        await socket.receive_json(timeout=NOTHING_MORE_SECONDS)


@pytest.fixture
async def redis_hubs() -> AsyncIterator[Callable[[], RedisHub]]:
    """Makes hubs on one channel namespace, each with its own Redis connection (as two app
    processes have)."""
    probe = aioredis.from_url(REDIS_URL)
    try:
        await probe.ping()
    except (RedisError, OSError):
        if os.environ.get("CI") == "true":
            pytest.fail("Redis must be reachable on 127.0.0.1:6379 under CI")
        pytest.skip("no Redis reachable on 127.0.0.1:6379")
    finally:
        await probe.aclose()
    prefix = f"ih:test:{uuid.uuid4().hex}:"
    hubs: list[RedisHub] = []

    def make() -> RedisHub:
        name = f"{prefix}{len(hubs)}".replace(":", "-")  # to find its connections in CLIENT LIST
        hubs.append(RedisHub(aioredis.from_url(REDIS_URL, client_name=name), prefix=prefix))
        return hubs[-1]

    yield make
    for hub in hubs:
        await hub.close()
