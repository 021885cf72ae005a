"""Consulting a department online (patients' pages): the first available doctor of the
department at the institution is chosen (:mod:`.matching`), at that doctor's fee; the form and
its refusals are those of consulting a doctor (:mod:`.patient_pages`)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.models import TYPES
from ihospital.consultation.patient_pages import (
    OFFER_MESSAGE,
    PATIENT_MESSAGE,
    START_FIELDS,
    prior_of,
    start_refused,
    start_with_guardian,
    started_redirect,
)
from ihospital.consultation.schemas import HEALTH_CONSULTATION_MESSAGE
from ihospital.core.context import Actor
from ihospital.core.i18n import translate
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.institutions import get_institution
from ihospital.directory.pages_support import form_text
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState
from ihospital.identity.patients import RELATIONSHIPS, list_patients
from ihospital.security.permissions import Permission
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Consulter = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_OWN))]
InstitutionId = Annotated[int, Path(ge=1, le=2**63 - 1)]
DepartmentCode = Annotated[str, Path(min_length=1, max_length=8, pattern=r"^[0-9.]+$")]
FIELDS = (*START_FIELDS, "consultation_type")


async def _department_page(
    request: Request,
    session: AsyncSession,
    actor: Actor,
    *,
    institution_id: int,
    code: str,
    values: dict[str, str] | None = None,
    state: FormState | None = None,
) -> Response:
    state = state or FormState()
    institution = await get_institution(session, actor, institution_id=institution_id)
    department = next((d for d in institution.departments if d.department.code == code), None)
    if department is None:
        raise NotFound("consultation.department_not_found", "This department was not found.")
    context: dict[str, Any] = {
        "institution": institution,
        "department": department,
        "types": TYPES,
        "patients": await list_patients(session, actor),
        "relationships": RELATIONSHIPS,
        "health_notice": translate(HEALTH_CONSULTATION_MESSAGE),
        "values": values or {},
        **state.context(),
    }
    return render(
        request, "consultation/start_department.html", context, status_code=state.status_code
    )


@router.get("/institutions/{institution_id}/departments/{department_code}/consult")
async def department_page(
    institution_id: InstitutionId,
    department_code: DepartmentCode,
    request: Request,
    session: DbSession,
    actor: Consulter,
) -> Response:
    """The form to consult the department online: 就诊人, type, complaint, earlier diagnosis."""
    return await _department_page(
        request, session, actor, institution_id=institution_id, code=department_code
    )


@router.post(
    "/institutions/{institution_id}/departments/{department_code}/consult", dependencies=CSRF
)
async def department_submit(
    institution_id: InstitutionId,
    department_code: DepartmentCode,
    request: Request,
    session: DbSession,
    actor: Consulter,
) -> Response:
    """Start a consultation with the first available doctor of the department; then pay or
    wait. Refusals (none available, say) show next to their fields."""
    values = await form_text(request, FIELDS)
    state = FormState(status_code=422)
    if re.fullmatch(r"[0-9]{1,18}", values["patient_id"]) is None:
        state.errors["patient_id"] = translate(PATIENT_MESSAGE)
    if values["consultation_type"] not in TYPES:
        state.errors["consultation_type"] = translate(OFFER_MESSAGE)
    prior = prior_of(values, state.errors)
    if not state.errors:
        try:
            consultation = await start_with_guardian(
                session,
                actor,
                values=values,
                prior=prior,
                cipher=request.app.state.cipher,
                institution_id=institution_id,
                consultation_type=values["consultation_type"],
                department_code=department_code,
            )
        except AppError as error:
            state = start_refused(error)
            if "offer" in state.errors:
                state.errors["consultation_type"] = state.errors.pop("offer")
        else:
            return started_redirect(request, consultation)
    return await _department_page(
        request,
        session,
        actor,
        institution_id=institution_id,
        code=department_code,
        values=values,
        state=state,
    )
