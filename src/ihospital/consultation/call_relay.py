"""The signalling of a video call over the consultation's socket (docs/realtime.md).

Frames from the client, each checked against :func:`~ihospital.consultation.calls.call_participant`
(a video consultation in progress, its patient account or assigned doctor), then relayed on the
consultation's channel with the sender's ``side`` (the sender sees its own frame come back and
ignores it, as with ``typing``); nothing of them is stored but the call's offer (until it is
answered or withdrawn), start and end:

- ``{"type": "call.offer", "sdp": "…"}``: the doctor calls (an SDP offer; the call rings);
- ``{"type": "call.answer", "sdp": "…"}``: the patient answers a ringing call; the call starts;
- ``{"type": "call.ice", "candidate": {"candidate": "…", "sdpMid": "0", "sdpMLineIndex": 0}}``;
- ``{"type": "call.hangup"}``: either side ends the call (its duration is recorded).

A socket that sent an offer or an answer and closes without hanging up ends the call. A socket
that (re)connects gets, after ``ready``, the offer still ringing or the end it missed
(:func:`~ihospital.consultation.calls.pending_call_frames`, marked ``"replayed": true``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import suppress
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from ihospital.consultation.calls import (
    call_participant,
    end_call,
    offer_call,
    start_call,
)
from ihospital.consultation.chat import Participant
from ihospital.consultation.chat_store import chat_channel
from ihospital.core.context import Actor
from ihospital.errors import AppError, Unprocessable
from ihospital.realtime.hub import Hub

SDP_MAX_LENGTH = 32_000
CANDIDATE_MAX_LENGTH = 1_000
SHORT_MAX_LENGTH = 256
CALL_FIELD_MESSAGE = '"{field}" is missing or not valid in this call frame.'


def _bad(field: str) -> Unprocessable:
    return Unprocessable("consultation.bad_call_frame", CALL_FIELD_MESSAGE, field=field)


def _text(value: object, field: str, *, limit: int, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or len(value) > limit or (required and not value.strip()):
        raise _bad(field)
    return value


def checked_sdp(frame: dict[str, Any]) -> str:
    """The session description of an offer or an answer."""
    sdp = _text(frame.get("sdp"), "sdp", limit=SDP_MAX_LENGTH)
    assert sdp is not None
    return sdp


def checked_candidate(frame: dict[str, Any]) -> dict[str, Any]:
    """An ICE candidate as RTCIceCandidateInit, only its known members (an empty
    ``candidate`` marks the end of the candidates)."""
    value = frame.get("candidate")
    if not isinstance(value, dict):
        raise _bad("candidate")
    line = value.get("candidate")
    if not isinstance(line, str) or len(line) > CANDIDATE_MAX_LENGTH:
        raise _bad("candidate")
    index = value.get("sdpMLineIndex")
    if index is not None and (isinstance(index, bool) or not isinstance(index, int)):
        raise _bad("sdpMLineIndex")
    if index is not None and not 0 <= index <= SHORT_MAX_LENGTH:
        raise _bad("sdpMLineIndex")
    return {
        "candidate": line,
        "sdpMid": _text(value.get("sdpMid"), "sdpMid", limit=SHORT_MAX_LENGTH, required=False),
        "sdpMLineIndex": index,
        "usernameFragment": _text(
            value.get("usernameFragment"),
            "usernameFragment",
            limit=SHORT_MAX_LENGTH,
            required=False,
        ),
    }


class CallRelay:
    """The call frames of one socket of one side of a consultation."""

    def __init__(
        self,
        *,
        sessionmaker: async_sessionmaker[AsyncSession],
        hub: Hub,
        actor: Actor,
        consultation_id: int,
        side: str,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.hub = hub
        self.actor = actor
        self.consultation_id = consultation_id
        self.side = side
        self.in_call = False

    def handlers(self) -> dict[str, Callable[[dict[str, Any]], Awaitable[None]]]:
        return {
            "call.offer": self.on_offer,
            "call.answer": self.on_answer,
            "call.ice": self.on_ice,
            "call.hangup": self.on_hangup,
        }

    def _relay(self, frame_type: str, **fields: Any) -> None:
        event = {"type": frame_type, "side": self.side, **fields}
        self.hub.publish(chat_channel(self.consultation_id), event)

    async def _check(self) -> Participant:
        async with self.sessionmaker() as session:
            return await call_participant(session, self.actor, consultation_id=self.consultation_id)

    async def on_offer(self, frame: dict[str, Any]) -> None:
        sdp = checked_sdp(frame)
        async with self.sessionmaker() as session:
            await offer_call(session, self.actor, consultation_id=self.consultation_id, sdp=sdp)
            await session.commit()
        self.in_call = True
        self._relay("call.offer", sdp=sdp)

    async def on_answer(self, frame: dict[str, Any]) -> None:
        sdp = checked_sdp(frame)
        async with self.sessionmaker() as session:
            call = await start_call(
                session, self.actor, consultation_id=self.consultation_id, hub=self.hub
            )
            await session.commit()
        self.in_call = True
        self._relay("call.answer", sdp=sdp, call_id=call.id)

    async def on_ice(self, frame: dict[str, Any]) -> None:
        candidate = checked_candidate(frame)
        await self._check()
        self._relay("call.ice", candidate=candidate)

    async def on_hangup(self, frame: dict[str, Any]) -> None:
        async with self.sessionmaker() as session:
            call = await end_call(
                session, self.actor, consultation_id=self.consultation_id, hub=self.hub
            )
            await session.commit()
        self.in_call = False
        if call is None:
            self._relay("call.hangup", call_id=None, duration_seconds=None)
        else:
            self._relay("call.hangup", call_id=call.id, duration_seconds=call.duration_seconds)

    async def closed(self) -> None:
        """The socket closed: a call it took part in ends (the other side is told)."""
        if not self.in_call:
            return
        with suppress(AppError):  # no longer the actor's consultation (reassigned): nothing to end
            await self.on_hangup({})
