"""Pharmacist pages of the review (审方): the institution's queue with each prescription's wait,
one prescription with its signature check and the approve/reject form (the reasons of the review
standard as checkboxes, no JavaScript needed), and the review-time figures, which the
institution's admins see too."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.institutions import list_institutions
from ihospital.directory.pages_support import scope_query
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.prescribing.review import decide_prescription, open_for_review, review_queue
from ihospital.prescribing.review_api import figures_of, limit_minutes
from ihospital.prescribing.review_codes import GROUP_MESSAGES, grouped_reasons, reasons_by_code
from ihospital.prescribing.review_schemas import DecisionCreate
from ihospital.prescribing.review_statistics import PERIOD_DAYS
from ihospital.prescribing.verification import verification_path
from ihospital.security.permissions import Permission
from ihospital.web.flash import flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Pharmacist = Annotated[Actor, Depends(require(Permission.PRESCRIPTIONS_REVIEW))]
Manager = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionScope = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
DECISION_FIELDS = ("decision", "reasons", "note")
STATUS_MESSAGES = {
    "approved": "Approved",
    "rejected": "Rejected",
    "filled": "Filled",
    "voided": "Voided",
}
DECIDED_MESSAGES = {
    "approve": "Prescription {number} is approved.",
    "reject": "Prescription {number} is rejected; the doctor is told.",
}


@router.get("/pharmacist/prescriptions")
async def queue_page(request: Request, session: DbSession, actor: Pharmacist) -> Response:
    """The institution's prescriptions waiting for review, oldest first."""
    context = {"entries": await review_queue(session, actor), "limit": limit_minutes(request)}
    return render(request, "prescribing/review_queue.html", context)


async def _detail_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    prescription_id: int,
    values: dict[str, Any],
    state: FormState,
) -> Response:
    view = await open_for_review(session, actor, prescription_id=prescription_id)
    context = {
        "view": view,
        "verify_path": verification_path(view.prescription),
        "groups": grouped_reasons(),
        "group_messages": GROUP_MESSAGES,
        "status_messages": STATUS_MESSAGES,
        "reasons": reasons_by_code(),
        "values": values,
        **state.context(),
    }
    return render(request, "prescribing/review_detail.html", context, status_code=state.status_code)


@router.get("/pharmacist/prescriptions/{prescription_id}")
async def detail_page(
    prescription_id: Id, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """One prescription to review: items, diagnoses, patient, allergies, signature and form."""
    return await _detail_page(request, session, actor, prescription_id, {}, FormState())


@router.post("/pharmacist/prescriptions/{prescription_id}/decision", dependencies=CSRF)
async def decision_submit(
    prescription_id: Id, request: Request, session: DbSession, actor: Pharmacist
) -> Response:
    """Approve, or reject with the ticked reasons and a note."""
    form = await request.form()
    values = {
        "decision": str(form.get("decision", "")).strip(),
        "reasons": [str(code) for code in form.getlist("reasons")][:28],
        "note": str(form.get("note", "")).strip() or None,
    }
    parsed, state = parse_form(DecisionCreate, values)
    if parsed is not None:
        try:
            prescription = await decide_prescription(
                session,
                actor,
                prescription_id=prescription_id,
                decision=parsed.decision,
                reasons=parsed.reasons,
                note=parsed.note,
            )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=DECISION_FIELDS)
        else:
            response = RedirectResponse("/pharmacist/prescriptions", status_code=303)
            message = DECIDED_MESSAGES[parsed.decision]
            flash(request, response, message, kind="success", number=prescription.number)
            return response
    return await _detail_page(request, session, actor, prescription_id, values, state)


async def _figures_page(
    request: Request, session: DbSession, actor: Actor, institution_id: int, days: int, scope: str
) -> Response:
    figures = await figures_of(request, session, actor, institution_id=institution_id, days=days)
    context = {
        "figures": figures,
        "periods": PERIOD_DAYS,
        "base": request.url.path + (scope + "&" if scope else "?"),
    }
    return render(request, "prescribing/review_statistics.html", context)


Period = Annotated[int, Query(ge=1, le=90)]


@router.get("/pharmacist/review-statistics")
async def own_figures_page(
    request: Request, session: DbSession, actor: Pharmacist, days: Period = 30
) -> Response:
    """The review times of the pharmacist's institution."""
    return await _figures_page(request, session, actor, actor.institution_id, days, "")


@router.get("/admin/prescription-review")
async def institution_figures_page(
    request: Request,
    session: DbSession,
    actor: Manager,
    institution_id: InstitutionScope = None,
    days: Period = 30,
) -> Response:
    """The review times of the admin's institution (a platform admin picks one)."""
    scope = institution_id or actor.institution_id
    if scope is None:
        listing = await list_institutions(session, actor, page=1, page_size=50)
        context = {"choose": listing, "target": "/admin/prescription-review"}
        return render(request, "directory/admin_choose.html", context)
    return await _figures_page(request, session, actor, scope, days, scope_query(institution_id))
