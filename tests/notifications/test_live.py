"""The live inbox over /ws/notifications: pushed after commit, resumed without loss or repeats,
one's own messages only, bad frames answered with error frames, strangers refused."""

from __future__ import annotations

import json

import pytest
from httpx_ws import WebSocketDisconnect

from ihospital.app import create_app
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.deps import SESSION_COOKIE
from ihospital.notifications.senders import SandboxSmsSender
from ihospital.notifications.service import deliver_inbox_message, notify
from ihospital.outbox.service import drain, load_handlers
from ihospital.realtime.socket import CLOSE_FORBIDDEN, CLOSE_IDLE, CLOSE_UNAUTHENTICATED
from tests.conftest import make_settings
from tests.realtime.support import (
    assert_nothing_more,
    bearer,
    open_socket,
    receive,
    receive_until,
    redis_hubs,  # noqa: F401  (fixture)
    signed_in,
)

_source_events = iter(range(7_000_000, 8_000_000))


async def _deliver(session_factory, clock, hub, account, *, commit: bool = True, **values):
    """Deliver one inbox message as the worker does, in a transaction of its own."""
    async with session_factory() as session:
        message = await deliver_inbox_message(
            session,
            Actor.system(clock),
            source_event_id=next(_source_events),
            account_id=account.id,
            kind=values.get("kind", "system"),
            title="Messages",
            body="{count} unread",
            link="",
            fields={"count": "3"},
            hub=hub,
        )
        if commit:
            await session.commit()
        else:
            await session.rollback()
        return message.id


async def test_a_delivered_message_is_pushed_once_its_transaction_commits(
    app, session, session_factory, clock
):
    account, token, _ = await signed_in(session, clock)
    hub = app.state.realtime_hub
    async with open_socket(app, "/ws/notifications", headers=bearer(token)) as socket:
        assert await receive(socket) == {"type": "ready"}
        message_id = await _deliver(session_factory, clock, hub, account)
        frame = await receive(socket)
        assert frame["type"] == "notification" and frame["id"] == message_id
        assert frame["message"]["title"] == translate("Messages", "zh-CN") == "消息"
        assert frame["message"]["body"] == translate("{count} unread", "zh-CN", count=3)
        assert frame["message"]["is_read"] is False
        await _deliver(session_factory, clock, hub, account, commit=False)
        await assert_nothing_more(socket)  # a rolled-back delivery is never pushed


async def test_the_outbox_worker_pushes_what_it_delivers_in_order(
    app, session, session_factory, clock
):
    load_handlers()
    account, token, _ = await signed_in(session, clock)
    for n in range(3):
        await notify(
            session,
            Actor.system(clock),
            account_id=account.id,
            kind="system",
            title="Messages",
            body="{count} unread",
            fields={"count": n},
        )
    await session.flush()
    async with open_socket(app, "/ws/notifications", headers=bearer(token, "en")) as socket:
        assert await receive(socket) == {"type": "ready"}
        services = {"sms_sender": SandboxSmsSender(), "realtime_hub": app.state.realtime_hub}
        assert (await drain(session_factory, clock, limit=10, services=services)).done == 3
        frames = [await receive(socket) for _ in range(3)]
        assert [frame["message"]["body"] for frame in frames] == [
            "0 unread",
            "1 unread",
            "2 unread",
        ]
        assert [frame["id"] for frame in frames] == sorted(frame["id"] for frame in frames)


async def test_a_reconnecting_client_misses_nothing_and_gets_nothing_twice(
    app, session, session_factory, clock
):
    account, token, _ = await signed_in(session, clock)
    hub = app.state.realtime_hub
    async with open_socket(app, "/ws/notifications", headers=bearer(token)) as socket:
        await receive(socket)
        first = [await _deliver(session_factory, clock, hub, account) for _ in range(2)]
        assert [(await receive(socket))["id"] for _ in range(2)] == first
    missed = [await _deliver(session_factory, clock, hub, account) for _ in range(3)]

    resumed = f"/ws/notifications?after={first[-1]}"
    async with open_socket(app, resumed, headers=bearer(token)) as socket:
        frames = await receive_until(socket, "ready")
        assert [frame["id"] for frame in frames[:-1]] == missed
        live = await _deliver(session_factory, clock, hub, account)
        assert (await receive(socket))["id"] == live
        # Resuming again from the start sends only what this connection has not sent yet.
        await socket.send_json({"type": "resume", "after": 0})
        assert [(await receive(socket))["id"] for _ in range(2)] == first
        await assert_nothing_more(socket)


