"""The video page of a 视频 consultation, for its patient account
(``/consultations/{id}/video``) and its assigned doctor (``/doctor/consultations/{id}/video``):
the call itself (static/js/video-call.js: camera, microphone, the other side's picture, hang up)
and the calls so far with their durations.

The doctor starts the call; the patient's page rings and the patient answers. The page carries
the configured ICE servers (``IHOSPITAL_ICE_SERVERS``; none: host candidates only, enough on one
network). Anyone else finds no such consultation.
"""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response

from ihospital.consultation.calls import list_calls
from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

Patient = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]


def duration_parts(seconds: int | None) -> dict[str, int]:
    """Minutes and seconds of a call's duration, for display."""
    minutes, rest = divmod(seconds or 0, 60)
    return {"minutes": minutes, "seconds": rest}


async def _video_page(
    request: Request, session: DbSession, actor: Actor, consultation_id: int, *, socket: str
) -> Response:
    history = await list_calls(session, actor, consultation_id=consultation_id)
    consultation = history.participant.consultation
    servers = request.app.state.settings.ice_servers
    context = {
        "consultation": consultation,
        "side": history.participant.side,
        "calls": history.calls,
        "duration_parts": duration_parts,
        "socket_path": socket.format(consultation_id=consultation.id),
        "ice_servers": json.dumps([server.model_dump(exclude_none=True) for server in servers]),
        "can_call": consultation.consultation_type == "video"
        and consultation.status == "in_progress",
    }
    return render(request, "consultation/video.html", context)


@router.get("/consultations/{consultation_id}/video")
async def patient_video_page(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Patient
) -> Response:
    """The patient's side of the video call: answer when the doctor calls."""
    return await _video_page(
        request, session, actor, consultation_id, socket="/ws/consultations/{consultation_id}"
    )


@router.get("/doctor/consultations/{consultation_id}/video")
async def doctor_video_page(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """The doctor's side of the video call: start it."""
    return await _video_page(
        request,
        session,
        actor,
        consultation_id,
        socket="/ws/doctor/consultations/{consultation_id}",
    )
