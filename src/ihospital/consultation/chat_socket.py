"""The live chat of a consultation: ``/ws/consultations/{id}`` for its patient account and
``/ws/doctor/consultations/{id}`` for its assigned doctor (docs/realtime.md). It replays the
messages after the client's last id, then forwards new ones; the client sends messages, read
receipts and typing signals over it too.

Frames from the client, besides the protocol's own:

- ``{"type": "message", "text": "…", "file_id": 7}``: stored by the app's chat writer (in a
  batch with the other sends of the moment), then delivered to both sides (``text`` or
  ``file_id`` may be left out): the sender sees it arrive as the other side does;
- ``{"type": "read", "up_to": 41}``: the other side's messages up to 41 are read;
- ``{"type": "typing"}``: relayed to the other side, not stored;
- ``call.offer``, ``call.answer``, ``call.ice``, ``call.hangup``: a video call's signalling
  (:mod:`ihospital.consultation.call_relay`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, WebSocket
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.call_relay import CallRelay
from ihospital.consultation.calls import pending_call_frames
from ihospital.consultation.chat import (
    audit_chat_read,
    chat_participant,
    mark_read,
    stored_messages,
)
from ihospital.consultation.chat_schemas import MessageRead
from ihospital.consultation.chat_send import Send
from ihospital.consultation.chat_store import chat_channel, message_event
from ihospital.consultation.chat_writer import ChatWriter
from ihospital.consultation.states import not_found
from ihospital.core.context import Actor
from ihospital.errors import AppError, Unprocessable
from ihospital.realtime.hub import Event
from ihospital.realtime.socket import MAX_ID, Feed, refuse, serve_feed, socket_require
from ihospital.security.permissions import Permission

router = APIRouter()
SocketPatient = Annotated[Actor, Depends(socket_require(Permission.CONSULTATIONS_OWN))]
SocketDoctor = Annotated[Actor, Depends(socket_require(Permission.CONSULTATIONS_ATTEND))]
FRAME_FIELD_MESSAGE = '"{field}" has the wrong type for this frame.'


def chat_frame(event: Event) -> dict[str, Any]:
    """The frame of a hub event: a message translated into the connection's language; typing
    and read receipts as they are."""
    if event.get("type") != "message":
        return event
    message = MessageRead.from_event(event).model_dump(mode="json")
    return {"type": "message", "id": event["id"], "message": message}


def _field(frame: dict[str, Any], field: str, kind: type, *, bounded: bool = False) -> Any:
    value = frame.get(field)
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, kind)
        or (bounded and not 1 <= value <= MAX_ID)
    ):
        raise Unprocessable("consultation.bad_frame_field", FRAME_FIELD_MESSAGE, field=field)
    return value


@router.websocket("/ws/consultations/{consultation_id}")
async def patient_socket(websocket: WebSocket, consultation_id: int, actor: SocketPatient) -> None:
    """The patient's side of the consultation's chat, live; ``?after=<id>`` resumes."""
    await _serve_chat(websocket, consultation_id, actor)


@router.websocket("/ws/doctor/consultations/{consultation_id}")
async def doctor_socket(websocket: WebSocket, consultation_id: int, actor: SocketDoctor) -> None:
    """The assigned doctor's side of the consultation's chat, live; ``?after=<id>`` resumes."""
    await _serve_chat(websocket, consultation_id, actor)


async def _serve_chat(websocket: WebSocket, consultation_id: int, actor: Actor) -> None:
    """Check the actor takes part (else an error frame and 4403), audit the read, serve; what
    the side missed of a video call follows ``ready``. The database is read before the socket
    is accepted."""
    sessionmaker = websocket.app.state.sessionmaker
    hub = websocket.app.state.realtime_hub
    writer: ChatWriter = websocket.app.state.chat_writer
    try:
        if not 1 <= consultation_id <= MAX_ID:  # no such id: refused before the database
            raise not_found(consultation_id)
        async with sessionmaker() as session:
            participant = await chat_participant(session, actor, consultation_id=consultation_id)
            await audit_chat_read(session, actor, participant.consultation, via="websocket")
            greeting = await pending_call_frames(session, actor, participant)
            await session.commit()
    except AppError as refusal:
        await refuse(websocket, refusal)

    async def stored_after(after_id: int, limit: int) -> list[Event]:
        async with sessionmaker() as session:
            messages = await stored_messages(
                session, consultation_id, after_id=after_id, limit=limit
            )
        return [{"type": "message", **message_event(message)} for message in messages]

    async def in_transaction(work: Any) -> Any:
        session: AsyncSession
        async with sessionmaker() as session:
            result = await work(session)
            await session.commit()
        return result

    async def on_message(frame: dict[str, Any]) -> None:
        text, file_id = _field(frame, "text", str), _field(frame, "file_id", int, bounded=True)
        await writer.send(Send(actor, consultation_id, text, file_id, hub))

    async def on_read(frame: dict[str, Any]) -> None:
        up_to = _field(frame, "up_to", int, bounded=True)
        if up_to is None:
            raise Unprocessable("consultation.bad_frame_field", FRAME_FIELD_MESSAGE, field="up_to")
        await in_transaction(
            lambda session: mark_read(
                session, actor, consultation_id=consultation_id, up_to=up_to, hub=hub
            )
        )

    async def on_typing(frame: dict[str, Any]) -> None:
        hub.publish(chat_channel(consultation_id), {"type": "typing", "side": participant.side})

    feed = Feed(
        hub=hub, channel=chat_channel(consultation_id), stored_after=stored_after, render=chat_frame
    )
    call = CallRelay(
        sessionmaker=sessionmaker,
        hub=hub,
        actor=actor,
        consultation_id=consultation_id,
        side=participant.side,
    )

    handlers = {"message": on_message, "read": on_read, "typing": on_typing, **call.handlers()}
    await serve_feed(websocket, feed, handlers=handlers, greeting=greeting)
    await call.closed()
