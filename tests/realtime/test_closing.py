"""A client that sends a frame and closes at once: the frame is handled even when the server
notices the close first on its side (a push to the client fails) while the frame still waits to
be read."""

from __future__ import annotations

import asyncio
import json
from collections import deque
from types import SimpleNamespace

import pytest
from starlette.websockets import WebSocketDisconnect

from ihospital.realtime.socket import Feed, Heartbeat, _LiveSocket


class ClosedByClient:
    """A socket whose client sent one frame and closed: the frame and the close are queued,
    and every push to the client fails."""

    def __init__(self) -> None:
        self.frames = deque(
            [
                {"type": "websocket.receive", "text": json.dumps({"type": "note", "n": 1})},
                {"type": "websocket.disconnect", "code": 1000},
            ]
        )

    async def receive(self) -> dict:
        await asyncio.sleep(0.05)  # the reader comes to it after the push has failed
        return self.frames.popleft()

    async def send_text(self, text: str) -> None:
        raise WebSocketDisconnect(1006)

    async def close(self, code: int = 1000) -> None:
        return None


async def test_a_frame_sent_just_before_the_close_is_still_handled():
    handled: list[int] = []

    async def note(frame: dict) -> None:
        handled.append(frame["n"])

    async def one_event():
        yield {"id": 1, "type": "item"}

    async def nothing_stored(after_id: int, limit: int) -> list:
        return []

    feed = Feed(hub=None, channel="c", stored_after=nothing_stored, render=lambda event: event)
    settings = SimpleNamespace(ws_heartbeat_seconds=25.0, ws_max_frame_bytes=65_536)
    socket = _LiveSocket(ClosedByClient(), feed, settings, {"note": note})
    with pytest.raises(WebSocketDisconnect):
        await socket.run(one_event(), Heartbeat(25.0))
    assert handled == [1]