async def test_an_account_never_receives_another_accounts_messages(
    app, session, session_factory, clock
):
    mine, my_token, _ = await signed_in(session, clock)
    other, other_token, _ = await signed_in(session, clock)
    hub = app.state.realtime_hub
    theirs = await _deliver(session_factory, clock, hub, other)
    mine_path = "/ws/notifications?after=0"
    async with open_socket(app, mine_path, headers=bearer(my_token)) as socket:
        assert await receive_until(socket, "ready") == [{"type": "ready"}]  # theirs not replayed
        async with open_socket(
            app, "/ws/notifications", headers=bearer(other_token)
        ) as other_socket:
            await receive(other_socket)
            live = await _deliver(session_factory, clock, hub, other)
            assert (await receive(other_socket))["id"] == live
        await socket.send_json({"type": "resume", "after": 0})
        await assert_nothing_more(socket)
    assert theirs < live


@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ("not json", "realtime.invalid_json"),
        (b"\xff\xfe", "realtime.invalid_json"),
        (json.dumps({"type": "ping", "pad": "x" * 70_000}), "realtime.frame_too_large"),
        (json.dumps({"type": "dance"}), "realtime.unknown_type"),
        (json.dumps([1, 2]), "realtime.bad_frame"),
        (json.dumps({"kind": "ping"}), "realtime.bad_frame"),
        (json.dumps({"type": "resume", "after": "last"}), "realtime.bad_resume"),
        (json.dumps({"type": "resume", "after": -1}), "realtime.bad_resume"),
        (json.dumps({"type": "resume", "after": True}), "realtime.bad_resume"),
        (json.dumps({"type": "resume", "after": 2**63}), "realtime.bad_resume"),
    ],
)
async def test_a_bad_frame_gets_an_error_frame_and_the_socket_stays_usable(
    app, session, session_factory, clock, frame, code
):
    account, token, _ = await signed_in(session, clock)
    async with open_socket(app, "/ws/notifications", headers=bearer(token, "en")) as socket:
        await receive(socket)
        if isinstance(frame, bytes):
            await socket.send_bytes(frame)
        else:
            await socket.send_text(frame)
        error = await receive(socket)
        assert error["type"] == "error" and error["code"] == code
        assert error["detail"] and "{" not in error["detail"]
        await socket.send_json({"type": "ping"})
        assert await receive(socket) == {"type": "pong"}
        message_id = await _deliver(session_factory, clock, app.state.realtime_hub, account)
        assert (await receive(socket))["id"] == message_id


async def test_error_frames_follow_the_connection_language(app, session, clock):
    _, token, _ = await signed_in(session, clock)
    async with open_socket(app, "/ws/notifications", headers=bearer(token)) as socket:
        await receive(socket)
        await socket.send_text("{")
        error = await receive(socket)
    assert error["detail"] == translate("A frame must be valid JSON.", "zh-CN")
    assert error["detail"] != "A frame must be valid JSON."
    too_large = {"type": "error", "code": "realtime.frame_too_large", "limit": 65536}
    async with open_socket(app, "/ws/notifications", headers=bearer(token, "en")) as socket:
        await receive(socket)
        await socket.send_text("x" * 65537)
        assert await receive(socket) == {
            **too_large,
            "detail": "A frame may hold at most 65536 bytes.",
        }


@pytest.mark.parametrize("after", ["last", "-1", str(2**63), "１２"])
async def test_a_bad_resume_point_is_an_error_frame_then_live_items(
    app, session, session_factory, clock, after
):
    account, token, _ = await signed_in(session, clock)
    await _deliver(session_factory, clock, app.state.realtime_hub, account)
    path = f"/ws/notifications?after={after}"
    async with open_socket(app, path, headers=bearer(token, "en")) as socket:
        error = await receive(socket)
        assert (error["code"], error["field"]) == ("realtime.bad_resume", "after")
        assert await receive(socket) == {"type": "ready"}  # nothing replayed
        live = await _deliver(session_factory, clock, app.state.realtime_hub, account)
        assert (await receive(socket))["id"] == live


