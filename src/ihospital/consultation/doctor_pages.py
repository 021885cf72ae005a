"""The doctor's consultation workstation pages: the queue of waiting consultations (longest
waiting first, by type) with accept, the consultations in progress, and one consultation with
the patient's complaint and earlier diagnosis (confirm it), their earlier consultations with
the doctor and those records, transfer to a colleague, and close with advice or with advice to
visit in person.

A doctor sees only the consultations assigned to them; any other is not found.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.chat_pages import chat_context
from ihospital.consultation.duty_pages import work_session_of
from ihospital.consultation.events import is_diagnostic
from ihospital.consultation.history import history_of
from ihospital.consultation.matching import doctors_online_at
from ihospital.consultation.models import TYPES
from ihospital.consultation.record_views import RecordForm, doctor_record_context
from ihospital.consultation.statistics import response_statistics
from ihospital.consultation.workstation import (
    accept_consultation,
    close_consultation,
    confirm_prior_diagnosis,
    doctor_in_progress,
    doctor_queue,
    name_accompanying_doctor,
    read_assigned,
    transfer_consultation,
)
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import checkbox, form_text, redirect_after
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, refused
from ihospital.prescribing.pages import consultation_prescriptions_context
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
COLLEAGUE_MESSAGE = "Choose a colleague to transfer the consultation to."


def _page_of(consultation_id: int) -> str:
    return f"/doctor/consultations/{consultation_id}"


@router.get("/doctor/consultations")
async def workstation_page(
    request: Request, session: DbSession, actor: Doctor, type: str = ""
) -> Response:
    """The waiting consultations, longest waiting first (of one type when asked), those in
    progress, and the doctor's response times over the last 7 and 30 days."""
    waiting = await doctor_queue(session, actor, consultation_type=type or None)
    context = {
        "work_session": await work_session_of(session, actor),
        "errors": {},
        "waiting": waiting,
        "in_progress": await doctor_in_progress(session, actor),
        "types": TYPES,
        "chosen_type": type,
        "now": actor.clock.now(),
        "statistics": await response_statistics(session, actor),
    }
    return render(request, "consultation/doctor_queue.html", context)


@router.post("/doctor/consultations/{consultation_id}/accept", dependencies=CSRF)
async def accept_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Begin the consultation; then its page. A refusal returns to the queue with the reason."""
    response = RedirectResponse(_page_of(consultation_id), status_code=303)
    try:
        await accept_consultation(session, actor, consultation_id=consultation_id)
    except NotFound:
        raise
    except AppError as error:
        response = RedirectResponse("/doctor/consultations", status_code=303)
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, "You accepted the consultation.")
    return response


async def _consultation_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    consultation_id: int,
    values: dict[str, str] | None = None,
    state: FormState | None = None,
    record_form: RecordForm | None = None,
) -> Response:
    state = state or FormState()
    consultation = await read_assigned(session, actor, consultation_id=consultation_id)
    colleagues = []
    if consultation.status in ("waiting", "in_progress"):
        online = await doctors_online_at(session, actor, institution_id=consultation.institution_id)
        colleagues = [view for view in online if view.id != consultation.practitioner_id]
    context: dict[str, Any] = {
        "consultation": consultation,
        "diagnostic": is_diagnostic(consultation),
        "colleagues": colleagues,
        "values": values or {},
        "yuan": format_yuan,
        "history": await history_of(session, actor, consultation),
        **state.context(),
        **await chat_context(request, session, actor, consultation),
        **await doctor_record_context(session, actor, consultation, record_form),
        **await consultation_prescriptions_context(session, actor, consultation),
    }
    return render(
        request, "consultation/doctor_consultation.html", context, status_code=state.status_code
    )


@router.get("/doctor/consultations/{consultation_id}")
async def consultation_page(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """One consultation assigned to the doctor, with what can be done with it now."""
    return await _consultation_page(request, session, actor, consultation_id=consultation_id)


@router.post("/doctor/consultations/{consultation_id}/confirm-diagnosis", dependencies=CSRF)
async def confirm_diagnosis_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Confirm the patient's earlier offline diagnosis: the consultation becomes diagnostic."""
    await read_assigned(session, actor, consultation_id=consultation_id)  # else not found
    return await redirect_after(
        request,
        _page_of(consultation_id),
        confirm_prior_diagnosis(session, actor, consultation_id=consultation_id),
        lambda _: Notice("The earlier diagnosis is confirmed.", "success", {}),
    )


@router.post("/doctor/consultations/{consultation_id}/accompanying-doctor", dependencies=CSRF)
async def accompanying_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Name the colleague of paediatrics accompanying a child under 6 (R11)."""
    values = await form_text(request, ("practitioner_id",))
    await read_assigned(session, actor, consultation_id=consultation_id)  # else not found
    chosen = values["practitioner_id"]
    return await redirect_after(
        request,
        _page_of(consultation_id),
        name_accompanying_doctor(
            session,
            actor,
            consultation_id=consultation_id,
            practitioner_id=int(chosen) if chosen.isascii() and chosen.isdigit() else 0,
        ),
        lambda _: Notice("The accompanying doctor is named.", "success", {}),
    )


@router.post("/doctor/consultations/{consultation_id}/transfer", dependencies=CSRF)
async def transfer_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Hand the consultation to a colleague; refusals show next to the chooser."""
    values = await form_text(request, ("practitioner_id",))
    state = FormState(status_code=422)
    if not values["practitioner_id"].isascii() or not values["practitioner_id"].isdigit():
        state.errors["practitioner_id"] = translate(COLLEAGUE_MESSAGE)
    else:
        try:
            async with session.begin_nested():  # a refusal leaves nothing behind
                await transfer_consultation(
                    session,
                    actor,
                    consultation_id=consultation_id,
                    practitioner_id=int(values["practitioner_id"]),
                )
        except NotFound as error:
            if error.fields.get("consultation_id") == consultation_id:
                raise
            state = refused(error, fields=("practitioner_id",))
        except AppError as error:
            state = refused(error, fields=("practitioner_id",))
        else:
            response = RedirectResponse("/doctor/consultations", status_code=303)
            flash(request, response, "The consultation was transferred to your colleague.")
            return response
    return await _consultation_page(
        request, session, actor, consultation_id=consultation_id, values=values, state=state
    )


@router.post("/doctor/consultations/{consultation_id}/close", dependencies=CSRF)
async def close_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Close with advice, or with advice to visit in person; refusals show next to the advice."""
    values = await form_text(request, ("advice", "visit_in_person"))
    try:
        async with session.begin_nested():  # a refusal leaves nothing behind
            await close_consultation(
                session,
                actor,
                consultation_id=consultation_id,
                advice=values["advice"],
                visit_in_person=checkbox(values["visit_in_person"]),
            )
    except NotFound:
        raise
    except AppError as error:
        state = refused(error, fields=("advice",))
        return await _consultation_page(
            request, session, actor, consultation_id=consultation_id, values=values, state=state
        )
    response = RedirectResponse(_page_of(consultation_id), status_code=303)
    flash(request, response, "The consultation is closed.")
    return response
