"""The WebSocket protocol on a feed of the test's own: the replay and live items meet without
loss or repeats, long gaps are replayed page by page, roles are checked, and a frame handler's
failure is an error frame, not a dead socket."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi import Depends, WebSocket
from httpx_ws import WebSocketDisconnect

from ihospital.realtime.hub import Hub
from ihospital.realtime.socket import CLOSE_FORBIDDEN, Feed, serve_feed, socket_require
from ihospital.security.permissions import Permission
from tests.realtime.support import (
    assert_nothing_more,
    bearer,
    open_socket,
    receive,
    receive_until,
    signed_in,
)


def _item_frame(event: dict) -> dict:
    return {"type": "item", "id": event["id"]}


def _serve(
    app,
    feed_for: Callable[[Hub], Feed],
    *,
    permission: Permission = Permission.ACCOUNT_SELF,
    handlers=None,
) -> None:
    """Add ``/ws/test`` to ``app``, serving the feed ``feed_for(hub)``."""

    async def route(websocket: WebSocket, actor=Depends(socket_require(permission))) -> None:
        await serve_feed(websocket, feed_for(websocket.app.state.realtime_hub), handlers=handlers)

    app.add_api_websocket_route("/ws/test", route)


async def test_items_committed_during_the_replay_arrive_once_and_in_order(app, session, clock):
    stored = [{"id": n} for n in (1, 2, 3)]

    def feed_for(hub: Hub) -> Feed:
        async def stored_after(after_id: int, limit: int) -> list[dict]:
            # While the replay reads, 4 commits: its publish and the read both carry it, as
            # does 3's publish that was late.
            stored.append({"id": 4})
            hub.publish("c", {"id": 3})
            hub.publish("c", {"id": 4})
            return [item for item in stored if item["id"] > after_id][:limit]

        return Feed(hub=hub, channel="c", stored_after=stored_after, render=_item_frame)

    _serve(app, feed_for)
    _, token, _ = await signed_in(session, clock)
    async with open_socket(app, "/ws/test?after=1", headers=bearer(token)) as socket:
        frames = await receive_until(socket, "ready")
        app.state.realtime_hub.publish("c", {"id": 5})
        frames.append(await receive(socket))
        await assert_nothing_more(socket)
    assert [frame.get("id") for frame in frames] == [2, 3, 4, None, 5]


async def test_a_long_gap_is_replayed_page_by_page(app, session, clock):
    stored = [{"id": n} for n in range(1, 251)]
    reads: list[tuple[int, int]] = []

    def feed_for(hub: Hub) -> Feed:
        async def stored_after(after_id: int, limit: int) -> list[dict]:
            reads.append((after_id, limit))
            return [item for item in stored if item["id"] > after_id][:limit]

        return Feed(hub=hub, channel="c", stored_after=stored_after, render=_item_frame)

    _serve(app, feed_for)
    _, token, _ = await signed_in(session, clock)
    async with open_socket(app, "/ws/test?after=0", headers=bearer(token)) as socket:
        frames = await receive_until(socket, "ready")
    assert [frame["id"] for frame in frames[:-1]] == list(range(1, 251))
    assert reads == [(0, 100), (100, 100), (200, 100)]


def _empty_feed(hub: Hub) -> Feed:
    async def stored_after(after_id: int, limit: int) -> list[dict]:
        return []

    return Feed(hub=hub, channel="c", stored_after=stored_after, render=_item_frame)


async def test_a_role_without_the_permission_is_refused_with_4403(app, session, clock):
    _serve(app, _empty_feed, permission=Permission.STAFF_MANAGE)
    _, token, _ = await signed_in(session, clock, role="patient")
    async with open_socket(app, "/ws/test", headers=bearer(token, "en")) as socket:
        frame = await receive(socket)
        with pytest.raises(WebSocketDisconnect) as closed:
            await receive(socket)
    assert frame == {
        "type": "error",
        "code": "auth.forbidden",
        "detail": "Your role may not do this.",
    }
    assert closed.value.code == CLOSE_FORBIDDEN


async def test_a_failing_frame_handler_is_an_error_frame_and_the_socket_stays_up(
    app, session, clock
):
    async def fails(frame: dict) -> None:
        raise RuntimeError("a bug")

    _serve(app, _empty_feed, handlers={"typing": fails})
    _, token, _ = await signed_in(session, clock)
    async with open_socket(app, "/ws/test", headers=bearer(token, "en")) as socket:
        await receive(socket)
        await socket.send_json({"type": "typing"})
        error = await receive(socket)
        assert error["code"] == "server.error" and "a bug" not in error["detail"]
        await assert_nothing_more(socket)
