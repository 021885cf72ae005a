"""The doctor's medical record form on the consultation page: search ICD-10 diagnoses (without
JavaScript too: the search button posts the form and keeps what was typed), then sign the
record, or amend the signed version with a new one. Refusals show in the form with the values
kept and write nothing; another doctor's consultation is not found.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.consultation.doctor_pages import _consultation_page, _page_of
from ihospital.consultation.record_views import TEXT_FIELDS, RecordForm
from ihospital.consultation.records.diagnoses import search_diagnoses
from ihospital.consultation.records.service import RecordContent, sign_record
from ihospital.consultation.workstation import read_assigned
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.deps import DbSession, check_csrf, require
from ihospital.errors import AppError
from ihospital.identity.forms import FormState, refused
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
FORM_FIELDS = (*TEXT_FIELDS, "diagnoses", "amends", "icd_q")
SEARCH_MESSAGE = "Type part of a diagnosis's name, its pinyin or its ICD-10 code to search."
AMENDS_MESSAGE = "Reload the page: the record version to amend is not known."


def _amends(value: str) -> int | None:
    if not value:
        return None
    if value.isascii() and value.isdigit() and 0 < int(value) < 2**63:
        return int(value)
    return -1


@router.post("/doctor/consultations/{consultation_id}/record", dependencies=CSRF)
async def record_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """``action=search``: the diagnoses matching ``icd_q``, to tick, with the form kept;
    otherwise sign the record (``amends``: the latest version's id, for a new version)."""
    await read_assigned(session, actor, consultation_id=consultation_id)  # else not found
    data = await request.form()
    values = {name: str(data.get(name, "")).strip() for name in (*TEXT_FIELDS, "amends", "icd_q")}
    form = RecordForm(values, [str(code) for code in data.getlist("diagnoses")][:50])
    if data.get("action") == "search":
        if 1 <= len(values["icd_q"]) <= 50:
            try:
                form.results = list(await search_diagnoses(session, query=values["icd_q"]))
            except AppError as error:
                form.errors["icd_q"] = translate(error.message, **error.fields)
        else:
            form.errors["icd_q"] = translate(SEARCH_MESSAGE)
        return await _consultation_page(
            request, session, actor, consultation_id=consultation_id, record_form=form
        )
    state = FormState(status_code=422)
    amends = _amends(values["amends"])
    if amends == -1:
        form.errors["amends"] = translate(AMENDS_MESSAGE)
    else:
        content = RecordContent(
            **{name: values[name] for name in TEXT_FIELDS}, diagnosis_codes=tuple(form.codes)
        )
        try:
            async with session.begin_nested():  # a refusal leaves nothing behind
                await sign_record(
                    session,
                    actor,
                    consultation_id=consultation_id,
                    content=content,
                    cipher=request.app.state.cipher,
                    amends=amends,
                )
        except AppError as error:  # next to its field, else a notice on the page
            state = refused(error, fields=FORM_FIELDS)
            form.errors, state.errors = state.errors, {}  # shown in the record form itself
        else:
            response = RedirectResponse(_page_of(consultation_id), status_code=303)
            flash(request, response, "The medical record is signed.")
            return response
    return await _consultation_page(
        request,
        session,
        actor,
        consultation_id=consultation_id,
        state=state,
        record_form=form,
    )
