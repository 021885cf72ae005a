"""Live inbox (站内信): ``/ws/notifications`` pushes each new message of the signed-in account as
it is delivered, after replaying those after the client's last id (docs/realtime.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket

from ihospital.core.context import Actor
from ihospital.notifications.inbox import messages_after
from ihospital.notifications.schemas import InboxMessageRead, inbox_event
from ihospital.notifications.service import inbox_channel
from ihospital.realtime.hub import Event
from ihospital.realtime.socket import Feed, serve_feed, socket_require
from ihospital.security.permissions import Permission

router = APIRouter()
SocketSelf = Annotated[Actor, Depends(socket_require(Permission.ACCOUNT_SELF))]


def notification_frame(event: Event) -> dict[str, Any]:
    """The frame of one message, translated into the connection's language."""
    message = InboxMessageRead.from_event(event).model_dump(mode="json")
    return {"type": "notification", "id": event["id"], "message": message}


@router.websocket("/ws/notifications")
async def notifications_socket(websocket: WebSocket, actor: SocketSelf) -> None:
    """The signed-in account's new inbox messages, live; ``?after=<id>`` resumes."""
    sessionmaker = websocket.app.state.sessionmaker

    async def stored_after(after_id: int, limit: int) -> list[Event]:
        async with sessionmaker() as session:
            messages = await messages_after(session, actor, after_id=after_id, limit=limit)
        return [inbox_event(message) for message in messages]

    assert actor.account_id is not None  # socket_require admits signed-in accounts only
    feed = Feed(
        hub=websocket.app.state.realtime_hub,
        channel=inbox_channel(actor.account_id),
        stored_after=stored_after,
        render=notification_frame,
    )
    await serve_feed(websocket, feed)
