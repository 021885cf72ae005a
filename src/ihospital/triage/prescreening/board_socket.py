"""The command centre's live board: ``/ws/command-centre`` pushes each new alert and each change
of an alert of the centre's regions, after replaying those after the client's last id (the
audit entry of the change; docs/realtime.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket

from ihospital.core.context import Actor
from ihospital.errors import Forbidden
from ihospital.realtime.hub import Event
from ihospital.realtime.socket import Feed, refuse, serve_feed, socket_require
from ihospital.security.permissions import Permission
from ihospital.triage.prescreening.alerts import changes_after
from ihospital.triage.prescreening.regions import board_channel, scope_of

router = APIRouter()
NO_REGION_MESSAGE = "Your account names no region whose alerts it watches."
SocketCommand = Annotated[Actor, Depends(socket_require(Permission.EPIDEMIC_COMMAND))]


def alert_frame(event: Event) -> dict[str, Any]:
    return {"type": "alert", "id": event["id"], "alert": event}


@router.websocket("/ws/command-centre")
async def board_socket(websocket: WebSocket, actor: SocketCommand) -> None:
    """The alerts of the actor's regions, live; ``?after=<id>`` resumes."""
    sessionmaker = websocket.app.state.sessionmaker

    async def stored_after(after_id: int, limit: int) -> list[Event]:
        async with sessionmaker() as session, session.begin():
            return await changes_after(session, actor, after_id=after_id, limit=limit)

    scope = scope_of(actor)
    if scope is None:
        await refuse(websocket, Forbidden("epidemic.no_region", NO_REGION_MESSAGE))
    feed = Feed(
        hub=websocket.app.state.realtime_hub,
        channel=board_channel(scope),
        stored_after=stored_after,
        render=alert_frame,
    )
    await serve_feed(websocket, feed)
