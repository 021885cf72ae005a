"""JSON routes of the doctor's working session (出诊会话, R04): verify to begin it, see it,
end it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from ihospital.consultation.duty import (
    current_work_session,
    end_work_session,
    start_work_session,
)
from ihospital.consultation.duty_models import DoctorWorkSession
from ihospital.core.context import Actor
from ihospital.core.schemas import Schema
from ihospital.deps import DbSession, require
from ihospital.directory.access import own_practitioner
from ihospital.errors import NotFound
from ihospital.identity.auth import keeping_failed_attempts
from ihospital.identity.policy import Policy
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["consultation"])

Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]


class WorkSessionStart(Schema):
    """The doctor's password, entered again (R04)."""

    password: Annotated[str, Field(min_length=1, max_length=128)]


class WorkSessionRead(Schema):
    practitioner_id: int
    licence_number: str
    method: str
    verified_at: datetime
    expires_at: datetime

    @classmethod
    def of(cls, work: DoctorWorkSession) -> WorkSessionRead:
        return cls.model_validate(work, from_attributes=True)


@router.post("/doctor/work-session", status_code=201)
async def begin(
    body: WorkSessionStart, session: DbSession, actor: Doctor, policy: Policy
) -> WorkSessionRead:
    """Verify the signed-in doctor and begin their working session in this signed-in session;
    a wrong password counts toward the login lockout."""
    async with keeping_failed_attempts(session):
        work = await start_work_session(session, actor, password=body.password, policy=policy)
    return WorkSessionRead.of(work)


@router.get("/doctor/work-session")
async def current(session: DbSession, actor: Doctor) -> WorkSessionRead:
    """The doctor's working session valid now (404 when there is none)."""
    work = await current_work_session(session, actor, await own_practitioner(session, actor))
    if work is None:
        raise NotFound(
            "consultation.no_work_session", "You have no working session; verify to begin one."
        )
    return WorkSessionRead.of(work)


@router.delete("/doctor/work-session", status_code=204)
async def end(session: DbSession, actor: Doctor) -> Response:
    """End the doctor's working session now."""
    await end_work_session(session, actor)
    return Response(status_code=204)
