"""The doctor's prescribing pages of a consultation: the prescribing form reached from the
consultation workstation (:mod:`ihospital.prescribing.write_form`), the drug search of the form,
and the consultation's prescriptions on its page.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncSession

from ihospital.consultation.models import Consultation
from ihospital.consultation.workstation import read_assigned
from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.prescribing.consultation_prescriptions import consultation_prescriptions
from ihospital.prescribing.encounters import of_consultation
from ihospital.prescribing.review_codes import reasons_by_code
from ihospital.prescribing.verification import STATUS_MESSAGES
from ihospital.prescribing.write_form import (
    FormSubject,
    form_page,
    live_check_fragment,
    search_results,
    submitted_form,
)
from ihospital.security.permissions import Permission
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
ConsultationId = Annotated[int, Path(ge=1, le=2**63 - 1)]
BACK_TO_CONSULTATION_MESSAGE = "Back to the consultation"


def _consultation_subject(consultation: Consultation) -> FormSubject:
    return FormSubject(
        encounter=of_consultation(consultation),
        form_path=f"/doctor/consultations/{consultation.id}/prescription",
        back_path=f"/doctor/consultations/{consultation.id}",
        back_label=BACK_TO_CONSULTATION_MESSAGE,
        prior_diagnosis=consultation.prior_diagnosis or "",
    )


async def consultation_prescriptions_context(
    session: AsyncSession, actor: Actor, consultation: Any
) -> dict[str, Any]:
    """What the consultation page shows of its prescriptions
    (``prescribing/_consultation_prescriptions.html``)."""
    return {
        "consultation_prescriptions": await consultation_prescriptions(
            session, actor, consultation=consultation
        ),
        "rx_status_messages": STATUS_MESSAGES,
        "rx_review_reasons": reasons_by_code(),
    }


@router.get("/doctor/consultations/{consultation_id}/prescription")
async def prescription_form(
    consultation_id: ConsultationId,
    request: Request,
    session: DbSession,
    actor: Doctor,
    drug_q: Annotated[str, Query(max_length=50)] = "",
    revise: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
) -> Response:
    """The prescribing form of the doctor's consultation (any other is not found): empty, or
    with ``revise`` the rejected prescription's diagnoses and items to write its next version."""
    consultation = await read_assigned(session, actor, consultation_id=consultation_id)
    subject = _consultation_subject(consultation)
    return await form_page(request, session, actor, subject, drug_q=drug_q, revise=revise)


@router.get("/doctor/prescribing/drugs")
async def drug_results(
    request: Request,
    session: DbSession,
    actor: Doctor,
    drug_q: Annotated[str, Query(max_length=50)] = "",
) -> Response:
    """The drug search results of the form (an htmx fragment)."""
    results = await search_results(session, actor, drug_q)
    return render(request, "prescribing/write_drugs.html", {"results": results})


@router.post("/doctor/consultations/{consultation_id}/prescription/check", dependencies=CSRF)
async def live_check(
    consultation_id: ConsultationId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """The findings of the form as it stands and the reason fields they ask for (htmx)."""
    return await live_check_fragment(request, session, actor, {"consultation_id": consultation_id})


@router.post("/doctor/consultations/{consultation_id}/prescription", dependencies=CSRF)
async def prescription_submit(
    consultation_id: ConsultationId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Search, add or remove a drug, check, or sign: the same form, values kept."""
    consultation = await read_assigned(session, actor, consultation_id=consultation_id)
    subject = _consultation_subject(consultation)
    return await submitted_form(
        request, session, actor, subject, {"consultation_id": consultation_id}
    )
