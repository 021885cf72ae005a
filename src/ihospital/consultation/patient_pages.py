"""Patients' consultation pages (问诊): start one with a doctor (the 就诊人, the type at the
doctor's price, the complaint, the earlier offline diagnosis, a guardian for a child under 6),
then pay or wait; "my consultations"; one consultation with what happens next, cancelling while
no doctor has begun, and the doctor's advice once closed.

A refused start changes nothing: the consultation, its bill and the guardian's confirmation are
written together or not at all.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.booking.page_support import public_doctors
from ihospital.consultation.campaigns.pages import running_with_doctor
from ihospital.consultation.chat_pages import chat_context
from ihospital.consultation.events import is_diagnostic
from ihospital.consultation.lifecycle import (
    PRIOR_MESSAGE,
    PriorDiagnosis,
    cancel_consultation,
    confirm_guardian,
    get_consultation,
    list_consultations,
    own_consultation,
    start_consultation,
)
from ihospital.consultation.models import Consultation
from ihospital.consultation.prices import offered_prices
from ihospital.consultation.record_views import patient_record_context
from ihospital.consultation.schemas import HEALTH_CONSULTATION_MESSAGE
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.pages_support import checkbox, form_text, redirect_after
from ihospital.directory.search import get_doctor_profile
from ihospital.errors import AppError, NotFound, Unprocessable
from ihospital.identity.forms import FormState, refused
from ihospital.identity.patients import RELATIONSHIPS, list_patients
from ihospital.security.crypto import FieldCipher
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Consulter = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_OWN))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
START_FIELDS = (
    "patient_id",
    "offer",
    "complaint",
    "prior_institution",
    "prior_diagnosed_on",
    "prior_diagnosis",
    "guardian_present",
    "guardian_name",
    "guardian_relationship",
    "guardian_id_number",
)
# a service's field → the start form's field that shows its refusal
FORM_FIELD = {
    "consultation_type": "offer",
    "institution_id": "offer",
    "practitioner_id": "patient_id",
    "relationship": "guardian_relationship",
    "campaign_id": "offer",
}
PATIENT_MESSAGE = "Choose the patient."
OFFER_MESSAGE = "Choose the type of consultation."
PRIOR_DATE_FORMAT_MESSAGE = "Give the date of the earlier diagnosis as YYYY-MM-DD."
GUARDIAN_MESSAGE = (
    "A child under 6 is seen online only with a guardian present: confirm the guardian's "
    "presence and give their name."
)
PRIOR_FIELDS = ("prior_institution", "prior_diagnosed_on", "prior_diagnosis")
# institution-type, and "-c<campaign>" for a free 义诊 offer
OFFER = re.compile(r"([0-9]{1,18})-(text|voice|video)(?:-c([0-9]{1,18}))?")


def prior_of(values: dict[str, str], errors: dict[str, str]) -> PriorDiagnosis | None:
    """The earlier diagnosis of the form: none when its three fields are empty."""
    if not any(values[name] for name in PRIOR_FIELDS):
        return None
    try:
        diagnosed_on = date.fromisoformat(values["prior_diagnosed_on"])
    except ValueError:
        message = PRIOR_DATE_FORMAT_MESSAGE if values["prior_diagnosed_on"] else PRIOR_MESSAGE
        errors["prior_diagnosed_on"] = translate(message)
        return None
    return PriorDiagnosis(values["prior_institution"], diagnosed_on, values["prior_diagnosis"])


async def _start_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    practitioner_id: int,
    values: dict[str, str] | None = None,
    state: FormState | None = None,
) -> Response:
    state = state or FormState()
    doctor = await get_doctor_profile(session, actor, practitioner_id=practitioner_id)
    context: dict[str, Any] = {
        "doctor": doctor,
        "prices": await offered_prices(session, actor, practitioner_id=practitioner_id),
        "campaigns": await running_with_doctor(session, actor, practitioner_id=practitioner_id),
        "institutions": {site.institution.id: site.institution.name for site in doctor.sites},
        "patients": await list_patients(session, actor),
        "relationships": RELATIONSHIPS,
        "health_notice": translate(HEALTH_CONSULTATION_MESSAGE),
        "values": values or {},
        "yuan": format_yuan,
        **state.context(),
    }
    return render(request, "consultation/start.html", context, status_code=state.status_code)


@router.get("/doctors/{practitioner_id}/consult")
async def start_page(
    practitioner_id: RecordId, request: Request, session: DbSession, actor: Consulter
) -> Response:
    """The form to consult the doctor online: 就诊人, type and fee, complaint, earlier diagnosis."""
    return await _start_page(request, session, actor, practitioner_id=practitioner_id)


async def start_with_guardian(
    session: AsyncSession,
    actor: Actor,
    *,
    values: dict[str, str],
    prior: PriorDiagnosis | None,
    cipher: FieldCipher,
    institution_id: int,
    consultation_type: str,
    practitioner_id: int | None = None,
    department_code: str | None = None,
    campaign_id: int | None = None,
) -> Consultation:
    """Start the consultation (with the doctor, or the first available of the department) and,
    for a child under 6, confirm the guardian, in one step."""
    async with session.begin_nested():  # a refusal leaves nothing behind
        consultation = await start_consultation(
            session,
            actor,
            patient_id=int(values["patient_id"]),
            practitioner_id=practitioner_id,
            department_code=department_code,
            institution_id=institution_id,
            consultation_type=consultation_type,
            complaint=values["complaint"],
            prior=prior,
            campaign_id=campaign_id,
        )
        if consultation.guardian_required:
            if not checkbox(values["guardian_present"]):
                raise Unprocessable(
                    "consultation.guardian_missing", GUARDIAN_MESSAGE, field="guardian_present"
                )
            await confirm_guardian(
                session,
                actor,
                consultation_id=consultation.id,
                guardian_name=values["guardian_name"],
                relationship=values["guardian_relationship"],
                id_number=values["guardian_id_number"],
                cipher=cipher,
            )
    return consultation


def start_refused(error: AppError) -> FormState:
    """A refused start, each refusal next to the form's field that shows it."""
    state = refused(error, fields=(*START_FIELDS, *FORM_FIELD))
    for name, form_name in FORM_FIELD.items():
        if name in state.errors:
            state.errors.setdefault(form_name, state.errors.pop(name))
    return state


