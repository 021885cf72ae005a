"""JSON routes of consultation reviews: the patient rates a closed consultation and reads the
review, the doctor lists their reviews and replies once, the institution moderates held
reviews, and everyone reads a doctor's public rating."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from ihospital.consultation.reviews.reading import (
    doctor_rating,
    doctor_reviews,
    held_reviews,
    own_review,
)
from ihospital.consultation.reviews.schemas import (
    ModerationCreate,
    RatingRead,
    ReplyCreate,
    ReviewCreate,
    ReviewRead,
)
from ihospital.consultation.reviews.service import (
    moderate_review,
    rate_consultation,
    reply_to_review,
)
from ihospital.core.context import Actor
from ihospital.deps import DbSession, optional_actor, require
from ihospital.directory.search import get_doctor_profile
from ihospital.errors import NotFound
from ihospital.security.permissions import Permission

router = APIRouter(prefix="/api", tags=["consultation reviews"])

Patient = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_OWN))]
Doctor = Annotated[Actor, Depends(require(Permission.CONSULTATIONS_ATTEND))]
Manager = Annotated[Actor, Depends(require(Permission.INSTITUTION_MANAGE))]
PublicActor = Annotated[Actor, Depends(optional_actor)]
Id = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post("/consultations/{consultation_id}/review", status_code=201)
async def rate(
    consultation_id: Id, body: ReviewCreate, session: DbSession, actor: Patient
) -> ReviewRead:
    """Rate a closed consultation once: 1–5 stars, tags and an optional text (phone numbers, ID
    numbers and e-mail addresses are masked; abusive text is held for the institution)."""
    review = await rate_consultation(
        session,
        actor,
        consultation_id=consultation_id,
        stars=body.stars,
        tags=body.tags,
        text=body.text,
    )
    return ReviewRead.of(review)


@router.get("/consultations/{consultation_id}/review")
async def read_own(consultation_id: Id, session: DbSession, actor: Patient) -> ReviewRead:
    """The review of one of the account's consultations, whatever its status."""
    review = await own_review(session, actor, consultation_id=consultation_id)
    if review is None:
        raise NotFound("review.not_rated", "This consultation has not been rated yet.")
    return ReviewRead.of(review)


@router.get("/doctor/reviews")
async def mine(session: DbSession, actor: Doctor) -> list[ReviewRead]:
    """The published reviews of the doctor's consultations, newest first."""
    return [ReviewRead.of(review) for review in await doctor_reviews(session, actor)]


@router.post("/doctor/reviews/{review_id}/reply")
async def reply(review_id: Id, body: ReplyCreate, session: DbSession, actor: Doctor) -> ReviewRead:
    """Reply to a review of one of the doctor's consultations, once."""
    review = await reply_to_review(session, actor, review_id=review_id, reply=body.reply)
    return ReviewRead.of(review)


@router.get("/institutions/{institution_id}/held-reviews")
async def held(institution_id: Id, session: DbSession, actor: Manager) -> list[ReviewRead]:
    """The institution's reviews held for their text, oldest first."""
    reviews = await held_reviews(session, actor, institution_id=institution_id)
    return [ReviewRead.of(review) for review in reviews]


@router.post("/reviews/{review_id}/moderation")
async def moderate(
    review_id: Id, body: ModerationCreate, session: DbSession, actor: Manager
) -> ReviewRead:
    """Approve (publish) or reject a held review of the institution."""
    review = await moderate_review(session, actor, review_id=review_id, decision=body.decision)
    return ReviewRead.of(review)


@router.get("/doctors/{practitioner_id}/reviews")
async def rating(practitioner_id: Id, session: DbSession, actor: PublicActor) -> RatingRead:
    """Public: a verified doctor's average stars, number of reviews and the recent ones."""
    await get_doctor_profile(session, actor, practitioner_id=practitioner_id)
    return RatingRead.of(await doctor_rating(session, practitioner_id=practitioner_id))
