"""The medical insurance page of a 就诊人 (``/patients/{patient_id}/coverage``): the coverage on
record with the forms to change and end it, or the form to add one.

Refusals are shown next to their fields. Like the resident ID number, the insurance number is
never put back into the form after an error: it is typed again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.billing.insurance.api import coverage_read
from ihospital.billing.insurance.coverage import (
    add_coverage,
    end_coverage,
    find_coverage,
    update_coverage,
)
from ihospital.billing.insurance.policy import load_policy_table
from ihospital.billing.insurance.schemas import CoverageCreate, CoverageUpdate
from ihospital.core.context import Actor
from ihospital.core.money import format_yuan
from ihospital.deps import DbSession, check_csrf, require
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.identity.patients import KEEP, get_patient
from ihospital.identity.patients_api import PatientId, patient_read
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(prefix="/patients/{patient_id}/coverage", include_in_schema=False)

CSRF = [Depends(check_csrf)]
Owner = Annotated[Actor, Depends(require(Permission.PATIENTS_OWN))]
TextField = Annotated[str, Form()]
NEW_FIELDS = (
    "insurance_type",
    "region_code",
    "insurance_number",
    "account_balance",
    "valid_from",
    "valid_to",
)
EDIT_FIELDS = ("account_balance", "valid_from", "valid_to")


async def coverage_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    patient_id: int,
    *,
    values: dict[str, Any] | None = None,
    state: FormState | None = None,
) -> Response:
    """The page with the 就诊人's coverage (its forms filled from it) or the form to add one;
    after a refusal, the values sent and the messages next to their fields."""
    state = state or FormState()
    patient = patient_read(await get_patient(session, actor, patient_id=patient_id), actor)
    found = await find_coverage(session, actor, patient_id=patient_id)
    coverage = coverage_read(found) if found else None
    if values is None:
        values = (
            {
                "account_balance": coverage.account_balance,
                "valid_from": coverage.valid_from.isoformat(),
                "valid_to": coverage.valid_to.isoformat() if coverage.valid_to else "",
            }
            if coverage
            else {}
        )
    context = {
        "patient": patient,
        "coverage": coverage,
        "regions": load_policy_table().listed(),
        "yuan": format_yuan,
        "values": values,
        **state.context(),
    }
    return render(request, "billing/coverage.html", context, status_code=state.status_code)


def _to_page(patient_id: int) -> RedirectResponse:
    return RedirectResponse(f"/patients/{patient_id}/coverage", status_code=303)


@router.get("")
async def coverage_view(
    patient_id: PatientId, request: Request, session: DbSession, actor: Owner
) -> Response:
    return await coverage_page(request, session, actor, patient_id)


@router.post("/new", dependencies=CSRF)
async def coverage_new_submit(
    patient_id: PatientId,
    request: Request,
    session: DbSession,
    actor: Owner,
    insurance_type: TextField = "",
    region_code: TextField = "",
    insurance_number: TextField = "",
    account_balance: TextField = "",
    valid_from: TextField = "",
    valid_to: TextField = "",
) -> Response:
    values = {
        "insurance_type": insurance_type,
        "region_code": region_code.strip(),
        "account_balance": account_balance.strip(),
        "valid_from": valid_from.strip(),
        "valid_to": valid_to.strip(),
    }
    submitted = {
        **values,
        "insurance_number": insurance_number.strip(),
        "account_balance": values["account_balance"] or "0",
        "valid_to": values["valid_to"] or None,
    }
    if not insurance_type:
        del submitted["insurance_type"]  # nothing chosen: "required", not "choose one of"
    form, state = parse_form(CoverageCreate, submitted)
    if form is not None:
        try:
            await add_coverage(
                session,
                actor,
                patient_id=patient_id,
                insurance_type=form.insurance_type,
                region_code=form.region_code,
                insurance_number=form.insurance_number,
                account_balance_fen=form.account_balance,
                valid_from=form.valid_from,
                valid_to=form.valid_to,
                cipher=request.app.state.cipher,
            )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=NEW_FIELDS)
        else:
            response = _to_page(patient_id)
            flash(request, response, "The medical insurance was saved.")
            return response
    return await coverage_page(request, session, actor, patient_id, values=values, state=state)


@router.post("", dependencies=CSRF)
async def coverage_edit_submit(
    patient_id: PatientId,
    request: Request,
    session: DbSession,
    actor: Owner,
    valid_from: TextField = "",
    valid_to: TextField = "",
    account_balance: Annotated[str | None, Form()] = None,
) -> Response:
    """Change the validity and, for 职工医保 (whose form has the field), the account balance."""
    values = {"valid_from": valid_from.strip(), "valid_to": valid_to.strip()}
    if account_balance is not None:
        values["account_balance"] = account_balance.strip()
    form, state = parse_form(CoverageUpdate, {**values, "valid_to": values["valid_to"] or None})
    if form is not None:
        try:
            await update_coverage(
                session,
                actor,
                patient_id=patient_id,
                account_balance_fen=KEEP if account_balance is None else form.account_balance,
                valid_from=form.valid_from,
                valid_to=form.valid_to,
            )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=EDIT_FIELDS)
        else:
            response = _to_page(patient_id)
            flash(request, response, "Your changes were saved.")
            return response
    return await coverage_page(request, session, actor, patient_id, values=values, state=state)


@router.post("/end", dependencies=CSRF)
async def coverage_end_submit(
    patient_id: PatientId, request: Request, session: DbSession, actor: Owner
) -> Response:
    await end_coverage(session, actor, patient_id=patient_id)
    response = _to_page(patient_id)
    flash(request, response, "The medical insurance was ended. You can add a new one.")
    return response
