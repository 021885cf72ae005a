"""The WebSocket protocol of live pages (docs/realtime.md).

- :func:`socket_require` authenticates a socket as HTTP requests are (bearer token, else the
  session cookie, which must come from a page of this site) and refuses with an error frame and
  close code 4401 (not signed in) or 4403 (not allowed); :func:`refuse` does the same for an
  endpoint's own checks (someone else's consultation, say).
- :func:`serve_feed` runs an accepted socket: JSON text frames up to ``ws_max_frame_bytes``; a
  frame that is too large, not JSON or of an unknown type gets an error frame translated into the
  connection's language, and the socket stays open. Heartbeat: the server sends ``ping`` every
  ``ws_heartbeat_seconds`` and answers the client's ``ping`` with ``pong``; a client heard from
  for none of three intervals is closed (4408). Resume: the socket subscribes first, then
  replays the stored items after the client's last id, then forwards live ones, never an id
  twice.
- :class:`Heartbeat` beats all the sockets of a process from one timer wheel.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from asyncio import FIRST_COMPLETED
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

from fastapi import WebSocket, WebSocketException
from starlette.websockets import WebSocketDisconnect, WebSocketState

from ihospital.config import Settings
from ihospital.core.context import Actor, request_id_var
from ihospital.core.i18n import current_language
from ihospital.core.problems import server_error_problem
from ihospital.deps import actor_for, presented_account
from ihospital.errors import AppError, BadRequest, Forbidden, ServiceUnavailable, Unauthorized
from ihospital.realtime.hub import Event, Hub, HubUnavailable, Subscription
from ihospital.security.permissions import Permission, has_permission

log = logging.getLogger("ihospital.realtime")

CLOSE_UNAUTHENTICATED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_IDLE = 4408
CLOSE_TRY_AGAIN = 1013
IDLE_BEATS = 3
REPLAY_PAGE = 100
REMEMBERED_IDS = 4096
MAX_ID = 2**63 - 1
DRAIN_SECONDS = 10.0  # reading on after the client closed, for the frames it sent before
WHEEL_SLOTS = 64
MIN_TICK_SECONDS = 0.01

Store = Callable[[int, int], Awaitable[list[Event]]]
FrameHandler = Callable[[dict[str, Any]], Awaitable[None]]


def error_frame(problem: Mapping[str, Any]) -> dict[str, Any]:
    """An error frame from a translated problem: its code, detail and fields."""
    omitted = ("type", "title", "status")
    return {"type": "error", **{key: value for key, value in problem.items() if key not in omitted}}


def _frame_of(error: AppError) -> dict[str, Any]:
    return error_frame(error.to_problem(current_language.get()))


def _dump(frame: Mapping[str, Any]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"), default=str)


def _from_this_site(websocket: WebSocket) -> bool:
    """A browser always sends Origin: a page of another site may not use our session cookie.
    This site is the Host the socket was opened on, or the configured public address."""
    origin = websocket.headers.get("origin")
    if origin is None:
        return True
    base_url = websocket.app.state.settings.base_url
    ours = {websocket.headers.get("host"), urlsplit(base_url).netloc if base_url else None}
    return urlsplit(origin).netloc in ours - {None, ""}


async def refuse(websocket: WebSocket, refusal: AppError) -> NoReturn:
    """Refuse a socket not yet served: accepted first, so that a browser sees why, then the
    error frame and the close code, 4401 for a 401 error and 4403 for any other."""
    await websocket.accept()
    await websocket.send_text(_dump(_frame_of(refusal)))
    code = CLOSE_UNAUTHENTICATED if refusal.status == 401 else CLOSE_FORBIDDEN
    raise WebSocketException(code, refusal.code)


def socket_require(permission: Permission):
    """Dependency of a WebSocket route: the signed-in actor, whose role grants ``permission``.
    Anyone else gets an error frame and the socket is closed with 4401 or 4403."""

    async def dependency(websocket: WebSocket) -> Actor:
        try:
            async with websocket.app.state.sessionmaker() as session:
                account, by_cookie = await presented_account(session, websocket)
            if account is None:
                raise Unauthorized("auth.required", "Please sign in first.")
            if by_cookie and not _from_this_site(websocket):
                raise Forbidden(
                    "security.origin", "Only pages of this site may connect with your session."
                )
            if not has_permission(account.role, permission):
                raise Forbidden("auth.forbidden", "Your role may not do this.")
        except AppError as refusal:
            await refuse(websocket, refusal)
        return actor_for(websocket, account)

    dependency.permission = permission  # type: ignore[attr-defined]  (read by the matrix test)
    return dependency


def _resume_point(value: object) -> int:
    """The id a client resumes after: a whole number from 0 (everything) up."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_ID:
        raise BadRequest(
            "realtime.bad_resume",
            '"{field}" must be a whole number from 0 up: the last id you received.',
            field="after",
        )
    return value