@router.post("/doctors/{practitioner_id}/consult", dependencies=CSRF)
async def start_submit(
    practitioner_id: RecordId, request: Request, session: DbSession, actor: Consulter
) -> Response:
    """Start the consultation; then pay its fee on the bill, or wait for the doctor. Refusals
    show next to their fields."""
    values = await form_text(request, START_FIELDS)
    state = FormState(status_code=422)
    if re.fullmatch(r"[0-9]{1,18}", values["patient_id"]) is None:
        state.errors["patient_id"] = translate(PATIENT_MESSAGE)
    if OFFER.fullmatch(values["offer"]) is None:
        state.errors["offer"] = translate(OFFER_MESSAGE)
    prior = prior_of(values, state.errors)
    if not state.errors:
        institution_id, consultation_type, campaign_id = OFFER.fullmatch(values["offer"]).groups()
        try:
            consultation = await start_with_guardian(
                session,
                actor,
                values=values,
                prior=prior,
                cipher=request.app.state.cipher,
                institution_id=int(institution_id),
                consultation_type=consultation_type,
                practitioner_id=practitioner_id,
                campaign_id=None if campaign_id is None else int(campaign_id),
            )
        except AppError as error:
            state = start_refused(error)
        else:
            return started_redirect(request, consultation)
    return await _start_page(
        request, session, actor, practitioner_id=practitioner_id, values=values, state=state
    )


def started_redirect(request: Request, consultation: Consultation) -> RedirectResponse:
    """To the bill while the fee is due, else to the consultation waiting for the doctor."""
    if consultation.status == "awaiting_payment" and consultation.order_id:
        response = RedirectResponse(f"/bills/{consultation.order_id}", status_code=303)
        flash(
            request,
            response,
            "The consultation is started. Pay the fee of {fee} to send it to the doctor.",
            fee=format_yuan(consultation.fee_fen),
        )
        return response
    response = RedirectResponse(f"/consultations/{consultation.id}", status_code=303)
    flash(request, response, "The consultation was sent to the doctor.")
    return response


@router.get("/consultations")
async def my_consultations_page(request: Request, session: DbSession, actor: Consulter) -> Response:
    """The account's consultations, newest first, with their status."""
    consultations = await list_consultations(session, actor)
    doctors = await public_doctors(session, actor, (c.practitioner_id for c in consultations))
    context = {"consultations": consultations, "doctors": doctors, "yuan": format_yuan}
    return render(request, "consultation/mine.html", context)


@router.get("/consultations/{consultation_id}")
async def consultation_page(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Consulter
) -> Response:
    """One consultation of the account: status, doctor, complaint, what happens next, and the
    doctor's advice once closed (another account's is not found)."""
    consultation = await get_consultation(session, actor, consultation_id=consultation_id)
    doctors = await public_doctors(session, actor, [consultation.practitioner_id])
    context = {
        "consultation": consultation,
        "doctor": doctors.get(consultation.practitioner_id),
        "diagnostic": is_diagnostic(consultation),
        "health_notice": translate(HEALTH_CONSULTATION_MESSAGE),
        "relationships": RELATIONSHIPS,
        "values": {},
        "errors": {},
        "yuan": format_yuan,
        **await chat_context(request, session, actor, consultation),
        **await patient_record_context(session, actor, consultation),
    }
    return render(request, "consultation/detail.html", context)


@router.post("/consultations/{consultation_id}/cancel", dependencies=CSRF)
async def cancel_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Consulter
) -> Response:
    """Cancel a consultation no doctor has begun; a paid fee is refunded."""
    response = RedirectResponse(f"/consultations/{consultation_id}", status_code=303)
    try:
        await cancel_consultation(session, actor, consultation_id=consultation_id)
    except NotFound:
        raise
    except AppError as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    flash(request, response, "The consultation was cancelled.")
    return response


@router.post("/consultations/{consultation_id}/guardian", dependencies=CSRF)
async def guardian_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Consulter
) -> Response:
    """Confirm that the guardian of a child under 6 is present (R11)."""
    values = await form_text(
        request, ("guardian_name", "guardian_relationship", "guardian_id_number")
    )
    await own_consultation(session, actor, consultation_id)  # another account's: not found
    return await redirect_after(
        request,
        f"/consultations/{consultation_id}",
        confirm_guardian(
            session,
            actor,
            consultation_id=consultation_id,
            guardian_name=values["guardian_name"],
            relationship=values["guardian_relationship"],
            id_number=values["guardian_id_number"],
            cipher=request.app.state.cipher,
        ),
        lambda _: Notice("The guardian's presence is confirmed.", "success", {}),
    )
