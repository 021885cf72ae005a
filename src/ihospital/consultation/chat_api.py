"""JSON routes of a consultation's chat, for the patient account (``/api/consultations``) and
the assigned doctor (``/api/doctor/consultations``); ``GET …/messages?after=<id>`` is also the
polling fallback of pages without JavaScript."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request

from ihospital.consultation.chat import list_messages, mark_read
from ihospital.consultation.chat_schemas import MarkedRead, MessageCreate, MessageRead, ReadReceipt
from ihospital.consultation.chat_send import Send
from ihospital.core.context import Actor
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["consultation chat"])

Patient = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
ConsultationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
After = Annotated[int, Query(ge=0, le=2**63 - 1)]
PATIENT_PATH = "/consultations/{consultation_id}/messages"
DOCTOR_PATH = "/doctor/consultations/{consultation_id}/messages"


async def _page(
    session: DbSession, actor: Actor, consultation_id: int, after: int
) -> list[MessageRead]:
    messages = await list_messages(session, actor, consultation_id=consultation_id, after_id=after)
    return [MessageRead.from_message(message) for message in messages]


async def _send(
    request: Request, session: DbSession, actor: Actor, consultation_id: int, body: MessageCreate
) -> MessageRead:
    # The message is stored by the app's chat writer, in a transaction of its own (batched with
    # the other sends of the moment); the request's reads are over: ending its transaction
    # first keeps SQLite's one write lock free for the writer.
    await session.commit()
    hub = request.app.state.realtime_hub
    send = Send(actor, consultation_id, body.text, body.file_id, hub)
    message = await request.app.state.chat_writer.send(send)
    return MessageRead.from_message(message)


async def _read(
    request: Request, session: DbSession, actor: Actor, consultation_id: int, body: ReadReceipt
) -> MarkedRead:
    marked = await mark_read(
        session,
        actor,
        consultation_id=consultation_id,
        up_to=body.up_to,
        hub=request.app.state.realtime_hub,
    )
    return MarkedRead(marked=marked)


@router.get(PATIENT_PATH)
async def patient_messages(
    consultation_id: ConsultationId, session: DbSession, actor: Patient, after: After = 0
) -> list[MessageRead]:
    """Up to 100 messages after id ``after``, oldest first."""
    return await _page(session, actor, consultation_id, after)


@router.post(PATIENT_PATH, status_code=201)
async def patient_send(
    consultation_id: ConsultationId,
    body: MessageCreate,
    request: Request,
    session: DbSession,
    actor: Patient,
) -> MessageRead:
    """Send a message to the doctor (in progress, or follow-up questions after closing)."""
    return await _send(request, session, actor, consultation_id, body)


@router.post(PATIENT_PATH + "/read")
async def patient_read(
    consultation_id: ConsultationId,
    body: ReadReceipt,
    request: Request,
    session: DbSession,
    actor: Patient,
) -> MarkedRead:
    """The doctor's messages up to ``up_to`` have been read."""
    return await _read(request, session, actor, consultation_id, body)


@router.get(DOCTOR_PATH)
async def doctor_messages(
    consultation_id: ConsultationId, session: DbSession, actor: Doctor, after: After = 0
) -> list[MessageRead]:
    """Up to 100 messages after id ``after``, oldest first."""
    return await _page(session, actor, consultation_id, after)


@router.post(DOCTOR_PATH, status_code=201)
async def doctor_send(
    consultation_id: ConsultationId,
    body: MessageCreate,
    request: Request,
    session: DbSession,
    actor: Doctor,
) -> MessageRead:
    """Send a message to the patient."""
    return await _send(request, session, actor, consultation_id, body)


@router.post(DOCTOR_PATH + "/read")
async def doctor_read(
    consultation_id: ConsultationId,
    body: ReadReceipt,
    request: Request,
    session: DbSession,
    actor: Doctor,
) -> MarkedRead:
    """The patient's messages up to ``up_to`` have been read."""
    return await _read(request, session, actor, consultation_id, body)
