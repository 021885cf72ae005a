"""Video calls of a 视频 consultation (视频问诊): who may call, and the record of each call.

Only the consultation's patient account and its assigned doctor take part (anyone else finds no
such consultation), only in a consultation of type ``video`` that is in progress. The doctor
offers a call (it rings for :data:`RING_FOR`), the patient answers: the answer starts the call's
record, and only while an offer rings (else ``consultation.no_call_offered``); the hang-up of
either side (or leaving the page) ends the call with its duration, or withdraws an offer not yet
answered. Each is a transition (audited, events ``consultation.call_offered`` / ``…_cancelled`` /
``…_started`` / ``…_ended``, R13), kept in the database so that every app process sees whether a
call rings; the end is a system notice in the chat. The media flows between the browsers
(WebRTC); the server relays the signalling only (:mod:`ihospital.consultation.call_relay`), but
keeps the offer while it rings, so that a side whose socket (re)connects then gets it, or learns
that the call ended while it was away (:func:`pending_call_frames`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.audit.models import AuditEntry
from ihospital.audit.service import record
from ihospital.consultation.call_models import ConsultationCall, ConsultationCallOffer
from ihospital.consultation.chat import Participant, chat_participant
from ihospital.consultation.chat_store import append_message, call_ended_notice
from ihospital.consultation.duty import require_work_session
from ihospital.consultation.events import (
    CALL_CANCELLED,
    CALL_ENDED,
    CALL_OFFERED,
    CALL_STARTED,
    transition,
)
from ihospital.consultation.models import Consultation
from ihospital.core.context import Actor
from ihospital.directory.access import own_practitioner
from ihospital.errors import Conflict
from ihospital.realtime.hub import Hub

NOT_VIDEO_MESSAGE = "Video calls are made in video consultations only."
NOT_IN_PROGRESS_MESSAGE = "A video call can be made only while the consultation is in progress."
DOCTOR_CALLS_MESSAGE = "The doctor starts the video call and the patient answers it."
NO_OFFER_MESSAGE = "The doctor is not calling right now, so there is no call to answer."
RING_FOR = timedelta(minutes=2)
_CALL_STEPS = (CALL_OFFERED, CALL_CANCELLED, CALL_STARTED, CALL_ENDED)


async def call_participant(
    session: AsyncSession,
    actor: Actor,
    *,
    consultation_id: int,
    for_update: bool = False,
    ending: bool = False,
) -> Participant:
    """The actor's side in a video consultation in progress (a call may be ended after it:
    ``ending``); else ``consultation.not_video`` or ``consultation.call_not_in_progress``."""
    participant = await chat_participant(
        session, actor, consultation_id=consultation_id, for_update=for_update
    )
    consultation = participant.consultation
    if consultation.consultation_type != "video":
        raise Conflict("consultation.not_video", NOT_VIDEO_MESSAGE)
    if not ending and consultation.status != "in_progress":
        raise Conflict("consultation.call_not_in_progress", NOT_IN_PROGRESS_MESSAGE)
    return participant


def check_role(participant: Participant, *, expected: str) -> None:
    """The doctor offers a call, the patient answers it."""
    if participant.side != expected:
        raise Conflict("consultation.call_wrong_side", DOCTOR_CALLS_MESSAGE)


async def _open_call(session: AsyncSession, consultation_id: int) -> ConsultationCall | None:
    return await session.scalar(
        select(ConsultationCall).where(
            ConsultationCall.consultation_id == consultation_id,
            ConsultationCall.ended_at.is_(None),
        )
    )


async def _last_step(
    session: AsyncSession, consultation: Consultation
) -> tuple[str, datetime] | None:
    """The consultation's last call step and when it was taken (the steps are its audited
    transitions, the same in every process)."""
    last = await session.execute(
        select(AuditEntry.action, AuditEntry.occurred_at)
        .where(
            AuditEntry.patient_id == consultation.patient_id,
            AuditEntry.subject_type == "consultation",
            AuditEntry.subject_id == str(consultation.id),
            AuditEntry.action.in_(_CALL_STEPS),
        )
        .order_by(AuditEntry.id.desc())
        .limit(1)
    )
    step = last.first()
    return None if step is None else (step.action, step.occurred_at)


def _rings(step: tuple[str, datetime] | None, actor: Actor) -> bool:
    """Whether ``step`` is an offer made less than :data:`RING_FOR` ago."""
    return step is not None and step[0] == CALL_OFFERED and step[1] > actor.clock.now() - RING_FOR


async def _ringing(session: AsyncSession, actor: Actor, consultation: Consultation) -> bool:
    """Whether the consultation's last call step is an offer made less than :data:`RING_FOR`
    ago."""
    return _rings(await _last_step(session, consultation), actor)


async def _drop_offer(session: AsyncSession, consultation_id: int) -> None:
    await session.execute(
        delete(ConsultationCallOffer).where(
            ConsultationCallOffer.consultation_id == consultation_id
        )
    )


async def offer_call(
    session: AsyncSession, actor: Actor, *, consultation_id: int, sdp: str
) -> None:
    """The doctor calls, in their verified working session (R04): the offer (its ``sdp``,
    kept until it is answered or withdrawn) rings for :data:`RING_FOR` (audited, R13)."""
    participant = await call_participant(
        session, actor, consultation_id=consultation_id, for_update=True
    )
    check_role(participant, expected="doctor")
    await require_work_session(session, actor, await own_practitioner(session, actor))
    await _drop_offer(session, consultation_id)
    offer = ConsultationCallOffer(consultation_id=consultation_id, sdp=sdp)
    offer.offered_at = actor.clock.now()
    session.add(offer)
    await transition(session, actor, participant.consultation, topic=CALL_OFFERED)


async def pending_call_frames(
    session: AsyncSession, actor: Actor, participant: Participant
) -> list[dict[str, Any]]:
    """What a side whose socket (re)connects missed of the video call: the patient gets the
    doctor's offer while it rings, so that a reloaded page can still answer; a call that ended,
    was withdrawn or stopped ringing less than :data:`RING_FOR` ago is shown as ended
    (``call.hangup``). Nothing otherwise."""
    consultation = participant.consultation
    if consultation.consultation_type != "video":
        return []
    step = await _last_step(session, consultation)
    if step is None or step[0] == CALL_STARTED:
        return []
    if _rings(step, actor):
        offer = await session.get(ConsultationCallOffer, consultation.id)
        if participant.side != "patient" or offer is None:
            return []
        return [{"type": "call.offer", "side": "doctor", "sdp": offer.sdp, "replayed": True}]
    ended_at = step[1] + RING_FOR if step[0] == CALL_OFFERED else step[1]
    if ended_at <= actor.clock.now() - RING_FOR:
        return []
    return [{"type": "call.hangup", "side": "system", "call_id": None, "replayed": True}]


async def _end(
    session: AsyncSession,
    actor: Actor,
    consultation: Consultation,
    call: ConsultationCall,
    *,
    ended_by: str,
    hub: Hub | None,
) -> None:
    now = actor.clock.now()
    duration = max(0, int((now - call.started_at).total_seconds()))
    call.ended_at, call.ended_by, call.duration_seconds = now, ended_by, duration
    await transition(
        session,
        actor,
        consultation,
        topic=CALL_ENDED,
        call_id=call.id,
        ended_by=ended_by,
        duration_seconds=duration,
    )
    await append_message(
        session,
        actor,
        consultation,
        sender_role="system",
        kind="system",
        text=call_ended_notice(duration),
        hub=hub,
    )


async def start_call(
    session: AsyncSession, actor: Actor, *, consultation_id: int, hub: Hub | None
) -> ConsultationCall:
    """The patient answers the doctor's call: the call starts now (audited, R13); without an
    offer ringing, ``consultation.no_call_offered``. A call left open (a browser that vanished)
    is ended first, by the system."""
    participant = await call_participant(
        session, actor, consultation_id=consultation_id, for_update=True
    )
    check_role(participant, expected="patient")
    consultation = participant.consultation
    if not await _ringing(session, actor, consultation):
        raise Conflict("consultation.no_call_offered", NO_OFFER_MESSAGE)
    await _drop_offer(session, consultation_id)
    left_open = await _open_call(session, consultation_id)
    if left_open is not None:
        await _end(session, actor, consultation, left_open, ended_by="system", hub=hub)
        await session.flush()
    call = ConsultationCall(consultation_id=consultation_id, started_at=actor.clock.now())
    session.add(call)
    await session.flush()
    await transition(session, actor, consultation, topic=CALL_STARTED, call_id=call.id)
    return call


async def end_call(
    session: AsyncSession, actor: Actor, *, consultation_id: int, hub: Hub | None
) -> ConsultationCall | None:
    """Either side hangs up: the open call ends now with its duration (audited, R13; a notice
    in the chat). ``None`` when no call was open (a call declined before it was answered): an
    offer still ringing is withdrawn (audited), so that it can no longer be answered."""
    participant = await call_participant(
        session, actor, consultation_id=consultation_id, for_update=True, ending=True
    )
    await _drop_offer(session, consultation_id)
    call = await _open_call(session, consultation_id)
    if call is None:
        consultation = participant.consultation
        if await _ringing(session, actor, consultation):
            await transition(
                session, actor, consultation, topic=CALL_CANCELLED, ended_by=participant.side
            )
        return None
    await _end(session, actor, participant.consultation, call, ended_by=participant.side, hub=hub)
    return call


@dataclass(frozen=True)
class CallHistory:
    """A consultation, the reader's side in it, and its calls, oldest first."""

    participant: Participant
    calls: list[ConsultationCall]


async def list_calls(session: AsyncSession, actor: Actor, *, consultation_id: int) -> CallHistory:
    """The consultation's calls, oldest first, for its patient account or its doctor (the read
    is audited)."""
    participant = await chat_participant(session, actor, consultation_id=consultation_id)
    calls = await session.scalars(
        select(ConsultationCall)
        .where(ConsultationCall.consultation_id == consultation_id)
        .order_by(ConsultationCall.id)
    )
    consultation = participant.consultation
    await record(
        session,
        actor,
        action="consultation.calls_read",
        subject_type="consultation",
        subject_id=consultation.id,
        patient_id=consultation.patient_id,
    )
    return CallHistory(participant, list(calls))
