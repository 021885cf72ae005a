"""就诊人 pages: the list, the form to add one, and one 就诊人 with its edit form, its actions
and a summary of its medical insurance (changed on the insurance page, billing.insurance.pages).

The full ID number is never put on a page, not even back into the form after an error.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.billing.insurance.api import coverage_read
from ihospital.billing.insurance.coverage import find_coverage
from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.identity.patients import (
    KEEP,
    add_patient,
    deactivate_patient,
    get_patient,
    list_patients,
    retry_realname_verification,
    update_patient,
)
from ihospital.identity.patients_api import patient_read, realname_terms
from ihospital.identity.schemas import PatientCreate, PatientRead, PatientUpdate
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(prefix="/patients", include_in_schema=False)

CSRF = [Depends(check_csrf)]
Owner = Annotated[Actor, Depends(require(Permission.PATIENTS_OWN))]
PatientId = Annotated[int, Path(ge=1, le=2**63 - 1)]
TextField = Annotated[str, Form()]
NEW_FIELDS = ("name", "relationship", "id_number", "mobile")
EDIT_FIELDS = ("name", "relationship", "mobile")


async def _detail_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    patient: PatientRead,
    values: dict[str, Any],
    state: FormState,
) -> Response:
    """The 就诊人 with its edit form and a summary of its medical insurance."""
    coverage = await find_coverage(session, actor, patient_id=patient.id)
    context = {
        "patient": patient,
        "coverage": coverage_read(coverage) if coverage else None,
        "yuan": format_yuan,
        "values": values,
        **state.context(),
    }
    return render(request, "identity/patient_detail.html", context, status_code=state.status_code)


def _new_page(request: Request, values: dict[str, Any], state: FormState) -> Response:
    context = {"values": values, **state.context()}
    return render(request, "identity/patient_new.html", context, status_code=state.status_code)


def _to_detail(patient_id: int) -> RedirectResponse:
    return RedirectResponse(f"/patients/{patient_id}", status_code=303)


@router.get("")
async def patients_page(request: Request, session: DbSession, actor: Owner) -> Response:
    patients = await list_patients(session, actor)
    views = [patient_read(patient, actor) for patient in patients]
    return render(request, "identity/patients.html", {"patients": views})


@router.get("/new")
async def new_patient_page(request: Request, actor: Owner) -> Response:
    return _new_page(request, {}, FormState())


@router.post("/new", dependencies=CSRF)
async def new_patient_submit(
    request: Request,
    session: DbSession,
    actor: Owner,
    name: TextField = "",
    relationship: TextField = "",
    id_number: TextField = "",
    mobile: TextField = "",
) -> Response:
    values = {"name": name.strip(), "relationship": relationship, "mobile": mobile.strip()}
    submitted = {**values, "id_number": id_number.strip(), "mobile": values["mobile"] or None}
    form, state = parse_form(PatientCreate, submitted)
    if form is None:
        return _new_page(request, values, state)
    try:
        patient = await add_patient(session, actor, **form.model_dump(), **realname_terms(request))
    except AppError as error:
        return _new_page(request, values, refused(error, fields=NEW_FIELDS))
    response = _to_detail(patient.id)
    flash(request, response, "{name} was added.", name=patient.name)
    return response


@router.get("/{patient_id}")
async def patient_page(
    patient_id: PatientId, request: Request, session: DbSession, actor: Owner
) -> Response:
    patient = patient_read(await get_patient(session, actor, patient_id=patient_id), actor)
    return await _detail_page(request, session, actor, patient, patient.model_dump(), FormState())


@router.post("/{patient_id}", dependencies=CSRF)
async def patient_edit_submit(
    patient_id: PatientId,
    request: Request,
    session: DbSession,
    actor: Owner,
    name: TextField = "",
    relationship: TextField = "",
    mobile: TextField = "",
) -> Response:
    values = {"name": name.strip(), "relationship": relationship, "mobile": mobile.strip()}
    form, state = parse_form(PatientUpdate, {**values, "mobile": values["mobile"] or None})
    if form is not None:
        try:
            await update_patient(
                session,
                actor,
                patient_id=patient_id,
                name=KEEP if form.name is None else form.name,
                relationship=KEEP if form.relationship is None else form.relationship,
                mobile=form.mobile,
                **realname_terms(request),
            )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=EDIT_FIELDS)
        else:
            response = _to_detail(patient_id)
            flash(request, response, "Your changes were saved.")
            return response
    patient = patient_read(await get_patient(session, actor, patient_id=patient_id), actor)
    return await _detail_page(request, session, actor, patient, values, state)


@router.post("/{patient_id}/realname-verification", dependencies=CSRF)
async def realname_retry_submit(
    patient_id: PatientId, request: Request, session: DbSession, actor: Owner
) -> Response:
    response = _to_detail(patient_id)
    try:
        patient = await retry_realname_verification(
            session, actor, patient_id=patient_id, **realname_terms(request)
        )
    except NotFound:
        raise
    except AppError as error:
        flash(request, response, error.message, kind="error", **error.fields)
        return response
    if patient.realname_status == "verified":
        flash(request, response, "The real name is verified.")
    else:
        flash(request, response, "The real name could not be verified yet.", kind="warning")
    return response


@router.post("/{patient_id}/remove", dependencies=CSRF)
async def remove_patient_submit(
    patient_id: PatientId, request: Request, session: DbSession, actor: Owner
) -> Response:
    patient = await deactivate_patient(session, actor, patient_id=patient_id)
    response = RedirectResponse("/patients", status_code=303)
    flash(request, response, "{name} was removed from your list.", name=patient.name)
    return response
