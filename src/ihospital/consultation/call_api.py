"""JSON routes of a consultation's video calls: the calls so far, for the patient account
(``/api/consultations/{id}/calls``) and the assigned doctor (``/api/doctor/…``)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path

from ihospital.consultation.calls import list_calls
from ihospital.core.context import Actor
from ihospital.core.schemas import Schema
from ihospital.deps import DbSession, require
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["consultation calls"])

Patient = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
ConsultationId = Annotated[int, Path(ge=1, le=2**63 - 1)]


class CallRead(Schema):
    """A video call: started when the patient answered; ``ended_by`` ``patient``, ``doctor`` or
    ``system`` (a call left open when the next began)."""

    id: int
    consultation_id: int
    started_at: datetime
    ended_at: datetime | None
    ended_by: str | None
    duration_seconds: int | None


async def _calls(session: DbSession, actor: Actor, consultation_id: int) -> list[CallRead]:
    history = await list_calls(session, actor, consultation_id=consultation_id)
    return [CallRead.model_validate(call) for call in history.calls]


@router.get("/consultations/{consultation_id}/calls")
async def patient_calls(
    consultation_id: ConsultationId, session: DbSession, actor: Patient
) -> list[CallRead]:
    """The video calls of one of the account's consultations, oldest first."""
    return await _calls(session, actor, consultation_id)


@router.get("/doctor/consultations/{consultation_id}/calls")
async def doctor_calls(
    consultation_id: ConsultationId, session: DbSession, actor: Doctor
) -> list[CallRead]:
    """The video calls of a consultation assigned to the doctor, oldest first."""
    return await _calls(session, actor, consultation_id)
