"""The doctor's prescribing form for an in-person visit (门诊), reached from their day list.

The same form and live checks as a consultation's (:mod:`ihospital.prescribing.write_form`), for
a visit open for prescribing (:mod:`ihospital.prescribing.visits`): another doctor's appointment
is not found, a visit not open for it is refused with its reason. For a child under 6 the form
asks the doctor to confirm that the guardian is present (R11).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.prescribing.visits import visit_encounter
from ihospital.prescribing.write_form import (
    FormSubject,
    form_page,
    live_check_fragment,
    submitted_form,
)
from ihospital.security.permissions import Permission

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
AppointmentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
BACK_TO_DAY_MESSAGE = "Back to my patients of the day"


async def _subject(session: AsyncSession, actor: Actor, appointment_id: int) -> FormSubject:
    encounter = await visit_encounter(
        session, actor, appointment_id=appointment_id, guardian_present=False, for_update=False
    )
    return FormSubject(
        encounter=encounter,
        form_path=f"/doctor/appointments/{appointment_id}/prescription",
        back_path="/doctor/day",
        back_label=BACK_TO_DAY_MESSAGE,
    )


@router.get("/doctor/appointments/{appointment_id}/prescription")
async def visit_prescription_form(
    appointment_id: AppointmentId,
    request: Request,
    session: DbSession,
    actor: Doctor,
    drug_q: Annotated[str, Query(max_length=50)] = "",
    revise: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """The prescribing form of the doctor's in-person visit: empty, or with ``revise`` the
    rejected prescription's diagnoses and items to write its next version."""
    subject = await _subject(session, actor, appointment_id)
    return await form_page(request, session, actor, subject, drug_q=drug_q, revise=revise)


@router.post("/doctor/appointments/{appointment_id}/prescription/check", dependencies=CSRF)
async def visit_live_check(
    appointment_id: AppointmentId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """The findings of the form as it stands and the reason fields they ask for (htmx)."""
    return await live_check_fragment(request, session, actor, {"appointment_id": appointment_id})


@router.post("/doctor/appointments/{appointment_id}/prescription", dependencies=CSRF)
async def visit_prescription_submit(
    appointment_id: AppointmentId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Search, add or remove a drug, check, or sign: the same form, values kept."""
    subject = await _subject(session, actor, appointment_id)
    return await submitted_form(
        request, session, actor, subject, {"appointment_id": appointment_id}
    )