@dataclass(frozen=True)
class Feed:
    """What a socket delivers: the hub ``channel``; ``stored_after(after_id, limit)``, the stored
    items with a larger id, oldest first, each an event with its ``id``; and ``render``, which
    turns an event into the frame sent (in the connection's language)."""

    hub: Hub
    channel: str
    stored_after: Store
    render: Callable[[Event], dict[str, Any]]


class _LiveSocket:
    def __init__(
        self,
        websocket: WebSocket,
        feed: Feed,
        settings: Settings,
        handlers: Mapping[str, FrameHandler],
    ) -> None:
        self.websocket = websocket
        self.feed = feed
        self.heartbeat_seconds = settings.ws_heartbeat_seconds
        self.max_frame_bytes = settings.ws_max_frame_bytes
        self.handlers = handlers
        self.loop = asyncio.get_running_loop()
        self.last_heard = self.loop.time()
        self.silent: asyncio.Future[None] = self.loop.create_future()  # set by the heartbeat
        self._send_lock = asyncio.Lock()
        self._delivery_lock = asyncio.Lock()  # a replay and live items do not interleave
        self._sent: set[int] = set()
        self._sent_order: deque[int] = deque()

    async def send(self, frame: Mapping[str, Any]) -> None:
        async with self._send_lock:
            await self.websocket.send_text(_dump(frame))

    async def _send_once(self, event: Event) -> None:
        event_id = event.get("id")
        if event_id is None:  # a passing signal (typing, say): nothing to resume, nothing stored
            await self.send(self.feed.render(event))
            return
        if event_id in self._sent:
            return
        await self.send(self.feed.render(event))
        self._sent.add(event_id)
        self._sent_order.append(event_id)
        if len(self._sent_order) > REMEMBERED_IDS:  # an id can repeat only around a replay
            self._sent.discard(self._sent_order.popleft())

    async def replay(self, after: int) -> None:
        async with self._delivery_lock:
            while True:
                events = await self.feed.stored_after(after, REPLAY_PAGE)
                for event in events:
                    await self._send_once(event)
                if len(events) < REPLAY_PAGE:
                    return
                after = events[-1]["id"]

    async def forward(self, events: Subscription) -> None:
        async for event in events:
            async with self._delivery_lock:
                await self._send_once(event)

    def beat(self, now: float) -> bool:
        """One beat of the heartbeat: ping the client, or, when it has been silent for
        :data:`IDLE_BEATS` intervals, mark the socket silent (``run`` closes it with 4408).
        Returns whether the socket is still beating."""
        if now - self.last_heard > IDLE_BEATS * self.heartbeat_seconds:
            if not self.silent.done():
                self.silent.set_result(None)
            return False
        return True

    async def ping(self) -> None:
        with suppress(WebSocketDisconnect, RuntimeError, OSError):  # gone: the reader ends it
            await self.send({"type": "ping"})

    async def read(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            self.last_heard = self.loop.time()
            try:
                await self._dispatch(self._parse(message))
            except AppError as error:
                await self.send(_frame_of(error))
            except WebSocketDisconnect:
                raise
            except Exception:
                log.exception("realtime: a frame failed")
                problem = server_error_problem(request_id_var.get(), current_language.get())
                await self.send(error_frame(problem))

    def _parse(self, message: Mapping[str, Any]) -> dict[str, Any]:
        raw: str | bytes = message.get("text") or message.get("bytes") or ""
        limit = self.max_frame_bytes
        if len(raw) > limit or (isinstance(raw, str) and len(raw.encode()) > limit):
            raise BadRequest(
                "realtime.frame_too_large",
                "A frame may hold at most {limit} bytes.",
                limit=self.max_frame_bytes,
            )
        try:
            frame = json.loads(raw)
        except ValueError:
            raise BadRequest("realtime.invalid_json", "A frame must be valid JSON.") from None
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            raise BadRequest("realtime.bad_frame", 'A frame is a JSON object with a "type".')
        return frame

    async def _dispatch(self, frame: dict[str, Any]) -> None:
        kind = frame["type"]
        if kind == "ping":
            await self.send({"type": "pong"})
        elif kind == "resume":
            await self.replay(_resume_point(frame.get("after")))
        elif kind in self.handlers:
            await self.handlers[kind](frame)
        elif kind != "pong":
            raise BadRequest(
                "realtime.unknown_type",
                'There is no frame type "{frame_type}".',
                frame_type=kind[:64],
            )

    async def run(self, events: Subscription, heartbeat: Heartbeat) -> None:
        """Read and forward, beaten by ``heartbeat``, until one of them ends or the client
        falls silent; an error in one ends the other."""
        tasks = [asyncio.create_task(self.read()), asyncio.create_task(self.forward(events))]
        heartbeat.add(self)
        try:
            done, _ = await asyncio.wait([*tasks, self.silent], return_when=FIRST_COMPLETED)
            reader = tasks[0]
            if reader not in done and _client_gone(done):
                # The client closed, and a frame it sent before closing may still wait unread:
                # read on to the disconnect, so that what it sent is handled (a chat message
                # stored) rather than dropped.
                await asyncio.wait([reader], timeout=DRAIN_SECONDS)
        finally:
            heartbeat.discard(self)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        if self.silent in done:
            async with self._send_lock:
                await self.websocket.close(CLOSE_IDLE)
            return
        for task in done:
            if error := task.exception():
                raise error


def _client_gone(done: set[asyncio.Future[Any]]) -> bool:
    return any(
        not task.cancelled() and isinstance(task.exception(), WebSocketDisconnect) for task in done
    )


class Heartbeat:
    """The heartbeat of a process's sockets: one timer wheel of ``ws_heartbeat_seconds`` cut
    into up to :data:`WHEEL_SLOTS` slots, each socket in a random one of the second half ahead.
    Every tick, the sockets of the next slot are beaten: pinged, or closed when silent for too
    long. A socket's first ping thus comes at a random point between half an interval and one,
    so sockets opened together (a page
    reloaded by many, a server restart) ping spread over the interval, not all at once; and a
    process with thousands of sockets keeps one timer instead of one per socket. The wheel
    turns while it holds a socket and stops with the last."""

    def __init__(self, interval_seconds: float) -> None:
        self.slot_count = max(1, min(WHEEL_SLOTS, int(interval_seconds / MIN_TICK_SECONDS)))
        self.tick = interval_seconds / self.slot_count
        self._slots: list[set[_LiveSocket]] = [set() for _ in range(self.slot_count)]
        self._slot_of: dict[_LiveSocket, int] = {}
        self._pings: set[asyncio.Task[None]] = set()
        self._turning: asyncio.Task[None] | None = None
        self._position = 0  # the slot beaten last

    def add(self, socket: _LiveSocket) -> None:
        half = self.slot_count // 2  # the first ping after half an interval at the soonest
        ahead = half + random.randrange(self.slot_count - half)  # noqa: S311 (no secret)
        slot = (self._position + ahead) % self.slot_count
        self._slots[slot].add(socket)
        self._slot_of[socket] = slot
        if self._turning is None or self._turning.done():
            self._turning = asyncio.get_running_loop().create_task(self._turn())

    def discard(self, socket: _LiveSocket) -> None:
        if (slot := self._slot_of.pop(socket, None)) is not None:
            self._slots[slot].discard(socket)

    async def _turn(self) -> None:
        loop = asyncio.get_running_loop()
        due = loop.time() + self.tick
        while self._slot_of:
            await asyncio.sleep(due - loop.time())
            now = loop.time()
            while due <= now:  # a late wake beats every slot it passed, in order
                self._position = (self._position + 1) % self.slot_count
                self._beat(self._slots[self._position], now)
                due += self.tick

    def _beat(self, sockets: set[_LiveSocket], now: float) -> None:
        for socket in list(sockets):
            if not socket.beat(now):
                self.discard(socket)
                continue
            ping = socket.loop.create_task(socket.ping())
            self._pings.add(ping)
            ping.add_done_callback(self._pings.discard)


async def _close(websocket: WebSocket, code: int, frame: Mapping[str, Any] | None = None) -> None:
    connected = WebSocketState.CONNECTED
    if websocket.application_state is not connected or websocket.client_state is not connected:
        return
    try:
        if frame is not None:
            await websocket.send_text(_dump(frame))
        await websocket.close(code)
    except (WebSocketDisconnect, RuntimeError, OSError):
        pass  # the client is already gone


async def serve_feed(
    websocket: WebSocket,
    feed: Feed,
    *,
    handlers: Mapping[str, FrameHandler] | None = None,
    greeting: Sequence[Mapping[str, Any]] = (),
) -> None:
    """Accept the socket and run the protocol on ``feed`` until either side closes. The resume
    point may be given as the ``after`` query parameter; ``handlers`` answer frame types of the
    endpoint's own; ``greeting`` holds the endpoint's frames of state to send after ``ready``
    (what a reconnecting client missed that is not a stored item). Never raises: a failure
    closes the socket (1013 when the hub is unavailable, so the client reconnects and resumes;
    1011 otherwise)."""
    settings: Settings = websocket.app.state.settings
    heartbeat: Heartbeat = websocket.app.state.heartbeat
    await websocket.accept()
    socket = _LiveSocket(websocket, feed, settings, handlers or {})
    try:
        async with feed.hub.subscribe(feed.channel) as events:
            if (after := websocket.query_params.get("after")) is not None:
                try:
                    await socket.replay(_resume_point(after))
                except AppError as error:
                    await socket.send(_frame_of(error))
            await socket.send({"type": "ready"})
            for frame in greeting:
                await socket.send(frame)
            await socket.run(events, heartbeat)
    except WebSocketDisconnect:
        return
    except HubUnavailable:
        unavailable = ServiceUnavailable(
            "realtime.unavailable", "Live updates were interrupted. Reconnecting…"
        )
        await _close(websocket, CLOSE_TRY_AGAIN, _frame_of(unavailable))
        return
    except Exception:
        log.exception("realtime: a socket failed")
        await _close(websocket, 1011)
        return
    await _close(websocket, 1000)
