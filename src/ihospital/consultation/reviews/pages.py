"""Review pages: the patient rates a closed consultation (large star buttons, no JavaScript
needed) and sees the review; the doctor reads their reviews and replies once; the institution's
admins approve or reject held reviews.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import RedirectResponse, Response

from ihospital.consultation.lifecycle import get_consultation
from ihospital.consultation.reviews.models import TAGS
from ihospital.consultation.reviews.reading import doctor_reviews, held_reviews, own_review
from ihospital.consultation.reviews.schemas import ReviewCreate
from ihospital.consultation.reviews.service import (
    moderate_review,
    rate_consultation,
    reply_to_review,
)
from ihospital.core.context import Actor
from ihospital.deps import DbSession, check_csrf, require
from ihospital.directory.institutions import get_managed_institution, list_institutions
from ihospital.directory.pages_support import form_text, redirect_after, scope_query
from ihospital.errors import AppError, NotFound
from ihospital.identity.forms import FormState, parse_form, refused
from ihospital.security.permissions import Permission
from ihospital.web.flash import Notice, flash
from ihospital.web.templating import render

router = APIRouter(include_in_schema=False)

CSRF = [Depends(check_csrf)]
Consulter = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
Manager = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
RecordId = Annotated[int, Path(ge=1, le=2**63 - 1)]
InstitutionScope = Annotated[int | None, Query(ge=1, le=2**63 - 1)]
REVIEW_FIELDS = ("stars", "tags", "text")
MODERATED_MESSAGES = {
    "approve": "The review is published.",
    "reject": "The review is rejected and stays hidden.",
}


async def _review_page(
    request: Request,
    session: DbSession,
    actor: Actor,
    consultation_id: int,
    values: dict[str, Any],
    state: FormState,
) -> Response:
    consultation = await get_consultation(session, actor, consultation_id=consultation_id)
    context = {
        "consultation": consultation,
        "review": await own_review(session, actor, consultation_id=consultation_id),
        "tags": TAGS,
        "values": values,
        **state.context(),
    }
    return render(request, "consultation/review.html", context, status_code=state.status_code)


@router.get("/consultations/{consultation_id}/review")
async def review_page(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Consulter
) -> Response:
    """The account's review of a consultation, or the form to rate it once it is closed."""
    return await _review_page(request, session, actor, consultation_id, {}, FormState())


@router.post("/consultations/{consultation_id}/review", dependencies=CSRF)
async def review_submit(
    consultation_id: RecordId, request: Request, session: DbSession, actor: Consulter
) -> Response:
    """Rate a closed consultation: stars, tags and an optional text."""
    form = await request.form()
    values = {
        "stars": str(form.get("stars", "")).strip(),
        "tags": [str(tag) for tag in form.getlist("tags")][: len(TAGS)],
        "text": str(form.get("text", "")).strip(),
    }
    parsed, state = parse_form(ReviewCreate, values)
    if parsed is not None:
        try:
            review = await rate_consultation(
                session,
                actor,
                consultation_id=consultation_id,
                stars=parsed.stars,
                tags=parsed.tags,
                text=parsed.text,
            )
        except NotFound:
            raise
        except AppError as error:
            state = refused(error, fields=REVIEW_FIELDS)
        else:
            response = RedirectResponse(f"/consultations/{consultation_id}/review", status_code=303)
            if review.status == "held":
                flash(request, response, "Thank you. The hospital will check your review first.")
            else:
                flash(request, response, "Thank you for your review.")
            return response
    return await _review_page(request, session, actor, consultation_id, values, state)


@router.get("/doctor/reviews")
async def doctor_reviews_page(request: Request, session: DbSession, actor: Doctor) -> Response:
    """The published reviews of the doctor's consultations, with a reply form where none yet."""
    context = {"reviews": await doctor_reviews(session, actor)}
    return render(request, "consultation/doctor_reviews.html", context)


@router.post("/doctor/reviews/{review_id}/reply", dependencies=CSRF)
async def reply_submit(
    review_id: RecordId, request: Request, session: DbSession, actor: Doctor
) -> Response:
    """Reply to a review once."""
    values = await form_text(request, ("reply",))
    return await redirect_after(
        request,
        "/doctor/reviews",
        reply_to_review(session, actor, review_id=review_id, reply=values["reply"]),
        lambda _: Notice("Your reply is published with the review.", "success", {}),
    )


@router.get("/admin/reviews")
async def held_reviews_page(
    request: Request, session: DbSession, actor: Manager, institution_id: InstitutionScope = None
) -> Response:
    """The institution's held reviews to approve or reject (a platform admin picks one)."""
    scope = institution_id or actor.institution_id
    if scope is None:
        listing = await list_institutions(session, actor, page=1, page_size=50)
        context = {"choose": listing, "target": "/admin/reviews"}
        return render(request, "directory/admin_choose.html", context)
    context = {
        "institution": await get_managed_institution(session, actor, institution_id=scope),
        "reviews": await held_reviews(session, actor, institution_id=scope),
        "scope": scope_query(institution_id),
    }
    return render(request, "consultation/admin_reviews.html", context)


@router.post("/admin/reviews/{review_id}/moderation", dependencies=CSRF)
async def moderation_submit(
    review_id: RecordId,
    request: Request,
    session: DbSession,
    actor: Manager,
    institution_id: InstitutionScope = None,
) -> Response:
    """Approve (publish) or reject a held review."""
    values = await form_text(request, ("decision",))
    decision = values["decision"]
    return await redirect_after(
        request,
        "/admin/reviews" + scope_query(institution_id),
        moderate_review(session, actor, review_id=review_id, decision=decision),
        lambda _: Notice(MODERATED_MESSAGES.get(decision, ""), "success", {}),
    )