async def _refusal(app, path: str, **credentials) -> tuple[dict, int]:
    async with open_socket(app, path, **credentials) as socket:
        frame = await receive(socket)
        with pytest.raises(WebSocketDisconnect) as closed:
            await receive(socket)
    return frame, closed.value.code


async def test_a_socket_without_valid_credentials_is_refused(app, session, clock):
    account, token, web_token = await signed_in(session, clock)
    frame, code = await _refusal(app, "/ws/notifications")
    assert (frame["type"], frame["code"], code) == ("error", "auth.required", CLOSE_UNAUTHENTICATED)
    assert frame["detail"] == translate("Please sign in first.", "zh-CN")
    frame, code = await _refusal(app, "/ws/notifications", headers=bearer("forged-token"))
    assert (frame["code"], code) == ("auth.bad_token", CLOSE_UNAUTHENTICATED)
    frame, code = await _refusal(app, "/ws/notifications", headers=bearer(web_token))
    assert (frame["code"], code) == ("auth.bad_token", CLOSE_UNAUTHENTICATED)  # a cookie's token
    account.is_active = False
    await session.flush()
    frame, code = await _refusal(app, "/ws/notifications", headers=bearer(token))
    assert (frame["code"], code) == ("auth.bad_token", CLOSE_UNAUTHENTICATED)


async def test_the_session_cookie_works_only_from_pages_of_this_site(app, session, clock):
    _, _, web_token = await signed_in(session, clock)
    cookies = {SESSION_COOKIE: web_token}
    frame, code = await _refusal(
        app, "/ws/notifications", cookies=cookies, headers={"Origin": "https://evil.example"}
    )
    assert (frame["code"], code) == ("security.origin", CLOSE_FORBIDDEN)
    same_site = {"Origin": "http://testserver"}
    async with open_socket(app, "/ws/notifications", cookies=cookies, headers=same_site) as socket:
        assert await receive(socket) == {"type": "ready"}


async def test_the_server_pings_and_closes_a_silent_client(
    tmp_path, clock, engine, session_factory, session
):
    app = create_app(make_settings(tmp_path, ws_heartbeat_seconds=0.05), clock=clock, engine=engine)
    app.state.sessionmaker = session_factory
    _, token, _ = await signed_in(session, clock)
    async with open_socket(app, "/ws/notifications", headers=bearer(token)) as socket:
        assert await receive(socket) == {"type": "ready"}
        assert await receive(socket) == {"type": "ping"}
        await socket.send_json({"type": "pong"})  # an answer keeps it open
        assert await receive(socket) == {"type": "ping"}
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                assert await receive(socket) == {"type": "ping"}
    assert closed.value.code == CLOSE_IDLE


async def test_a_lost_hub_closes_sockets_so_that_clients_resume(app, session, clock):
    _, token, _ = await signed_in(session, clock)
    async with open_socket(app, "/ws/notifications", headers=bearer(token)) as socket:
        await receive(socket)
        await app.state.realtime_hub.close()
        frame = await receive(socket)
        with pytest.raises(WebSocketDisconnect) as closed:
            await receive(socket)
    assert frame["code"] == "realtime.unavailable" and closed.value.code == 1013


async def test_across_processes_through_redis(
    tmp_path,
    clock,
    engine,
    session_factory,
    session,
    redis_hubs,  # noqa: F811
):
    web_process, worker_process = redis_hubs(), redis_hubs()
    app = create_app(
        make_settings(tmp_path), clock=clock, engine=engine, services={"realtime_hub": web_process}
    )
    app.state.sessionmaker = session_factory
    account, token, _ = await signed_in(session, clock)
    async with open_socket(app, "/ws/notifications", headers=bearer(token)) as socket:
        assert await receive(socket) == {"type": "ready"}
        # Each commit publishes at once; the hub's one sender keeps them in order.
        delivered = [
            await _deliver(session_factory, clock, worker_process, account) for _ in range(20)
        ]
        assert [(await receive(socket))["id"] for _ in range(20)] == delivered
